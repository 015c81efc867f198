"""``printable``: every control and bidirectional-control character goes, the rest stays."""

from __future__ import annotations

import pytest

from diagcps.safe_text import printable

REMOVED = ([chr(c) for c in range(0x20) if c not in (0x09, 0x0A)] + ["\x7f"]
           + [chr(c) for c in range(0x80, 0xA0)]
           + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
           + ["\u200e", "\u200f", "\u061c"])


@pytest.mark.parametrize("char", REMOVED, ids=lambda c: f"U+{ord(c):04X}")
def test_each_control_character_is_removed(char: str) -> None:
    assert printable(f"a{char}b") == "ab"


def test_text_newlines_tabs_and_accents_stay() -> None:
    text = "Carte présente dans « Lecteur 0 ».\n\tÉCHEC — 0 825 852 000 ✔ ‘’ “” € 中文 عربي"
    assert printable(text) == text


def test_a_terminal_escape_loses_its_power() -> None:
    assert printable("\x1b]8;;https://x.invalid\x07CLIQUEZ\x1b]8;;\x07\x1b[2J") == (
        "]8;;https://x.invalidCLIQUEZ]8;;[2J")
