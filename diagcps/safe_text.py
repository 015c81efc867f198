"""Text from outside (a card, a transcript, a report, the OS) made safe for a terminal.

A terminal obeys control characters: ESC sequences clear the screen, write the clipboard or
draw hyperlinks, C1 controls do the same in one byte, and bidirectional controls reorder what
the reader sees. None of them carries meaning in a diagnosis, so they are removed.
"""

from __future__ import annotations

import re

# C0 except newline and tab, DEL, C1 (U+0080-U+009F), and the bidirectional controls:
# embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, LRM/RLM, Arabic letter mark.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                          "\u200e\u200f\u061c]")


def printable(text: str) -> str:
    """``text`` without control or bidirectional-control characters (newline and tab kept)."""
    return _UNPRINTABLE.sub("", text)
