"""Turning a report's sentences into the other language of the tool, from data only.

A report carries each summary in both languages (``summaries``, next to ``summary``): showing it
in the other language is reading that one, and :mod:`diagcps.report.show` does so. This module
serves the reports made before that field existed, which hold their own language only: a stored
sentence is matched against the tool's catalogue of sentences (``catalogue/messages.toml``), where
each entry is written in French and in English with the same fields. A sentence translates when
the catalogue explains it exactly and each field's value is one the other language can be given
for sure:

- a whole number or a check identifier (``card.detected``) is written the same in both
  languages (a date is not: 14/01/2028 and 2028-01-14);
- a check title, or a list of titles joined by ", ", is the other language's title (registry);
- a whole sentence of the catalogue is its own translation.

A sentence made of several catalogue sentences joined by a space (a verdict and its coverage
note) translates part by part. Anything else (the summaries checks write themselves) stays as
written, and the caller counts it.
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from dataclasses import dataclass

#: How many catalogue sentences one stored sentence may be made of, or nest (a field's value).
_MAX_PARTS = 4
_MAX_NESTING = 1
#: Longest text matched against the catalogue (a verdict with its coverage note is a few hundred
#: characters); a longer one, which a hostile report may hold, stays as written.
MAX_LENGTH = 2000
#: Where a first sentence may end, at most (a verdict line has a handful of sentences).
_MAX_SENTENCE_ENDS = 12

_CHECK_ID = re.compile(r"[a-z]+(\.[a-z_]+)+")
_NUMBER = re.compile(r"\d{1,9}")


@dataclass(frozen=True)
class _Template:
    """One catalogue sentence: fixed text and field names, in order, in each language."""

    fr: tuple[tuple[str, str], ...]  # ("lit", text) or ("field", name)
    en: tuple[tuple[str, str], ...]
    #: For a sentence that depends on {count}: the form ("one"/"other") of each language.
    forms: tuple[str | None, str | None] = (None, None)

    def fits(self, count: str | None) -> bool:
        """Whether each language says ``count`` in its form here (French: singular for 0 and 1,
        English: for 1 only); a sentence without forms says any count."""
        if self.forms == (None, None):
            return True
        if count is None or not count.isdigit():
            return False
        number = int(count)
        wanted = ("one" if number <= 1 else "other", "one" if number == 1 else "other")
        return all(form in (None, want) for form, want in zip(self.forms, wanted, strict=True))

    def parts(self, lang: str) -> tuple[tuple[str, str], ...]:
        return self.en if lang == "en" else self.fr

    def fixed_length(self, lang: str) -> int:
        return sum(len(text) for kind, text in self.parts(lang) if kind == "lit")

    def may_start(self, lang: str, text: str) -> bool:
        """A cheap test before the regular expression: the fixed text it starts with."""
        kind, first = self.parts(lang)[0] if self.parts(lang) else ("lit", "")
        return kind != "lit" or text.startswith(first)

    def may_end(self, lang: str, text: str) -> bool:
        kind, last = self.parts(lang)[-1] if self.parts(lang) else ("lit", "")
        return kind != "lit" or text.endswith(last)


def _parse(sentence: str) -> tuple[tuple[str, str], ...] | None:
    parts: list[tuple[str, str]] = []
    try:
        for literal, field, spec, conversion in string.Formatter().parse(sentence):
            if literal:
                parts.append(("lit", literal))
            if field is not None:
                if spec or conversion or not field.isidentifier():
                    return None  # a formatted value cannot be read back exactly
                parts.append(("field", field))
    except ValueError:
        return None
    return tuple(parts)


def _variants(value: object) -> dict[str | None, str]:
    """The sentences of one language of an entry: the text, or its ``one``/``other`` forms."""
    if isinstance(value, str):
        return {None: value}
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in ("one", "other") and isinstance(v, str)}
    return {}


@functools.cache
def _templates() -> tuple[_Template, ...]:
    from diagcps import messages

    found: list[_Template] = []
    stack = [messages.table(name) for name in ("checks", "verdict")]
    while stack:
        node = stack.pop()
        if "fr" in node and "en" in node:
            fr, en = _variants(node["fr"]), _variants(node["en"])
            for (fr_form, fr_text), (en_form, en_text) in itertools.product(fr.items(),
                                                                            en.items()):
                fr_parts, en_parts = _parse(fr_text), _parse(en_text)
                forms = (fr_form, en_form)
                if fr_parts is not None and en_parts is not None:
                    found.append(_Template(fr_parts, en_parts, forms))
            continue
        stack.extend(v for v in node.values() if isinstance(v, dict))
    return tuple(found)


@functools.cache
def _titles(source: str, target: str) -> dict[str, str]:
    """Every check title in ``source`` -> the same title in ``target``."""
    from diagcps.checks.selection import load_all

    return {spec.title.get(source): spec.title.get(target) for spec in load_all().values()}


@functools.cache
def _matcher(template: _Template, lang: str) -> re.Pattern[str]:
    pattern, groups = [], {}
    for kind, text in template.parts(lang):
        if kind == "lit":
            pattern.append(re.escape(text))
        elif text in groups:
            pattern.append(f"(?P={groups[text]})")
        else:
            groups[text] = f"v{len(groups)}"
            pattern.append(f"(?P<{groups[text]}>.+?)")
    return re.compile("".join(pattern), re.DOTALL)


def _counterpart(name: str, source: str, target: str) -> str:
    """The field of the other language holding the same value (``fr_title`` -> ``en_title``)."""
    prefix = f"{source}_"
    return f"{target}_{name[len(prefix):]}" if name.startswith(prefix) else name


def _value(value: str, source: str, target: str, nesting: int) -> str | None:
    """``value`` as the other language writes it, or None when that is not known for sure."""
    if _NUMBER.fullmatch(value) or _CHECK_ID.fullmatch(value):
        return value
    titles = _titles(source, target)
    items = value.split(", ")
    if all(item in titles for item in items):
        return ", ".join(titles[item] for item in items)
    if nesting < _MAX_NESTING:
        return _sentence(value, source, target, nesting + 1)
    return None


def _fill(template: _Template, match: re.Match[str], source: str, target: str,
          nesting: int) -> str | None:
    names = [t for k, t in template.parts(source) if k == "field"]
    captured = {name: match.group(f"v{index}")
                for index, name in enumerate(dict.fromkeys(names))}
    if not template.fits(captured.get("count")):
        return None
    values = {}
    for name, value in captured.items():
        converted = _value(value, source, target, nesting)
        if converted is None:
            return None
        values[_counterpart(name, source, target)] = converted
    out = []
    for kind, text in template.parts(target):
        if kind == "field" and text not in values:
            return None  # the other language needs a value this one does not give
        out.append(values[text] if kind == "field" else text)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _sentence(text: str, source: str, target: str, nesting: int,
              parts: int = _MAX_PARTS) -> str | None:
    """``text`` as one catalogue sentence, or several joined by a space; None if not."""
    best: tuple[int, str] | None = None
    for template in _templates():
        fixed = template.fixed_length(source)
        if (best is not None and fixed <= best[0]) or not template.may_start(source, text) \
                or not template.may_end(source, text):
            continue
        match = _matcher(template, source).fullmatch(text)
        filled = None if match is None else _fill(template, match, source, target, nesting)
        if filled is not None:
            best = (fixed, filled)
    if best is not None:
        return best[1]
    if parts <= 1:
        return None
    # Several sentences: the first one is a catalogue sentence ending where a space follows.
    for template in _templates():
        if not template.may_start(source, text):
            continue
        for match in _prefixes(template, source, text):
            rest = _sentence(text[match.end() + 1:], source, target, nesting, parts - 1)
            if rest is None:
                continue
            head = _fill(template, match, source, target, nesting)
            if head is not None:
                return f"{head} {rest}"
    return None


def _prefixes(template: _Template, lang: str, text: str) -> list[re.Match[str]]:
    """The matches of ``template`` on a first sentence of ``text`` (one that ends a sentence:
    a full stop or a closing parenthesis, then a space)."""
    found = []
    ends = [i for i, char in enumerate(text) if char == " " and text[i - 1:i] in ".)"]
    for index in ends[:_MAX_SENTENCE_ENDS]:
        if not template.may_end(lang, text[:index]):
            continue
        match = _matcher(template, lang).fullmatch(text, 0, index)
        if match is not None:
            found.append(match)
    return found


def translate(text: str, source: str, target: str) -> str | None:
    """``text``, written in ``source``, in ``target``; None when the catalogue does not explain
    it exactly."""
    if source == target:
        return text
    if len(text) > MAX_LENGTH:
        return None  # no sentence of the tool is that long: not worth matching
    return _sentence(text, source, target, nesting=0)
