"""What a hostile file costs ``diagcps replay``, and what redaction costs ``diagcps check``.

    .venv/bin/python bench/hostile_files.py [--runs 5]

Each command runs in a new process (as a user runs it); the figure is the median wall time and
the peak resident memory (``wait4``) of several runs, interleaved with a baseline measured in the
same run: refusing a 50-byte bad transcript for the hostile files, ``check`` without ``--redact``
for redaction. Writes ``bench/RESULTS-hostile-files.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(command: str) -> tuple[float, int, int]:
    """Seconds, peak memory (kB) and exit code of a shell command's last process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, shell=True, executable="/bin/bash",
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - start
    return took, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def _files(folder: Path) -> dict[str, Path]:
    small = folder / "small.json"
    small.write_text('{"format": "diagcps-transcript", "version": 9}')
    huge = folder / "huge.json"
    chunk = json.dumps({"command": "00B00000E7", "response": "00" * 231 + "9000"}).encode()
    with huge.open("wb") as handle:
        handle.write(b'{"format": "diagcps-transcript", "version": 1, "provenance": '
                     b'{"source": "x"}, "exchanges": [')
        while handle.tell() < 200 * 1024 * 1024:
            handle.write(chunk + b", ")
        handle.write(chunk + b"]}")
    nested = folder / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    return {"small": small, "huge": huge, "nested": nested}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp))
        commands = {
            "bad 50-byte transcript (baseline)": f"{python} -m diagcps replay {files['small']}",
            "200 MB transcript file": f"{python} -m diagcps replay {files['huge']}",
            "200 MB transcript through a pipe":
                f"cat {files['huge']} | {python} -m diagcps replay /dev/stdin",
            "100,000 nested arrays": f"{python} -m diagcps replay {files['nested']}",
            "check (baseline)": f"{python} -m diagcps check --virtual-card cps3-healthy --json",
            "check --redact --record": f"{python} -m diagcps check --virtual-card cps3-healthy "
                                       f"--json --redact --record {tmp}/session.json",
        }
        samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                samples[name].append(_run(command))
    results = {}
    for name, values in samples.items():
        results[name] = {"median_s": round(statistics.median(v[0] for v in values), 4),
                         "peak_kb": max(v[1] for v in values),
                         "exit_codes": sorted({v[2] for v in values})}
    base = results["bad 50-byte transcript (baseline)"]["median_s"]
    for name in ("200 MB transcript file", "200 MB transcript through a pipe",
                 "100,000 nested arrays"):
        results[name]["ratio_to_baseline"] = round(results[name]["median_s"] / base, 2)
    check = results["check (baseline)"]["median_s"]
    results["check --redact --record"]["ratio_to_baseline"] = round(
        results["check --redact --record"]["median_s"] / check, 2)
    document = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "system": platform.platform()},
                "runs": runs, "results": results}
    out = ROOT / "bench" / "RESULTS-hostile-files.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    refused = all(results[n]["exit_codes"] == [2] for n in list(results)[:4])
    return 0 if refused else 1


if __name__ == "__main__":
    sys.exit(main())
