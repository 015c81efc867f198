"""Turning a report's sentences into the other language of the tool, only where that is exact.

A report stores its texts in the language it was made in. The sentences come from the tool's own
code, where each is written once in French and once in English, side by side (``Text(fr, en)``,
``ok(fr, en)``, ``finding(status, code, fr, en)``). This module reads those pairs from the tool's
source and matches a stored sentence against them: a sentence made of fixed words translates
directly; one with values in it (a reader name, a version, a date) translates when both languages
insert the very same values, which are then carried over as they are. A sentence no pair explains
stays as written, and the caller says so.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

#: Modules whose bilingual pairs make the sentences of a report (checks, verdicts).
_SOURCES = ("checks", "report/model.py")


@dataclass(frozen=True)
class _Template:
    #: Fixed text and value slots, in order: ("lit", text) or ("expr", source of the value).
    fr: tuple[tuple[str, str], ...]
    en: tuple[tuple[str, str], ...]
    #: (French slot, English slot, how the value changes between them): "same" (carried over),
    #: "date" (dd/mm/yyyy and ISO) or "text" (a French text and its English, translated too).
    links: tuple[tuple[str, str, str], ...] = ()

    def parts(self, lang: str) -> tuple[tuple[str, str], ...]:
        return self.en if lang == "en" else self.fr

    def fixed_length(self, lang: str) -> int:
        return sum(len(text) for kind, text in self.parts(lang) if kind == "lit")


def _string_parts(node: ast.expr) -> list[tuple[str, str]] | None:
    """A string expression as fixed text and value slots, or None if it is not a string."""
    if isinstance(node, ast.Constant):
        return [("lit", node.value)] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts: list[tuple[str, str]] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(("lit", str(value.value)))
            else:
                parts.append(("expr", ast.unparse(value)))
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_parts(node.left), _string_parts(node.right)
        if left is None and right is None:
            return None
        return (left or [("expr", ast.unparse(node.left))]) + (
            right or [("expr", ast.unparse(node.right))])
    return None


def _pairs(tree: ast.AST) -> list[_Template]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        args = node.args
        # The French and English texts are the last two positional arguments of the helpers.
        if len(args) < 2 or any(isinstance(a, ast.Starred) for a in args):
            continue
        fr, en = _string_parts(args[-2]), _string_parts(args[-1])
        if fr is None or en is None:
            continue
        links = _links([t for k, t in fr if k == "expr"], [t for k, t in en if k == "expr"])
        if links is not None:
            found.append(_Template(tuple(fr), tuple(en), links))
    return found


def _assigned_pairs(tree: ast.AST) -> list[_Template]:
    """Pairs written as two assignments in a row: ``fr = …`` then ``en = …`` (or ``x_fr``,
    ``x_en``), a conditional on each side giving a pair per branch."""
    found = []
    for node in ast.walk(tree):
        for field_name in ("body", "orelse"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list):
                continue
            for first, second in itertools.pairwise(block):
                names = [_assigned_name(first), _assigned_name(second)]
                if None in names or names[0] == names[1]:
                    continue
                if names[0].replace("fr", "en") != names[1]:  # type: ignore[union-attr]
                    continue
                found.extend(_value_pairs(first.value, second.value))  # type: ignore[attr-defined]
    return found


def _assigned_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
            node.targets[0], ast.Name) and re.fullmatch(r"(\w+_)?fr|(\w+_)?en",
                                                        node.targets[0].id):
        return node.targets[0].id
    return None


def _value_pairs(fr: ast.expr, en: ast.expr) -> list[_Template]:
    if isinstance(fr, ast.IfExp) and isinstance(en, ast.IfExp):
        return _value_pairs(fr.body, en.body) + _value_pairs(fr.orelse, en.orelse)
    fr_parts, en_parts = _string_parts(fr), _string_parts(en)
    if fr_parts is None or en_parts is None:
        return []
    links = _links([t for k, t in fr_parts if k == "expr"],
                   [t for k, t in en_parts if k == "expr"])
    return [] if links is None else [_Template(tuple(fr_parts), tuple(en_parts), links)]


def _links(fr: list[str], en: list[str]) -> tuple[tuple[str, str, str], ...] | None:
    """How each value slot of one language gives the other's; None when one cannot.

    The same expression in both carries its value over. Otherwise the slots left pair in order
    when their code says how: a French date (``_fr_date(x)``, ``_day(x)``) and an ISO one
    (``x.isoformat()``), or a French and an English text (``a.fr``/``a.en``, ``a_fr``/``a_en``).
    """
    fr_set, en_set = dict.fromkeys(fr), dict.fromkeys(en)
    links = [(e, e, "same") for e in en_set if e in fr_set]
    fr_left = [e for e in fr_set if e not in en_set]
    en_left = [e for e in en_set if e not in fr_set]
    if len(fr_left) != len(en_left):
        return None
    for f, e in zip(fr_left, en_left, strict=True):
        if "isoformat()" in e or "%Y-%m-%d" in e:  # the value must then be a French date
            links.append((f, e, "date"))
        elif f.replace(".fr", ".en") == e or f.replace("_fr", "_en") == e:
            links.append((f, e, "text"))
        else:
            return None
    return tuple(links)


@functools.cache
def _templates() -> tuple[_Template, ...]:
    base = Path(__file__).resolve().parents[1]
    files: list[Path] = []
    for source in _SOURCES:
        path = base / source
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    found: list[_Template] = []
    for file in files:
        try:
            tree = ast.parse(file.read_text("utf-8"))
            found.extend(_pairs(tree) + _assigned_pairs(tree))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue  # an installation without sources translates less, never fails
    return tuple(found)


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
            pattern.append(f"(?P<{groups[text]}>.*?)")
    return re.compile("".join(pattern), re.DOTALL)


def _fill(template: _Template, source: str, match: re.Match[str], target: str) -> str | None:
    order = [t for k, t in template.parts(source) if k == "expr"]
    captured = {expr: match.group(f"v{index}") for index, expr in
                enumerate(dict.fromkeys(order))}
    values: dict[str, str] = {}
    for fr, en, how in template.links:
        mine, theirs = (fr, en) if source == "fr" else (en, fr)
        value = _convert(captured[mine], how, source, target)
        if value is None:
            return None
        values[theirs] = value
    return "".join(text if kind == "lit" else values[text]
                   for kind, text in template.parts(target))


_FR_DATE = re.compile(r"(\d\d)/(\d\d)/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")


def _convert(value: str, how: str, source: str, target: str) -> str | None:
    if how == "same":
        return value
    if how == "date":
        if source == "fr":
            match = _FR_DATE.fullmatch(value)
            return None if match is None else f"{match[3]}-{match[2]}-{match[1]}"
        match = _ISO_DATE.fullmatch(value)
        return None if match is None else f"{match[3]}/{match[2]}/{match[1]}"
    found = _best(value, source, target, depth=0)
    return None if found is None else found[1]


def translate(text: str, source: str, target: str) -> str | None:
    """``text``, written in ``source``, in ``target``; None when no pair explains it exactly."""
    if source == target:
        return text
    found = _best(text, source, target, depth=2)
    return None if found is None else found[1]


def _best(text: str, source: str, target: str, depth: int) -> tuple[int, str] | None:
    """The translation explained by the most fixed text (a slot must not swallow a sentence)."""
    best: tuple[int, str] | None = None
    for template in _templates():
        fixed = template.fixed_length(source)
        # A slot whose value must itself be a date or a known text constrains the match too.
        constrained = any(how != "same" for _, _, how in template.links)
        if (fixed < _MIN_FIXED and not constrained) or (best is not None and fixed <= best[0]):
            continue
        match = _matcher(template, source).fullmatch(text)
        filled = None if match is None else _fill(template, source, match, target)
        if filled is not None:
            best = (fixed, filled)
    if depth == 0:
        return best
    # A verdict is a headline followed by the finding it rests on: translate both halves.
    for template in _templates():
        if any(kind == "expr" for kind, _ in template.parts(source)):
            continue
        lead = "".join(t for _, t in template.parts(source))
        if len(lead) < _MIN_FIXED or not text.startswith(lead + " "):
            continue
        rest = _best(text[len(lead) + 1:], source, target, depth - 1)
        if rest is not None and (best is None or len(lead) + rest[0] > best[0]):
            best = (len(lead) + rest[0],
                    "".join(t for _, t in template.parts(target)) + " " + rest[1])
    return best


#: A pair with less fixed text than this explains too little to be trusted.
_MIN_FIXED = 4
