"""``diagcps summary`` on a generated fleet: time and memory, and what a larger fleet would cost.

    .venv/bin/python bench/fleet_bench.py [--reports 10000] [--runs 3]

Generates ``--reports`` reports, every one valid against the shipped schema, in a temporary
folder laid out as a collection share (one folder per day, ``<HOST>.json``): the templates are
made by the tool itself on every virtual card profile (``cardsim/profiles``) for several pinned
workstations (Windows 10/11, RHEL 9, macOS, Debian; Cryptolib 5.2.2, 5.2.1, 5.1.3 or none;
four reader models; some redacted), see ``tests/support/fleet_support.py``; each generated report
is one template under its own host name and date, and one host in ten also has an older report
in an earlier folder. Five hostile files are added (invalid JSON, wrong schema, too large, nested
too deep, not UTF-8): they must be listed and skipped.

Then runs ``python -m diagcps summary FOLDER`` as a new process (as IT runs it) in the three
output forms, the median of ``--runs`` runs, with its peak memory (max RSS from ``wait4``); the
same on a tenth of the fleet gives the cost per report and per workstation, from which a
100,000-report fleet is projected. Checks the CSV reads back as a clean table (one row per
host, every row as wide as the header, no cell a spreadsheet would evaluate).

Writes ``bench/fleet_results.json`` and ``bench/fleet_results.md``; exits 1 when the limits of
the summary (5 s, 300 MB for 10,000 reports) are missed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from fleet_support import Station, make_report  # noqa: E402

LIMIT_S, LIMIT_MB = 5.0, 300.0
STATIONS = (
    Station(),
    Station(os_version="Windows 10 (10.0.19045)", cryptolib="5.1.3",
            reader="OMNIKEY CardMan 3121 0"),
    Station(system="Linux", os_version="Red Hat Enterprise Linux 9.4 (Plow)",
            reader="Gemalto PC Twin Reader (645D94C3) 00 00"),
    Station(system="Darwin", os_version="macOS 14.5", cryptolib="5.2.1",
            reader="Identiv uTrust 2700 R Smart Card Reader"),
    Station(system="Linux", os_version="Debian GNU/Linux 12 (bookworm)", cryptolib=None,
            reader="Gemalto PC Twin Reader (A1B2C3D4) 00 00"),
)
RESULTS_JSON = ROOT / "bench" / "fleet_results.json"
RESULTS_MD = ROOT / "bench" / "fleet_results.md"


def templates() -> list[dict[str, Any]]:
    profiles = sorted(p.stem for p in (ROOT / "cardsim" / "profiles").glob("*.json"))
    made = []
    for index, profile in enumerate(profiles):
        for number, station in enumerate(STATIONS):
            redacted = (index + number) % 7 == 0
            made.append(make_report(profile, lang="fr" if number % 3 else "en",
                                    station=station, redacted=redacted))
    return made


def generate(folder: Path, count: int, made: list[dict[str, Any]], seed: int = 14) -> int:
    """Write ``count`` reports under ``folder``; return how many hosts they describe."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc)
    hosts = 0
    written = 0
    while written < count:
        hosts += 1
        host = f"PC-{hosts:06d}"
        reports = 2 if hosts % 10 == 0 and written + 1 < count else 1
        for age in range(reports):
            report = dict(rng.choice(made))
            when = base - timedelta(days=7 * age, minutes=rng.randrange(600))
            report["generated_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            day = folder / when.strftime("%Y-%m-%d")
            day.mkdir(exist_ok=True)
            (day / f"{host}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False),
                                              encoding="utf-8")
            written += 1
    hostile = folder / "hostile"
    hostile.mkdir()
    (hostile / "broken.json").write_text('{"schema_version": "1", ', encoding="utf-8")
    (hostile / "other-tool.json").write_text('{"tool": {"name": "other"}}', encoding="utf-8")
    with open(hostile / "huge.json", "wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    (hostile / "deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    (hostile / "latin1.json").write_bytes('{"host": "é"}'.encode("latin-1"))
    return hosts


def run_summary(folder: Path, form: str, out: Path) -> tuple[float, float]:
    """Wall time (s) and peak memory (MB) of one ``diagcps summary`` process."""
    args = [sys.executable, "-m", "diagcps", "summary", str(folder)]
    if form != "table":
        args.append(f"--{form}")
    env = {**os.environ, "LANG": "fr_FR.UTF-8", "PYTHONPATH": str(ROOT)}
    with open(out, "wb") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"summary {form} exited {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def check_csv(text: str, hosts: int) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    return {
        "rows": len(body),
        "one_row_per_host": len(body) == hosts,
        "rectangular": all(len(row) == len(header) for row in body),
        "no_formula_cell": not any(cell.startswith(("=", "+", "-", "@")) for row in body
                                   for cell in row),
    }


def measure(folder: Path, hosts: int, runs: int, scratch: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for form in ("table", "csv", "json"):
        times, memory = [], []
        for _ in range(runs):
            elapsed, peak = run_summary(folder, form, scratch / f"out.{form}")
            times.append(elapsed)
            memory.append(peak)
        result[form] = {"wall_s": round(statistics.median(times), 3),
                        "peak_mb": round(max(memory), 1)}
    summary = json.loads((scratch / "out.json").read_text(encoding="utf-8"))
    result["workstations"] = len(summary["workstations"])
    result["reports_read"] = summary["reports_read"]
    result["skipped"] = [s["reason"] for s in summary["skipped"]]
    result["csv_check"] = check_csv((scratch / "out.csv").read_text(encoding="utf-8"), hosts)
    return result


def retained_per_workstation(folder: Path) -> float:
    """Bytes the summary keeps per workstation (traced allocations, in this process): what
    grows with the fleet, apart from the fixed cost of Python and the tool."""
    import tracemalloc

    from diagcps.report.fleet import summarise

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    summary = summarise([str(folder)])
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return kept / len(summary.workstations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    made = templates()
    scratch = Path(tempfile.mkdtemp(prefix="diagcps-fleet-bench-"))
    try:
        small_count = max(100, args.reports // 10)
        small, large = scratch / "small", scratch / "large"
        small.mkdir()
        large.mkdir()
        small_hosts = generate(small, small_count, made)
        large_hosts = generate(large, args.reports, made)
        large_bytes = sum(p.stat().st_size for p in large.rglob("*.json")
                          if p.parent.name != "hostile")
        at_small = measure(small, small_hosts, args.runs, scratch)
        at_large = measure(large, large_hosts, args.runs, scratch)
        per_host_bytes = retained_per_workstation(large)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    extra_reports = args.reports - small_count
    per_report_ms = {form: round(1000 * (at_large[form]["wall_s"] - at_small[form]["wall_s"])
                                 / extra_reports, 4) for form in ("table", "csv", "json")}
    per_host_kb = round(per_host_bytes / 1024, 3)
    worst = max(at_large[f]["wall_s"] for f in ("table", "csv", "json"))
    peak = max(at_large[f]["peak_mb"] for f in ("table", "csv", "json"))
    projected = {
        "reports": 100_000,
        "wall_s": round(worst + max(per_report_ms.values()) * (100_000 - args.reports) / 1000,
                        1),
        "peak_mb": round(peak + per_host_kb * 100_000 * (large_hosts / args.reports)
                         * (1 - args.reports / 100_000) / 1024, 1),
    }
    results = {
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
                   f"{platform.platform()}; Python {platform.python_version()}",
        "templates": len(made),
        "reports": args.reports,
        "report_bytes_total": large_bytes,
        "hosts": large_hosts,
        "runs": args.runs,
        f"at_{small_count}": at_small,
        f"at_{args.reports}": at_large,
        "per_report_ms": per_report_ms,
        "per_workstation_kb": per_host_kb,
        "projected": projected,
        "limits": {"wall_s": LIMIT_S, "peak_mb": LIMIT_MB},
        "met": worst <= LIMIT_S and peak <= LIMIT_MB and at_large["csv_check"]["rectangular"]
        and at_large["csv_check"]["one_row_per_host"] and at_large["csv_check"]["no_formula_cell"]
        and len(at_large["skipped"]) == 5,
    }
    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    RESULTS_MD.write_text(markdown(results, small_count), encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0 if results["met"] else 1


def markdown(r: dict[str, Any], small_count: int) -> str:
    large, small = r[f"at_{r['reports']}"], r[f"at_{small_count}"]
    lines = [
        "# Fleet summary benchmark",
        "",
        f"Measured on {r['measured_at']} by `.venv/bin/python bench/fleet_bench.py` "
        f"({r['runs']} runs per form, medians; peak memory is the largest run's).",
        "",
        f"Machine: {r['machine']}.",
        "",
        f"{r['reports']:,} reports ({r['report_bytes_total'] / 1e6:.0f} MB of JSON, "
        f"{r['hosts']:,} workstations, one in ten with an older report too), generated from "
        f"{r['templates']} reports the tool made on every virtual card profile for five "
        "pinned workstations; plus five hostile files (invalid JSON, another tool's JSON, "
        "64 MB, nested 200,000 deep, not UTF-8), listed and skipped. Files are in the page "
        "cache (written just before): reading them from a network share adds its own time.",
        "",
        f"| `diagcps summary` | {small_count:,} reports: wall | peak memory | "
        f"{r['reports']:,} reports: wall | peak memory | time per report |",
        "|---|---|---|---|---|---|",
    ]
    for form in ("table", "csv", "json"):
        flag = "" if form == "table" else f" --{form}"
        lines.append(f"| `summary DIR{flag}` | {small[form]['wall_s']:.2f} s | "
                     f"{small[form]['peak_mb']:.0f} MB | {large[form]['wall_s']:.2f} s | "
                     f"{large[form]['peak_mb']:.0f} MB | {r['per_report_ms'][form]:.3f} ms |")
    csv_check = large["csv_check"]
    lines += [
        "",
        f"Limits for {r['reports']:,} reports: {r['limits']['wall_s']} s and "
        f"{r['limits']['peak_mb']:.0f} MB: **{'met' if r['met'] else 'MISSED'}**.",
        "",
        f"CSV: {csv_check['rows']:,} rows, one per workstation: {csv_check['one_row_per_host']}; "
        f"every row as wide as the header: {csv_check['rectangular']}; no cell a spreadsheet "
        f"would evaluate: {csv_check['no_formula_cell']}.",
        "",
        "## Planning a larger fleet",
        "",
        f"Time grows with the number of reports: {max(r['per_report_ms'].values()):.3f} ms per "
        "report (the slope between the two sizes, so process start-up excluded). Memory grows "
        f"with the number of workstations only (one small record each, the documents are read "
        f"one at a time): {r['per_workstation_kb']:.2f} kB kept per workstation (allocations "
        "traced in process, the summary included).",
        "",
        f"Projected for {r['projected']['reports']:,} reports: about "
        f"{r['projected']['wall_s']:.0f} s and {r['projected']['peak_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
