"""The one line of the terminal view that says which middleware the browsers will use and what it
sees: the first thing support asks. Built from the JSON report, like the rest of the view."""

from __future__ import annotations

import unicodedata
from typing import Any

_WORDS = {
    "fr": {"label": "Cryptolib CPS", "missing": "non installée", "library": "bibliothèque",
           "unknown": "version inconnue"},
    "en": {"label": "Cryptolib CPS", "missing": "not installed", "library": "library",
           "unknown": "unknown version"},
}


def _clean(text: Any) -> str:
    """Report text from the machine or the module, without control characters."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))


def middleware_line(report: dict[str, Any]) -> tuple[str, str] | None:
    """(label, text) for the workstation part, or None when no Cryptolib check ran."""
    words = _WORDS.get(report.get("lang", "fr"), _WORDS["fr"])
    checks = {c["id"]: c for c in report.get("checks", [])}
    cryptolib = checks.get("workstation.cryptolib")
    if cryptolib is None:
        return None
    details = cryptolib.get("details") or {}
    if not details.get("installed"):
        return words["label"], words["missing"]
    version = details.get("version") or words["unknown"]
    text = f"{version} ({details.get('library_path') or '?'})"
    middleware = checks.get("workstation.middleware")
    if middleware is not None:
        loaded = (middleware.get("details") or {}).get("library_version")
        if loaded:
            text += f", {words['library']} {loaded}"
        text += " — " + middleware["summary"]
    return words["label"], _clean(text)
