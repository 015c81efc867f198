"""The one filter between outside text and the terminal (diagcps.safe_text.printable)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagcps.safe_text import REPLACEMENT, is_printable, printable

UNSAFE = ([chr(c) for c in range(0x20) if c != 0x0A] + ["\x7f"]
          + [chr(c) for c in range(0x80, 0xA0)]
          + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
          + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)])


@pytest.mark.parametrize("char", UNSAFE, ids=[f"U+{ord(c):04X}" for c in UNSAFE])
def test_every_control_and_bidi_character_is_replaced(char: str) -> None:
    assert printable(f"a{char}b") == f"a{REPLACEMENT}b"
    assert printable(f"a{char}b", lines=True) == f"a{REPLACEMENT}b"


def test_line_feeds_are_kept_only_when_asked() -> None:
    assert printable("a\nb") == f"a{REPLACEMENT}b"
    assert printable("a\nb", lines=True) == "a\nb"


def test_ordinary_text_is_left_as_it_is() -> None:
    text = "Madame DURAND-ESSAI Claire — Médecin, identifiant 899700075122 « ✔ » l’été 🙂"
    assert printable(text) == text
    assert printable(3) == "3"


@given(st.text())
def test_nothing_unsafe_survives(text: str) -> None:
    shown = printable(text)
    assert is_printable(shown)
    assert not any(c in shown for c in UNSAFE)
    assert len(shown) == len(text)


def test_log_lines_shown_with_v_go_through_the_same_filter() -> None:
    import io
    import logging

    from diagcps.cli import _PrintableLog

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(_PrintableLog())
    logger = logging.getLogger("diagcps.test-log-filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("bad \x1b]52;c;AAAA\x07 name")
        except ValueError:
            logger.exception("reading %s failed", "Lecteur \x1b[2J\u202e")
    finally:
        logger.removeHandler(handler)
    shown = buffer.getvalue()
    assert "reading Lecteur" in shown and "ValueError" in shown and "Traceback" in shown
    assert not any(c in shown for c in UNSAFE)
