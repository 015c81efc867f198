"""Identity objects: E3/E4/ED layouts, long-form lengths, unknown tags, damage, ISO-8859-1."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from apdu.tlv import encode
from diagcps.cps.codes import CodeTables
from diagcps.cps.identity import (
    InfoPs,
    NamePs,
    bcd_date,
    build_holder,
    decimal_code,
    decode_id_card,
    decode_info_ps,
    decode_name_ps,
    text,
)

ID_CARD = bytes.fromhex("E31D" "80058025000001" "81052900012345" "820100" "830420250115"
                        "840420280114")


def tlv(tag: int, *parts: bytes) -> bytes:
    return encode(tag, b"".join(parts))


def test_id_card() -> None:
    card = decode_id_card(ID_CARD + b"\x00" * 20)
    assert card.issuer == "8025000001"
    assert card.card_number == "2900012345"
    assert card.category == "00"
    assert card.issued == date(2025, 1, 15) and card.expires == date(2028, 1, 14)
    assert card.issues == []


def test_id_card_test_category_is_kept_as_hex() -> None:
    data = tlv(0xE3, tlv(0x82, b"\x80"))
    assert decode_id_card(data).category == "80"


def test_id_card_truncated_keeps_the_fields_before_the_cut() -> None:
    card = decode_id_card(ID_CARD[:-3])
    assert card.card_number == "2900012345" and card.issued == date(2025, 1, 15)
    assert card.expires is None
    assert card.issues


def test_id_card_with_a_bad_date_says_so() -> None:
    card = decode_id_card(tlv(0xE3, tlv(0x84, bytes.fromhex("20281399"))))
    assert card.expires is None and "expires" in card.issues[0]


def test_names_in_iso_8859_1_with_first_names_separated_by_ff() -> None:
    data = tlv(0xE4, tlv(0x80, bytes([22])), tlv(0x81, "ESSAI".encode("latin-1")),
               tlv(0x82, "DURAND-ESSAI  ".encode("latin-1")),
               tlv(0x83, "HÉLÈNE".encode("latin-1") + b"\xff" + b"JEANNE" + b"\xff" + b"ANNE"),
               tlv(0x84, "HÉLÈNE".encode("latin-1")))
    name = decode_name_ps(data)
    assert name.civility_code == "22"
    assert name.birth_name == "ESSAI" and name.usage_name == "DURAND-ESSAI"
    assert name.first_names == ["HÉLÈNE", "JEANNE", "ANNE"]
    assert name.first_name == "HÉLÈNE"


def test_info_with_long_form_lengths_and_unknown_tags() -> None:
    body = (bytes.fromhex("8081020001") + bytes.fromhex("81810C") + b"899700075122"
            + bytes.fromhex("9F2003ABCDEF") + bytes.fromhex("A203800101")  # unknown, constructed
            + bytes.fromhex("82010A") + bytes.fromhex("86020102")
            + bytes.fromhex("8481") + bytes([12]) + b"DURAND-ESSAI"
            + bytes.fromhex("8514") + b"SM26      0000000000")
    data = bytes.fromhex("ED81") + bytes([len(body)]) + body
    info = decode_info_ps(data)
    assert info.issues == []
    assert info.card_type == "00" and info.card_flags == 1 and info.kind == "CPS"
    assert info.national_id == "899700075122"
    assert info.profession_code == "10"
    assert info.practice_name == "DURAND-ESSAI"
    assert info.specialty_code == "SM26"


def test_info_without_its_container_is_still_read() -> None:
    info = decode_info_ps(tlv(0x80, b"\x01") + tlv(0x83, bytes([10])))
    assert info.card_type == "01" and info.kind == "CPF" and info.training_profession_code == "10"


def test_garbage_gives_empty_results_and_issues_never_exceptions() -> None:
    name = decode_name_ps(bytes.fromhex("E40A1F9C3381FF0277001234"))
    assert name == NamePs(issues=name.issues) and name.issues
    assert decode_info_ps(b"").issues
    assert decode_id_card(b"\xff\xff").issues


def test_field_decoders() -> None:
    assert text(b"  ESSAI \x00\x00\xff") == "ESSAI"
    assert text(b"\x00\x00") is None
    assert decimal_code(b"\x1f") == "31"
    assert decimal_code(b"") is None and decimal_code(b"\x01\x02") is None
    assert bcd_date(bytes.fromhex("20240229")) == date(2024, 2, 29)
    assert bcd_date(bytes.fromhex("20230229")) is None
    assert bcd_date(bytes.fromhex("2023")) is None


def test_holder_with_labels_and_display_name() -> None:
    name = NamePs(civility_code="31", birth_name="ROBERT-ESSAI", first_names=["LUC", "ANDRÉ"],
                  first_name="LUC")
    info = InfoPs(card_type="00", national_id="899700735741", profession_code="60",
                  practice_name="ROBERT-ESSAI")
    holder = build_holder(name, info, CodeTables())
    assert holder.civility == "Monsieur"
    assert holder.profession == "Infirmier"
    assert (holder.id_type, holder.id_type_label, holder.id_number) == ("8", "RPPS",
                                                                        "99700735741")
    assert holder.id_check_digit_ok is True and holder.id_check_confirmed is True
    assert holder.display_name == "Monsieur ROBERT-ESSAI LUC"


def test_holder_with_a_wrong_rpps_check_digit() -> None:
    holder = build_holder(None, InfoPs(national_id="899700075123"), CodeTables())
    assert holder.id_check_digit_ok is False and holder.id_check_confirmed


def test_holder_with_adeli_is_checked_but_not_confirmed() -> None:
    holder = build_holder(None, InfoPs(national_id="0991086265", profession_code="91"),
                          CodeTables())
    assert (holder.id_type_label, holder.id_check_digit_ok, holder.id_check_confirmed) == (
        "ADELI", True, False)
    assert holder.profession == "Orthophoniste"
    assert holder.display_name is None  # no name to show


# --- property tests ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_identity_decoders_never_raise_on_random_bytes(data: bytes) -> None:
    for decoder in (decode_id_card, decode_name_ps, decode_info_ps):
        result = decoder(data)
        assert isinstance(result.issues, list)
    build_holder(decode_name_ps(data), decode_info_ps(data), CodeTables())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x9F20, 0xA1]),
                          st.binary(max_size=40)), max_size=8),
       st.sampled_from([0xE3, 0xE4, 0xED]), st.integers(0, 10))
def test_identity_decoders_on_well_formed_but_odd_fields(fields: list[tuple[int, bytes]],
                                                         container: int, cut: int) -> None:
    data = tlv(container, *(encode(tag, value) for tag, value in fields))
    data = data[: max(0, len(data) - cut)]
    for decoder in (decode_id_card, decode_name_ps, decode_info_ps):
        decoder(data)
