"""The middleware probe's cost beside the card reading's, on the real Cryptolib 5.2.2.

The official RPM is extracted into a temporary root (tests/vendor.py, from ../shared); everything
that runs the Cryptolib runs in a private mount namespace where that root's ``etc/opt`` is bound
over ``/etc/opt`` (its configuration and card cache), so the machine is never touched. Cards are
the virtual profiles served through a private pcscd and vpcd.

Measured per card, medians of N runs:

* the reading: ``diagcps check --json --skip workstation.middleware`` (APDUs on the wire, wall);
* the probe alone (``python -m diagcps.workstation.pkcs11_probe``): cold cache (emptied before
  each run, as after installation) and warm cache (the Cryptolib's cache of the card's files);
* the whole ``diagcps check --json`` with the probe, cold and warm, without delay and with 15 ms
  per APDU (a slow reader). Target: under 2 s on a CPS3 with 15 ms per APDU.

    python bench/middleware_probe.py [--n 5]

Writes bench/RESULTS-middleware-probe.json and prints a Markdown table. Needs root, unshare,
pcscd, vsmartcard-vpcd and ../shared.
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
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # cryptolib_run, vendor: the Cryptolib's runner

from cardsim.pcscd import PrivatePcscd  # noqa: E402
from cardsim.virtual import VirtualCard  # noqa: E402
from cardsim.vpcd import VpcdBridge  # noqa: E402

RESULTS = HERE / "RESULTS-middleware-probe.json"
PROFILES = HERE.parent / "cardsim" / "profiles"
NOW = "2026-11-28T09:00:00"
SLOW_APDU_S = 0.015


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def _timed(card: VirtualCard, argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    before = len(card.commands())
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                          timeout=60)
    elapsed = time.perf_counter() - started
    return elapsed, len(card.commands()) - before, done.stdout


def measure(profile: str, n: int, root: Path, daemon: PrivatePcscd) -> dict[str, Any]:
    from cryptolib_run import clear_cache, launcher
    from vendor import LINUX_MODULE

    ns = launcher(root)
    env = {**os.environ, **daemon.env, "DIAGCPS_ROOT": str(root)}
    py = sys.executable
    check = [*ns, py, "-m", "diagcps", "check", "--json", "--now", NOW]
    probe = [*ns, py, "-m", "diagcps.workstation.pkcs11_probe", str(root / LINUX_MODULE)]
    out: dict[str, Any] = {"profile": profile}
    for delay, suffix in ((0.0, ""), (SLOW_APDU_S, "_slow")):
        card = VirtualCard.from_file(PROFILES / f"{profile}.json")
        with VpcdBridge(card, port=daemon.vpcd_port, delay_s=delay) as bridge:
            bridge.insert()
            time.sleep(1.0)  # pcscd sees the card at its next poll (400 ms)
            series: dict[str, list[tuple[float, int]]] = {}
            for _ in range(n):
                series.setdefault("reading", []).append(
                    _timed(card, [*check, "--skip", "workstation.middleware"], env)[:2])
                clear_cache(root)
                series.setdefault("probe_cold", []).append(_timed(card, probe, env)[:2])
                series.setdefault("probe_warm", []).append(_timed(card, probe, env)[:2])
                clear_cache(root)
                elapsed, apdus, stdout = _timed(card, check, env)
                series.setdefault("check_cold", []).append((elapsed, apdus))
                series.setdefault("check_warm", []).append(_timed(card, check, env)[:2])
            report = json.loads(stdout)
            middleware = next(c for c in report["checks"] if c["id"] == "workstation.middleware")
            out["middleware" + suffix] = {"status": middleware["status"],
                                          "summary": middleware["summary"]}
            for name, values in series.items():
                out[name + suffix] = {"ms": _ms([v[0] for v in values]),
                                      "apdus": int(statistics.median(v[1] for v in values))}
        time.sleep(1.0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()
    from cryptolib_run import extract_cryptolib

    root = extract_cryptolib(Path(tempfile.mkdtemp(prefix="diagcps-bench-cryptolib-"))).root
    with PrivatePcscd() as daemon:
        rows = [measure(p, args.n, root, daemon) for p in ("cps3-healthy", "cps4-healthy")]
    result = {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": args.n,
              "machine": platform.platform(), "python": platform.python_version(),
              "cryptolib": "CryptolibCPS-5.2.2-1.x86_64.rpm (libcps3_pkcs11_lux.so 3.1)",
              "slow_apdu_ms": SLOW_APDU_S * 1000, "cards": rows}
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("| | " + " | ".join(r["profile"] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for key, label in (("reading", "diagcps reading (`check --skip workstation.middleware`)"),
                       ("probe_cold", "probe alone, cold Cryptolib cache"),
                       ("probe_warm", "probe alone, warm cache"),
                       ("check_cold", "whole `diagcps check` with the probe, cold cache"),
                       ("check_warm", "whole `diagcps check` with the probe, warm cache")):
        for suffix, note in (("", ""), ("_slow", " — 15 ms per APDU")):
            cells = [f"{r[key + suffix]['apdus']} APDUs, {r[key + suffix]['ms']:.0f} ms"
                     for r in rows]
            print(f"| {label}{note} | " + " | ".join(cells) + " |")
    for r in rows:
        print(f"{r['profile']}: {r['middleware']['status']}: {r['middleware']['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
