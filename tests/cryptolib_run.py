"""Run the official Cryptolib CPS (Linux PKCS#11 module) against the card in a reader.

The module comes out of the RPM in ``../shared/vendor/cryptolib-cps/`` into a temporary root
(:func:`extract_cryptolib`), never installed. It reads its configuration and keeps its file cache
under ``/etc/opt/santesocial/CPS`` (paths compiled in), so :func:`list_tokens` runs OpenSC's
``pkcs11-tool -L -T`` inside a private mount namespace (``unshare -m``) where a tmpfs covers
``/etc/opt`` and the extracted ``etc/opt/santesocial`` is bind-mounted there: the machine's own
``/etc`` is never read nor written, and the cache is the temporary root's. No login, no PIN:
``-L -T`` lists slots and tokens only.

The child talks to whichever pcscd ``PCSCLITE_CSOCK_NAME`` names (the tests' private one).
Used by the referee test (tests/pcsc/test_cryptolib_referee.py) and the benchmark (bench/run.py).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import vendor

#: The extracted configuration folder, and where the module expects it.
CONFIG_UNDER_ROOT = "etc/opt/santesocial"
CONFIG_PATH = "/etc/opt/santesocial"
#: The module's file cache (one file per card file, named ``<serial>_<path>``).
CACHE_UNDER_ROOT = "etc/opt/santesocial/CPS/cache"


@dataclass(frozen=True)
class CryptolibInstall:
    """The RPM's files under a temporary root."""

    root: Path

    @property
    def module(self) -> Path:
        return self.root / vendor.LINUX_MODULE

    @property
    def config(self) -> Path:
        return self.root / CONFIG_UNDER_ROOT

    @property
    def cache(self) -> Path:
        return self.root / CACHE_UNDER_ROOT

    def clear_cache(self) -> None:
        """Empty the module's file cache: the next run is a cold one."""
        self.cache.mkdir(parents=True, exist_ok=True)
        for item in self.cache.iterdir():
            if item.is_file() or item.is_symlink():
                item.unlink()
            else:
                shutil.rmtree(item)


def extract_cryptolib(root: Path) -> CryptolibInstall:
    """Extract the Linux RPM under ``root`` (skip without ``../shared``, fail in CI)."""
    vendor.extract_rpm(vendor.vendor_file(vendor.LINUX_RPM), root)
    install = CryptolibInstall(root)
    install.cache.mkdir(parents=True, exist_ok=True)
    return install


def runner_problem() -> str | None:
    """Why :func:`list_tokens` cannot run here, or None."""
    if shutil.which("pkcs11-tool") is None:
        return "pkcs11-tool is not installed (apt install opensc)"
    if os.geteuid() != 0:
        return "a private mount namespace for the Cryptolib's configuration needs root"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare and mount are needed for a private mount namespace"
    if not Path("/etc/opt").is_dir():
        return "/etc/opt does not exist: nothing to cover with the private configuration"
    return None


@dataclass
class Slot:
    """One slot of ``pkcs11-tool -L`` with its token (when one is present)."""

    description: str
    token_label: str | None = None
    token_model: str | None = None
    serial: str | None = None
    flags: set[str] = field(default_factory=set)

    @property
    def token_present(self) -> bool:
        return self.token_label is not None or self.serial is not None

    @property
    def pin_locked(self) -> bool:
        return "user PIN locked" in self.flags


@dataclass
class Listing:
    returncode: int
    stdout: str
    stderr: str
    slots: list[Slot]

    def token(self) -> Slot | None:
        """The first slot holding a token."""
        return next((s for s in self.slots if s.token_present), None)


def list_tokens_argv(install: CryptolibInstall) -> list[str]:
    """The command line of :func:`list_tokens` (for a caller that runs and times it itself)."""
    config = shlex.quote(str(install.config))
    module = shlex.quote(str(install.module))
    script = (f"mount -t tmpfs -o mode=0755 diagcps-cryptolib /etc/opt"
              f" && mkdir -p {CONFIG_PATH}"
              f" && mount --bind {config} {CONFIG_PATH}"
              f" && exec pkcs11-tool --module {module} -L -T")
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script]


def list_tokens(install: CryptolibInstall, *, timeout: float = 60.0) -> Listing:
    """``pkcs11-tool --module <module> -L -T`` in a private mount namespace (see module doc)."""
    done = subprocess.run(list_tokens_argv(install), capture_output=True, text=True,
                          timeout=timeout, check=False, env=dict(os.environ),
                          stdin=subprocess.DEVNULL)
    return Listing(done.returncode, done.stdout, done.stderr, parse_listing(done.stdout))


_SLOT = re.compile(r"^Slot \d+ \(0x[0-9a-f]+\): (.*)$")
_FIELD = re.compile(r"^\s+([a-z/ ]+?)\s*: (.*)$")


def parse_listing(text: str) -> list[Slot]:
    """The slots of ``pkcs11-tool -L`` output (OpenSC 0.23 layout)."""
    slots: list[Slot] = []
    for line in text.splitlines():
        match = _SLOT.match(line)
        if match:
            slots.append(Slot(match.group(1).strip()))
            continue
        match = _FIELD.match(line)
        if not match or not slots:
            continue
        name, value = match.group(1), match.group(2).strip()
        slot = slots[-1]
        if name == "token label":
            slot.token_label = value
        elif name == "token model":
            slot.token_model = value
        elif name == "serial num":
            slot.serial = value
        elif name == "token flags":
            slot.flags = {flag.strip() for flag in value.split(",") if flag.strip()}
    return slots
