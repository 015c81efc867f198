"""ISO/IEC 7816 building blocks: APDUs, status words, BER-TLV, ATRs, the read-only guard,
transcripts, virtual cards and the vpcd bridge. Pure Python: no pyscard, click or rich here."""

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
from apdu.transport import T0Transport, Transport

__all__ = [
    "ApduError",
    "AtrError",
    "CommandApdu",
    "CommandRefused",
    "MalformedApdu",
    "NoRecordedAnswer",
    "ProtocolLoop",
    "ReadOnlyGuard",
    "ResponseApdu",
    "T0Transport",
    "TlvError",
    "TranscriptError",
    "Transport",
    "TransportError",
    "check_read_only",
]
