"""Recognising a CPS: ATR tables, EF.SN and the selection recoveries."""

from __future__ import annotations

import pytest
from cps_support import replay

from apdu.command import CommandApdu
from apdu.errors import TransportError
from apdu.response import ResponseApdu
from apdu.transport import T0Transport
from diagcps.cps.detect import (
    CPS_ATRS,
    IasReselect,
    classify_atr,
    decode_ef_sn,
    read_ef_sn,
)

# --- ATRs (CPS-CARD.md 2.1) ----------------------------------------------------------------------


@pytest.mark.parametrize(("atr", "generation", "contactless"), [
    ("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", "CPS3", False),
    ("3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00", "CPS3", False),  # older batch
    ("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", "CPS3-CL", True),
    ("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44", "CPS4", False),
    ("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44", "CPS4", False),
    ("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00", "CPS4", False),
])
def test_published_cps_atrs_are_recognised(atr: str, generation: str, contactless: bool) -> None:
    verdict = classify_atr(bytes.fromhex(atr))
    assert verdict.generation == generation
    assert verdict.contactless is contactless
    assert verdict.wrong_card_label is None


def test_the_cps3_contact_mask_ignores_the_masked_bytes_only() -> None:
    varied = bytearray.fromhex("3BAC00402A001225006480000310009000")
    varied[1:5] = b"\x11\x22\x33\x44"  # masked out (00)
    varied[11:14] = b"\x55\x66\x77"
    assert classify_atr(bytes(varied)).generation == "CPS3"
    varied[6] = 0x13  # the country code is compared
    assert classify_atr(bytes(varied)).generation is None


def test_opensc_s_unmatchable_contactless_spelling_is_not_what_we_match() -> None:
    opensc_form = bytes.fromhex("2B8F80010031B86404B0ECC1739401808290000E")
    assert classify_atr(opensc_form).generation is None


def test_cps4_atrs_are_exact() -> None:
    atr = bytearray.fromhex("3B9B188001001225006480040100009044")
    atr[-1] = 0x45
    assert classify_atr(bytes(atr)).generation is None


@pytest.mark.parametrize("sixth", range(0x43, 0x4D))
@pytest.mark.parametrize("eighth", [0xEA, 0xFA])
def test_vitale_2_family_is_the_wrong_card(sixth: int, eighth: int) -> None:
    atr = bytes([0x3B, 0x75, 0x13, 0x00, 0x00, sixth, 0x09, eighth, 0x90, 0x00])
    verdict = classify_atr(atr)
    assert verdict.generation is None
    assert verdict.wrong_card_label == "Vitale 2"


def test_vitale_1_family_is_the_wrong_card() -> None:
    verdict = classify_atr(bytes.fromhex("3F6525005209 6A9000".replace(" ", "")))
    assert verdict.wrong_card_label == "Vitale 1"


def test_an_unknown_atr_is_neither_cps_nor_a_known_wrong_card() -> None:
    verdict = classify_atr(bytes.fromhex("3B8A800150 5049562061 54524D 00".replace(" ", "")))
    assert verdict.generation is None and verdict.wrong_card_label is None


def test_every_table_entry_is_a_valid_pattern() -> None:
    for entry in CPS_ATRS:
        assert entry.pattern.matches(entry.pattern.atr)


# --- EF.SN ---------------------------------------------------------------------------------------


def test_ef_sn_of_the_public_trace() -> None:
    serial = decode_ef_sn(bytes.fromhex("5A0A8025000001992138450F"))
    assert serial is not None
    assert serial.issuer == "8025000001"
    assert serial.pan == "802500000199213845"
    assert serial.check_digit == "0" and serial.check_digit_ok
    assert serial.serial == "99213845"
    assert serial.ans


def test_ef_sn_with_a_wrong_check_digit_is_still_ans_but_flagged() -> None:
    serial = decode_ef_sn(bytes.fromhex("5A0A8025000001992138451F"))
    assert serial is not None and serial.ans and serial.check_digit_ok is False


def test_ef_sn_of_another_issuer_is_not_ans() -> None:
    serial = decode_ef_sn(bytes.fromhex("5A0A9250001234567890123F"))
    assert serial is not None and not serial.ans


@pytest.mark.parametrize("raw", ["", "5A", "5A00", "4F0A8025000001992138450F", "5A0A80250000",
                                 "5A0A8025000001A92138450F"])
def test_ef_sn_that_is_not_a_pan_decodes_to_nothing(raw: str) -> None:
    assert decode_ef_sn(bytes.fromhex(raw)) is None


def test_ef_sn_is_read_by_sfi_in_one_apdu() -> None:
    card = replay([("00B09C000C", "5A0A8025000001992138450F9000")])
    read = read_ef_sn(T0Transport(card))
    assert read.method == "sfi" and read.data == bytes.fromhex("5A0A8025000001992138450F")
    assert len(card.sent) == 1


def test_ef_sn_falls_back_to_the_cryptolib_form_when_sfi_is_refused() -> None:
    card = replay([
        ("00B09C000C", "6A82"),
        ("00A40904043F00D003", "6127"),
        ("00C0000027", "62258002000C8201018302D0038801E0A1128C077BFFFFFFFFFF009C077BFFFFFFFFFF00"
                       "8A01059000"),
        ("00B000000C", "5A0A8025000001992138450F9000"),
    ])
    read = read_ef_sn(T0Transport(card))
    assert read.method == "select" and read.data is not None and read.data[:2] == b"\x5a\x0a"


def test_ef_sn_falls_back_when_a_replay_lacks_the_sfi_form() -> None:
    card = replay([
        ("00A40904043F00D003", "9000"),
        ("00B000000C", "5A0A8025000001992138450F9000"),
    ])
    assert read_ef_sn(T0Transport(card)).method == "select"


def test_ef_sn_propagates_a_real_transport_failure() -> None:
    class Removed:
        atr = b""

        def transmit(self, command: CommandApdu) -> ResponseApdu:
            raise TransportError("card removed", code="CARD_REMOVED")

        def close(self) -> None:
            return None

    with pytest.raises(TransportError):
        read_ef_sn(Removed())


# --- recoveries ----------------------------------------------------------------------------------


def test_ias_is_reselected_once_after_6e00() -> None:
    answers = iter(["6E00", "9000", "9000"])
    sent: list[str] = []

    class Cps2terLeftSelected:
        atr = b""

        def transmit(self, command: CommandApdu) -> ResponseApdu:
            sent.append(command.hex())
            return ResponseApdu.from_hex(next(answers))

        def close(self) -> None:
            return None

    card = IasReselect(Cps2terLeftSelected())
    assert card.transmit(CommandApdu.from_hex("00A4090C023F00")).ok
    assert sent == ["00A4090C023F00", "00A4040C088025000001FF0100", "00A4090C023F00"]
    assert card.reselections == 1


def test_a_6a86_that_reselection_does_not_cure_is_then_taken_at_face_value() -> None:
    card = replay([("00B09C000C", "6A86"), ("00A4040C088025000001FF0100", "9000")])
    guarded = IasReselect(card)
    assert guarded.transmit(CommandApdu.from_hex("00B09C000C")).sw == 0x6A86
    assert guarded.transmit(CommandApdu.from_hex("00B09C000C")).sw == 0x6A86
    assert guarded.reselections == 1


def test_no_reselection_on_other_channels_or_for_application_selects() -> None:
    card = replay([("01A4040C088025000001FF0100", "6E00"), ("00A4040C088025000001FF0002", "6A86")])
    guarded = IasReselect(card)
    assert guarded.transmit(CommandApdu.from_hex("01A4040C088025000001FF0100")).sw == 0x6E00
    assert guarded.transmit(CommandApdu.from_hex("00A4040C088025000001FF0002")).sw == 0x6A86
    assert guarded.reselections == 0


def test_the_cps3_mask_would_cover_cps4_forced_t0_so_exact_patterns_win() -> None:
    forced_t0 = bytes.fromhex("3BDC18FF0000122500648000040100 9000".replace(" ", ""))
    cps3_contact = next(e for e in CPS_ATRS if e.pattern.label == "CPS3 contact")
    assert cps3_contact.pattern.matches(forced_t0)  # CPS-CARD.md's mask is that broad
    assert classify_atr(forced_t0).generation == "CPS4"
