"""PKCS#15 directories: paths resolved at run time, tolerant parsing, PIN-protected objects."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apdu.errors import ApduError, TlvError
from apdu.tlv import encode
from diagcps.cps import pkcs15
from diagcps.cps.pkcs15 import (
    ObjectPath,
    bit_string_bits,
    parse_aodf,
    parse_cdf,
    parse_dodf,
    parse_ef_dir,
    parse_lenient,
    parse_odf,
    resolve_path,
    unblocking_reference,
)

APP = "3F00/0001"


def tlv(tag: int, *parts: bytes) -> bytes:
    return encode(tag, b"".join(parts))


def path(hex_path: str, index: int | None = None, length: int | None = None) -> bytes:
    parts = [tlv(0x04, bytes.fromhex(hex_path))]
    if index is not None:
        parts.append(tlv(0x02, bytes([index])))
    if length is not None:
        parts.append(tlv(0x80, length.to_bytes(2, "big")))
    return tlv(0x30, *parts)


def common(label: str, flags: bytes = b"\x07\x00", auth_id: bytes | None = None) -> bytes:
    parts = [tlv(0x0C, label.encode()), tlv(0x03, flags)]
    if auth_id is not None:
        parts.append(tlv(0x04, auth_id))
    return tlv(0x30, *parts)


def data_object(label: str, where: bytes, **kwargs: object) -> bytes:
    return tlv(0x30, common(label, **kwargs), tlv(0x30, tlv(0x0C, b"CPS")), tlv(0xA1, where))


def cert_object(label: str, where: bytes) -> bytes:
    return tlv(0x30, common(label), tlv(0x30, tlv(0x04, b"\x45")), tlv(0xA1, tlv(0x30, where)))


def pin_object(label: str, flags: bytes, reference: bytes) -> bytes:
    return tlv(0x30, common(label), tlv(0x30, tlv(0x04, b"\x01")),
               tlv(0xA1, tlv(0x30, tlv(0x03, flags), tlv(0x0A, b"\x01"), tlv(0x02, b"\x04"),
                             tlv(0x02, b"\x08"), tlv(0x80, reference), path("3F00"))))


def test_paths_absolute_relative_and_from_the_application_df() -> None:
    assert resolve_path(bytes.fromhex("3F0000017001"), APP) == "3F00/0001/7001"
    assert resolve_path(bytes.fromhex("7001"), APP) == "3F00/0001/7001"
    assert resolve_path(bytes.fromhex("00017001"), APP) == "3F00/0001/7001"
    assert resolve_path(bytes.fromhex("D0017001"), APP) == "3F00/0001/D001/7001"
    for bad in (b"", b"\x70"):
        with pytest.raises(TlvError):
            resolve_path(bad, APP)


def test_ef_dir_names_both_applications() -> None:
    data = (tlv(0x61, tlv(0x4F, pkcs15.PKCS15_AID_CONTACT), tlv(0x50, b"CPS"),
                tlv(0x51, bytes.fromhex("3F000001")))
            + tlv(0x61, tlv(0x4F, pkcs15.PKCS15_AID_CONTACTLESS),
                  tlv(0x51, bytes.fromhex("3F000002"))) + b"\x00" * 10)
    apps, issues = parse_ef_dir(data)
    assert issues == []
    assert pkcs15.application_path(apps, pkcs15.PKCS15_AID_CONTACT) == "3F00/0001"
    assert pkcs15.application_path(apps, pkcs15.PKCS15_AID_CONTACTLESS) == "3F00/0002"
    assert apps[0].label == "CPS" and apps[1].label is None


def test_odf_lists_directories_by_kind_in_either_path_form() -> None:
    data = (tlv(0xA8, path("3F0000017001")) + tlv(0xA4, path("7005"))
            + tlv(0xA7, path("7006")) + tlv(0xA7, path("7007")) + b"\x00" * 16)
    odf, issues = parse_odf(data, APP)
    assert issues == []
    assert odf.paths(pkcs15.ODF_AUTH_OBJECTS) == [ObjectPath("3F00/0001/7001")]
    assert [p.path for p in odf.paths(pkcs15.ODF_DATA_OBJECTS)] == ["3F00/0001/7006",
                                                                    "3F00/0001/7007"]
    assert odf.paths(pkcs15.ODF_TRUSTED_CERTIFICATES) == []


def test_odf_keeps_what_precedes_damage() -> None:
    data = tlv(0xA4, path("7005")) + bytes.fromhex("A80A3008")
    odf, issues = parse_odf(data, APP)
    assert odf.paths(pkcs15.ODF_CERTIFICATES) == [ObjectPath("3F00/0001/7005")]
    assert issues and "ODF" in issues[0]


def test_aodf_finds_the_unblocking_pin_and_its_reference() -> None:
    data = (pin_object("Code porteur de la carte CPX", b"\x02\x0c", b"\x01")
            + pin_object("Code de deblocage", b"\x01\x3e", b"\x00\x83"))
    objects, issues = parse_aodf(data)
    assert issues == []
    assert [(o.label, o.reference, o.unblocking) for o in objects] == [
        ("Code porteur de la carte CPX", 1, False), ("Code de deblocage", 0x83, True)]
    assert unblocking_reference(objects) == 0x83


def test_aodf_without_unblocking_pin_gives_no_reference() -> None:
    objects, _ = parse_aodf(pin_object("Code porteur de la carte CPX", b"\x02\x0c", b"\x01"))
    assert unblocking_reference(objects) is None


def test_dodf_marks_pin_protected_objects() -> None:
    data = (data_object("CPS_ID_CARD", path("D001"))
            + data_object("CPS_DATA", path("D005"), flags=b"\x07\x80")  # private flag
            + data_object("CPS_LANG_PS", path("D004"), auth_id=b"\x01")
            + data_object("CPS_ACTIVITY_07_PS", path("D107"))  # protected by its label
            + data_object("CPS_SIT_FACT", path("D200")))
    objects, issues = parse_dodf(data, APP)
    assert issues == []
    protected = {o.label: o.needs_pin for o in objects}
    assert protected == {"CPS_ID_CARD": False, "CPS_DATA": True, "CPS_LANG_PS": True,
                         "CPS_ACTIVITY_07_PS": True, "CPS_SIT_FACT": True}
    assert pkcs15.find_by_label(objects, "CPS_ID_CARD").path == ObjectPath("3F00/0001/D001")


def test_dodf_entry_without_path_and_direct_values_are_kept_without_path() -> None:
    direct = tlv(0x30, common("CPS_DATA"), tlv(0x30), tlv(0xA1, tlv(0xA0, b"\x04\x01\x00")))
    objects, _ = parse_dodf(direct, APP)
    assert objects[0].label == "CPS_DATA" and objects[0].path is None


def test_cdf_gives_certificate_paths_with_index_and_length() -> None:
    data = (cert_object("Certificat d'Authentification CPS", path("C001"))
            + cert_object("Certificat de Signature CPS", path("C000", index=0, length=0x390)))
    objects, issues = parse_cdf(data, APP)
    assert issues == []
    assert objects[0].path == ObjectPath("3F00/0001/C001")
    assert objects[1].path == ObjectPath("3F00/0001/C000", 0, 0x390)


def test_a_broken_entry_is_skipped_and_the_next_kept() -> None:
    broken = tlv(0x30, tlv(0x30, tlv(0x0C, b"X")), tlv(0xA1, tlv(0x30, tlv(0x04, b"\x01"))))
    data = broken + cert_object("Certificat de Signature CPS", path("C002"))
    objects, issues = parse_cdf(data, APP)
    assert [o.label for o in objects] == ["Certificat de Signature CPS"]
    assert issues and "skipped" in issues[0]


def test_bit_strings() -> None:
    assert bit_string_bits(b"\x01\x02") == {6}
    assert bit_string_bits(b"\x07\x80") == {0}
    assert bit_string_bits(b"\x00\x00\x01") == {15}
    assert bit_string_bits(b"") == set()


def test_lenient_parse_skips_padding_and_stops_at_damage() -> None:
    objects, issue = parse_lenient(b"\x00\x00" + tlv(0x30, b"\x01") + b"\xff" + b"\x30\x05\x01")
    assert len(objects) == 1 and issue is not None


# --- property tests: random bytes end in results or ApduError, never in a crash ----


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_directory_parsers_never_crash_on_random_bytes(data: bytes) -> None:
    for parse in (lambda d: parse_odf(d, APP), lambda d: parse_dodf(d, APP),
                  lambda d: parse_cdf(d, APP), parse_aodf, parse_ef_dir):
        try:
            _items, issues = parse(data)
        except ApduError:
            continue
        assert isinstance(issues, list)


@st.composite
def damaged_directories(draw: st.DrawFn) -> bytes:
    """A valid DODF with random bytes flipped: closer to real damage than pure noise."""
    data = bytearray(data_object("CPS_ID_CARD", path("D001")) + cert_object("C", path("C001")))
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=300, deadline=None)
@given(damaged_directories())
def test_directory_parsers_never_crash_on_damaged_directories(data: bytes) -> None:
    for parse in (lambda d: parse_dodf(d, APP), lambda d: parse_cdf(d, APP), parse_aodf):
        with contextlib.suppress(ApduError):
            parse(data)
