"""Reading a report file from outside (a ticket's ``rapport.json``) for a view, safely.

Bounded like transcripts (size read, nesting checked before parsing), and checked for what a view
relies on -- the schema version, the language, the verdicts, the checks and the help lists, each
of the right type -- so that a hostile or damaged report is refused in one line instead of
crashing a view. Text inside is *not* filtered here: views pass it through
:func:`diagcps.safe_text.printable` (:func:`diagcps.report.terminal.render` does).
"""

from __future__ import annotations

import os
from typing import Any

from apdu.transcript import read_json

#: Largest report file read (a report of four readers with every detail weighs ~0.1 MB).
MAX_REPORT_BYTES = 8 * 1024 * 1024
#: Deepest nesting of arrays and objects (a report needs 7).
MAX_REPORT_DEPTH = 32

STATUSES = ("ok", "warning", "fail", "error", "skipped")
#: A verdict may also be partial: nothing wrong in what ran, but not every check of it ran.
VERDICT_STATUSES = (*STATUSES, "partial")


class ReportError(ValueError):
    """The file is not a report a view can show (one line)."""


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The report in ``path``, or :class:`ReportError`."""
    doc = read_json(path, what="report", max_bytes=MAX_REPORT_BYTES, max_depth=MAX_REPORT_DEPTH,
                    error=ReportError)
    check_report(doc)
    return doc


def check_report(doc: Any) -> None:
    """Raise :class:`ReportError` unless ``doc`` has the shape the views rely on."""
    if not isinstance(doc, dict):
        raise ReportError("not a diagcps report (not a JSON object)")
    if doc.get("schema_version") != "1":
        raise ReportError(f"unsupported report schema version {_short(doc.get('schema_version'))}")
    if doc.get("lang") not in ("fr", "en"):
        raise ReportError("report language must be fr or en")
    if not isinstance(doc.get("redacted", False), bool):
        raise ReportError("report field redacted must be true or false")
    verdicts = doc.get("verdicts")
    if not isinstance(verdicts, dict):
        raise ReportError("report has no verdicts")
    for key in ("card", "workstation"):
        verdict = verdicts.get(key)
        if not isinstance(verdict, dict) or verdict.get("status") not in VERDICT_STATUSES \
                or not isinstance(verdict.get("summary"), str):
            raise ReportError(f"report verdict {key} is malformed")
    checks = doc.get("checks")
    if not isinstance(checks, list):
        raise ReportError("report has no list of checks")
    for index, check in enumerate(checks):
        if not isinstance(check, dict) or check.get("status") not in STATUSES:
            raise ReportError(f"report check {index} is malformed")
        for name in ("id", "summary"):
            if not isinstance(check.get(name), str):
                raise ReportError(f"report check {index}: {name} must be text")
        if "code" not in check:
            raise ReportError(f"report check {index} has no code")
        for name in ("title", "code", "remedy"):
            if check.get(name) is not None and not isinstance(check.get(name), str):
                raise ReportError(f"report check {index}: {name} must be text")
    help_ = doc.get("help", {})
    if not isinstance(help_, dict):
        raise ReportError("report help must be an object")
    for key in ("ecps", "support"):
        lines = help_.get(key, [])
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ReportError(f"report help {key} must be a list of text")


def _short(value: object) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:39] + "…"
