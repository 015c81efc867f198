"""APDU round trip through the real PC/SC stack: pyscard -> libpcsclite -> private pcscd -> vpcd
-> a trivial card served by :class:`cardsim.vpcd.VpcdBridge` in this process.

Measures, for N transmits, the median / p95 / max round trip:

* ``transport``: through :class:`diagcps.pcsc.PcscTransport` (what the tool uses: each transmit
  goes through a bounded worker thread);
* ``raw``: ``smartcard.scard.SCardTransmit`` called directly (the stack alone);

first with ``TCP_QUICKACK`` set before every ``recv`` on the card side (the bridge's default), then
without it (the delayed-ACK baseline, about 44 ms per APDU, hence a smaller N). Target: median
below 1 ms with quick ACK.

    python bench/apdu_roundtrip.py [--n 2000] [--baseline-n 100]

Writes bench/RESULTS-apdu-roundtrip.json and prints one line. Needs root (private namespace),
pcscd and vsmartcard-vpcd.
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from apdu.command import CommandApdu  # noqa: E402
from cardsim.pcscd import PrivatePcscd  # noqa: E402
from cardsim.vpcd import VpcdBridge  # noqa: E402

RESULTS = HERE / "RESULTS-apdu-roundtrip.json"
SELECT_MF = CommandApdu(0x00, 0xA4, 0x00, 0x00, b"\x3F\x00")
WARMUP = 20


class TrivialCard:
    """Answers 90 00 to everything."""

    atr = bytes.fromhex("3BAC00402A001225006480000310009000")

    def process(self, command: bytes) -> bytes:
        return b"\x90\x00"

    def power_on(self) -> None:
        pass

    def power_off(self) -> None:
        pass

    def reset(self) -> None:
        pass


def _stats(seconds: list[float]) -> dict[str, float | int]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 4),
        "p95_ms": round(p95 * 1000, 4),
        "max_ms": round(ordered[-1] * 1000, 4),
    }


def _time_transport(reader: str, n: int) -> dict[str, float | int]:
    from diagcps.pcsc import PcscTransport

    with PcscTransport.connect(reader, timeout_s=5.0) as transport:
        for _ in range(WARMUP):
            transport.transmit(SELECT_MF)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            response = transport.transmit(SELECT_MF)
            times.append(time.perf_counter() - started)
            assert response.sw == 0x9000
    return _stats(times)


def _time_raw(reader: str, n: int) -> dict[str, float | int]:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == 0
    hresult, card, protocol = scard.SCardConnect(
        context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    )
    assert hresult == 0
    pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
    command = list(SELECT_MF.to_bytes())
    try:
        for _ in range(WARMUP):
            scard.SCardTransmit(card, pci, command)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            hresult, _response = scard.SCardTransmit(card, pci, command)
            times.append(time.perf_counter() - started)
            assert hresult == 0
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    return _stats(times)


def _run(daemon: PrivatePcscd, quickack: bool, n: int) -> dict[str, Any]:
    from diagcps.pcsc import wait_for_reader

    reader = daemon.reader_names[0]
    wait_for_reader(reader, {"empty"}, 3.0)
    with VpcdBridge(TrivialCard(), port=daemon.vpcd_port, quickack=quickack):
        inserted = time.perf_counter()
        wait_for_reader(reader, {"present"}, 3.0)
        seen_ms = (time.perf_counter() - inserted) * 1000
        return {
            "quickack": quickack,
            "insert_seen_ms": round(seen_ms, 1),
            "transport": _time_transport(reader, n),
            "raw": _time_raw(reader, n),
        }


def _pcsc_lite_version() -> str | None:
    try:
        out = subprocess.run(["pcscd", "--version"], capture_output=True, text=True, timeout=5)
    except OSError:
        return None
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="transmits with TCP_QUICKACK")
    parser.add_argument("--baseline-n", type=int, default=100,
                        help="transmits without TCP_QUICKACK (about 44 ms each)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    ready, reason = PrivatePcscd.available()
    if not ready:
        print(f"apdu_roundtrip: {reason}", file=sys.stderr)
        return 2
    daemon = PrivatePcscd()
    started = time.perf_counter()
    daemon.start()
    start_ms = (time.perf_counter() - started) * 1000
    try:
        # Before the first PC/SC context of this process: libpcsclite reads it only once.
        os.environ.update(daemon.env)
        quick = _run(daemon, quickack=True, n=args.n)
        baseline = _run(daemon, quickack=False, n=args.baseline_n)
    finally:
        stopping = time.perf_counter()
        daemon.stop()
        stop_ms = (time.perf_counter() - stopping) * 1000

    ratio = baseline["transport"]["median_ms"] / quick["transport"]["median_ms"]
    results = {
        "benchmark": "apdu_roundtrip",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "pcsc_lite": _pcsc_lite_version(),
            "cpus": os.cpu_count(),
        },
        "apdu": SELECT_MF.hex(),
        "pcscd_start_ms": round(start_ms, 1),
        "pcscd_stop_ms": round(stop_ms, 1),
        "quickack": quick,
        "no_quickack_baseline": baseline,
        "baseline_ratio_median": round(ratio, 1),
        "target": "median < 1 ms with TCP_QUICKACK",
        "target_met": quick["transport"]["median_ms"] < 1.0,
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    q, b = quick["transport"], baseline["transport"]
    print(
        f"apdu_roundtrip: transport median {q['median_ms']:.3f} ms p95 {q['p95_ms']:.3f} ms"
        f" max {q['max_ms']:.3f} ms (n={q['n']}); raw median {quick['raw']['median_ms']:.3f} ms;"
        f" without TCP_QUICKACK median {b['median_ms']:.1f} ms (x{ratio:.0f});"
        f" pcscd start {start_ms:.1f} ms -> {args.output.name}"
    )
    return 0 if results["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
