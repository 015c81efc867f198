"""Every performance figure of diagcps, measured on this machine in one run.

    .venv/bin/python bench/run.py [--runs 11] [--delay-runs 3] [--startup-runs 31]

Needs what ``./scripts/setup.sh test`` installs (pcscd, the vpcd reader driver, the test
dependencies, OpenSC for the comparison) and root for a private pcscd (as the test suite). Writes
``bench/RESULTS.md`` and ``bench/RESULTS.json``; exits 1 when a target is missed.

What it measures, for the healthy CPS3 and CPS4 virtual cards (``cardsim/profiles``):

* APDUs of one full ``diagcps check`` (certificates included), counted twice: in process
  (``read_card`` over DirectTransport) and on the wire (the vpcd bridge's log, for the real
  command through pcscd), next to the smallest sequence that gets the same facts
  (``bench/apdu_counts.py``), to OpenSC 0.23's ``pkcs15-tool --list-pins`` and
  ``--list-certificates``, and to the official Cryptolib CPS 5.2.2's ``pkcs11-tool -L -T``
  with an empty (cold) and a filled (warm) file cache, on the same virtual card through the same
  pcscd (the Cryptolib extracted from ``../shared`` by ``tests/cryptolib_run.py``, its
  configuration in a private mount namespace; skipped without ``../shared``);
* wall time of ``diagcps check --json`` end to end (a new process each time, as a user runs it)
  against those OpenSC commands, as a ratio, with the card answering at once and with a delay of
  15 ms per APDU added by the virtual card (what a real T=0 card costs);
* start-up: ``diagcps --version`` and ``diagcps --help`` against ``python -c "import click"``;
* peak memory (maximum resident set size) of each full check, from ``wait4``.

The project's modules are byte-compiled first, as an installation does.

Every timing is the median of several runs, the runs of the compared commands interleaved so that
a change of machine load hits them alike; ratios are taken between medians of the same run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # cryptolib_run, vendor: the Cryptolib's runner

import apdu_counts  # noqa: E402

from cardsim.pcscd import PrivatePcscd  # noqa: E402
from cardsim.virtual import VirtualCard  # noqa: E402
from cardsim.vpcd import VpcdBridge  # noqa: E402

RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "RESULTS.json"
CARDS = ROOT / "cardsim" / "profiles"
PROFILES = ("cps3-healthy", "cps4-healthy")
DELAY_S = 0.015
#: The contact PKCS#15 application (CPS-CARD.md 2.2). OpenSC 0.23 binds by default to the last
#: CPx application EF.DIR lists, the contactless one: see "OpenSC and the virtual card" below.
PKCS15_CONTACT_AID = "E828BD080F8025000001FF0010"

TARGET_APDU_RATIO = 1.2
TARGET_CPS4_RATIO = 1.1
TARGET_DELAYED_CHECK_S = 1.5
TARGET_STARTUP_RATIO = 1.5
TARGET_PEAK_RSS_MB = 80


# --- running a command ---------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    returncode: int
    max_rss_kb: int
    stdout: bytes
    stderr: bytes
    apdus: int | None = None
    #: The command APDUs that reached the card, in hex.
    sequence: list[str] | None = None


#: Runs one command for :func:`run_measured`. Linux keeps a process's peak RSS across exec, and a
#: child forked (or vforked) from this benchmark would start with the benchmark's own RSS: the
#: command is therefore forked from this small launcher, which reports the command's wall time
#: (fork to reaping) and its own ``wait4`` figures. Its floor, measured on /bin/true, is in
#: RESULTS.json (about 6 MB: below anything measured here).
LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as out:
    out.write(f"{seconds} {os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to its end: wall time from fork to reaping, and the peak RSS of that very
    process (not of the launcher, nor a maximum over every child as RUSAGE_CHILDREN gives)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report"
        out = subprocess.run([sys.executable, "-S", "-I", "-c", LAUNCHER, str(report), *argv],
                             stdin=subprocess.DEVNULL, capture_output=True, env=env, check=False)
        seconds, returncode, max_rss_kb = report.read_text().split()
    return Run(float(seconds), int(returncode), int(max_rss_kb), out.stdout, out.stderr)


def median_ms(runs: list[Run]) -> float:
    return round(statistics.median(r.seconds for r in runs) * 1000, 1)


def diagcps_argv() -> list[str]:
    """The console script a user runs, from this interpreter's environment."""
    script = Path(sys.executable).with_name("diagcps")
    return [str(script)] if script.exists() else [sys.executable, "-m", "diagcps"]


# --- machine -------------------------------------------------------------------------------------


def _first_line(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def machine() -> dict[str, Any]:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MB"
    except (OSError, ValueError):
        pass
    opensc = _first_line(["opensc-tool", "--info"]) if shutil.which("opensc-tool") else None
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "pcsc_lite": _first_line([shutil.which("pcscd") or "/usr/sbin/pcscd", "--version"]),
        "opensc": opensc,
    }


# --- the card through pcscd ----------------------------------------------------------------------


class Stack:
    """A private pcscd, one virtual card in its first reader, and the commands run against it."""

    def __init__(self, daemon: PrivatePcscd) -> None:
        self.daemon = daemon
        self.env = dict(os.environ, **daemon.env)
        self.reader = daemon.reader_names[0]
        self.bridge: VpcdBridge | None = None

    def insert(self, profile: str) -> VirtualCard:
        from diagcps.pcsc import wait_for_reader

        card = VirtualCard.from_file(CARDS / f"{profile}.json")
        if self.bridge is None:
            self.bridge = VpcdBridge(card, port=self.daemon.vpcd_port)
            self.bridge.insert()
        else:
            self.bridge.swap(card)
        wait_for_reader(self.reader, {"present"}, 5.0)
        return card

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.close()

    def run(self, argv: Sequence[str], delay_s: float = 0.0) -> Run:
        assert self.bridge is not None
        self.bridge.delay_s = delay_s
        self.bridge.clear_events()
        result = run_measured(argv, self.env)
        result.sequence = [e.payload_hex for e in self.bridge.events_of("apdu")]
        result.apdus = len(result.sequence)
        self.bridge.delay_s = 0.0
        return result


def check_argv() -> list[str]:
    # The card, not the network: the network family has its own bench (bench/network.py).
    return [*diagcps_argv(), "check", "--json", "--offline"]


def opensc_commands() -> dict[str, list[str]]:
    tool = shutil.which("pkcs15-tool")
    assert tool is not None
    aid = ["--aid", PKCS15_CONTACT_AID]
    return {
        "list_pins": [tool, *aid, "--list-pins"],
        "list_certificates": [tool, *aid, "--list-certificates"],
        "both_in_one": [tool, *aid, "--list-pins", "--list-certificates"],
    }


class Cryptolib:
    """The official Cryptolib, extracted into a temporary root, as a reference reader."""

    def __init__(self) -> None:
        import cryptolib_run

        self._tmp = tempfile.TemporaryDirectory(prefix="diagcps-bench-cryptolib-")
        self.install = cryptolib_run.extract_cryptolib(Path(self._tmp.name))
        self.argv = cryptolib_run.list_tokens_argv(self.install)

    def close(self) -> None:
        self._tmp.cleanup()


def cryptolib_problem() -> str | None:
    import cryptolib_run
    import vendor

    if not (vendor.VENDOR / vendor.LINUX_RPM).is_file():
        return f"the Cryptolib RPM is not in {vendor.VENDOR} (../shared absent)"
    return cryptolib_run.runner_problem()


def card_verdict(run: Run) -> str | None:
    try:
        return json.loads(run.stdout)["verdicts"]["card"]["status"]
    except (ValueError, KeyError, TypeError):
        return None


def measure_profile(stack: Stack, profile: str, runs: int, delay_runs: int,
                    with_opensc: bool, cryptolib: Cryptolib | None = None) -> dict[str, Any]:
    stack.insert(profile)
    commands = {"diagcps": check_argv()}
    if with_opensc:
        commands.update(opensc_commands())
    if cryptolib is not None:
        # Cold: the file cache emptied just before; warm: right after a cold run, as a browser's
        # second start finds it.
        commands.update({"cryptolib_cold": cryptolib.argv, "cryptolib_warm": cryptolib.argv})

    def before(name: str) -> None:
        if name == "cryptolib_cold" and cryptolib is not None:
            cryptolib.install.clear_cache()

    # One unmeasured round first: page cache, pcscd's first connection.
    for name, argv in commands.items():
        before(name)
        stack.run(argv)
    results: dict[str, Any] = {}
    for label, delay, count in (("no_delay", 0.0, runs), ("delay_15ms", DELAY_S, delay_runs)):
        series: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(count):
            for name, argv in commands.items():
                before(name)
                series[name].append(stack.run(argv, delay))
        results[label] = {name: summarise(name, got) for name, got in series.items()}
    return results


def summarise(name: str, runs: list[Run]) -> dict[str, Any]:
    apdus = sorted({r.apdus for r in runs if r.apdus is not None})
    summary: dict[str, Any] = {
        "runs": len(runs),
        "median_ms": median_ms(runs),
        "min_ms": round(min(r.seconds for r in runs) * 1000, 1),
        "apdus": apdus[0] if len(apdus) == 1 else apdus,
        "returncodes": sorted({r.returncode for r in runs}),
        "peak_rss_mb": round(max(r.max_rss_kb for r in runs) / 1024, 1),
        "sequence": runs[-1].sequence,
    }
    if name == "diagcps":
        summary["card_verdicts"] = sorted({card_verdict(r) or "unreadable" for r in runs})
    else:
        last = runs[-1]
        text = (last.stdout + last.stderr).decode(errors="replace")
        summary["output_tail"] = text.strip().splitlines()[-1] if text.strip() else ""
        summary["pins_listed"] = text.count("PIN [")
        summary["certificates_listed"] = text.count("X.509 Certificate [")
        summary["tokens_listed"] = text.count("serial num")
    return summary


# --- start-up ------------------------------------------------------------------------------------


def measure_startup(runs: int) -> dict[str, Any]:
    commands = {
        "import_click": [sys.executable, "-c", "import click"],
        "diagcps_version": [*diagcps_argv(), "--version"],
        "diagcps_help": [*diagcps_argv(), "--help"],
    }
    for argv in commands.values():  # warm the page cache and the .pyc files
        run_measured(argv)
    series: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            series[name].append(run_measured(argv))
    medians = {name: median_ms(got) for name, got in series.items()}
    return {
        "runs": runs,
        "median_ms": medians,
        "ratio_version": round(medians["diagcps_version"] / medians["import_click"], 2),
        "ratio_help": round(medians["diagcps_help"] / medians["import_click"], 2),
        "peak_rss_mb": {name: round(max(r.max_rss_kb for r in got) / 1024, 1)
                        for name, got in series.items()},
    }


# --- APDU counts in process ----------------------------------------------------------------------


def measure_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for profile in apdu_counts.PROFILES:
        counts[profile] = {
            "with_certificates": apdu_counts.measure(profile, True),
            "without_certificates": apdu_counts.measure(profile, False),
        }
    return counts


# --- report --------------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    cps3 = results["counts"]["cps3-healthy"]["with_certificates"]
    ratio = cps3["read_card"] / cps3["minimal"]
    found: list[dict[str, Any]] = [{
        "target": f"APDUs of a full check of a healthy CPS3 <= {TARGET_APDU_RATIO} x the minimal "
                  "sequence",
        "measured": f"{cps3['read_card']} / {cps3['minimal']} = {ratio:.2f}",
        "met": ratio <= TARGET_APDU_RATIO,
    }]
    stack = results.get("stack", {}).get("cps3-healthy")
    if stack:
        ours = stack["no_delay"]["diagcps"]["apdus"]
        theirs = stack["no_delay"].get("list_pins")
        if theirs:
            opensc = theirs["apdus"] + stack["no_delay"]["list_certificates"]["apdus"]
            single = stack["no_delay"]["both_in_one"]["apdus"]
            found.append({
                "target": "fewer APDUs than OpenSC (pkcs15-tool --list-pins + --list-certificates)"
                          " on a healthy CPS3",
                "measured": f"{ours} against {opensc} ({single} in one pkcs15-tool call)",
                "met": isinstance(ours, int) and ours < min(opensc, single),
            })
        delayed = stack["delay_15ms"]["diagcps"]["median_ms"] / 1000
        found.append({
            "target": f"full check (certificates included) with 15 ms per APDU < "
                      f"{TARGET_DELAYED_CHECK_S} s",
            "measured": f"{delayed:.2f} s (CPS3)",
            "met": delayed < TARGET_DELAYED_CHECK_S,
        })
    cps4 = results["counts"]["cps4-healthy"]["with_certificates"]
    ratio4 = cps4["read_card"] / cps4["minimal"]
    found.append({
        "target": f"APDUs of a full check of a healthy CPS4 (T=1) <= {TARGET_CPS4_RATIO} x the "
                  "minimal sequence on channel 1",
        "measured": f"{cps4['read_card']} / {cps4['minimal']} = {ratio4:.2f}",
        "met": ratio4 <= TARGET_CPS4_RATIO,
    })
    cold = (stack or {}).get("no_delay", {}).get("cryptolib_cold")
    if stack and cold:
        ours = stack["no_delay"]["diagcps"]["apdus"]
        found.append({
            "target": "every fact of a healthy CPS3 in fewer APDUs than the Cryptolib's cold "
                      "`pkcs11-tool -L -T`",
            "measured": f"{ours} against {_fmt_apdus(cold['apdus'])}",
            "met": isinstance(ours, int) and isinstance(cold["apdus"], int)
            and ours < cold["apdus"],
        })
    startup = results["startup"]
    found.append({
        "target": f"start-up: diagcps --help <= {TARGET_STARTUP_RATIO} x python -c 'import click'",
        "measured": f"{startup['median_ms']['diagcps_help']} ms / "
                    f"{startup['median_ms']['import_click']} ms = {startup['ratio_help']:.2f}",
        "met": startup["ratio_help"] <= TARGET_STARTUP_RATIO,
    })
    if results.get("stack"):
        peak = max(s["no_delay"]["diagcps"]["peak_rss_mb"] for s in results["stack"].values())
        found.append({
            "target": f"peak memory of a full check < {TARGET_PEAK_RSS_MB} MB",
            "measured": f"{peak} MB",
            "met": peak < TARGET_PEAK_RSS_MB,
        })
    return found


def ratio_to_minimal(profile_counts: dict[str, Any]) -> float:
    full = profile_counts["with_certificates"]
    return full["read_card"] / full["minimal"]


def _fmt_apdus(value: Any) -> str:
    return str(value) if isinstance(value, int) else "/".join(map(str, value)) or "-"


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured on {results['date']} by `.venv/bin/python bench/run.py` "
        f"({results['options']['runs']} runs, {results['options']['delay_runs']} with the delay, "
        f"{results['options']['startup_runs']} for start-up; medians).",
        "",
        f"Machine: {m['cpu'] or 'unknown CPU'}, {m['cpus']} CPUs, {m['memory'] or '?'} RAM; "
        f"{m['platform']}; Python {m['python']}; {m['pcsc_lite'] or 'pcsc-lite ?'}; "
        f"{m['opensc'] or 'OpenSC not installed'}.",
        "",
        "The cards are the virtual profiles `cardsim/profiles/cps3-healthy.json` (T=0) and "
        "`cps4-healthy.json` (T=1), served through a private pcscd and the vpcd reader driver: "
        "every command below is the real program talking PC/SC.",
        "",
        "## Summary",
        "",
        "| | CPS3 | CPS4 |",
        "|---|---|---|",
    ]
    counts = results["counts"]
    stack = results.get("stack", {})

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | {cell('cps3-healthy')} | {cell('cps4-healthy')} |")

    row("APDUs, full `diagcps check` (certificates included)",
        lambda p: counts[p]["with_certificates"]["read_card"])
    row("APDUs, minimal sequence for the same facts",
        lambda p: counts[p]["with_certificates"]["minimal"])
    row("ratio to the minimum", lambda p: f"{ratio_to_minimal(counts[p]):.2f}")
    row("APDUs without certificates (`read_card(certificates=False)`) / minimal",
        lambda p: f"{counts[p]['without_certificates']['read_card']} / "
                  f"{counts[p]['without_certificates']['minimal']}")
    if stack:
        def apdus_on_wire(p: str) -> str:
            return _fmt_apdus(stack[p]["no_delay"]["diagcps"]["apdus"]) if p in stack else "-"

        row("APDUs on the wire, `diagcps check --json` through pcscd", apdus_on_wire)

        def opensc_apdus(p: str) -> str:
            s = stack.get(p, {}).get("no_delay", {})
            if "list_pins" not in s:
                return "not run"
            pins, certs = s["list_pins"], s["list_certificates"]
            text = (f"{_fmt_apdus(pins['apdus'])} + {_fmt_apdus(certs['apdus'])}"
                    f" (one call: {_fmt_apdus(s['both_in_one']['apdus'])})")
            if pins["returncodes"] != [0]:
                text += f", fails: \"{pins['output_tail']}\""
            return text

        row("APDUs, OpenSC `pkcs15-tool --list-pins` + `--list-certificates`", opensc_apdus)

        def wall(p: str, key: str) -> str:
            return f"{stack[p][key]['diagcps']['median_ms']:.0f} ms" if p in stack else "-"

        def cryptolib_apdus(p: str) -> str:
            s = stack.get(p, {}).get("no_delay", {})
            if "cryptolib_cold" not in s:
                return "not run"
            cold, warm = s["cryptolib_cold"], s["cryptolib_warm"]
            text = f"{_fmt_apdus(cold['apdus'])} / {_fmt_apdus(warm['apdus'])}"
            if cold["tokens_listed"] != 1:
                text += " (no token!)"
            return text

        row("APDUs, Cryptolib 5.2.2 `pkcs11-tool -L -T`, cold / warm cache", cryptolib_apdus)
        row("wall time, `diagcps check --json`", lambda p: wall(p, "no_delay"))

        def cryptolib_wall(p: str, key: str) -> str:
            s = stack.get(p, {}).get(key, {})
            if "cryptolib_cold" not in s:
                return "-"
            return (f"{s['cryptolib_cold']['median_ms']:.0f} / "
                    f"{s['cryptolib_warm']['median_ms']:.0f} ms")

        row("wall time, the Cryptolib cold / warm", lambda p: cryptolib_wall(p, "no_delay"))

        def opensc_wall(p: str, key: str) -> str:
            s = stack.get(p, {}).get(key, {})
            if "list_pins" not in s:
                return "-"
            total = s["list_pins"]["median_ms"] + s["list_certificates"]["median_ms"]
            if s["list_pins"]["returncodes"] != [0]:
                return f"{total:.0f} ms (OpenSC gives up: no ratio)"
            ratio = s["diagcps"]["median_ms"] / total
            return f"{total:.0f} ms (diagcps / OpenSC = {ratio:.2f})"

        row("wall time, the two OpenSC commands", lambda p: opensc_wall(p, "no_delay"))
        row("wall time with 15 ms per APDU, `diagcps check --json`",
            lambda p: wall(p, "delay_15ms"))
        row("wall time with 15 ms per APDU, the two OpenSC commands",
            lambda p: opensc_wall(p, "delay_15ms"))
        row("wall time with 15 ms per APDU, the Cryptolib cold / warm",
            lambda p: cryptolib_wall(p, "delay_15ms"))
        row("peak memory (max RSS), `diagcps check --json`",
            lambda p: f"{stack[p]['no_delay']['diagcps']['peak_rss_mb']} MB" if p in stack
            else "-")
    t0 = counts.get("cps4-t0-healthy", {}).get("with_certificates")
    if t0:
        lines += ["", f"CPS4 over T=0 (`cps4-t0-healthy`, in process): {t0['read_card']} APDUs "
                  f"against a minimal {t0['minimal']} ({t0['read_card'] / t0['minimal']:.2f}): "
                  "each FCI the reading uses costs a GET RESPONSE (`01 C0`), as in the "
                  "Cryptolib's T=0 traffic; the oracle needs no FCI."]
    s = results["startup"]["median_ms"]
    lines += [
        "",
        "| Start-up | median | ratio to `python -c \"import click\"` |",
        "|---|---|---|",
        f"| `python -c \"import click\"` | {s['import_click']} ms | 1 |",
        f"| `diagcps --version` | {s['diagcps_version']} ms | "
        f"{results['startup']['ratio_version']:.2f} |",
        f"| `diagcps --help` | {s['diagcps_help']} ms | {results['startup']['ratio_help']:.2f} |",
        "",
        "## Targets",
        "",
        "| Target | Measured | Holds |",
        "|---|---|---|",
    ]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    lines += ["", "## The minimal sequences", "",
              "What a reader that already knew every path and every content length would send "
              "(`bench/apdu_counts.py` sends it to the same virtual card to prove it works). "
              "`diagcps check` sends these plus, on the CPS3, one `SELECT MF` first (another "
              "program may have left a DF selected: EF.SN is read by SFI from the current DF, "
              "and the PIN objects answer only from the MF) and one resent READ BINARY for each "
              "small file whose length it cannot know (`6Cxx`: ODF, CPS_ID_CARD, CPS_NAME_PS, "
              "CPS_INFO_PS; asking for the FCP instead would cost a GET RESPONSE, the same). On "
              "the CPS4 (T=1) nothing: the `6F` FCI of each SELECT (P2 `00`, the Cryptolib's "
              "form) gives the size in the same exchange.", ""]
    for profile in apdu_counts.PROFILES:
        seq = counts[profile]["with_certificates"]["minimal_sequence"]
        lines += [f"### {profile} ({len(seq)} APDUs, certificates included)", "", "```"]
        lines += seq
        lines += ["```", ""]
    lines += [_CRYPTOLIB_NOTES.strip(), ""]
    for profile in PROFILES:
        s = stack.get(profile, {}).get("no_delay", {})
        for key, what in (("cryptolib_cold", "cold"), ("cryptolib_warm", "warm")):
            if s.get(key, {}).get("sequence"):
                lines += [f"### The Cryptolib's `-L -T` on {profile}, {what} cache, as sent "
                          f"({len(s[key]['sequence'])} APDUs)", "", "```",
                          *s[key]["sequence"], "```", ""]
    lines += [_OPENSC_NOTES.strip(), ""]
    pins = stack.get("cps3-healthy", {}).get("no_delay", {}).get("list_pins")
    if pins and pins.get("sequence"):
        lines += ["### OpenSC's `pkcs15-tool --aid … --list-pins` on the CPS3, as sent", "",
                  "EF.ATR, the IAS application, EF.SN by SFI (Le C0, then again after `6C0C`), "
                  "EF.DIR, the application DF, ODF, TokenInfo, AODF: each selected with its FCP "
                  "(`61xx` then GET RESPONSE).", "", "```", *pins["sequence"], "```", ""]
    return "\n".join(lines)


_CRYPTOLIB_NOTES = """
## The official Cryptolib as a reference reader

The Cryptolib CPS 5.2.2 (Linux RPM, `libcps3_pkcs11_lux.so`) lists the token with
`pkcs11-tool --module … -L -T` (no login). It keeps a file cache under
`/etc/opt/santesocial/CPS/cache` (here a temporary root, through a private mount namespace):
cold = cache emptied before each run, warm = right after a cold run. What it reads is not what
`diagcps check` reads: the token's serial, its PIN flags (empty VERIFY on the CPS4, GET DATA on
the CPS3) and the PKCS#15 directories (EF.DIR, ODF, TokenInfo, AODF, PrKDF, CDF, DODF), but
neither the identity objects, nor EF_ACTUA on the CPS4, nor the certificates themselves; a warm
run reads again only EF.SN and the PIN states. The wall times include `unshare` and two mounts
(a few milliseconds). On a CPS4 every one of its commands has CLA `01`: ChipDoc selected on
logical channel 1 without MANAGE CHANNEL, files selected by path from the MF (P1 `08`, P2 `00`,
answered with a `6F` FCI whose size it then reads with one READ BINARY of up to 256 bytes).
"""


_OPENSC_NOTES = """
## OpenSC and the virtual card

OpenSC 0.23 drives the CPS3 with its `iasecc` driver ("IAS/ECC CPx", chosen from the ATR). To be
recognised, the virtual card had to become more faithful to the real one:

- **EF.ATR** (`3F00/2F01`): the driver's first command reads it and refuses the card without it.
  The profiles now carry the content and FCP of a real CPx card's EF.ATR as published in OpenSC
  issues 2220 and 2223 (category byte `80`, pre-issuing data `46`, the IAS AID in `4F`, the
  IAS-ECC buffer sizes in `E0`).
- **Security attributes in every FCP**: the driver parses each SELECT answer and rejects an FCP
  without the IAS-ECC access rules (`A1` > `8C`/`9C` compact form), which the real CPx FCPs of
  the public traces all carry, with the life cycle `8A 05`. The virtual card's generated FCPs now
  have both.
- **At most E7 bytes per READ BINARY** on the CPS3 (CPS-CARD.md section 3; OpenSC's iasecc
  driver expects the same limit): the virtual card answers a larger Le with `6CE7`, the T=0 way of
  naming the length it can give.
- A **TokenInfo** (`5032`) in the contactless PKCS#15 application too, as every PKCS#15
  application has one.

Two findings about OpenSC itself, not the card:

- Without `--aid`, `pkcs15-tool` binds to the **contactless** application `3F00/0002`: the
  profiles' EF.DIR lists the contact application first (the order on real cards is not
  published), and OpenSC 0.23's `sc_enum_apps` moves "known" applications to the head of the list
  but, when the first entry is already known, swaps the second one in front of it. There it finds
  no PIN. The benchmark therefore names the contact application:
  `--aid E828BD080F8025000001FF0010`.
- The **CPS4 is not recognised**: OpenSC 0.23 knows only the CPS3 ATR mask (last bytes
  `00 90 00`), which the CPS4 ATR (`… 00 90 44`, T=1) does not match. OpenSC then probes the card
  with the other drivers' SELECTs and gives up ("Failed to connect to card: Card is invalid or
  cannot be handled"); the table gives the APDUs it spent doing so. That is OpenSC's limit, not the
  virtual card's: nothing in the card would make 0.23 choose a driver for that ATR.

What OpenSC's two commands give is not what `diagcps check` gives: `--list-pins` prints the PIN
objects of the AODF but no try counter (it sends no GET DATA and no VERIFY), and
`--list-certificates` lists the certificates without their dates. `diagcps check` gets in
addition the PIN and unblock-code counters, EF.SN, EF_ACTUA, the holder's identity and the
certificates' validity. OpenSC also reads each certificate file to the size its FCP gives (2048
bytes here; three APDUs per 256 bytes: Le `00` answered `6CE7`, then E7 bytes, then the other 19),
where diagcps stops at the end of the DER certificate (a SELECT and four READ BINARY for these
913-byte certificates: 5 APDUs, against OpenSC's 26). How large the real card's certificate files
are is not published: were they exactly as large as their certificates, OpenSC would need 12
APDUs per certificate instead of 26.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="diagcps benchmarks (see the module docstring)")
    parser.add_argument("--runs", type=int, default=11, help="runs of each command, no delay")
    parser.add_argument("--delay-runs", type=int, default=3,
                        help="runs of each command with 15 ms per APDU")
    parser.add_argument("--startup-runs", type=int, default=31)
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite RESULTS.md from RESULTS.json (no measurement)")
    args = parser.parse_args(argv)
    if args.render:
        RESULTS_MD.write_text(render_markdown(json.loads(RESULTS_JSON.read_text())),
                              encoding="utf-8")
        return 0

    results: dict[str, Any] = {
        "generated_by": "bench/run.py",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "options": {"runs": args.runs, "delay_runs": args.delay_runs,
                    "startup_runs": args.startup_runs, "delay_ms": DELAY_S * 1000},
    }
    # What an installation does (pip byte-compiles what it installs): without it, an editable
    # checkout run with PYTHONDONTWRITEBYTECODE would compile diagcps at every start.
    for package in ("diagcps", "apdu"):
        compileall.compile_dir(ROOT / package, quiet=1)
    print("APDU counts (in process)...", file=sys.stderr)
    results["counts"] = measure_counts()

    ready, why = PrivatePcscd.available()
    with_opensc = shutil.which("pkcs15-tool") is not None
    if not with_opensc:
        results["opensc_missing"] = "pkcs15-tool not found: apt install opensc"
    why_no_cryptolib = cryptolib_problem()
    if why_no_cryptolib:
        results["cryptolib_missing"] = why_no_cryptolib
    cryptolib = Cryptolib() if ready and why_no_cryptolib is None else None
    if ready:
        stack_results: dict[str, Any] = {}
        with PrivatePcscd() as daemon:
            # Before this process's first PC/SC context (wait_for_reader): libpcsclite reads it
            # once.
            os.environ.update(daemon.env)
            stack = Stack(daemon)
            try:
                for profile in PROFILES:
                    print(f"{profile} through pcscd + vpcd...", file=sys.stderr)
                    stack_results[profile] = measure_profile(
                        stack, profile, args.runs, args.delay_runs, with_opensc, cryptolib)
            finally:
                stack.close()
                if cryptolib is not None:
                    cryptolib.close()
        results["stack"] = stack_results
    else:
        results["stack_unavailable"] = why
    print("start-up...", file=sys.stderr)
    results["startup"] = measure_startup(args.startup_runs)
    results["rss_floor_mb"] = round(run_measured(["true"]).max_rss_kb / 1024, 1)
    results["targets"] = targets(results)

    text = render_markdown(results)
    if args.no_write:
        print(text)
    else:
        RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        RESULTS_MD.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS_MD.relative_to(ROOT)} and {RESULTS_JSON.relative_to(ROOT)}",
              file=sys.stderr)
    for t in results["targets"]:
        print(f"{'ok  ' if t['met'] else 'MISS'} {t['target']}: {t['measured']}", file=sys.stderr)
    if not ready:
        print(f"bench: the PC/SC part was skipped: {why}", file=sys.stderr)
    return 0 if all(t["met"] for t in results["targets"]) and ready else 1


if __name__ == "__main__":
    sys.exit(main())
