"""Where cards come from: the PC/SC service, a recorded transcript, or a virtual card.

The diagnosis asks a source for its readers and opens a transport to the card in one of them; it
does not care whether a real reader, a replayed transcript or a simulated card answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apdu.cardmodel import CardModel, DirectTransport
from apdu.transcript import ReplayCard, Transcript
from apdu.transport import Transport


class SourceError(Exception):
    """The source could not list readers or open a card; ``code`` is the finding code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReaderView:
    name: str
    #: "empty", "present", "mute", "in_use" or "unavailable".
    state: str
    atr: bytes | None = None


class CardSource(Protocol):
    #: "pcsc", "replay" or "virtual".
    kind: str
    detail: str | None

    def readers(self) -> list[ReaderView]: ...

    def open(self, reader: str) -> Transport: ...


class PcscSource:
    """Readers and cards through the PC/SC service (pyscard is imported only here, lazily)."""

    kind = "pcsc"
    detail: str | None = None

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    def readers(self) -> list[ReaderView]:
        from diagcps import pcsc

        try:
            states = pcsc.list_readers(timeout_s=self.timeout_s)
        except pcsc.PcscError as exc:
            raise SourceError(exc.code, str(exc)) from exc
        return [ReaderView(s.name, s.state, s.atr) for s in states]

    def open(self, reader: str) -> Transport:
        from diagcps import pcsc

        try:
            return pcsc.PcscTransport.connect(reader, timeout_s=self.timeout_s)
        except pcsc.PcscError as exc:
            raise SourceError(exc.code, str(exc)) from exc


class ReplaySource:
    """One pseudo-reader holding the card a transcript recorded."""

    kind = "replay"

    def __init__(self, transcript: Transcript, label: str) -> None:
        self.transcript = transcript
        self.detail = label
        self.reader_name = transcript.reader or f"replay: {label}"
        #: A transcript recorded with ``--redact``: its values are pseudonyms, reported as such.
        self.redacted = transcript.provenance.redacted
        self.run_id = transcript.provenance.run_id

    def readers(self) -> list[ReaderView]:
        return [ReaderView(self.reader_name, "present", self.transcript.atr)]

    def open(self, reader: str) -> Transport:
        return ReplayCard(self.transcript)


class VirtualSource:
    """Simulated cards plugged straight into the tool, without PC/SC (tests, demonstrations)."""

    kind = "virtual"

    def __init__(self, cards: dict[str, CardModel | None], detail: str | None = None) -> None:
        self.cards = cards
        self.detail = detail

    def readers(self) -> list[ReaderView]:
        return [
            ReaderView(name, "present" if card else "empty", card.atr if card else None)
            for name, card in self.cards.items()
        ]

    def open(self, reader: str) -> Transport:
        card = self.cards.get(reader)
        if card is None:
            raise SourceError("CARD_ABSENT", f"no card in {reader}")
        return DirectTransport(card)
