"""One diagnosis: gather the facts (host, readers, cards), then run the checks over them.

Facts are gathered once and shared: each card is read once, by one ``read_card`` call, and every
card check looks at that one reading. Nothing here prints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apdu.errors import ApduError
from apdu.transcript import Provenance, RecordingTransport, Transcript
from diagcps.checks.context import CheckContext
from diagcps.checks.registry import RunResult, run_checks
from diagcps.checks.selection import select_checks
from diagcps.sources import CardSource, ReaderView, SourceError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class CardOutcome:
    """What happened in one reader holding a card."""

    reader: str
    reading: Any | None = None  # diagcps.cps.model.CardReading
    open_error: str | None = None  # finding code when the card could not be opened
    open_message: str | None = None


@dataclass
class Diagnosis:
    source_kind: str
    source_detail: str | None
    now: datetime
    readers: list[ReaderView] = field(default_factory=list)
    pcsc_error: str | None = None
    pcsc_message: str | None = None
    reader_filter: str | None = None
    selection_error: str | None = None
    outcomes: dict[str, CardOutcome] = field(default_factory=dict)
    diagnosed: str | None = None
    results: list[RunResult] = field(default_factory=list)
    transcript: Transcript | None = None

    @property
    def reading(self) -> Any | None:
        outcome = self.outcomes.get(self.diagnosed or "")
        return outcome.reading if outcome else None


def diagnose(
    source: CardSource,
    *,
    reader_filter: str | None = None,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    now: datetime | None = None,
    record: bool = False,
    context: CheckContext | None = None,
    progress: Progress | None = None,
    dictionary: Path | None = None,
) -> Diagnosis:
    now = now or datetime.now(timezone.utc)
    say = progress or (lambda _message: None)
    diagnosis = Diagnosis(source.kind, source.detail, now, reader_filter=reader_filter)
    specs = select_checks(only=only, skip=skip, source_kind=source.kind)
    wants_card = any(spec.id.startswith("card.") for spec in specs)

    say("readers")
    try:
        diagnosis.readers = source.readers()
    except SourceError as exc:
        diagnosis.pcsc_error, diagnosis.pcsc_message = exc.code, str(exc)

    candidates = _select_readers(diagnosis)
    recorder: RecordingTransport | None = None
    if wants_card:
        for reader in candidates:
            if reader.state != "present":
                continue
            say(f"card:{reader.name}")
            outcome, used = _read_one(source, reader, now, record, dictionary)
            diagnosis.outcomes[reader.name] = outcome
            if used is not None and diagnosis.transcript is None:
                recorder = used
                diagnosis.transcript = recorder.transcript(
                    Provenance("real-card" if source.kind == "pcsc" else f"{source.kind}",
                               f"recorded by diagcps check from reader {reader.name}",
                               now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                    reader=reader.name,
                )
    diagnosis.diagnosed = _choose_diagnosed(diagnosis, candidates)

    ctx = context or CheckContext()
    ctx.now = now
    ctx.facts.update(_facts(diagnosis))
    say("checks")
    diagnosis.results = run_checks(specs, ctx)
    return diagnosis


def _select_readers(diagnosis: Diagnosis) -> list[ReaderView]:
    readers = diagnosis.readers
    wanted = diagnosis.reader_filter
    if not wanted:
        return readers
    matches = [r for r in readers if wanted.casefold() in r.name.casefold()]
    if not matches:
        diagnosis.selection_error = "READER_NOT_FOUND"
    elif len(matches) > 1:
        diagnosis.selection_error = "READER_AMBIGUOUS"
    return matches if len(matches) == 1 else []


def _read_one(
    source: CardSource, reader: ReaderView, now: datetime, record: bool,
    dictionary: Path | None,
) -> tuple[CardOutcome, RecordingTransport | None]:
    from diagcps.cps.reader import read_card

    outcome = CardOutcome(reader.name)
    try:
        transport = source.open(reader.name)
    except SourceError as exc:
        outcome.open_error, outcome.open_message = exc.code, str(exc)
        return outcome, None
    recorder = RecordingTransport(transport) if record else None
    try:
        outcome.reading = read_card(recorder or transport, now=now, dictionary=dictionary)
    finally:
        try:
            transport.close()
        except (ApduError, OSError) as exc:  # releasing a pulled card may fail: nothing to do
            log.info("closing %s: %s", reader.name, exc)
    return outcome, recorder


def _choose_diagnosed(diagnosis: Diagnosis, candidates: list[ReaderView]) -> str | None:
    """The reader whose card the card checks speak of: a recognised CPS first, then any card."""
    outcomes = list(diagnosis.outcomes.values())
    for outcome in outcomes:
        if outcome.reading is not None and getattr(outcome.reading, "recognised", False):
            return outcome.reader
    if outcomes:
        return outcomes[0].reader
    for reader in candidates:
        if reader.state in ("mute", "in_use"):
            return reader.name
    return None


def _facts(diagnosis: Diagnosis) -> dict[str, Any]:
    reading = diagnosis.reading
    generations = sorted({o.reading.generation for o in diagnosis.outcomes.values()
                          if o.reading is not None and o.reading.generation})
    dates = []
    if reading is not None:
        dates = [(c.not_before, c.not_after) for c in reading.certificates
                 if c.not_before is not None and c.not_after is not None]
    return {
        "source_kind": diagnosis.source_kind,
        "pcsc_error": diagnosis.pcsc_error,
        "pcsc_message": diagnosis.pcsc_message,
        "readers": diagnosis.readers,
        "reader_filter": diagnosis.reader_filter,
        "selection_error": diagnosis.selection_error,
        "outcomes": diagnosis.outcomes,
        "diagnosed": diagnosis.diagnosed,
        "reading": reading,
        "generations": generations,
        "certificate_dates": dates,
    }
