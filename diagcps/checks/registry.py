"""The registry of checks: ids, prerequisites, and running them without ever raising."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from diagcps.checks.base import CheckResult, CheckSpec, Status, Text

log = logging.getLogger(__name__)

REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str, title_fr: str, title_en: str, *, needs: Iterable[str] = ()
) -> Callable[[Callable[[Any], CheckResult]], Callable[[Any], CheckResult]]:
    """Register a check under a stable dotted id; ``needs`` names checks that must pass first."""

    def register(func: Callable[[Any], CheckResult]) -> Callable[[Any], CheckResult]:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id} registered twice")
        REGISTRY[check_id] = CheckSpec(check_id, Text(title_fr, title_en), func, tuple(needs))
        return func

    return register


@dataclass
class RunResult:
    spec: CheckSpec
    result: CheckResult
    duration_ms: float

    @property
    def details_excluded(self) -> bool:
        """Skipped because something it needs was left out of the run (not because it failed)."""
        return bool(self.result.status is Status.SKIPPED and self.result.details.get("excluded"))


def run_checks(specs: Iterable[CheckSpec], ctx: Any) -> list[RunResult]:
    """Run checks in order. A check whose prerequisite failed, errored or was skipped is skipped;
    so is a check whose prerequisite did not run at all (left out with ``--skip``): its facts
    would rest on ground nobody examined."""
    done: dict[str, RunResult] = {}
    for spec in specs:
        excluded = [n for n in spec.needs if n not in done or done[n].details_excluded]
        blocked = [n for n in spec.needs if n in done and done[n].result.status in _BLOCKING]
        if excluded:
            result = _skipped(spec, excluded, "checks.skipped_excluded", {"excluded": True})
            done[spec.id] = RunResult(spec, result, 0.0)
            continue
        if blocked:
            result = _skipped(spec, blocked, "checks.skipped_failed", {}, done[blocked[0]].spec)
            done[spec.id] = RunResult(spec, result, 0.0)
            continue
        log.info("check %s: start", spec.id)
        start = time.perf_counter()
        try:
            result = spec.func(ctx)
        except Exception as exc:  # a check never takes the run down with it
            trace = traceback.format_exc()
            log.error("check %s crashed:\n%s", spec.id, trace)
            result = CheckResult(
                Status.ERROR,
                Text(f"Erreur interne de l'outil : {type(exc).__name__}",
                     f"Internal error of the tool: {type(exc).__name__}"),
                None,
                # Support needs the traceback; the report is where it reaches them.
                {"exception": f"{type(exc).__name__}: {exc}",
                 "traceback": trace.strip().splitlines()[-12:]},
            )
        done[spec.id] = RunResult(spec, result, (time.perf_counter() - start) * 1000)
        log.info("check %s: end, %s%s (%.1f ms)", spec.id, result.status.value,
                 f" {result.code}" if result.code else "", done[spec.id].duration_ms)
    return list(done.values())


def _skipped(spec: CheckSpec, needs: list[str], key: str, details: dict[str, Any],
             first: CheckSpec | None = None) -> CheckResult:
    from diagcps import messages

    registry_title = first.title if first else (REGISTRY[needs[0]].title
                                                if needs[0] in REGISTRY else Text(needs[0],
                                                                                  needs[0]))
    log.info("check %s: skipped (needs %s)", spec.id, ", ".join(needs))
    return CheckResult(Status.SKIPPED,
                       messages.text(key, fr_title=registry_title.fr, en_title=registry_title.en,
                                     id=needs[0]),
                       None, {"skipped_because": needs, **details})


_BLOCKING = {Status.FAIL, Status.ERROR, Status.SKIPPED}
