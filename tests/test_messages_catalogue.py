"""The messages catalogue: every sentence in both languages with the same fields, and every key
the code asks for is there."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest

from diagcps import messages

ROOT = Path(__file__).resolve().parents[1]


def _sentence(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and "other" in value)


def _entries(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    # A table keyed by language whose values are entries themselves ([language_name]: fr, en)
    # is walked into, not taken for one sentence.
    if isinstance(node, dict) and "fr" in node and "en" in node and (
            _sentence(node["fr"]) or _sentence(node["en"])):
        return [(path, node)]
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _entries(value, f"{path}.{key}" if path else key)
    return found


def _fields(value: Any) -> set[str]:
    texts = [value] if isinstance(value, str) else list(value.values())
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}


ENTRIES = _entries(messages._catalogue())


def test_the_catalogue_has_sentences() -> None:
    assert len(ENTRIES) > 80


@pytest.mark.parametrize(("key", "entry"), ENTRIES, ids=[k for k, _ in ENTRIES])
def test_each_sentence_exists_in_both_languages_with_the_same_fields(
        key: str, entry: dict[str, Any]) -> None:
    fr, en = entry["fr"], entry["en"]
    assert fr and en
    if isinstance(fr, dict) or isinstance(en, dict):
        assert set(fr) == set(en) == {"one", "other"}, key
    # French and English may name the same field differently (fr_title / en_title).
    strip = {f.replace("fr_", "").replace("en_", "") for f in _fields(fr)}
    assert strip == {f.replace("fr_", "").replace("en_", "") for f in _fields(en)}, key


def test_every_key_the_code_asks_for_is_in_the_catalogue() -> None:
    pattern = re.compile(r"""(?:msg|text|_say|_w)\(\s*["']([a-z_]+(?:\.[a-z_A-Z0-9]+)+)["']""")
    keys = {m.group(1) for path in (ROOT / "diagcps").rglob("*.py")
            for m in pattern.finditer(path.read_text())}
    view_keys = {m.group(1) for m in re.finditer(r"""_w\(\s*["']([a-z_]+)["']""",
                                                  (ROOT / "diagcps/report/terminal.py")
                                                  .read_text())}
    keys |= {f"view.{k}" for k in view_keys}
    assert len(keys) > 30
    for key in sorted(keys):
        if key.count(".") == 0:
            continue
        messages.msg(key, "fr", count=2, **{f: "x" for f in (
            "fr_title", "en_title", "id", "total", "max", "titles", "path", "reason", "option",
            "folder", "ids", "detail", "wanted", "readers", "why", "name", "known", "value",
            "date", "reader", "what", "national_id", "profession", "hint", "options",
            "low", "high", "expected", "choices", "commands", "command", "run", "proxy",
            "other")})
