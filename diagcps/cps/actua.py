"""EF_ACTUA (3F00/D010), the card-update journal.

Absent (``6A 82``) is the normal case. Present but empty, unreadable, or without an end date means
an update ("actualisation") was interrupted: the card is unusable until it is updated again.
Content: template ``EC`` with ``81`` start and ``82`` end date, BCD ``YYYYMMDDhhmmss``.
"""

from __future__ import annotations

from datetime import datetime

from apdu.command import CommandApdu
from apdu.errors import TlvError
from apdu.tlv import Tlv, parse
from apdu.transport import Transport
from diagcps.cps.model import ActuaStatus
from diagcps.cps.session import (
    BASIC_CHANNEL,
    SW_FILE_NOT_FOUND,
    Addressing,
    UnexpectedStatus,
    fcp_file_size,
    read_selected,
    select_command,
)

ACTUA_PATH = "3F00/D010"
#: The public trace's exact form (P2 04: the FCP tells the size when the file exists).
SELECT_ACTUA = CommandApdu(0x00, 0xA4, 0x09, 0x04, bytes.fromhex("3F00D010"))

TAG_JOURNAL = 0xEC
TAG_START = 0x81
TAG_END = 0x82


def read_actua(card: Transport, addressing: Addressing = BASIC_CHANNEL) -> ActuaStatus:
    """Select EF_ACTUA and, when it exists, read and judge it.

    A select answer other than ``9000`` or ``6A82`` gives no verdict (``incident=None``); the
    caller records it as a read problem. On a CPS4 the same file is asked on the ChipDoc channel.
    """
    command = (select_command(ACTUA_PATH, addressing=addressing) if addressing.chipdoc
               else SELECT_ACTUA)
    response = card.transmit(command)
    if response.sw == SW_FILE_NOT_FOUND:
        return ActuaStatus(present=False, incident=False, sw="6A82")
    if not response.ok:
        raise UnexpectedStatus(command, response.sw, "select EF_ACTUA")
    size = fcp_file_size(response.data)
    try:
        data = read_selected(card, "EF_ACTUA", size=size, cla=addressing.cla,
                             max_chunk=addressing.max_chunk)
    except UnexpectedStatus as exc:
        return ActuaStatus(present=True, incident=True, sw=exc.sw_hex,
                           reason=f"present but unreadable ({exc.sw_hex})")
    return decode_actua(data)


def decode_actua(data: bytes) -> ActuaStatus:
    """Judge the journal's content (the file is known to be present)."""
    if not data or all(byte in (0x00, 0xFF) for byte in data):
        return ActuaStatus(present=True, incident=True, sw="9000", reason="present but empty")
    try:
        journals = [obj for obj in parse(data) if obj.tag == TAG_JOURNAL]
        last = journals[-1] if journals else None
        fields = _fields(last) if last is not None else {}
    except TlvError as exc:
        return ActuaStatus(present=True, incident=True, sw="9000",
                           reason=f"present but unreadable: {exc}")
    if last is None:
        return ActuaStatus(present=True, incident=True, sw="9000",
                           reason="present without an EC journal template")
    started = bcd_datetime(fields.get(TAG_START, b""))
    ended = bcd_datetime(fields.get(TAG_END, b""))
    if TAG_END not in fields:
        return ActuaStatus(True, True, started, None, "present without an end date", "9000")
    if ended is None:
        return ActuaStatus(True, True, started, None, "end date unreadable", "9000")
    return ActuaStatus(True, False, started, ended, None, "9000")


def _fields(journal: Tlv) -> dict[int, bytes]:
    return {child.tag: child.value for child in journal.children if not child.constructed}


def bcd_datetime(value: bytes) -> datetime | None:
    """BCD ``YYYYMMDDhhmmss`` (or just ``YYYYMMDD``) -> datetime; ``None`` if not a valid date."""
    digits = value.hex().upper().rstrip("F")
    if len(digits) not in (8, 12, 14) or not digits.isdigit():
        return None
    digits = digits.ljust(14, "0")
    try:
        return datetime(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]),
                        int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return None
