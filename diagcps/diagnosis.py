"""One diagnosis: gather the facts (host, readers, cards), then run the checks over them.

Facts are gathered once and shared: each card is read once, by one ``read_card`` call, and every
card check looks at that one reading. Nothing here prints.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apdu.errors import ApduError
from apdu.transcript import Provenance, RecordingTransport, Transcript
from apdu.transport import ApduLimit
from diagcps.apdu_log import ApduLog, apdu_log
from diagcps.checks.context import CheckContext
from diagcps.checks.registry import RunResult, run_checks
from diagcps.checks.selection import applicable, select_checks
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
    #: Check ids left out with ``--skip`` (the verdicts say what that removed).
    skipped: list[str] = field(default_factory=list)
    #: The computer the card was used on, as a replayed transcript recorded it.
    recorded_host: dict[str, Any] | None = None
    #: When the replayed transcript was recorded (the date the diagnosis is judged at).
    recorded_at: datetime | None = None
    #: A redacted run's diagnosis for its files (report, transcript): the same facts judged on
    #: pseudonyms. The run's own results above, shown on the screen, keep the real values.
    for_files: Diagnosis | None = None

    @property
    def reading(self) -> Any | None:
        outcome = self.outcomes.get(self.diagnosed or "")
        return outcome.reading if outcome else None


class ReaderChoiceError(Exception):
    """``--reader`` matched no reader or several: a usage error, told before anything is read."""

    def __init__(self, code: str, wanted: str, readers: list[str]) -> None:
        super().__init__(f"{code}: {wanted!r} among {readers}")
        self.code = code
        self.wanted = wanted
        self.readers = readers


def recorded_moment(source: CardSource) -> datetime | None:
    """When a replayed transcript was recorded, or None (not a replay, or not recorded)."""
    transcript = getattr(source, "transcript", None)
    stamp = getattr(getattr(transcript, "provenance", None), "recorded_at", None)
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
    raise_on_reader_choice: bool = False,
) -> Diagnosis:
    """Gather the facts, then run the checks. With ``raise_on_reader_choice``, a ``--reader``
    that matches no reader or several raises :class:`ReaderChoiceError` before any card is
    read (the command line makes it a usage error). ``pseudonyms`` (a
    :class:`~diagcps.report.redact.Pseudonyms`): redact this run; the readings and the
    transcript are pseudonymised before any check speaks of them."""
    from diagcps.report.redact import new_run_id

    recorded_at = recorded_moment(source)
    # A replay is judged at the date it was recorded, unless asked otherwise: a card that
    # "expires soon" then must not read "has expired" on the support desk's computer later.
    now = now or recorded_at or datetime.now(timezone.utc)
    say = progress or (lambda _message: None)
    diagnosis = Diagnosis(source.kind, source.detail, now, reader_filter=reader_filter)
    diagnosis.recorded_at = recorded_at
    diagnosis.recorded_host = getattr(getattr(source, "transcript", None), "host", None)
    diagnosis.run_id = pseudonyms.run_id if pseudonyms is not None else new_run_id()
    diagnosis.redacted = bool(getattr(source, "redacted", False))
    diagnosis.source_run_id = getattr(source, "run_id", None)
    pseudonymised: dict[str, Any] = {}
    specs = select_checks(only=only, skip=skip, source_kind=source.kind)
    diagnosis.skipped = [i for i in skip if i in {spec.id for spec in applicable(source.kind)}]
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
    if diagnosis.selection_error and raise_on_reader_choice:
        raise ReaderChoiceError(diagnosis.selection_error, reader_filter or "",
                                [r.name for r in diagnosis.readers])
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
            if pseudonyms is not None:
                transcript, pseudonymised[reader.name] = _redact_card(outcome, transcript,
                                                                      pseudonyms, now)
            elif diagnosis.redacted:  # replaying a redacted transcript: pseudonyms already
                from diagcps.report.redact import mask_replayed_reading

                outcome.reading = mask_replayed_reading(outcome.reading)
            if record and transcript is not None and diagnosis.transcript is None:
                diagnosis.transcript = transcript
    diagnosis.diagnosed = _choose_diagnosed(diagnosis, candidates)

    ctx.now = now
    ctx.facts.update(_facts(diagnosis))
    diagnosis.network = ctx.facts["network"] = pending_network.wait()
    say("checks")
    diagnosis.results = run_checks(specs, ctx)
    if pseudonyms is not None:
        diagnosis.for_files = _for_files(diagnosis, pseudonymised, pseudonyms, specs, ctx)
    return diagnosis


def _for_files(diagnosis: Diagnosis, pseudonymised: dict[str, Any], pseudonyms: Any,
               specs: list[Any], ctx: CheckContext) -> Diagnosis:
    """The same diagnosis for the files of a redacted run: the checks judged again on the
    pseudonymised readings, so that every summary and detail speaks of pseudonyms, field by field
    (never by searching text). Judging is cheap; what is slow or touches the card (the reading,
    the network, the middleware probe) is not done twice: the checks reuse the facts gathered for
    the screen's diagnosis."""
    files = replace(diagnosis, outcomes={
        name: replace(outcome, reading=pseudonymised.get(name, outcome.reading))
        for name, outcome in diagnosis.outcomes.items()})
    files.redacted = True
    facts = {**ctx.facts, **_facts(files), "pseudonyms": pseudonyms}
    files.results = run_checks(specs, replace(ctx, facts=facts))
    return files


def _redact_card(outcome: CardOutcome, transcript: Transcript | None, pseudonyms: Any,
                 now: datetime) -> tuple[Transcript | None, Any]:
    """The transcript and the reading with pseudonyms in place of the card's personal values:
    the transcript first (which makes the certificates' stand-ins), then the reading. The
    outcome keeps the real reading, for the screen of the person whose card it is."""
    from diagcps.report.redact import pseudonymise_reading
    from diagcps.report.transcript_redact import redact_transcript

    readings = [outcome.reading] if outcome.reading is not None else []
    if transcript is not None:
        transcript = redact_transcript(transcript, pseudonyms, readings)
    reading = None
    if outcome.reading is not None:
        reading = pseudonymise_reading(outcome.reading, pseudonyms, now)
    return transcript, reading


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
    logged = ApduLog(recorder or transport) if apdu_log.isEnabledFor(logging.INFO) else None
    try:
        outcome.reading = read_card(ApduLimit(logged or recorder or transport,
                                              MAX_APDUS_PER_CARD),
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
