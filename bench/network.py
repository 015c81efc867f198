"""Wall time of the network family, healthy and with one endpoint black-holed, beside the card.

    .venv/bin/python bench/network.py [--runs 7]

Needs root (like the test suite): every measurement runs inside the network test bed
(``tests/network/testbed.py``: fresh network and mount namespaces, real TLS servers for three
``.test`` endpoints, a black-holed address), so nothing leaves the machine. The family runs
with its default time limit (3 s). Measured in process, inside the namespace, on the healthy
CPS3 virtual card answering each APDU after 15 ms (what a real T=0 card costs, as in
``bench/run.py``):

* the card reading alone: ``diagnose`` with the network family off;
* the network family alone: ``probe_all`` over the three endpoints;
* both, as ``diagcps check`` runs them: ``diagnose`` with the family on (started before the
  card is read, waited for before the checks).

Writes ``bench/RESULTS-network.md`` and ``bench/RESULTS-network.json``; exits 1 when the
family exceeds its time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APDU_DELAY_S = 0.015
SCENARIOS = ("healthy", "black_hole")


# --- inside the namespace ----------------------------------------------------------------------

class _SlowTransport:
    """The virtual card answering each command after a delay, as a real card does."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, command: Any) -> Any:
        time.sleep(self.delay_s)
        return self.inner.transmit(command)

    def close(self) -> None:
        self.inner.close()


def inner(runs: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from diagcps.diagnosis import diagnose
    from diagcps.network.endpoints import NetworkSettings
    from diagcps.network.probe import probe_all
    from diagcps.profiles import load_profile
    from diagcps.sources import VirtualSource

    class SlowSource(VirtualSource):
        def open(self, reader: str) -> Any:
            return _SlowTransport(super().open(reader), APDU_DELAY_S)

    def source() -> SlowSource:
        return SlowSource({"Virtual card 00": load_profile("cps3-healthy")}, "cps3-healthy")

    online = NetworkSettings.from_environment(os.environ)
    offline = NetworkSettings.from_environment(os.environ, offline=True)
    from diagcps.report.verdicts import verdicts as judge

    card, family, both, family_in_both, verdicts, card_verdicts = [], [], [], [], set(), set()
    for _ in range(runs):  # interleaved, so that a change of load hits all three alike
        start = time.perf_counter()
        diagnose(source(), network=offline)
        card.append(time.perf_counter() - start)
        start = time.perf_counter()
        probe_all(online)
        family.append(time.perf_counter() - start)
        start = time.perf_counter()
        diagnosis = diagnose(source(), network=online)
        both.append(time.perf_counter() - start)
        family_in_both.append(diagnosis.network.duration_ms / 1000)
        verdicts.update(f"{r.spec.id}: {r.result.code}" for r in diagnosis.results
                        if r.result.code and r.spec.id.startswith("network."))
        card_verdicts.add(judge(diagnosis, "en")["card"]["status"])
    return {"card_s": card, "family_s": family, "both_s": both,
            "family_in_both_s": family_in_both, "time_limit_s": online.time_limit_s,
            "network_findings": sorted(verdicts), "card_verdicts": sorted(card_verdicts)}


# --- outside -----------------------------------------------------------------------------------

def measure(scenario: str, runs: int) -> dict[str, Any]:
    done = subprocess.run(["unshare", "--net", "--mount", "--", sys.executable,
                           str(ROOT / "tests" / "network" / "testbed.py"), scenario,
                           "--child", str(Path(__file__).resolve()), "--", "--inner",
                           "--runs", str(runs)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"test bed failed: {done.stderr}")
    return json.loads(done.stdout)["runs"][0]["report"]


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inner:
        json.dump(inner(options.runs), sys.stdout)
        return 0
    results: dict[str, Any] = {}
    for scenario in SCENARIOS:
        raw = measure(scenario, options.runs)
        results[scenario] = {
            "card_reading_ms": _ms(raw["card_s"]),
            "network_family_ms": _ms(raw["family_s"]),
            "network_family_max_ms": round(max(raw["family_s"]) * 1000, 1),
            "card_and_network_ms": _ms(raw["both_s"]),
            "added_by_network_ms": round(_ms(raw["both_s"]) - _ms(raw["card_s"]), 1),
            "time_limit_ms": raw["time_limit_s"] * 1000,
            "family_over_limit": round(max(raw["family_s"]) / raw["time_limit_s"], 3),
            "network_findings": raw["network_findings"],
            "card_verdicts": raw["card_verdicts"],
            "raw_s": {k: raw[k] for k in ("card_s", "family_s", "both_s")},
        }
    now = datetime.now(timezone.utc)
    document = {"generated_by": "bench/network.py", "measured_at": now.isoformat(),
                "runs": options.runs, "apdu_delay_ms": APDU_DELAY_S * 1000,
                "machine": f"{platform.platform()}; Python {platform.python_version()}; "
                           f"{os.cpu_count()} CPUs", "results": results}
    (ROOT / "bench" / "RESULTS-network.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        "# Network family benchmark", "",
        f"Measured on {now:%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/network.py` "
        f"({options.runs} runs, medians, interleaved).", "",
        f"Machine: {document['machine']}.", "",
        "Inside the network test bed (private network namespace, real TLS servers for three "
        "endpoints, `.test` names through a bind-mounted hosts file). The card is the healthy "
        f"CPS3 virtual card answering each APDU after {APDU_DELAY_S * 1000:g} ms, read in "
        "process. Time limit of the family: its default.", "",
        "| | all endpoints healthy | one endpoint black-holed |", "|---|---|---|",
    ]
    rows = [("card reading alone", "card_reading_ms"),
            ("network family alone (median)", "network_family_ms"),
            ("network family alone (slowest run)", "network_family_max_ms"),
            ("card reading and network family, as `diagcps check` runs them",
             "card_and_network_ms"),
            ("added by the network family", "added_by_network_ms"),
            ("time limit", "time_limit_ms"),
            ("slowest family / time limit", "family_over_limit")]
    for label, key in rows:
        cells = [f"{results[s][key]}{'' if key == 'family_over_limit' else ' ms'}"
                 for s in SCENARIOS]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    findings = {s: ", ".join(results[s]["network_findings"]) or "none" for s in SCENARIOS}
    lines += ["", f"Network findings over all runs: healthy: {findings['healthy']}; "
              f"black-holed: {findings['black_hole']}. Card verdicts: healthy "
              f"{results['healthy']['card_verdicts']}, black-holed "
              f"{results['black_hole']['card_verdicts']}.", ""]
    (ROOT / "bench" / "RESULTS-network.md").write_text("\n".join(lines))
    print("\n".join(lines))
    missed = [s for s in SCENARIOS if results[s]["family_over_limit"] >= 1]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
