"""ISO/IEC 7816 building blocks: APDUs, status words, BER-TLV, ATRs, the read-only guard,
transcripts and replay. Pure Python: no pyscard, click or rich here."""

from apdu.atr import Atr, AtrPattern, InterfaceGroup, match_first
from apdu.command import CommandApdu
from apdu.errors import (
    ApduError,
    AtrError,
    CommandRefused,
    MalformedApdu,
    NoRecordedAnswer,
    ProtocolLoop,
    TlvError,
    TranscriptError,
    TransportError,
)
from apdu.guard import ReadOnlyGuard, check_read_only
from apdu.response import ResponseApdu
from apdu.sw import StatusWord, format_sw, tries_left
from apdu.sw import describe as describe_sw
from apdu.tlv import Tlv
from apdu.tlv import parse as parse_tlv
from apdu.transport import T0Transport, Transport

__all__ = [
    "ApduError",
    "Atr",
    "AtrError",
    "AtrPattern",
    "CommandApdu",
    "CommandRefused",
    "InterfaceGroup",
    "MalformedApdu",
    "NoRecordedAnswer",
    "ProtocolLoop",
    "ReadOnlyGuard",
    "ResponseApdu",
    "StatusWord",
    "T0Transport",
    "Tlv",
    "TlvError",
    "TranscriptError",
    "Transport",
    "TransportError",
    "check_read_only",
    "describe_sw",
    "format_sw",
    "match_first",
    "parse_tlv",
    "tries_left",
]
