"""Text from the network and the OS made safe to show: a certificate name, an error message or a
proxy setting may carry control characters (an escape sequence would drive the terminal)."""

from __future__ import annotations

import unicodedata


def printable(text: str, limit: int = 300) -> str:
    """``text`` without control or format characters (Unicode categories Cc, Cf, Co, Cs, Cn),
    cut to ``limit`` characters."""
    kept = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in text)
    return kept[:limit]
