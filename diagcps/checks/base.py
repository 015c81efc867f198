"""What a check is and what it returns.

A check turns facts (from the workstation, the PC/SC service or a card) into one finding. Checks
never raise: the registry turns a crash into status ``error``. Text meant for people is carried in
both languages (:class:`Text`) and chosen when the report is rendered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagcps.text import Text


class Status(str, enum.Enum):
    OK = "ok"
    WARNING = "warning"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Status.SKIPPED: 0, Status.OK: 0, Status.WARNING: 1, Status.FAIL: 2, Status.ERROR: 3}


@dataclass
class CheckResult:
    status: Status
    summary: Text
    #: Finding code from the troubleshooting catalogue, or None when there is nothing to report.
    code: str | None = None
    #: Machine-readable facts for support (JSON-serialisable values only).
    details: dict[str, Any] = field(default_factory=dict)


def ok(fr: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(Status.OK, Text(fr, en), None, details)


def finding(status: Status, code: str, fr: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(status, Text(fr, en), code, details)


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: stable dotted id, title, prerequisites and the function to run."""

    id: str
    title: Text
    func: Callable[[Any], CheckResult]
    needs: tuple[str, ...] = ()
