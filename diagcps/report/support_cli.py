"""The two commands of the people who receive reports: ``show`` (support) and ``summary`` (IT).

Kept apart from ``cli.py`` so that the command line only declares them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click

from diagcps import messages
from diagcps.report.validate import ReportError, file_label, read_report
from diagcps.safe_text import printable

EXIT_OK, EXIT_USAGE = 0, 2


def show_report(path: str, lang: str) -> int:
    """Print the report at ``path`` as its user saw it, in ``lang``; one line and 2 if it is not
    a report this tool can show."""
    from rich.console import Console

    from diagcps.report.show import render

    try:
        report = read_report(path)
        console = Console(highlight=False)
        # Rendered whole before anything is written: a report the view cannot take (a field of
        # an unexpected shape the schema allows) gets its one line, never half a view.
        with console.capture() as view:
            render(report.document, console, lang)
    except (ReportError, ValueError) as exc:
        _say("report_file.refused", lang, path=file_label(path), reason=printable(str(exc)))
        return EXIT_USAGE
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        what = f"{printable(type(exc).__name__)} {printable(str(exc))[:60]}"
        _say("report_file.cannot_show", lang, path=file_label(path), what=what)
        return EXIT_USAGE
    sys.stdout.write(view.get())
    return EXIT_OK


def summarise_reports(paths: Iterable[str], output: str, lang: str) -> int:
    """Print the fleet summary of the reports under ``paths`` as a table, CSV or JSON."""
    from diagcps.report.fleet import summarise
    from diagcps.report.fleet_view import csv_chunks, json_chunks, table_lines

    summary = summarise(paths)
    if output == "json":
        sys.stdout.writelines(json_chunks(summary))
    elif output == "csv":
        sys.stdout.writelines(csv_chunks(summary))
    else:
        sys.stdout.writelines(line + "\n" for line in table_lines(summary, lang))
    if output != "table" and summary.skipped:
        # Listed in the JSON already; the CSV has one row per workstation, so say it aside.
        for skipped in summary.skipped if output == "csv" else ():
            _say("report_file.refused", lang, path=skipped.path, reason=skipped.reason)
    if not summary.workstations:
        _say("report_file.no_valid_report", lang)
        return EXIT_USAGE
    return EXIT_OK


def _say(key: str, lang: str, **fields: str) -> None:
    """One line on stderr in ``lang``, as every error of the tool: ``diagcps : …``."""
    click.echo(messages.msg("cli.prefix", lang) + messages.msg(key, lang, **fields), err=True)
