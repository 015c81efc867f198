"""The fleet summary written out: a plain table for a terminal, CSV for a spreadsheet, JSON.

The table is plain text in fixed columns (no drawing library): it stays fast for a hundred
thousand workstations and can be searched with ``grep``. Every text in it went through
``printable`` when the summary was made. The CSV guards against formula injection: a cell that a
spreadsheet would evaluate (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
is prefixed with an apostrophe, which the spreadsheet shows as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from diagcps import messages
from diagcps.report.fleet import Summary, Workstation, workstation_json

#: The columns of the table, in order (their headings: ``fleet_view.column.*`` in the catalogue).
_COLUMNS = ("host", "os", "cryptolib", "reader", "card", "card_verdict", "workstation_verdict",
            "date")


def _word(key: str, lang: str, **fields: Any) -> str:
    """A word of the table, from the messages catalogue (``[fleet_view]``)."""
    return messages.msg(f"fleet_view.{key}", lang, **fields)


#: Widest a table cell gets; longer texts end with an ellipsis (the CSV and JSON keep them whole).
_MAX_CELL = 40


def _verdict(status: str, code: str | None, lang: str) -> str:
    # The words of the terminal view ("status" in the messages catalogue); a status this
    # version does not know (a newer report's) is shown as written.
    word = messages.label("status", status, lang, default=status) or status
    return f"{word} {code}" if code and status != "ok" else word


def _cells(row: Workstation, lang: str) -> tuple[str, ...]:
    return (row.host, row.os or "?", row.cryptolib or "?", row.reader or "-",
            row.card_generation or "-", _verdict(row.card, row.card_code, lang),
            _verdict(row.workstation, row.workstation_code, lang), row.date)


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())  # a newline in a field must not break the table's lines
    return text if len(text) <= width else text[:width - 1] + "…"


def table_lines(summary: Summary, lang: str) -> Iterator[str]:
    yield _word("title", lang, hosts=len(summary.workstations), read=summary.reports_read,
                                skipped=len(summary.skipped))
    header = tuple(_word(f"column.{name}", lang) for name in _COLUMNS)
    widths = [min(_MAX_CELL, len(h)) for h in header]
    for row in summary.workstations:
        for index, cell in enumerate(_cells(row, lang)):
            widths[index] = min(_MAX_CELL, max(widths[index], len(cell)))

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(_fit(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    yield line(header)
    yield line(tuple("-" * w for w in widths))
    for row in summary.workstations:
        yield line(_cells(row, lang))
    yield ""
    yield _word("findings", lang)
    if not summary.findings:
        yield "  " + _word("none", lang)
    code_width = max((len(c) for c, _, _ in summary.findings), default=0)
    for code, count, example in summary.findings:
        yield f"  {code.ljust(code_width)}  {count:>6}  {_fit(example, _MAX_CELL)}"
    for title, tally in ((_word("cryptolib", lang), summary.cryptolib_versions),
                         (_word("readers", lang), summary.readers)):
        yield ""
        yield title
        if not tally:
            yield "  " + _word("none", lang)
        for value, count in tally:
            yield f"  {count:>6}  {_fit(value, 2 * _MAX_CELL)}"
    if summary.skipped:
        yield ""
        yield _word("skipped", lang)
        for skipped in summary.skipped:
            yield f"  {skipped.path}: {skipped.reason}"


CSV_COLUMNS = ("host", "os", "cryptolib", "reader", "card_generation", "card_verdict",
               "card_code", "workstation_verdict", "workstation_code", "report_date",
               "redacted", "findings", "file")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a spreadsheet cell that is never evaluated as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(summary: Summary) -> Iterator[str]:
    """The CSV text, a row at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in summary.workstations:
        writer.writerow(csv_cell(v) for v in (
            row.host, row.os, row.cryptolib, row.reader, row.card_generation, row.card,
            row.card_code, row.workstation, row.workstation_code, row.date,
            "yes" if row.redacted else "no", " ".join(row.findings), row.path))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


# Characters ``printable`` removes, escaped in JSON rather than written raw (C0 controls are
# always escaped by json; DEL, C1 and bidirectional controls are not with ensure_ascii=False).
_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def json_chunks(summary: Summary) -> Iterator[str]:
    """The summary as one JSON document, written a workstation at a time (a fleet of a hundred
    thousand is never held twice in memory, as objects and as text)."""
    head, _, tail = _dumps(summary.to_json()).partition('"workstations": []')
    yield head + '"workstations": ['
    for index, row in enumerate(summary.workstations):
        item = _dumps(workstation_json(row)).replace("\n", "\n    ")
        yield ("," if index else "") + "\n    " + item
    yield ("\n  ]" if summary.workstations else "]") + tail + "\n"


def _dumps(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
