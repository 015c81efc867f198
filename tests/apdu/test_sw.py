"""Status words: ISO 7816-4 meanings, CPS meanings, and an answer for every value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apdu import StatusWord, describe_sw, format_sw, tries_left
from apdu.sw import CATEGORIES, UNKNOWN_MEANING, describe


def test_every_sixteen_bit_value_has_a_description():
    for sw in range(0x10000):
        status = describe(sw)
        assert status.sw == sw
        assert status.category in CATEGORIES
        assert status.meaning


def test_9000_is_success_and_on_a_cps_means_pin_already_verified_after_empty_verify():
    status = describe_sw(0x9000)
    assert status == StatusWord(0x9000, "success", status.meaning, status.cps_meaning)
    assert status.ok
    assert "already verified" in status.cps_meaning


@pytest.mark.parametrize(("sw", "category", "words"), [
    (0x6281, "warning", "corrupted"),
    (0x6282, "warning", "end of file"),
    (0x6283, "warning", "deactivated"),
    (0x6284, "warning", "file control information"),
    (0x6285, "warning", "termination"),
    (0x6286, "warning", "sensor"),
    (0x6300, "warning", "no information"),
    (0x6381, "warning", "filled up"),
    (0x6401, "error", "immediate response"),
    (0x6581, "error", "memory failure"),
    (0x6700, "error", "wrong length"),
    (0x6881, "error", "logical channel"),
    (0x6882, "error", "secure messaging"),
    (0x6883, "error", "last command of the chain"),
    (0x6884, "error", "chaining not supported"),
    (0x6981, "error", "file structure"),
    (0x6982, "error", "security status"),
    (0x6983, "error", "blocked"),
    (0x6984, "error", "not usable"),
    (0x6985, "error", "conditions of use"),
    (0x6986, "error", "no current ef"),
    (0x6987, "error", "missing"),
    (0x6988, "error", "incorrect secure messaging"),
    (0x6A80, "error", "data field"),
    (0x6A81, "error", "function not supported"),
    (0x6A82, "error", "not found"),
    (0x6A83, "error", "record not found"),
    (0x6A84, "error", "memory space"),
    (0x6A85, "error", "tlv"),
    (0x6A86, "error", "p1-p2"),
    (0x6A87, "error", "p1-p2"),
    (0x6A88, "error", "reference data not found"),
    (0x6A89, "error", "already exists"),
    (0x6A8A, "error", "df name"),
    (0x6B00, "error", "p1-p2"),
    (0x6D00, "error", "instruction"),
    (0x6E00, "error", "class not supported"),
    (0x6F00, "error", "no precise diagnosis"),
])
def test_iso_7816_4_status_words(sw, category, words):
    status = describe(sw)
    assert status.category == category
    assert words in status.meaning.lower()


@pytest.mark.parametrize("sw", [0x6100, 0x6127, 0x61FF])
def test_61xx_is_a_transport_instruction_to_get_the_response(sw):
    status = describe(sw)
    assert status.category == "transport"
    assert "GET RESPONSE" in status.meaning
    assert f"Le={sw & 0xFF:02X}" in status.meaning


def test_61xx_and_6cxx_with_sw2_00_mean_256_bytes():
    assert "256" in describe(0x6100).meaning
    assert "256" in describe(0x6C00).meaning


def test_6cxx_says_resend_with_the_right_le():
    status = describe(0x6C0C)
    assert status.category == "transport"
    assert "Le=0C" in status.meaning and "12 bytes" in status.meaning


@pytest.mark.parametrize("tries", range(16))
def test_63cx_carries_the_tries_remaining(tries):
    sw = 0x63C0 | tries
    assert tries_left(sw) == tries
    status = describe(sw)
    assert status.category == "warning"
    assert f"{tries} tries remaining" in status.meaning
    assert f"{tries} PIN" in status.cps_meaning


def test_63c0_on_a_cps_says_the_code_is_blocked():
    assert "blocked" in describe(0x63C0).cps_meaning


@pytest.mark.parametrize("sw", [0x9000, 0x6983, 0x6300, 0x6381, 0x63B3, 0x9840, 0x6C03])
def test_tries_left_is_none_without_a_counter(sw):
    assert tries_left(sw) is None


@pytest.mark.parametrize(("sw", "words"), [
    (0x6983, "blocked"),
    (0x6985, "ChipDoc"),
    (0x6A82, "EF_ACTUA"),
    (0x6A86, "CPS2ter"),
    (0x6A88, "outside the MF"),
    (0x6E00, "CPS2ter"),
    (0x6E12, "CPS2ter"),
    (0x6982, "PIN"),
])
def test_cps_meanings_from_the_card_documentation(sw, words):
    assert words in describe(sw).cps_meaning


def test_ef_actua_absence_is_called_normal():
    assert "normal" in describe(0x6A82).cps_meaning


@pytest.mark.parametrize(("sw", "words"), [
    (0x9840, "PIN locked"),
    (0x9804, "wrong PIN"),
    (0x9802, "PIN not activated"),
    (0x9404, "file not found"),
])
def test_cps2ter_part_status_words(sw, words):
    status = describe(sw)
    assert status.category == "error"
    assert status.cps_meaning == f"CPS2ter part: {words}"


def test_9fxx_is_the_cps2ter_response_waiting():
    status = describe(0x9F1A)
    assert status.category == "transport"
    assert "26 response bytes" in status.cps_meaning


@pytest.mark.parametrize("sw", [0x6202, 0x6240, 0x6280])
def test_62xx_triggering_by_the_card(sw):
    status = describe(sw)
    assert status.category == "warning" and "triggering" in status.meaning


@pytest.mark.parametrize("sw", [0x6402, 0x6480])
def test_64xx_triggering_by_the_card(sw):
    status = describe(sw)
    assert status.category == "error" and "triggering" in status.meaning


@pytest.mark.parametrize(("sw", "category", "family"), [
    (0x6299, "warning", "memory unchanged"),
    (0x6399, "warning", "memory changed"),
    (0x6499, "error", "memory unchanged"),
    (0x6599, "error", "memory changed"),
    (0x6601, "error", "security"),
    (0x6712, "error", "wrong length"),
    (0x6899, "error", "cla"),
    (0x6999, "error", "command not allowed"),
    (0x6A99, "error", "p1-p2"),
    (0x6B12, "error", "p1-p2"),
    (0x6D12, "error", "instruction"),
    (0x6F12, "error", "no precise diagnosis"),
])
def test_non_standard_sw2_falls_back_to_the_sw1_family(sw, category, family):
    status = describe(sw)
    assert status.category == category
    assert family in status.meaning.lower()
    assert "no standard meaning" in status.meaning


@pytest.mark.parametrize("sw", [0x0000, 0x1234, 0x9123, 0xA000, 0xFFFF])
def test_unknown_values_still_answer(sw):
    status = describe(sw)
    assert status.category == "error"
    assert UNKNOWN_MEANING in status.meaning
    assert status.cps_meaning is None


def test_60_is_the_null_procedure_byte_not_a_status():
    assert describe(0x6000).category == "transport"
    assert "NULL" in describe(0x6000).meaning


@pytest.mark.parametrize(("sw", "text"), [(0x6A82, "6A82"), (0x9000, "9000"), (0x0001, "0001")])
def test_format_sw_is_four_upper_case_hex_digits(sw, text):
    assert format_sw(sw) == text
    assert describe(sw).hex == text


@pytest.mark.parametrize("bad", [-1, 0x10000, True, "9000"])
def test_values_outside_16_bits_are_refused(bad):
    with pytest.raises(ValueError):
        describe(bad)
    with pytest.raises(ValueError):
        format_sw(bad)


def test_str_shows_code_meaning_and_cps_meaning():
    text = str(describe(0x6983))
    assert text.startswith("6983 Authentication method blocked")
    assert "CPS: PIN (or unblock code) blocked" in text


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFF))
def test_sw1_and_sw2_split_the_value(sw):
    status = describe(sw)
    assert status.sw1 << 8 | status.sw2 == sw
    assert int(status.hex, 16) == sw
