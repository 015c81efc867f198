"""Text that is safe to show on a terminal: the one filter every view passes its text through.

What a card, a transcript, a report, the operating system or a file says is not ours: it may hold
terminal escape sequences (ESC ``[2J`` clears the screen, OSC 8 makes a hidden hyperlink, OSC 52
writes the clipboard), C1 controls that some terminals take as ESC + a letter (U+009B is CSI),
or bidirectional controls that reorder what is shown (U+202E turns "gpj.exe" around). rich drops
only a few of these (BEL, BS, CR, VT, FF), so every view calls :func:`printable` on such text
before rendering it. The JSON report is not filtered: it stays exact, its escaping makes it safe.
"""

from __future__ import annotations

import re

#: C0 controls (tab and newline included: a view decides where lines break), DEL, C1 controls,
#: the bidirectional embedding, override and isolate controls, the implicit direction marks,
#: and the line/paragraph separators that would break a line where the view did not.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029]"
)
_UNSAFE_KEEPING_LINES = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029]"
)

#: What stands in for a removed character: visible, so that a name is not silently joined.
REPLACEMENT = "\ufffd"


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every control and bidirectional control replaced by U+FFFD.

    ``lines=True`` keeps line feeds (for multi-line text the view lays out itself); everything
    else that could move the cursor, change the terminal's state or reorder the text is replaced.
    A non-string is shown by its ``str()``, filtered the same way.
    """
    value = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_KEEPING_LINES if lines else _UNSAFE
    return pattern.sub(REPLACEMENT, value)


def is_printable(text: str, *, lines: bool = False) -> bool:
    """Whether ``text`` would pass :func:`printable` unchanged."""
    pattern = _UNSAFE_KEEPING_LINES if lines else _UNSAFE
    return pattern.search(text) is None


def bounded(text: object, limit: int = 300) -> str:
    """:func:`printable` on one line (line feeds too are replaced, spaces collapsed), cut to
    ``limit`` characters: for a short text the OS, the network or a PKCS#11 module gives (an
    error, a certificate's name, a token label) that the report keeps and a view may show."""
    value = text if isinstance(text, str) else str(text)
    return printable(" ".join(value.split()))[:limit]
