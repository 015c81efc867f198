"""Errors raised by the apdu layer.

Every failure the layer can detect has its own type, all under :class:`ApduError`, so that callers
(and property tests) can tell "the input was bad" from "the code has a bug".
"""

from __future__ import annotations


class ApduError(Exception):
    """Base class of every error the apdu layer raises on purpose."""


class MalformedApdu(ApduError):
    """A command or response APDU could not be built or parsed."""


class TlvError(ApduError):
    """BER-TLV data is truncated, overlong or otherwise malformed."""


class AtrError(ApduError):
    """An answer-to-reset is malformed."""


class CommandRefused(ApduError):
    """The read-only guard refused a command before it reached the card."""

    def __init__(self, command_hex: str, reason: str) -> None:
        super().__init__(f"refused {command_hex}: {reason}")
        self.command_hex = command_hex
        self.reason = reason


class TransportError(ApduError):
    """The transport could not carry an exchange (card removed, link down, time-out...)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        #: A finding code (see the troubleshooting catalogue) when the cause is known.
        self.code = code


class ProtocolLoop(TransportError):
    """The card kept answering 61xx/6Cxx beyond the bound the T=0 layer allows."""


class TooManyApdus(TransportError):
    """A reading went past the number of commands one card may take (see ``ApduLimit``)."""


class TranscriptError(ApduError):
    """A transcript file is unreadable, of an unknown version, or malformed."""


class NoRecordedAnswer(TransportError):
    """A replayed transcript holds no answer for the command that was sent."""

    def __init__(self, command_hex: str) -> None:
        super().__init__(f"the transcript has no answer for {command_hex}", code="REPLAY_MISSING")
        self.command_hex = command_hex


class ProfileError(ApduError):
    """A virtual card profile is malformed."""
