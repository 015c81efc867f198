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


def run_checks(specs: Iterable[CheckSpec], ctx: Any) -> list[RunResult]:
    """Run checks in order. A check whose prerequisite failed, errored or was skipped is skipped."""
    done: dict[str, RunResult] = {}
    for spec in specs:
        blocked = [n for n in spec.needs if n in done and done[n].result.status in _BLOCKING]
        if blocked:
            first = done[blocked[0]]
            result = CheckResult(
                Status.SKIPPED,
                Text(f"Non vérifié : « {first.spec.title.fr} » a échoué.",
                     f"Not checked: “{first.spec.title.en}” did not pass."),
                None,
                {"skipped_because": blocked},
            )
            done[spec.id] = RunResult(spec, result, 0.0)
            continue
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
    return list(done.values())


_BLOCKING = {Status.FAIL, Status.ERROR, Status.SKIPPED}
