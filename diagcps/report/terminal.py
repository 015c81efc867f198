"""The terminal view of a report, with rich: the verdicts, the facts support asks first, the table
of checks, then what to do. It is built from the JSON report document alone (a dict) and a
language, so the screen and the ticket never disagree, and a saved report can be shown again.
Every word of its own comes from the messages catalogue."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from diagcps import messages
from diagcps.network.report import network_lines
from diagcps.report.middleware_line import middleware_line
from diagcps.safe_text import printable

_STATUS = {
    # status: (symbol, style) — the word (from the catalogue) keeps it readable without colour
    "ok": ("✔", "green"),
    "warning": ("!", "yellow"),
    "fail": ("✘", "bold red"),
    "error": ("⚠", "bold magenta"),
    "skipped": ("–", "dim"),
    "partial": ("◐", "yellow"),
    "info": ("i", "cyan"),
}

#: Rank of a status in "Que faire": what fails first, notes for information last.
_RANK = {"fail": 0, "error": 1, "warning": 2, "ok": 3, "skipped": 4}
#: Check groups in the order they block the user: no service, no reader, then the card.
_GROUP_RANK = {"pcsc": 0, "reader": 1, "card": 2, "workstation": 3, "host": 4}


def status_label(status: str, lang: str) -> Text:
    symbol, style = _STATUS[status]
    return Text(f"{symbol} {messages.msg(f'status.{status}', lang)}", style=style)


def _w(key: str, lang: str, **fields: Any) -> str:
    return messages.msg(f"view.{key}", lang, **fields)


def _informational(check: dict[str, Any]) -> bool:
    return check.get("status") == "warning" and check.get("code") in messages.codes(
        "informational")


def render(report: dict[str, Any], console: Console, *, output_path: str | None = None,
           lang: str | None = None) -> None:
    # Every text of the report may come from a card, a transcript or the OS: filtered once here,
    # so that whatever the layout below shows, no control character reaches the terminal.
    report = safe_for_terminal(report)
    output_path = printable(output_path) if output_path is not None else None
    lang = lang or report.get("lang") or "fr"
    console.print(Panel(_verdicts(report, lang), title=_w("title", lang), title_align="left",
                        expand=True))
    facts = _facts(report, lang)
    if facts is not None:
        console.print(facts)
    console.print(_checks(report, lang))
    network = network_lines(report, lang)
    if network:
        console.print(Panel(Group(*(Text.assemble(status_label(status, lang), " ", line)
                                    for status, line in network)),
                            title=messages.msg("verdict.label.network", lang),
                            title_align="left"))
    todo = todo_lines(report)
    if todo:
        console.print(Panel(Group(*(Text.assemble(("• ", "bold"), (f"[{code}] ", "dim"), remedy)
                                    for code, remedy in todo)),
                            title=_w("todo", lang), title_align="left"))
    help_ = report.get("help") or {}
    if help_.get("ecps"):
        console.print(Panel(Group(*(Text(line) for line in help_["ecps"])),
                            title=_w("ecps", lang), title_align="left"))
    if report.get("redacted"):
        console.print(Text(_redacted_notice(report, lang), style="dim"))
    if output_path:
        console.print(Text.assemble((_w("report", lang) + " ", "dim"), output_path))


def _verdicts(report: dict[str, Any], lang: str) -> Table:
    head = Table.grid(padding=(0, 1))
    head.add_column(no_wrap=True)
    head.add_column(overflow="fold")
    for key, verdict in (report.get("verdicts") or {}).items():
        label = verdict.get("label") or messages.msg(f"verdict.label.{key}", lang)
        head.add_row(status_label(verdict["status"], lang),
                     Text.assemble((label + _w("colon", lang), "bold"), verdict["summary"]))
    return head


def _checks(report: dict[str, Any], lang: str) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
    table.add_column(_w("result", lang), no_wrap=True, width=12)
    table.add_column(_w("check", lang), ratio=1, overflow="fold")
    network = (report.get("verdicts") or {}).get("network") or {}
    # A network question left out on purpose (offline, a replay, the demo) is said once, in the
    # verdict line: its checks' rows would only repeat it (the JSON keeps them).
    folded = network.get("status") == "skipped" and network.get("skipped_because") in (
        "offline", "replay", "not_requested")
    for check in report["checks"]:
        if folded and check["id"].startswith("network."):
            continue
        status = "info" if _informational(check) else check["status"]
        table.add_row(status_label(status, lang),
                      Text.assemble((check.get("title") or check["id"], "bold"), "\n",
                                    check["summary"]))
    return table


def todo_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """``(code, remedy)`` in the order the user should act: failures before warnings, what blocks
    everything (no service, no reader, a blocked card) before the rest, notes for information
    last; each remedy once."""
    rank = messages.table("blocking_rank")
    checks = [c for c in report["checks"] if c.get("remedy")]

    def order(item: tuple[int, dict[str, Any]]) -> tuple[int, int, int, int, int]:
        index, check = item
        return (_informational(check), _RANK.get(check["status"], 5),
                int(rank.get(check.get("code") or "", 9)),
                _GROUP_RANK.get(check["id"].split(".")[0], 5), index)

    seen: set[str] = set()
    lines = []
    for _index, check in sorted(enumerate(checks), key=order):
        if check["remedy"] not in seen:
            seen.add(check["remedy"])
            lines.append((check.get("code") or "", check["remedy"]))
    return lines


# --- the facts support asks first ----------------------------------------------------------

def _facts(report: dict[str, Any], lang: str) -> Panel | None:
    host = report.get("host") or {}
    rows = fact_rows(report, lang)
    if not rows:
        return None
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(overflow="fold")
    origin = host.get("origin")
    recorded = (report.get("replay") or {}).get("recorded_at")
    title = _w("facts_recorded", lang, date=_day(recorded, lang)) if (
        origin == "recorded" and recorded) else _w("facts", lang)
    for name, value in rows:
        table.add_row(name + _w("colon", lang).rstrip(), value)
    replay = report.get("replay") or {}
    if replay:
        key = {"recorded": "judged_at", "unrecorded": "judged_unrecorded"}.get(
            replay.get("judged_at") or "", "judged_today")
        day = recorded if key == "judged_at" else report.get("generated_at")
        return _titled(Group(table, Text(_w(key, lang, date=_day(day, lang)), style="dim")),
                       title)
    return _titled(table, title)


def _titled(body: Any, title: str) -> Panel:
    return Panel(body, title=title, title_align="left", expand=True)


def fact_rows(report: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """System, reader, Cryptolib CPS and card, as support asks for them on the phone."""
    host = report.get("host") or {}
    rows: list[tuple[str, str]] = []
    support_machine = host.get("origin") == "replaying_computer"
    system = host.get("os_version") or host.get("os")
    if support_machine and host.get("os") and host["os"] not in str(system):
        system = f"{host['os']} {system}"  # only the kernel's release is known there
    if system:
        arch = f" ({host['arch']})" if host.get("arch") else ""
        value = f"{system}{arch}"
        rows.append((_w("system", lang), _w("support_machine", lang, value=value)
                     if support_machine else value))
    reader = next((r for r in report.get("readers") or [] if r.get("diagnosed")), None)
    if reader is None and len(report.get("readers") or []) == 1:
        reader = report["readers"][0]
    if reader is not None:
        rows.append((_w("reader", lang), reader["name"]))
    if not support_machine and ("cryptolib" in host or "cryptolib_installed" in host
                                or host.get("origin") == "recorded"):
        if host.get("cryptolib"):
            cryptolib = str(host["cryptolib"])
        elif host.get("cryptolib_installed") is False:
            cryptolib = _w("not_installed", lang)
        elif host.get("origin") == "recorded" and "cryptolib" not in host:
            cryptolib = _w("not_recorded", lang)
        else:
            cryptolib = _w("unknown", lang)
        middleware = middleware_line(report, lang)
        rows.append((_w("cryptolib", lang), middleware or cryptolib))
    card = (reader or {}).get("card")
    if card and card.get("recognised"):
        kind = messages.label("card_kind", card.get("kind") or "", lang) or card.get("kind")
        parts = [p for p in (kind, card.get("generation"),
                             f"n° {card['serial']}" if card.get("serial") else None) if p]
        rows.append((_w("card", lang), " · ".join(parts)))
    return rows


def _day(stamp: str | None, lang: str) -> str:
    if not stamp:
        return "?"
    day = stamp[:10]
    if lang == "fr" and len(day) == 10:
        return f"{day[8:10]}/{day[5:7]}/{day[0:4]}"
    return day


def _redacted_notice(report: dict[str, Any], lang: str) -> str:
    """A redacted report shows pseudonyms: say so, so that no one takes them for the card's."""
    run = (report.get("source") or {}).get("run_id") or report.get("run_id") or "?"
    return _w("redacted", lang, run=run)


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
