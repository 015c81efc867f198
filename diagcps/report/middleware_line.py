"""The line of the terminal view that says which middleware the browsers will use and what it
sees: the first thing support asks. Built from the JSON report, like the rest of the view."""

from __future__ import annotations

from typing import Any

from diagcps import messages
from diagcps.safe_text import printable


def middleware_line(report: dict[str, Any], lang: str | None = None) -> str | None:
    """The Cryptolib's version, library and what the probe saw, or None when no Cryptolib check
    ran."""
    lang = lang or report.get("lang") or "fr"
    checks = {c["id"]: c for c in report.get("checks", [])}
    cryptolib = checks.get("workstation.cryptolib")
    if cryptolib is None:
        return None
    details = cryptolib.get("details") or {}
    if not details.get("installed"):
        return messages.msg("view.not_installed", lang)
    version = details.get("version") or messages.msg("view.unknown_version", lang)
    text = f"{version} ({details.get('library_path') or '?'})"
    middleware = checks.get("workstation.middleware")
    if middleware is not None:
        loaded = (middleware.get("details") or {}).get("library_version")
        if loaded:
            text += f", {messages.msg('view.library', lang)} {loaded}"
        text += " — " + middleware["summary"]
    return printable(text)
