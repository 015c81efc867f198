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
        # Usable only when English inserts nothing French does not (then values carry over).
        if {t for k, t in en if k == "expr"} <= {t for k, t in fr if k == "expr"}:
            found.append(_Template(tuple(fr), tuple(en)))
    return found


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
            found.extend(_pairs(ast.parse(file.read_text("utf-8"))))
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
            pattern.append(f"(?P<{groups[text]}>.+?)")
    return re.compile("".join(pattern), re.DOTALL)


def _fill(template: _Template, source: str, match: re.Match[str], target: str) -> str:
    order = [t for k, t in template.parts(source) if k == "expr"]
    values = {expr: match.group(f"v{index}") for index, expr in
              enumerate(dict.fromkeys(order))}
    return "".join(text if kind == "lit" else values[text]
                   for kind, text in template.parts(target))


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
        if fixed < _MIN_FIXED or (best is not None and fixed <= best[0]):
            continue
        match = _matcher(template, source).fullmatch(text)
        if match is not None:
            best = (fixed, _fill(template, source, match, target))
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
