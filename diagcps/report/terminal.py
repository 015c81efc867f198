"""The terminal view of a report, with rich: the two verdicts, the table of checks, then what to
do. It is built from the JSON report itself, so the screen and the ticket never disagree."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from diagcps.network.report import network_lines
from diagcps.report.middleware_line import middleware_line
from diagcps.safe_text import printable

_STATUS = {
    # status: (symbol, style, French word, English word) — the word keeps it readable without colour
    "ok": ("✔", "green", "OK", "OK"),
    "warning": ("!", "yellow", "ATTENTION", "WARNING"),
    "fail": ("✘", "bold red", "ÉCHEC", "FAILED"),
    "error": ("⚠", "bold magenta", "ERREUR", "ERROR"),
    "skipped": ("–", "dim", "NON FAIT", "SKIPPED"),
}

_WORDS = {
    "fr": {"card": "Carte CPS", "station": "Poste de travail", "check": "Vérification",
           "result": "Résultat", "todo": "Que faire", "ecps": "Pour activer votre e-CPS",
           "support": "Assistance", "report": "Rapport écrit dans", "title": "Diagnostic CPS",
           "network": "Accès à Pro Santé Connect"},
    "en": {"card": "CPS card", "station": "Workstation", "check": "Check",
           "result": "Result", "todo": "What to do", "ecps": "To activate your e-CPS",
           "support": "Support", "report": "Report written to", "title": "CPS diagnosis",
           "network": "Access to Pro Santé Connect"},
}


def status_label(status: str, lang: str) -> Text:
    symbol, style, fr, en = _STATUS[status]
    return Text(f"{symbol} {fr if lang == 'fr' else en}", style=style)


def render(report: dict[str, Any], console: Console, *, output_path: str | None = None) -> None:
    # Every text of the report may come from a card, a transcript or the OS: filtered once here,
    # so that whatever the layout below shows, no control character reaches the terminal.
    report = safe_for_terminal(report)
    output_path = printable(output_path) if output_path is not None else None
    lang = report["lang"]
    words = _WORDS[lang]
    verdicts = report["verdicts"]
    head = Table.grid(padding=(0, 1))
    head.add_column(no_wrap=True)
    head.add_column()
    for key, label in (("card", words["card"]), ("workstation", words["station"]),
                       ("network", words["network"])):
        verdict = verdicts.get(key)
        if verdict is None:
            continue
        head.add_row(status_label(verdict["status"], lang),
                     Text.assemble((label + " : " if lang == "fr" else label + ": ", "bold"),
                                   verdict["summary"]))
    middleware = middleware_line(report)
    if middleware is not None:
        label, line = middleware
        head.add_row("", Text.assemble((label + (" : " if lang == "fr" else ": "), "bold"), line))
    console.print(Panel(head, title=words["title"], title_align="left", expand=True))

    table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
    table.add_column(words["result"], no_wrap=True, width=12)
    table.add_column(words["check"], ratio=1)
    for check in report["checks"]:
        table.add_row(status_label(check["status"], lang),
                      Text.assemble((check.get("title") or check["id"], "bold"), "\n",
                                    check["summary"]))
    console.print(table)
    network = network_lines(report, lang)
    if network:
        console.print(Panel(Group(*(Text.assemble(status_label(status, lang), " ", line)
                                    for status, line in network)),
                            title=words["network"], title_align="left"))

    # What to do, most severe first: a blocked card matters more than a missing browser module.
    rank = {"error": 0, "fail": 1, "warning": 2, "ok": 3, "skipped": 4}
    todo = [(c["code"], c["remedy"]) for c in sorted(report["checks"],
                                                     key=lambda c: rank[c["status"]])
            if c.get("remedy")]
    seen: set[str] = set()
    lines = []
    for code, remedy in todo:
        if remedy not in seen:
            seen.add(remedy)
            lines.append(Text.assemble(("• ", "bold"), (f"[{code}] ", "dim"), remedy))
    if lines:
        console.print(Panel(Group(*lines), title=words["todo"], title_align="left"))
    help_ = report.get("help") or {}
    if help_.get("ecps"):
        console.print(Panel(Group(*(Text(line) for line in help_["ecps"])),
                            title=words["ecps"], title_align="left"))
    if report.get("redacted"):
        console.print(Text(_redacted_notice(report), style="dim"))
    if output_path:
        console.print(Text.assemble((words["report"] + " ", "dim"), output_path))


def _redacted_notice(report: dict[str, Any]) -> str:
    """A redacted report shows pseudonyms: say so, so that no one takes them for the card's."""
    run = (report.get("source") or {}).get("run_id") or report.get("run_id") or "?"
    if report["lang"] == "en":
        return (f"Redacted: names, identifiers and serial numbers are pseudonyms (run {run}); "
                "the identifier's check digit is not judged.")
    return (f"Masqué : noms, identifiants et numéros de série sont des pseudonymes (exécution "
            f"{run}) ; la clé de l'identifiant n'est pas vérifiée.")


def safe_for_terminal(node: Any, key: str | None = None) -> Any:
    """A copy of a report (or any part of it) with every string passed through
    :func:`~diagcps.safe_text.printable`; the catalogue's remedies keep their line breaks."""
    if isinstance(node, str):
        return printable(node, lines=key == "remedy")
    if isinstance(node, dict):
        return {k: safe_for_terminal(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [safe_for_terminal(v, key) for v in node]
    return node
