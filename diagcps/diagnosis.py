"""One diagnosis: gather the facts (host, readers, cards), then run the checks over them.

Facts are gathered once and shared: each card is read once, by one ``read_card`` call, and every
card check looks at that one reading. Nothing here prints.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apdu.errors import ApduError
from apdu.transcript import Provenance, RecordingTransport, Transcript
from apdu.transport import ApduLimit
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
    #: The finding code that made the reading start over once (another program's reset).
    retried_after: str | None = None
    #: ``"Type: message"`` when reading the card crashed (a bug of the tool, never the card's).
    crashed: str | None = None


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
    #: What the network family found (diagcps.network.probe.NetworkOutcome).
    network: Any | None = None
    #: Personal values are pseudonyms: redacted by this run, or replayed from a redacted
    #: transcript.
    redacted: bool = False
    #: This run, named in its report and transcript; and the run a replayed transcript came from.
    run_id: str | None = None
    source_run_id: str | None = None

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
    network: Any | None = None,
    pseudonyms: Any | None = None,
) -> Diagnosis:
    """``pseudonyms`` (a :class:`~diagcps.report.redact.Pseudonyms`): redact this run; the
    readings and the transcript are pseudonymised before any check speaks of them."""
    from diagcps.report.redact import new_run_id

    now = now or datetime.now(timezone.utc)
    say = progress or (lambda _message: None)
    diagnosis = Diagnosis(source.kind, source.detail, now, reader_filter=reader_filter)
    diagnosis.run_id = pseudonyms.run_id if pseudonyms is not None else new_run_id()
    diagnosis.redacted = pseudonyms is not None or bool(getattr(source, "redacted", False))
    diagnosis.source_run_id = getattr(source, "run_id", None)
    specs = select_checks(only=only, skip=skip, source_kind=source.kind)
    wants_card = any(spec.id.startswith("card.") for spec in specs)
    from diagcps.network.family import start_probe

    # The network family runs beside the card reading (network: NetworkSettings, or None).
    pending_network = start_probe(network, specs, source.kind)

    say("readers")
    try:
        diagnosis.readers = source.readers()
    except SourceError as exc:
        diagnosis.pcsc_error, diagnosis.pcsc_message = exc.code, str(exc)

    ctx = context or CheckContext()
    if dictionary is None:
        # The code tables of the diagnosed machine (under the context's root), not the ones of
        # whatever machine runs the tool.
        from diagcps.workstation.cryptolib import installed_dictionary

        dictionary = installed_dictionary(ctx.system, ctx.root, ctx.env)
    candidates = _select_readers(diagnosis)
    if wants_card:
        for reader in candidates:
            if reader.state != "present":
                continue
            say(f"card:{reader.name}")
            outcome, recorder = _read_one(source, reader, now, record or pseudonyms is not None,
                                          dictionary)
            diagnosis.outcomes[reader.name] = outcome
            transcript = None
            if recorder is not None:
                transcript = recorder.transcript(
                    Provenance("real-card" if source.kind == "pcsc" else f"{source.kind}",
                               f"recorded by diagcps check from reader {reader.name}",
                               now.strftime("%Y-%m-%dT%H:%M:%SZ"), run_id=diagnosis.run_id),
                    reader=reader.name,
                )
            if diagnosis.redacted:
                transcript = _redact_card(outcome, transcript, pseudonyms, now)
            if record and transcript is not None and diagnosis.transcript is None:
                diagnosis.transcript = transcript
    diagnosis.diagnosed = _choose_diagnosed(diagnosis, candidates)

    ctx.now = now
    ctx.facts.update(_facts(diagnosis))
    diagnosis.network = ctx.facts["network"] = pending_network.wait()
    say("checks")
    diagnosis.results = run_checks(specs, ctx)
    return diagnosis


def _redact_card(outcome: CardOutcome, transcript: Transcript | None, pseudonyms: Any,
                 now: datetime) -> Transcript | None:
    """Pseudonyms in place of the card's personal values, before any check looks at them: in
    the transcript first (which makes the certificates' stand-ins), then in the reading."""
    from diagcps.report.redact import mask_replayed_reading, pseudonymise_reading

    if pseudonyms is None:  # replaying a redacted transcript: already pseudonyms
        outcome.reading = mask_replayed_reading(outcome.reading)
        return transcript
    from diagcps.report.transcript_redact import redact_transcript

    readings = [outcome.reading] if outcome.reading is not None else []
    if transcript is not None:
        transcript = redact_transcript(transcript, pseudonyms, readings)
    if outcome.reading is not None:
        outcome.reading = pseudonymise_reading(outcome.reading, pseudonyms, now)
    return transcript


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


#: The most commands one card reading may send: a healthy CPS3 takes 40 (bench/apdu_counts.py).
#: A card whose plausible-looking answers would keep the reading going (directories naming
#: thousands of files, files without end) is stopped here; each command is itself bounded in
#: time by the transport (``--timeout``) and in GET RESPONSE / Le rounds by the T=0 layer.
MAX_APDUS_PER_CARD = 300

#: A reset by another program loses nothing of ours (the tool never logs in): read again, once.
_RETRY_ONCE_AFTER = "CARD_RESET"


def _read_one(
    source: CardSource, reader: ReaderView, now: datetime, record: bool,
    dictionary: Path | None,
) -> tuple[CardOutcome, RecordingTransport | None]:
    outcome, recorder = _read_once(source, reader, now, record, dictionary)
    if _RETRY_ONCE_AFTER in (outcome.open_error, *_problem_codes(outcome)):
        log.info("%s: the card was reset by another program; reading it again", reader.name)
        outcome, recorder = _read_once(source, reader, now, record, dictionary)
        outcome.retried_after = _RETRY_ONCE_AFTER
    return outcome, recorder


def _problem_codes(outcome: CardOutcome) -> list[str]:
    return [p.code for p in getattr(outcome.reading, "problems", None) or ()]


def _read_once(
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
        outcome.reading = read_card(ApduLimit(recorder or transport, MAX_APDUS_PER_CARD),
                                    now=now, dictionary=dictionary)
    except Exception as exc:  # read_card never raises for the card's doing: this is our bug
        log.error("reading the card in %s crashed:\n%s", reader.name, traceback.format_exc())
        outcome.crashed = f"{type(exc).__name__}: {exc}"
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
