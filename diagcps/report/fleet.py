"""``diagcps summary``: many reports of a fleet of workstations, one view for IT.

Reports are read one at a time (files and folders, recursively, in name order) and only a small
record per workstation is kept, the most recent report's; a file that is not a valid report is
listed with the reason and never stops the summary. The workstation is named by the report's
``host.name`` when it carries one, else by the file name: the collection recipe of the README
writes each workstation's report as ``<COMPUTERNAME>.json``. A masked name (redacted report) is
grouped as it is written.
"""

from __future__ import annotations

import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diagcps.report.validate import ReportError, read_report
from diagcps.safe_text import printable

#: Folders deeper than this below a path given on the command line are not entered.
MAX_FOLDER_DEPTH = 16

#: Worst first; "partial" (nothing wrong, but not everything checked) before "ok".
_SEVERITY = {"error": 0, "fail": 1, "warning": 2, "partial": 3, "ok": 4, "skipped": 5}
_FINDING_STATUSES = ("error", "fail", "warning")


@dataclass(frozen=True, slots=True)
class Workstation:
    """What IT needs of one workstation's latest report (every text already printable)."""

    host: str
    os: str | None
    cryptolib: str | None
    reader: str | None
    card_generation: str | None
    card: str
    card_code: str | None
    workstation: str
    workstation_code: str | None
    date: str
    redacted: bool
    #: Finding codes of the checks that did not pass, in report order, without repeats.
    findings: tuple[str, ...]
    path: str

    @property
    def rank(self) -> tuple[int, str]:
        """Failures first: the worse of the two verdicts, then the host name."""
        unknown = len(_SEVERITY)
        return (min(_SEVERITY.get(self.card, unknown), _SEVERITY.get(self.workstation, unknown)),
                self.host)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Summary:
    workstations: list[Workstation]
    #: code -> (number of workstations, example host), most frequent first.
    findings: list[tuple[str, int, str]]
    cryptolib_versions: list[tuple[str, int]]
    readers: list[tuple[str, int]]
    skipped: list[Skipped]
    reports_read: int

    def to_json(self) -> dict[str, Any]:
        """Everything but the workstations, which ``workstation_json`` gives one at a time."""
        return {
            "summary": "diagcps-fleet",
            "version": 1,
            "reports_read": self.reports_read,
            "workstations": [],
            "findings": [{"code": c, "workstations": n, "example_host": h}
                         for c, n, h in self.findings],
            "cryptolib_versions": [{"version": v, "workstations": n}
                                   for v, n in self.cryptolib_versions],
            "readers": [{"model": m, "workstations": n} for m, n in self.readers],
            "skipped": [asdict(s) for s in self.skipped],
        }


def workstation_json(row: Workstation) -> dict[str, Any]:
    return asdict(row) | {"findings": list(row.findings)}


@dataclass
class Fleet:
    """The running aggregate: one record per host, whatever the number of reports read."""

    hosts: dict[str, Workstation] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    reports_read: int = 0

    def add(self, document: dict[str, Any], path: str) -> None:
        self.reports_read += 1
        row = workstation(document, path)
        kept = self.hosts.get(row.host)
        if kept is None or (row.date, row.path) > (kept.date, kept.path):
            self.hosts[row.host] = row

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(printable(path), printable(reason)))

    def summary(self) -> Summary:
        rows = sorted(self.hosts.values(), key=lambda w: w.rank)
        codes: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for row in rows:
            for code in row.findings:
                codes[code] += 1
                examples[code] = min(examples.get(code, row.host), row.host)
        findings = sorted(((c, n, examples[c]) for c, n in codes.items()),
                          key=lambda f: (-f[1], f[0]))
        return Summary(rows, findings, _tally(r.cryptolib for r in rows),
                       _tally(r.reader for r in rows), list(self.skipped), self.reports_read)


def _tally(values: Iterable[str | None]) -> list[tuple[str, int]]:
    counts = Counter(v if v is not None else "?" for v in values)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def summarise(paths: Iterable[str]) -> Summary:
    """Read every report under ``paths`` (streaming) and summarise the fleet."""
    fleet = Fleet()
    for path, problem in report_files(paths):
        if problem is not None:
            fleet.skip(path, problem)
            continue
        try:
            report = read_report(path)
        except ReportError as exc:
            fleet.skip(path, str(exc))
            continue
        fleet.add(report.document, path)
    return fleet.summary()


# --- one report -> one row -------------------------------------------------------------------

_READER_INDEX = re.compile(r"(?:\s+\d{1,2}){1,2}$")
_READER_SERIAL = re.compile(r"\s*\([0-9A-Fa-f]{4,}\)")


def reader_model(name: str) -> str:
    """``"Gemalto PC Twin Reader (645D94C3) 00 00"`` -> ``"Gemalto PC Twin Reader"``: the
    PC/SC slot numbers and the device serial name one reader, not its model."""
    return _READER_SERIAL.sub("", _READER_INDEX.sub("", name)).strip() or name


def workstation(document: dict[str, Any], path: str) -> Workstation:
    host = document["host"]
    readers = document.get("readers") or []
    reader = next((r for r in readers if r.get("diagnosed")), readers[0] if readers else None)
    card = (reader or {}).get("card") or {}
    verdicts = document.get("verdicts") or {}
    checks = document["checks"]
    findings = tuple(dict.fromkeys(c["code"] for c in checks
                                   if c["code"] and c["status"] in _FINDING_STATUSES))
    name = host.get("name") or host.get("hostname")
    if not isinstance(name, str) or not name:
        name = Path(path).stem
    card_verdict = verdicts.get("card") or _worst(checks, ("card",))
    station_verdict = verdicts.get("workstation") or _worst(
        checks, ("host", "pcsc", "reader", "workstation"))
    return Workstation(
        host=printable(name),
        os=_text(host.get("os_version") or host.get("os")),
        cryptolib=_text(_cryptolib(document)),
        reader=_text(reader_model(reader["name"])) if reader else None,
        card_generation=_text(card.get("generation")),
        card=card_verdict["status"],
        card_code=_text(card_verdict.get("code")),
        workstation=station_verdict["status"],
        workstation_code=_text(station_verdict.get("code")),
        date=document["generated_at"],
        redacted=document["redacted"],
        findings=tuple(printable(code) for code in findings),
        path=printable(path),
    )


def _text(value: Any) -> str | None:
    return printable(value) if isinstance(value, str) and value else None


def _worst(checks: list[dict[str, Any]], groups: tuple[str, ...]) -> dict[str, Any]:
    """The verdict of a report made before verdicts existed: its group's worst check."""
    mine = [c for c in checks if c["id"].split(".")[0] in groups and c["status"] != "skipped"]
    if not mine:
        return {"status": "skipped", "code": None}
    worst = min(mine, key=lambda c: _SEVERITY.get(c["status"], len(_SEVERITY)))
    return {"status": worst["status"], "code": worst["code"]}


def _cryptolib(document: dict[str, Any]) -> str | None:
    version = document["host"].get("cryptolib")
    if version:
        return version
    for check in document["checks"]:
        if check["id"] == "workstation.cryptolib" and check["status"] != "skipped":
            details = check["details"]
            if details.get("installed") is False:
                return "none"
            found = details.get("version")
            return found if isinstance(found, str) else None
    return None


# --- finding the files -----------------------------------------------------------------------

def report_files(paths: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """``(path, None)`` for each file to read, ``(path, reason)`` for what is left aside.

    A path named on the command line is read whatever its name; inside folders, ``*.json``
    files are, in name order, to a bounded depth. Links to folders are not followed (a link
    loop would never end); a link to a file is read like the file.
    """
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as exc:
            yield path, f"cannot open: {exc.strerror or exc}"
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk(path, 0)
        else:
            yield path, None


def _walk(folder: str, depth: int) -> Iterator[tuple[str, str | None]]:
    if depth > MAX_FOLDER_DEPTH:
        yield folder, f"folder nested more than {MAX_FOLDER_DEPTH} levels deep: not read"
        return
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield folder, f"cannot list the folder: {exc.strerror or exc}"
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, depth + 1)
                continue
            if not entry.name.lower().endswith(".json"):
                continue
            if entry.is_symlink() and _is_dir(entry.path):
                yield entry.path, "link to a folder: not followed"
                continue
        except OSError as exc:
            yield entry.path, f"cannot read: {exc.strerror or exc}"
            continue
        yield entry.path, None


def _is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False  # a dangling link or a loop: opening it will say so
