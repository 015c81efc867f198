"""The verdicts at the top of a report: one line per question the user asks (does my card work?
is this workstation compatible? can it reach Pro Santé Connect?), each resting on one family of
checks.

A verdict never claims more than was checked: it is positive ("ok", "warning") only when every
check of its family ran and passed; otherwise it says "partial" with how many checks ran, which
were not examined and what a ``--skip`` removed. "Not examined" is what the run left out (check
ids, ``--skip``) or what a prerequisite that did not pass kept from running. A check that ran and
found nothing of its kind to look at (Firefox not installed, Chromium outside Linux, a virtual
card the Cryptolib cannot be shown) did run: its own line says why. With no network at all, the
network verdict is the one calm ``NETWORK_OFFLINE`` finding.
Notes for information (``OS_UNSUPPORTED``...) never make a verdict anything but OK.

A question the run did not ask at all is "skipped" with the reason (``skipped_because``): a
replay has no workstation and no network to look at; ``--offline`` leaves out the network
question on purpose, nothing being sent. Such a verdict says so in its own words and leaves the
other verdicts whole: going offline changes neither the card's verdict nor the workstation's,
and is no partial run (exit code 0 when nothing failed).

A new question is one more :class:`VerdictSpec` in :data:`VERDICTS`, with the check groups it
rests on and the function that judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diagcps import messages
from diagcps.checks.base import Status
from diagcps.checks.registry import RunResult
from diagcps.checks.selection import applicable, removed_by
from diagcps.text import Text


@dataclass(frozen=True)
class Judgement:
    """What a family of checks says, before coverage is taken into account."""

    status: str
    code: str | None
    text: Text


@dataclass(frozen=True)
class VerdictSpec:
    """One question of the report. The catalogue (messages.toml) holds its words:
    ``verdict.label.KEY``, ``verdict.KEY.not_selected`` and, for each reason the question may
    not be asked (a source kind in ``not_for``, or what ``not_asked`` returns),
    ``verdict.KEY.<reason>`` (e.g. ``verdict.workstation.replay``, ``verdict.network.offline``)."""

    key: str
    #: First part of the ids of the checks this verdict rests on ("card" for "card.pin").
    groups: tuple[str, ...]
    judge: Callable[[Any, list[RunResult]], Judgement]
    #: Source kinds where this question cannot be answered at all (a replay has no workstation).
    not_for: tuple[str, ...] = ()
    #: Why this run did not ask the question at all (``"offline"``), or None.
    not_asked: Callable[[Any], str | None] | None = None


def group_of(run: RunResult) -> str:
    return run.spec.id.split(".")[0]


def examined(run: RunResult) -> bool:
    """Whether the check ran. One skipped by the registry (left out of the run, or kept from
    running by a prerequisite that did not pass: ``skipped_because``) did not. One that ran and
    said itself why it had nothing to look at (Chromium outside Linux, a virtual card the
    Cryptolib cannot be shown) did: its own line says so, and counting it as missing would make
    every run on Windows "partial"."""
    return run.result.status is not Status.SKIPPED or \
        "skipped_because" not in run.result.details


def in_groups(results: list[RunResult], groups: tuple[str, ...]) -> list[RunResult]:
    return [r for r in results if group_of(r) in groups]


def informational(run: RunResult) -> bool:
    return run.result.code in messages.codes("informational")


def worst(results: list[RunResult]) -> RunResult | None:
    """The finding a verdict speaks of: the most severe; among equals, the first in reading
    order. Notes for information do not count."""
    ranked = [r for r in results
              if r.result.status not in (Status.OK, Status.SKIPPED) and not informational(r)]
    return max(ranked, key=lambda r: (r.result.status.severity, -ranked.index(r)), default=None)


def remarks(results: list[RunResult]) -> int:
    return sum(1 for r in results if r.result.status is Status.WARNING and not informational(r))


def joined(lead: Text, run: RunResult) -> Text:
    """A verdict's headline followed by the finding it rests on."""
    summary = run.result.summary
    return Text(f"{lead.fr} {summary.fr}", f"{lead.en} {summary.en}")


def tool_error(run: RunResult) -> Text:
    return messages.text("verdict.common.tool_error", fr_title=run.spec.title.fr,
                         en_title=run.spec.title.en)


# --- the card --------------------------------------------------------------------------------

#: Failures of the link to the card (TROUBLESHOOTING.md section 3), not of the card itself.
_NOT_CHECKED = frozenset({"CARD_REMOVED", "CARD_RESET", "PCSC_TIMEOUT", "CARD_IN_USE",
                          "PCSC_SERVICE_STOPPED", "NO_READER", "PCSC_ERROR"})

def _headline(code: str | None) -> Text | None:
    """The card verdict's own sentence for a finding that says it all (``[verdict.headline]``)."""
    if code and code in messages.table("verdict").get("headline", {}):
        return messages.text(f"verdict.headline.{code}")
    return None

#: The checks between the tool and the card: when one fails, the card was never examined.
_LINK_CHECKS = ("pcsc.service", "reader.present", "reader.selection")


def judge_card(_diagnosis: Any, results: list[RunResult]) -> Judgement:
    card = in_groups(results, ("card",))
    not_checked = messages.text("verdict.card.not_checked")
    blocker = worst([r for r in results if r.spec.id in _LINK_CHECKS])
    if blocker is not None and blocker.result.status is Status.FAIL:
        return Judgement("fail", blocker.result.code, joined(not_checked, blocker))
    found = worst(card)
    if found is None:
        return Judgement("ok", None, messages.text("verdict.card.ok"))
    status, code = found.result.status.value, found.result.code
    if status == "error":
        return Judgement("error", None, tool_error(found))
    if status == "warning":
        lead = messages.text("verdict.card.warning", count=remarks(card))
        return Judgement("warning", code, joined(lead, found))
    if code in _NOT_CHECKED:
        # The card was not shown to fail: the link to it broke. Say so, not "does not work".
        return Judgement(status, code, joined(not_checked, found))
    headline = _headline(code) or joined(
        messages.text("verdict.card.does_not_work"), found)
    return Judgement(status, code, headline)


# --- the workstation -------------------------------------------------------------------------

def judge_workstation(_diagnosis: Any, results: list[RunResult]) -> Judgement:
    station = in_groups(results, WORKSTATION_GROUPS)
    found = worst(station)
    if found is None:
        return Judgement("ok", None, messages.text("verdict.workstation.ok"))
    if found.result.status is Status.ERROR:
        return Judgement("error", None, tool_error(found))
    if found.result.status is Status.WARNING:
        lead = messages.text("verdict.workstation.warning", count=remarks(station))
        return Judgement("warning", found.result.code, joined(lead, found))
    lead = messages.text("verdict.workstation.not_ready")
    return Judgement(found.result.status.value, found.result.code, joined(lead, found))


WORKSTATION_GROUPS = ("host", "pcsc", "reader", "workstation")


# --- the network: access to Pro Santé Connect ---------------------------------------------------

NETWORK_GROUPS = ("network",)
#: Workstation findings that also stand between the user and Pro Santé Connect.
_NETWORK_ALSO = frozenset({"CLOCK_SKEW"})


def judge_network(_diagnosis: Any, results: list[RunResult]) -> Judgement:
    """Can this workstation reach Pro Santé Connect? Never about the card."""
    relevant = [r for r in results
                if group_of(r) in NETWORK_GROUPS or r.result.code in _NETWORK_ALSO]
    found = worst(relevant)
    if found is None:
        if not any(r.result.status is Status.OK for r in in_groups(relevant, NETWORK_GROUPS)):
            return Judgement("skipped", None, messages.text("verdict.network.not_checked"))
        return Judgement("ok", None, messages.text("verdict.network.ok"))
    status, code = found.result.status, found.result.code
    if status is Status.ERROR:
        return Judgement("error", None, tool_error(found))
    if code == "NETWORK_OFFLINE":
        # No network at all: the finding says it calmly, and that the card does not depend on it.
        return Judgement("warning", code, found.result.summary)
    lead = messages.text("verdict.network.warning" if status is Status.WARNING
                         else "verdict.network.not_ready")
    return Judgement(status.value, code, joined(lead, found))


def network_not_asked(diagnosis: Any) -> str | None:
    """``--offline``: the question is left out on purpose, nothing was sent. ``demo`` does not
    ask it either (its card is virtual, its checks run without network settings)."""
    skipped = getattr(getattr(diagnosis, "network", None), "skipped", None)
    if skipped == "offline":
        return "offline"
    if skipped == "not_requested" and in_groups(diagnosis.results, NETWORK_GROUPS):
        return "not_requested"
    return None


VERDICTS: list[VerdictSpec] = [
    VerdictSpec("card", ("card",), judge_card),
    VerdictSpec("workstation", WORKSTATION_GROUPS, judge_workstation, not_for=("replay",)),
    VerdictSpec("network", NETWORK_GROUPS, judge_network, not_for=("replay",),
                not_asked=network_not_asked),
]


# --- coverage --------------------------------------------------------------------------------

def verdicts(diagnosis: Any, lang: str) -> dict[str, dict[str, Any]]:
    """Every verdict of :data:`VERDICTS`, in order, as the report's ``verdicts`` object."""
    return {spec.key: verdict(spec, diagnosis, lang) for spec in VERDICTS}


def verdict(spec: VerdictSpec, diagnosis: Any, lang: str) -> dict[str, Any]:
    results: list[RunResult] = diagnosis.results
    expected = [s for s in applicable("pcsc") if s.id.split(".")[0] in spec.groups]
    label = messages.msg(f"verdict.label.{spec.key}", lang)
    reason = not_asked(spec, diagnosis)
    if reason is not None:
        text = messages.text(f"verdict.{spec.key}.{reason}")
        return {"status": "skipped", "code": None, "summary": text.get(lang), "label": label,
                "complete": False, "missing": [s.id for s in expected], "checks_run": 0,
                "checks_total": len(expected), "skipped_because": reason}
    ran = {r.spec.id for r in in_groups(results, spec.groups) if examined(r)}
    missing = [s for s in expected if s.id not in ran]
    base = {"label": label, "complete": not missing, "missing": [s.id for s in missing],
            "checks_run": len(ran), "checks_total": len(expected)}
    judged = spec.judge(diagnosis, results)
    status, text = judged.status, judged.text
    if not ran and status in ("ok", "warning", "skipped"):
        text = _with_coverage(messages.text(f"verdict.{spec.key}.not_selected"), missing,
                              diagnosis)
        return {"status": "skipped", "code": None, "summary": text.get(lang), **base,
                "skipped_because": "not_selected"}
    if status == "skipped":
        # Every check ran and none could see anything to judge (said by each check).
        return {"status": "skipped", "code": None, "summary": text.get(lang), **base,
                "skipped_because": "unavailable"}
    if missing:
        count, total = len(ran), len(expected)
        if status in ("ok", "warning"):
            # Nothing wrong was found, but not everywhere: never a positive verdict.
            key = "partial" if status == "ok" else "partial_short"
            lead = messages.text(f"verdict.common.{key}", count=count, total=total)
            text = lead if status == "ok" else Text(f"{lead.fr} {text.fr}", f"{lead.en} {text.en}")
            status = "partial"
            text = _with_coverage(text, missing, diagnosis)
        elif _excluded_by_choice(missing, results):
            note = messages.text("verdict.common.partial_note", count=count, total=total)
            text = Text(f"{text.fr} {note.fr}", f"{text.en} {note.en}")
    return {"status": status, "code": judged.code, "summary": text.get(lang), **base}


def not_asked(spec: VerdictSpec, diagnosis: Any) -> str | None:
    """Why this run did not ask the verdict's question at all: ``"replay"``, ``"offline"``."""
    if diagnosis.source_kind in spec.not_for:
        return str(diagnosis.source_kind)
    return spec.not_asked(diagnosis) if spec.not_asked is not None else None


def _excluded_by_choice(missing: list[Any], results: list[RunResult]) -> bool:
    """Whether some missing check was left out by the user, not skipped after a failure."""
    by_id = {r.spec.id: r for r in results}
    return any(s.id not in by_id or by_id[s.id].details_excluded for s in missing)


def _with_coverage(text: Text, missing: list[Any], diagnosis: Any) -> Text:
    """The verdict followed by what was not examined and what each ``--skip`` removed."""
    fr, en = [text.fr], [text.en]
    if missing:
        fr.append(messages.msg("verdict.common.not_examined", "fr",
                               titles=", ".join(s.title.fr for s in missing)))
        en.append(messages.msg("verdict.common.not_examined", "en",
                               titles=", ".join(s.title.en for s in missing)))
    missing_ids = {s.id for s in missing}
    for skipped, removed in removed_by(getattr(diagnosis, "skipped", ()) or ()).items():
        removed = [i for i in removed if i in missing_ids]
        if removed:
            fr.append(messages.msg("verdict.common.removed", "fr", count=len(removed),
                                   id=skipped))
            en.append(messages.msg("verdict.common.removed", "en", count=len(removed),
                                   id=skipped))
    return Text(" ".join(fr), " ".join(en))


# --- e-CPS advice ------------------------------------------------------------------------------

#: Card findings after which no e-CPS advice can help with this card: it will never work again
#: (replace it), or it is not a CPS.
_ECPS_HOPELESS = frozenset({"CARD_DEFINITIVELY_BLOCKED", "CARD_EXPIRED", "WRONG_CARD",
                            "CARD_UNKNOWN"})
#: Card findings that keep the card from activating an e-CPS until they are fixed.
_ECPS_NOT_WITH_CARD = frozenset({"PIN_BLOCKED", "CARD_UPDATE_INCIDENT"})


def _card_failures(results: list[RunResult]) -> set[str]:
    return {r.result.code for r in in_groups(results, ("card",))
            if r.result.status is Status.FAIL and r.result.code}


def ecps_can_work(results: list[RunResult]) -> bool:
    """Whether the e-CPS panel's advice can work for this card (a test card works on no real
    service, the e-CPS wallet included)."""
    test_card = any(r.result.code == "TEST_CARD" for r in in_groups(results, ("card",)))
    return not (_card_failures(results) & _ECPS_HOPELESS or test_card)


def card_usable_for_ecps(results: list[RunResult]) -> bool:
    """Whether "activate it with your card" can work now."""
    return not _card_failures(results) & _ECPS_NOT_WITH_CARD
