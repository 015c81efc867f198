"""Run the official Cryptolib CPS (Linux PKCS#11 module) without ever installing it: the one
mechanism every test and benchmark uses, whatever it runs against the module (OpenSC's
``pkcs11-tool``, the PKCS#11 probe's child, a whole ``diagcps check``, CPS-Gestion).

The RPM in ``../shared/vendor/cryptolib-cps/`` is installed under a temporary root
(:func:`extract_cryptolib`, via ``tests/vendor.py``). The module reads its configuration and keeps
its file cache under ``/etc/opt/santesocial/CPS`` (paths compiled in), so anything that loads it
runs behind :func:`launcher`: a private mount namespace (``unshare --mount``) where the root's
``etc/opt`` is bound over ``/etc/opt`` (and, on request, its ``var/opt`` over ``/var/opt``, where
the install markers live). The machine's own ``/etc`` is never read nor written, and each root has
its own cache (:func:`clear_cache` = a cold run, as after installation).

:func:`list_tokens` runs ``pkcs11-tool -L -T`` that way: slots and tokens only, no login, no PIN.
Children talk to whichever pcscd ``PCSCLITE_CSOCK_NAME`` names (the tests' private one).
Used by tests/pcsc/test_cryptolib_referee.py, tests/workstation (probe, real packages),
bench/run.py and bench/middleware_probe.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import vendor

#: The extracted configuration folder, and where the module expects it.
CONFIG_UNDER_ROOT = "etc/opt/santesocial"
#: The module's file cache (one file per card file, named ``<serial>_<path>``).
CACHE_UNDER_ROOT = "etc/opt/santesocial/CPS/cache"
#: The machine folders a run covers with the root's by default: the module's configuration and
#: cache. ``var/opt`` (install markers) is added by callers that need the machine to look
#: installed to a program reading the real paths.
ETC_OPT = ("etc/opt",)
ETC_AND_VAR_OPT = ("etc/opt", "var/opt")
_FOLDER = re.compile(r"^[a-z]+(/[a-z]+)*$")


class NamespaceUnavailable(RuntimeError):
    """The private mount namespace cannot be made here (not root, no unshare...)."""


def namespace_problem(binds: Sequence[str] = ETC_OPT) -> str | None:
    """Why :func:`launcher` cannot isolate a run here, or None."""
    if os.geteuid() != 0:
        return "a private mount namespace needs root"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare and mount (util-linux) are needed for a private mount namespace"
    for folder in binds:
        if not Path("/", folder).is_dir():
            return f"/{folder} does not exist to be bound over"
    return None


def launcher(root: Path, binds: Sequence[str] = ETC_OPT) -> list[str]:
    """The command-line prefix that runs a command with ``root``'s folders over the machine's
    (``binds``, relative paths), in a mount namespace of its own."""
    problem = namespace_problem(binds)
    if problem is not None:
        raise NamespaceUnavailable(problem)
    mounts = []
    for folder in binds:
        if not _FOLDER.match(folder):
            raise ValueError(f"not a plain folder path: {folder!r}")
        (root / folder).mkdir(parents=True, exist_ok=True)
        mounts.append(f'mount --bind "$1/{folder}" /{folder}')
    script = " && ".join([*mounts, 'shift', 'exec "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            str(root)]


def launcher_or_skip(root: Path, binds: Sequence[str] = ETC_OPT) -> list[str]:
    """:func:`launcher` for a test: skipped where the namespace cannot be made, failed instead
    when the real stack is required (``DIAGCPS_REQUIRE_PCSC=1``)."""
    import pytest

    try:
        return launcher(root, binds)
    except NamespaceUnavailable as problem:
        message = f"the Cryptolib cannot run isolated here: {problem}"
        if os.environ.get("DIAGCPS_REQUIRE_PCSC") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
        raise  # not reached: skip raises


def run_isolated(root: Path, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 timeout: float = 60, binds: Sequence[str] = ETC_OPT,
                 ) -> subprocess.CompletedProcess[str]:
    """``argv`` behind :func:`launcher_or_skip`, its output captured as text."""
    return subprocess.run([*launcher_or_skip(root, binds), *argv], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          check=False, stdin=subprocess.DEVNULL)


def clear_cache(root: Path) -> None:
    """Empty the module's file cache under ``root``: the next run is a cold one (the package's
    pre-install script empties it too)."""
    cache = root / CACHE_UNDER_ROOT
    cache.mkdir(parents=True, exist_ok=True)
    for item in cache.iterdir():
        if item.is_file() or item.is_symlink():
            item.unlink()
        else:
            shutil.rmtree(item)


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
        clear_cache(self.root)


def extract_cryptolib(root: Path) -> CryptolibInstall:
    """The Linux RPM installed under ``root`` as its scripts would (skip without ``../shared``,
    fail in CI)."""
    install = CryptolibInstall(vendor.install_linux_rpm(root))
    install.cache.mkdir(parents=True, exist_ok=True)
    return install


def runner_problem() -> str | None:
    """Why :func:`list_tokens` cannot run here, or None."""
    if shutil.which("pkcs11-tool") is None:
        return "pkcs11-tool is not installed (apt install opensc)"
    return namespace_problem()


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
    return [*launcher(install.root), "pkcs11-tool", "--module", str(install.module), "-L", "-T"]


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
