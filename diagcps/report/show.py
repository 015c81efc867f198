"""``diagcps show``: a received report on screen as its user saw it, in the reader's language.

The terminal view is a function of the report document alone (``terminal.render``); showing a
report is preparing that document, then the very same call ``check`` makes:

- in the report's own language, every stored text is shown as stored: the view is the user's;
- in the other language, each summary is the one the report stores in both languages
  (``summaries``); the words of the view, the verdict labels, the check titles and the remedies
  come from the catalogues by key, finding code and check identifier, the e-CPS and support lines
  are rebuilt, each only after proving that it gives the stored text in the report's language.
  A report made before ``summaries`` existed has its sentences matched against the catalogue of
  the tool's sentences (``translate``). What cannot be translated so stays as written and a
  closing line says how many texts that is;
- everything is stripped of control and bidirectional characters before it reaches the screen;
- a report made before some fields existed (no verdicts, no titles, no help) still shows.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from diagcps import messages
from diagcps.safe_text import printable

#: How deep a report's values may nest before the view refuses it (reports nest less than 10).
MAX_DEPTH = 64
#: Most texts of one report matched against the catalogue (a report has about forty texts).
MAX_MATCHED = 128


@dataclass
class View:
    #: The report as the terminal view takes it: in the target language, printable text only.
    report: dict[str, Any]
    #: Texts left in the report's language because no exact translation exists.
    untranslated: int
    #: One line saying so, in the target language, or None.
    note: str | None


def prepare(report: dict[str, Any], lang: str | None = None) -> View:
    """The document ``terminal.render`` shows for ``report`` in ``lang`` (default: its own)."""
    doc = _safe(copy.deepcopy(report))
    _complete(doc)
    source = doc["lang"]
    target = lang or source
    untranslated = 0 if target == source else _translate(doc, source, target)
    doc["lang"] = target
    note = None
    if untranslated:
        note = messages.msg("report_file.untranslated", target, count=untranslated,
                            name=messages.label("language_name", source, target))
    return View(doc, untranslated, note)


def render(report: dict[str, Any], console: Any, lang: str | None = None) -> View:
    """Print ``report`` on ``console`` as ``check`` printed it, in ``lang``."""
    from rich.text import Text

    from diagcps.report.terminal import render as render_terminal

    view = prepare(report, lang)
    render_terminal(view.report, console)
    if view.note:
        console.print(Text(view.note, style="dim"))
    return view


# --- printable text, bounded depth ---------------------------------------------------------

def _safe(doc: Any) -> Any:
    """Every string of ``doc`` (keys too) made printable, without recursion: a hostile report
    nested thousands of levels deep gets a clean refusal, not a crash."""
    root = {"": doc}
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            for key in list(node):
                value = node.pop(key)
                node[printable(key) if isinstance(key, str) else key] = (
                    printable(value, lines=True) if isinstance(value, str) else value)
            children = node.values()
        else:
            for index, value in enumerate(node):
                if isinstance(value, str):
                    node[index] = printable(value, lines=True)
            children = node
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return root[""]


# --- older reports ---------------------------------------------------------------------------

_RANK = {"error": 3, "fail": 2, "warning": 1, "ok": 0, "skipped": -1}


def _complete(doc: dict[str, Any]) -> None:
    """Give a report made before verdicts, titles or help existed what the view needs.

    Only shapes the schema allows are completed: a missing verdict becomes the worst check of
    its group, in the words of that check, which is what such a report says.
    """
    verdicts = doc.setdefault("verdicts", {})
    groups = {"card": ("card",), "workstation": ("host", "pcsc", "reader", "workstation")}
    for key, prefixes in groups.items():
        if key in verdicts:
            continue
        checks = [c for c in doc["checks"] if c["id"].split(".")[0] in prefixes]
        worst = max(checks, key=lambda c: _RANK.get(c["status"], -1), default=None)
        if worst is None:
            verdicts[key] = {"status": "skipped", "code": None, "summary": "—"}
        else:
            verdicts[key] = {"status": worst["status"], "code": worst.get("code"),
                             "summary": worst["summary"]}
    doc.setdefault("help", {})
    if any(not check.get("title") for check in doc["checks"]):
        from diagcps.checks.selection import load_all

        registry = load_all()
        for check in doc["checks"]:
            spec = registry.get(check["id"])
            if not check.get("title") and spec is not None:
                check["title"] = spec.title.get(doc["lang"])


# --- the other language ----------------------------------------------------------------------

def _translate(doc: dict[str, Any], source: str, target: str) -> int:
    """Turn ``doc`` into ``target`` in place; return how many texts had to stay as written."""
    from diagcps import remedies
    from diagcps.checks.selection import load_all
    from diagcps.report.translate import translate

    registry = load_all()
    system = (doc.get("host") or {}).get("os")
    left = 0
    matched = 0

    def sentence(text: str) -> str:
        nonlocal left, matched
        # Matching against the catalogue costs more than reading ``summaries``: a report holds
        # a few dozen texts, a hostile one thousands, which are then left as written.
        matched += 1
        done = translate(text, source, target) if matched <= MAX_MATCHED else None
        if done is None:
            left += 1
            return text
        return done

    def summary(item: dict[str, Any]) -> None:
        both = item.get("summaries")
        if isinstance(both, dict) and both.get(source) == item["summary"] \
                and isinstance(both.get(target), str):
            item["summary"] = both[target]
        else:
            item["summary"] = sentence(item["summary"])

    for key, verdict in doc["verdicts"].items():
        summary(verdict)
        if verdict.get("label"):
            label = _by_key(verdict["label"], f"verdict.label.{key}", source, target)
            left += label is None
            verdict["label"] = label or verdict["label"]
    for check in doc["checks"]:
        spec = registry.get(check["id"])
        if spec is not None and check.get("title") in (None, spec.title.get(source)):
            check["title"] = spec.title.get(target)
        elif check.get("title"):
            check["title"] = sentence(check["title"])
        summary(check)
        if check.get("remedy"):
            known = _remedy(check, system, source, target)
            if known is not None:
                check["remedy"] = known
            else:
                left += 1
    help_ = doc["help"]
    if help_.get("ecps"):
        help_["ecps"], missed = _ecps_lines(doc, help_["ecps"], source, target)
        left += missed
    if help_.get("support"):
        channels = {c.get(source): c.get(target) for c in remedies.SUPPORT_CHANNELS.values()}
        lines = []
        for line in help_["support"]:
            lines.append(channels.get(line, line))
            left += line not in channels
        help_["support"] = lines
    return left


def _by_key(stored: str, key: str, source: str, target: str) -> str | None:
    """The catalogue's ``key`` in ``target`` if it is what the report stores in ``source``."""
    try:
        if messages.msg(key, source) == stored:
            return messages.msg(key, target)
    except (KeyError, TypeError):
        pass
    return None


def _remedy(check: dict[str, Any], system: Any, source: str, target: str) -> str | None:
    """The remedy of the check's finding in ``target``, for the system it was written for."""
    from diagcps import remedies

    if not check.get("code"):
        return None
    for on in dict.fromkeys((system if isinstance(system, str) else None, None)):
        if remedies.remedy_text(check["code"], source, on) == check["remedy"]:
            return remedies.remedy_text(check["code"], target, on)
    return None


def _ecps_lines(doc: dict[str, Any], lines: list[str], source: str,
                target: str) -> tuple[list[str], int]:
    """The e-CPS lines rebuilt from the card's holder, if they rebuild to the stored ones."""
    from diagcps import remedies

    card = next((r.get("card") for r in doc.get("readers", []) if r.get("diagnosed")), None)
    holder = (card or {}).get("holder") or {}
    code, national_id = holder.get("profession_code"), holder.get("national_id")
    # A redacted report masks the identifier after the lines were made from the real one, whose
    # first character (its type, kept in the report) chose part of the wording: rebuild them
    # from a stand-in of that type, then mask the stand-in the same way.
    stand_ins = [(national_id, national_id)]
    id_type = holder.get("id_type")
    if national_id and "*" in national_id and isinstance(id_type, str) and len(id_type) == 1:
        stand_ins.append((id_type + "0" * (len(national_id) - 1), national_id))
    # The line about activating the e-CPS with the card is there only if the card can do it.
    for (stand_in, shown), with_card in itertools.product(stand_ins, (True, False)):
        def rebuilt(lang: str, stand_in: str | None = stand_in, shown: str | None = shown,
                    with_card: bool = with_card) -> list[str]:
            made = remedies.ecps_help(code, stand_in, lang, with_card=with_card)
            return [line.replace(stand_in, shown) for line in made] if stand_in and shown \
                else made
        if rebuilt(source) == lines:
            return rebuilt(target), 0
    return lines, len(lines)
