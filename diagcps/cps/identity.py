"""Holder identification data: CPS_ID_CARD (``E3``), CPS_NAME_PS (``E4``), CPS_INFO_PS (``ED``).

The layouts are the best public knowledge (docs/CPS-CARD.md 5.2, marked [B]), not a
published specification, so decoding is tolerant: unknown tags are ignored, lengths may use the
long form, any field may be missing, and damaged data yields whatever could be read before the
damage plus a note in ``issues``. Decoders never raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from apdu.tlv import Tlv
from diagcps.cps.codes import KIND_BY_CARD_TYPE, CodeTables, split_national_id
from diagcps.cps.model import Holder
from diagcps.cps.pkcs15 import parse_lenient

TAG_ID_CARD = 0xE3
TAG_NAME_PS = 0xE4
TAG_INFO_PS = 0xED

LABEL_ID_CARD = "CPS_ID_CARD"
LABEL_NAME_PS = "CPS_NAME_PS"
LABEL_INFO_PS = "CPS_INFO_PS"

FIRST_NAME_SEPARATOR = 0xFF
SPECIALTY_WIDTH = 10  # the first 10 characters of the qualifications hold the R01 code


@dataclass
class IdCard:
    issuer: str | None = None
    card_number: str | None = None
    #: G01, two hex digits as the card stores them (``00``; ``80``/``82``/``83`` = test).
    category: str | None = None
    issued: date | None = None
    expires: date | None = None
    issues: list[str] = field(default_factory=list)


@dataclass
class NamePs:
    civility_code: str | None = None
    birth_name: str | None = None
    usage_name: str | None = None
    first_names: list[str] = field(default_factory=list)
    first_name: str | None = None
    issues: list[str] = field(default_factory=list)


@dataclass
class InfoPs:
    #: G02, two digits (``00`` CPS, ``01`` CPF, ``02`` CPE, ``03`` CPA).
    card_type: str | None = None
    card_flags: int | None = None
    national_id: str | None = None
    profession_code: str | None = None
    training_profession_code: str | None = None
    practice_name: str | None = None
    qualifications: str | None = None
    specialty_code: str | None = None
    issues: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        return KIND_BY_CARD_TYPE.get(self.card_type or "")


# --- field decoders ------------------------------------------------------------------------------


def text(value: bytes) -> str | None:
    """ISO-8859-1 text, with the padding cards use (spaces, ``00``, ``FF``) stripped."""
    cleaned = value.strip(b"\x00\xff").decode("iso-8859-1").strip()
    return cleaned or None


def bcd_digits(value: bytes) -> str | None:
    """Packed BCD padded with ``F``; ``None`` when a nibble is neither a digit nor padding."""
    digits = value.hex().upper().rstrip("F")
    return digits if digits.isdigit() else None


def bcd_date(value: bytes) -> date | None:
    """BCD ``YYYYMMDD``."""
    digits = bcd_digits(value)
    if digits is None or len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def decimal_code(value: bytes) -> str | None:
    """A one-byte code "shown as 2 decimal digits" (civility, profession): ``0x0A`` -> ``"10"``."""
    if len(value) != 1:
        return None
    return f"{value[0]:02d}"


def _fields(data: bytes, container: int, what: str) -> tuple[dict[int, bytes], list[str]]:
    """The primitive children of the container (first occurrence of each tag) and issues.

    Accepts the container missing (children at the top level) and a container whose announced
    length runs past the data (the children present are kept).
    """
    issues: list[str] = []
    top, issue = parse_lenient(data)
    children: list[Tlv]
    holder = next((obj for obj in top if obj.tag == container), None)
    if holder is not None:
        children, inner = parse_lenient(holder.value)
        if inner:
            issues.append(f"{what}: damaged content {inner}")
    elif top:
        children = top
        if issue:
            issues.append(f"{what}: {issue}")
    else:
        children, inner = _truncated_container(data, container)
        issues.append(f"{what}: {issue or 'no ' + format(container, 'X') + ' container'}")
        if inner:
            issues.append(f"{what}: damaged content {inner}")
    values: dict[int, bytes] = {}
    for child in children:
        if child.constructed:
            continue  # unknown structure: not a field of these layouts
        values.setdefault(child.tag, child.value)
    return values, issues


def _truncated_container(data: bytes, container: int) -> tuple[list[Tlv], str | None]:
    """The children of a container whose length field promises more than the data holds."""
    pos = 0
    while pos < len(data) and data[pos] in (0x00, 0xFF):
        pos += 1
    if pos + 2 > len(data) or data[pos] != container:
        return [], None
    first = data[pos + 1]
    start = pos + 2 + (first & 0x7F if first > 0x80 else 0)
    if first == 0x80 or start > len(data):
        return [], None
    return parse_lenient(data[start:])


# --- the three objects ---------------------------------------------------------------------------


def decode_id_card(data: bytes) -> IdCard:
    values, issues = _fields(data, TAG_ID_CARD, "CPS_ID_CARD")
    result = IdCard(issues=issues)
    if 0x80 in values:
        result.issuer = bcd_digits(values[0x80])
    if 0x81 in values:
        result.card_number = bcd_digits(values[0x81])
        if result.card_number is None:
            issues.append("CPS_ID_CARD: card number is not BCD")
    if 0x82 in values and len(values[0x82]) >= 1:
        result.category = f"{values[0x82][0]:02X}"
    for tag, name in ((0x83, "issued"), (0x84, "expires")):
        if tag in values:
            day = bcd_date(values[tag])
            if day is None:
                issues.append(f"CPS_ID_CARD: {name} date {values[tag].hex().upper()} unreadable")
            setattr(result, name, day)
    return result


def decode_name_ps(data: bytes) -> NamePs:
    values, issues = _fields(data, TAG_NAME_PS, "CPS_NAME_PS")
    result = NamePs(issues=issues)
    if 0x80 in values:
        result.civility_code = decimal_code(values[0x80])
    if 0x81 in values:
        result.birth_name = text(values[0x81])
    if 0x82 in values:
        result.usage_name = text(values[0x82])
    if 0x83 in values:
        names = (text(part) for part in values[0x83].split(bytes((FIRST_NAME_SEPARATOR,))))
        result.first_names = [name for name in names if name][:3]
    if 0x84 in values:
        result.first_name = text(values[0x84])
    return result


def decode_info_ps(data: bytes) -> InfoPs:
    values, issues = _fields(data, TAG_INFO_PS, "CPS_INFO_PS")
    result = InfoPs(issues=issues)
    card_type = values.get(0x80, b"")
    if card_type:
        result.card_type = f"{card_type[0]:02d}"
        result.card_flags = card_type[1] if len(card_type) > 1 else None
    if 0x81 in values:
        result.national_id = text(values[0x81])
    if 0x82 in values:
        result.profession_code = decimal_code(values[0x82])
    if 0x83 in values:
        result.training_profession_code = decimal_code(values[0x83])
    if 0x84 in values:
        result.practice_name = text(values[0x84])
    if 0x85 in values:
        result.qualifications = values[0x85].decode("iso-8859-1")
        result.specialty_code = text(values[0x85][:SPECIALTY_WIDTH].replace(b"\x00", b" "))
    return result


def build_holder(name: NamePs | None, info: InfoPs | None, tables: CodeTables) -> Holder:
    """One holder from the names and the professional information, with labels."""
    holder = Holder()
    if name is not None:
        holder.civility_code = name.civility_code
        holder.civility = tables.label("G03", name.civility_code)
        holder.birth_name = name.birth_name
        holder.usage_name = name.usage_name
        holder.first_names = list(name.first_names)
        holder.first_name = name.first_name or (name.first_names[0] if name.first_names else None)
    if info is not None:
        holder.card_type_code = info.card_type
        holder.practice_name = info.practice_name
        holder.profession_code = info.profession_code
        holder.profession = tables.label("G15", info.profession_code)
        holder.training_profession_code = info.training_profession_code
        holder.training_profession = tables.label("G16", info.training_profession_code)
        holder.specialty_code = info.specialty_code
        holder.specialty = tables.label("R01", info.specialty_code)
        if info.national_id:
            national = split_national_id(info.national_id, tables)
            holder.national_id = national.raw
            holder.id_type = national.id_type
            holder.id_type_label = national.id_type_label
            holder.id_number = national.number
            holder.id_check_digit_ok = national.check_digit_ok
            holder.id_check_confirmed = national.check_confirmed
    # The official tool shows civility + practice name + usual first name.
    surname = holder.practice_name or holder.usage_name or holder.birth_name
    parts = [p for p in (holder.civility, surname, holder.first_name) if p]
    holder.display_name = " ".join(parts) if surname else None
    return holder

