"""PKCS#15 directories of the CPS (ISO/IEC 7816-15 / PKCS #15 v1.1, DER): EF.DIR, ODF, AODF,
CDF, DODF.

The file identifiers of the CPS objects are not published, so every path is found at run time:
EF.DIR names the application DF, the ODF names the directory files, and the directories name each
object by its label. Parsing is tolerant: an entry that cannot be decoded is skipped and said so
in the issues, and the others are kept.

Objects whose access needs the PIN (private flag, an authId, or the labels of practice and
billing situations) are marked :attr:`Pkcs15Object.needs_pin` and must never be read: middleware
would prompt for the PIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apdu.errors import TlvError
from apdu.tlv import Tlv, parse_one

CONTACT_APP_PATH = "3F00/0001"
CONTACTLESS_APP_PATH = "3F00/0002"
PKCS15_AID_CONTACT = bytes.fromhex("E828BD080F8025000001FF0010")
PKCS15_AID_CONTACTLESS = bytes.fromhex("E828BD080F8025000001FF0020")
EF_DIR_PATH = "3F00/2F00"
ODF_FID = "5031"
TOKEN_INFO_FID = "5032"
#: Published defaults (CPS-CARD.md 5.1), used only when the ODF does not name them.
DEFAULT_AODF_FID = "7001"
DEFAULT_CDF_FID = "7005"

PIN_LABEL = "Code porteur de la carte CPX"

#: Practice and billing situations: PIN-protected whatever their flags say.
PIN_PROTECTED_LABELS = re.compile(r"^CPS_(ACTIVITY_\d+_PS|SIT_FACT)$")

# ASN.1 universal tags as BER integers.
SEQUENCE = 0x30
UTF8_STRING = 0x0C
BIT_STRING = 0x03
OCTET_STRING = 0x04
INTEGER = 0x02
CONTEXT_0 = 0x80
TYPE_ATTRIBUTES = 0xA1

#: ODF choices (PKCS15Objects): context tags [0]..[8], constructed.
ODF_PRIVATE_KEYS = 0xA0
ODF_PUBLIC_KEYS = 0xA1
ODF_CERTIFICATES = 0xA4
ODF_TRUSTED_CERTIFICATES = 0xA5
ODF_USEFUL_CERTIFICATES = 0xA6
ODF_DATA_OBJECTS = 0xA7
ODF_AUTH_OBJECTS = 0xA8

#: CommonObjectFlags bit 0 ``private``: BIT STRING bit 0 is the top bit of the first byte.
FLAG_PRIVATE = 0x80
#: PinFlags bit 6 ``unblockingPin``.
PIN_FLAG_UNBLOCKING_BIT = 6


# --- lenient TLV walking -------------------------------------------------------------------------


def parse_lenient(data: bytes) -> tuple[list[Tlv], str | None]:
    """Top-level objects of ``data`` up to the first malformed one, and what went wrong there."""
    objects: list[Tlv] = []
    pos = 0
    data = bytes(data)
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):  # padding of a file larger than its content
            pos += 1
            continue
        try:
            tlv, used = parse_one(data[pos:])
        except TlvError as exc:
            return objects, f"at offset {pos}: {exc}"
        objects.append(tlv)
        pos += used
    return objects, None


def _children(tlv: Tlv) -> list[Tlv]:
    if not tlv.constructed:
        raise TlvError(f"{tlv.tag_hex} is primitive where a structure was expected")
    return tlv.children


def _first(objects: list[Tlv], tag: int) -> Tlv | None:
    return next((o for o in objects if o.tag == tag), None)


def bit_string_bits(value: bytes) -> set[int]:
    """Set bit numbers of a DER BIT STRING (bit 0 = top bit of the first content byte)."""
    if len(value) < 1:
        return set()
    bits = set()
    for index, byte in enumerate(value[1:]):
        for bit in range(8):
            if byte & (0x80 >> bit):
                bits.add(index * 8 + bit)
    return bits


def der_unsigned(value: bytes) -> int | None:
    """A DER INTEGER's value read as unsigned (``00 81`` -> 0x81); ``None`` if empty or long."""
    if not value or len(value) > 4:
        return None
    return int.from_bytes(value, "big")


# --- paths ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectPath:
    """A PKCS#15 Path resolved against the application DF; ``index``/``length`` select a part."""

    path: str
    index: int | None = None
    length: int | None = None


def resolve_path(raw: bytes, app_path: str) -> str:
    """``3F00...`` is absolute; anything else is relative to the PKCS#15 application DF."""
    if not raw or len(raw) % 2:
        raise TlvError(f"path {raw.hex().upper()} is not a list of file identifiers")
    fids = [raw[i : i + 2].hex().upper() for i in range(0, len(raw), 2)]
    if fids[0] == "3F00":
        return "/".join(fids)
    app_fids = app_path.split("/")
    if len(fids) > 1 and fids[0] == app_fids[-1]:
        # Written from the application DF's own identifier: relative to its parent.
        return "/".join([*app_fids[:-1], *fids])
    return "/".join([*app_fids, *fids])


def decode_path(tlv: Tlv, app_path: str) -> ObjectPath:
    """``Path ::= SEQUENCE { path OCTET STRING, index INTEGER OPTIONAL, length [0] OPTIONAL }``."""
    items = _children(tlv)
    octets = _first(items, OCTET_STRING)
    if octets is None:
        raise TlvError("Path without its OCTET STRING")
    index = _first(items, INTEGER)
    length = _first(items, CONTEXT_0)
    return ObjectPath(resolve_path(octets.value, app_path),
                      der_unsigned(index.value) if index is not None else None,
                      der_unsigned(length.value) if length is not None else None)


def _find_path(tlv: Tlv, app_path: str, depth: int = 0) -> ObjectPath | None:
    """The first Path (a SEQUENCE starting with an OCTET STRING) under ``tlv``."""
    if depth > 4 or not tlv.constructed:
        return None
    children = tlv.children
    if tlv.tag == SEQUENCE and children and children[0].tag == OCTET_STRING:
        return decode_path(tlv, app_path)
    for child in children:
        if child.constructed:
            found = _find_path(child, app_path, depth + 1)
            if found is not None:
                return found
    return None


# --- EF.DIR --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirApplication:
    aid: bytes
    label: str | None
    path: str | None


def parse_ef_dir(data: bytes) -> tuple[list[DirApplication], list[str]]:
    """EF.DIR: application templates ``61 { 4F aid, 50 label, 51 path, ... }``."""
    objects, issue = parse_lenient(data)
    issues = [f"EF.DIR {issue}"] if issue else []
    apps = []
    for obj in objects:
        if obj.tag != 0x61:
            continue
        try:
            items = _children(obj)
            aid = _first(items, 0x4F)
            if aid is None:
                continue
            label = _first(items, 0x50)
            path = _first(items, 0x51)
            apps.append(DirApplication(
                aid.value,
                label.value.decode("utf-8", "replace") if label is not None else None,
                resolve_path(path.value, "3F00") if path is not None and path.value else None,
            ))
        except TlvError as exc:
            issues.append(f"EF.DIR entry skipped: {exc}")
    return apps, issues


def application_path(apps: list[DirApplication], aid: bytes) -> str | None:
    return next((app.path for app in apps if app.aid == aid and app.path), None)


# --- ODF -----------------------------------------------------------------------------------------


@dataclass
class Odf:
    """Directory files named by the ODF, by kind (each a list: PKCS#15 allows several)."""

    entries: dict[int, list[ObjectPath]] = field(default_factory=dict)

    def paths(self, kind: int) -> list[ObjectPath]:
        return self.entries.get(kind, [])


def parse_odf(data: bytes, app_path: str) -> tuple[Odf, list[str]]:
    objects, issue = parse_lenient(data)
    issues = [f"ODF {issue}"] if issue else []
    odf = Odf()
    for obj in objects:
        if not 0xA0 <= obj.tag <= 0xAF:
            continue
        try:
            path = _find_path(obj, app_path)
        except TlvError as exc:
            issues.append(f"ODF entry {obj.tag_hex} skipped: {exc}")
            continue
        if path is not None:
            odf.entries.setdefault(obj.tag, []).append(path)
    return odf, issues


# --- common object attributes --------------------------------------------------------------------


@dataclass(frozen=True)
class Pkcs15Object:
    """A data or certificate object as its directory describes it."""

    label: str
    path: ObjectPath | None
    private: bool = False
    auth_id: bytes | None = None

    @property
    def needs_pin(self) -> bool:
        return self.private or self.auth_id is not None \
            or bool(PIN_PROTECTED_LABELS.match(self.label))


@dataclass(frozen=True)
class AuthObject:
    label: str
    reference: int | None
    unblocking: bool
    auth_id: bytes | None = None
    flags: frozenset[int] = frozenset()


def _common_attributes(items: list[Tlv]) -> tuple[str, bool, bytes | None]:
    """CommonObjectAttributes: ``SEQUENCE { label UTF8String, flags BIT STRING, authId ... }``."""
    common = items[0] if items and items[0].tag == SEQUENCE else None
    if common is None:
        return "", False, None
    fields = _children(common)
    label_tlv = _first(fields, UTF8_STRING)
    flags_tlv = _first(fields, BIT_STRING)
    auth_tlv = _first(fields, OCTET_STRING)
    label = label_tlv.value.decode("utf-8", "replace") if label_tlv is not None else ""
    private = bool(flags_tlv is not None and 0 in bit_string_bits(flags_tlv.value))
    auth_id = auth_tlv.value if auth_tlv is not None and auth_tlv.value else None
    return label, private, auth_id


def _parse_objects(data: bytes, app_path: str, what: str) -> tuple[list[Pkcs15Object], list[str]]:
    objects, issue = parse_lenient(data)
    issues = [f"{what} {issue}"] if issue else []
    found = []
    for obj in objects:
        try:
            items = _children(obj)
            label, private, auth_id = _common_attributes(items)
            type_attributes = _first(items, TYPE_ATTRIBUTES)
            path = _find_path(type_attributes, app_path) if type_attributes else None
        except TlvError as exc:
            issues.append(f"{what} entry skipped: {exc}")
            continue
        found.append(Pkcs15Object(label, path, private, auth_id))
    return found, issues


def parse_dodf(data: bytes, app_path: str) -> tuple[list[Pkcs15Object], list[str]]:
    """DODF: data objects (opaque: ``30``; external or OID-identified: ``A0``/``A1``)."""
    return _parse_objects(data, app_path, "DODF")


def parse_cdf(data: bytes, app_path: str) -> tuple[list[Pkcs15Object], list[str]]:
    """CDF: X.509 certificate objects, each naming the file that holds the certificate."""
    return _parse_objects(data, app_path, "CDF")


def parse_aodf(data: bytes) -> tuple[list[AuthObject], list[str]]:
    """AODF: PIN objects with their ``pinFlags`` and ``pinReference``."""
    objects, issue = parse_lenient(data)
    issues = [f"AODF {issue}"] if issue else []
    found = []
    for obj in objects:
        try:
            items = _children(obj)
            label, _private, _auth = _common_attributes(items)
            # CommonAuthenticationObjectAttributes: SEQUENCE { authId OCTET STRING, ... }
            auth_id = None
            if len(items) > 1 and items[1].tag == SEQUENCE:
                auth_tlv = _first(_children(items[1]), OCTET_STRING)
                auth_id = auth_tlv.value if auth_tlv is not None else None
            type_attributes = _first(items, TYPE_ATTRIBUTES)
            if type_attributes is None:
                continue
            pin_attributes = _first(_children(type_attributes), SEQUENCE)
            if pin_attributes is None:
                continue
            fields = _children(pin_attributes)
            flags_tlv = _first(fields, BIT_STRING)
            reference_tlv = _first(fields, CONTEXT_0)
            flags = frozenset(bit_string_bits(flags_tlv.value)) if flags_tlv else frozenset()
            reference = der_unsigned(reference_tlv.value) if reference_tlv is not None else None
        except TlvError as exc:
            issues.append(f"AODF entry skipped: {exc}")
            continue
        found.append(AuthObject(label, reference, PIN_FLAG_UNBLOCKING_BIT in flags, auth_id,
                                flags))
    return found, issues


def unblocking_reference(auth_objects: list[AuthObject]) -> int | None:
    """The reference of the unblock code: the AODF object flagged ``unblockingPin``."""
    return next((a.reference for a in auth_objects
                 if a.unblocking and a.reference is not None), None)


def find_by_label(objects: list[Pkcs15Object], label: str) -> Pkcs15Object | None:
    return next((o for o in objects if o.label == label), None)
