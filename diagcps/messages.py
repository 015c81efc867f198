"""The tool's own sentences (command-line errors, verdict lines, labels of the terminal view),
read from ``catalogue/messages.toml``: data, not code, like the remedies.

An entry holds ``fr`` and ``en``; either may be a table ``{one = …, other = …}`` when the sentence
depends on a count (French takes the singular for 0 and 1, English for 1 only). Fields are filled
with ``str.format``.
"""

from __future__ import annotations

import functools
import sys
from importlib import resources
from typing import Any

from diagcps.text import Text


@functools.lru_cache(maxsize=1)
def _catalogue() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(
        resources.files("diagcps.catalogue").joinpath("messages.toml").read_text("utf-8"))


def _entry(key: str) -> dict[str, Any]:
    node: Any = _catalogue()
    for part in key.split("."):
        node = node[part]
    return node


def _pick(value: Any, lang: str, count: int | None) -> str:
    if isinstance(value, str):
        return value
    singular = count is not None and (count <= 1 if lang == "fr" else count == 1)
    return value["one" if singular else "other"]


def msg(key: str, lang: str, count: int | None = None, **fields: Any) -> str:
    """The sentence ``key`` (dotted path in the catalogue) in ``lang``, fields filled in."""
    entry = _entry(key)
    lang = "en" if lang == "en" else "fr"
    return _pick(entry[lang], lang, count).format(count=count, **fields)


def text(key: str, count: int | None = None, **fields: Any) -> Text:
    """The sentence ``key`` in both languages."""
    return Text(msg(key, "fr", count, **fields), msg(key, "en", count, **fields))


def label(table: str, key: str, lang: str, default: str | None = None) -> str | None:
    """A label of a keyed table (``[table.KEY]`` with fr/en), or ``default``."""
    entry = _catalogue().get(table, {}).get(key)
    if entry is None:
        return default
    return entry["en" if lang == "en" else "fr"]


def codes(name: str) -> frozenset[str]:
    """A named list of finding codes (``[code_lists]``)."""
    return frozenset(_catalogue()["code_lists"][name])


def joined(items: list[str], lang: str) -> str:
    """``a, b et c`` / ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + msg("words.and", lang) + items[-1]


def table(name: str) -> dict[str, Any]:
    """A whole table of the catalogue (``[blocking_rank]``, ``[profession_en]``…)."""
    return dict(_catalogue().get(name, {}))
