"""The interface a simulated card offers to whatever carries APDUs to it (a direct transport,
or the vpcd bridge into a real pcscd)."""

from __future__ import annotations

from typing import Protocol


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
