"""The interface a simulated card offers to whatever carries APDUs to it (a direct transport,
or the vpcd bridge into a real pcscd)."""

from __future__ import annotations

from typing import Protocol

from apdu.command import CommandApdu
from apdu.response import ResponseApdu


class CardModel(Protocol):
    """A card simulated in software.

    ``process`` takes a raw command APDU and returns the raw response (data + SW1 SW2), exactly as
    the card would on the wire, including T=0 answers such as ``61xx``. The power methods receive
    the reader's control events so that a test can see whether a tool reset or powered off a card.
    """

    @property
    def atr(self) -> bytes: ...

    def process(self, command: bytes) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def reset(self) -> None: ...


class DirectTransport:
    """A transport straight into a card model: no PC/SC, for unit tests and the built-in demo."""

    def __init__(self, card: CardModel) -> None:
        self.card = card

    @property
    def atr(self) -> bytes:
        return self.card.atr

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        return ResponseApdu.from_bytes(self.card.process(command.to_bytes()))

    def close(self) -> None:
        return None
