"""Does the middleware the browsers use see the card? Ask it, in a child process with a time
limit.

The PKCS#11 module (the Cryptolib's, as the browsers load it) runs in
:mod:`diagcps.workstation.pkcs11_child`, never in diagcps's own process: a module can hang (the
Cryptolib waits for ever on a mute card), crash or abort. On its time-out the child is killed,
and pcscd then disconnects its card handle with ``SCARD_RESET_CARD`` (measured): a kill resets
the card, so the caller never starts the probe on a card found mute or held exclusively, and
says so when a kill happened.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagcps.safe_text import bounded
from diagcps.workstation.pkcs11_child import PREFIX

#: Bound on the whole probe. Measured on the 5.2.2 Cryptolib through pcscd + vpcd: 42 APDUs on a
#: healthy CPS3 with a cold cache (bench/RESULTS.md); ten seconds leaves room for slow readers.
DEFAULT_TIMEOUT_S = 10.0

OUTCOME_OK = "ok"
OUTCOME_LOAD_FAILED = "load_failed"
OUTCOME_INIT_FAILED = "init_failed"
OUTCOME_TIMEOUT = "timeout"
OUTCOME_CRASHED = "crashed"

#: Longest text kept from the module (labels are 32 bytes in PKCS#11, descriptions 64).
_MAX_TEXT = 200


def clean(value: Any) -> str:
    """Text from the module, without control characters, bounded: it reaches the terminal."""
    return bounded("" if value is None else value, _MAX_TEXT)


@dataclass
class TokenView:
    label: str
    serial: str
    model: str
    manufacturer: str
    pin_locked: bool
    pin_count_low: bool
    pin_final_try: bool


@dataclass
class SlotView:
    description: str
    token_present: bool
    token: TokenView | None = None
    error: str | None = None


@dataclass
class ProbeResult:
    module: str
    outcome: str
    #: The last step the child announced: load, initialize, slots, token, done.
    stage: str | None = None
    error: str | None = None
    library_description: str | None = None
    library_version: str | None = None
    manufacturer: str | None = None
    cryptoki_version: str | None = None
    slots: list[SlotView] = field(default_factory=list)
    elapsed_s: float = 0.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: The child was killed on its time-out (pcscd then resets the card it held).
    killed: bool = False
    #: How the child ended: its exit status, or the signal's name.
    exit: str | None = None

    def tokens(self) -> list[tuple[SlotView, TokenView]]:
        return [(s, s.token) for s in self.slots if s.token is not None]


def token_serial(raw: Any) -> str:
    """OpenSC's token serial as the card's digits: OpenSC writes them hex-encoded
    ("3939323133383435" for 99213845, observed); decoding keeps one form of the serial in the
    report, so that --redact masks it wherever it appears. Only for OpenSC's module: the
    Cryptolib gives the digits themselves."""
    serial = clean(raw)
    if len(serial) % 2 == 0 and len(serial) >= 4:
        try:
            decoded = bytes.fromhex(serial).decode("ascii")
        except ValueError:
            return serial
        if decoded.isdigit():
            return decoded
    return serial


def _token(data: Any) -> TokenView | None:
    if not isinstance(data, dict):
        return None
    return TokenView(
        label=clean(data.get("label")), serial=clean(data.get("serial")),
        model=clean(data.get("model")), manufacturer=clean(data.get("manufacturer")),
        pin_locked=data.get("pin_locked") is True,
        pin_count_low=data.get("pin_count_low") is True,
        pin_final_try=data.get("pin_final_try") is True,
    )


def _child_lines(stdout: str) -> list[dict[str, Any]]:
    import json

    lines = []
    for line in stdout.splitlines():
        if not line.startswith(PREFIX):
            continue  # the module's own output
        try:
            parsed = json.loads(line[len(PREFIX):])
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's environment (PC/SC socket included), with diagcps importable by the child."""
    child = dict(os.environ if env is None else env)
    package_parent = str(Path(__file__).resolve().parents[2])
    child["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_parent, child.get("PYTHONPATH")) if p)
    return child


def probe_module(module: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 env: Mapping[str, str] | None = None,
                 launcher: Sequence[str] = ()) -> ProbeResult:
    """Load ``module`` in a child process and read what it sees, within ``timeout_s``.

    ``launcher`` is put before the child's command line: the tests and the benchmark run the
    child in a private mount namespace (the Cryptolib reads and writes the fixed folder
    ``/etc/opt/santesocial/CPS``, which must then be the test root's, not the machine's).
    """
    result = ProbeResult(module=str(module), outcome=OUTCOME_CRASHED, timeout_s=timeout_s)
    started = time.monotonic()
    child = subprocess.Popen(
        [*launcher, sys.executable, "-m", "diagcps.workstation.pkcs11_child", str(module)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace", env=_child_env(env),
        # Its own process group: on a time-out, the child and anything it started are ended
        # together, and nothing else.
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        result.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
    result.elapsed_s = round(time.monotonic() - started, 3)
    code = child.returncode
    result.exit = (signal.Signals(-code).name if code is not None and code < 0
                   and -code in signal.Signals._value2member_map_ else str(code))
    lines = _child_lines(stdout or "")
    stages = [line.get("stage") for line in lines if line.get("kind") == "stage"]
    result.stage = stages[-1] if stages else None
    final = next((line.get("result") for line in lines if line.get("kind") == "result"), None)
    if result.killed:
        result.outcome = OUTCOME_TIMEOUT
        return result
    if not isinstance(final, dict):
        # Died without a word: a crash or an abort inside the module (or the binding missing).
        result.error = clean((stderr or "").strip().splitlines()[-1] if (stderr or "").strip()
                             else f"exit {result.exit}")
        return result
    _fill(result, final)
    return result


def _fill(result: ProbeResult, final: dict[str, Any]) -> None:
    result.stage = clean(final.get("stage")) or result.stage
    result.error = clean(final["error"]) if final.get("error") else None
    if not final.get("loaded"):
        result.outcome = OUTCOME_LOAD_FAILED
        return
    for name in ("library_description", "library_version", "manufacturer", "cryptoki_version"):
        value = final.get(name)
        setattr(result, name, clean(value) if value is not None else None)
    for slot in final.get("slots") or []:
        if isinstance(slot, dict):
            result.slots.append(SlotView(clean(slot.get("description")),
                                         slot.get("token_present") is True,
                                         _token(slot.get("token")),
                                         clean(slot["error"]) if slot.get("error") else None))
    result.outcome = OUTCOME_INIT_FAILED if result.stage == "initialize" else OUTCOME_OK


# --- architecture ------------------------------------------------------------------------------

#: ELF e_machine values (System V ABI) of the architectures the Cryptolib ships for.
_ELF_MACHINES = {3: "i386", 62: "x86_64", 40: "arm", 183: "aarch64"}
_HOST_NAMES = {"amd64": "x86_64", "x86_64": "x86_64", "i386": "i386", "i686": "i386",
               "arm64": "aarch64", "aarch64": "aarch64"}


def elf_architecture(path: Path) -> str | None:
    """"x86_64", "i386", "aarch64"… of an ELF file; None when it is not ELF or unreadable."""
    try:
        with path.open("rb") as handle:
            head = handle.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    order = "little" if head[5] == 1 else "big"
    machine = int.from_bytes(head[18:20], order)
    name = _ELF_MACHINES.get(machine, f"machine {machine}")
    if name == "x86_64" and head[4] == 1:
        return "x86_64 (32-bit)"
    return name


def host_architecture() -> str | None:
    arch = _HOST_NAMES.get(platform.machine().lower())
    if arch == "x86_64" and sys.maxsize <= 2**32:
        return "i386"  # a 32-bit Python on a 64-bit machine loads 32-bit modules
    return arch


def main(argv: list[str]) -> int:
    """``python -m diagcps.workstation.pkcs11_probe MODULE [TIMEOUT_S]``: the probe's result as
    JSON (the benchmark and the tests run it inside a private mount namespace)."""
    import json
    from dataclasses import asdict

    if len(argv) not in (2, 3):
        sys.stderr.write("usage: pkcs11_probe MODULE [TIMEOUT_S]\n")
        return 2
    timeout_s = float(argv[2]) if len(argv) == 3 else DEFAULT_TIMEOUT_S
    print(json.dumps(asdict(probe_module(Path(argv[1]), timeout_s=timeout_s))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
