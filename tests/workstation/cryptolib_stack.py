"""The real Cryptolib (extracted from the official RPM into a test root) run against virtual
cards through the private pcscd, without ever touching the machine.

The Cryptolib reads its configuration and writes its card cache under the fixed folder
``/etc/opt/santesocial/CPS``: whatever runs it here (the probe's child, a whole ``diagcps
check``) runs in a private mount namespace where the test root's ``etc/opt`` is bound over
``/etc/opt``. The machine's ``/etc`` is never written, and each root has its own cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: Binds the root's etc/opt over /etc/opt, in this namespace only, then runs the command.
_BIND_ETC_OPT = 'mount --bind "$1/etc/opt" /etc/opt && shift && exec "$@"'


def namespace_problem() -> str | None:
    if os.geteuid() != 0:
        return "a private mount namespace needs root"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if not Path("/etc/opt").is_dir():
        return "/etc/opt does not exist to be bound over"
    return None


def launcher(root: Path) -> list[str]:
    """The command-line prefix that runs a command with ``root``'s /etc/opt."""
    problem = namespace_problem()
    if problem is not None:
        if os.environ.get("DIAGCPS_REQUIRE_PCSC") == "1":
            pytest.fail(f"the Cryptolib cannot run isolated here: {problem}", pytrace=False)
        pytest.skip(f"the Cryptolib cannot run isolated here: {problem}")
    (root / "etc/opt").mkdir(parents=True, exist_ok=True)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _BIND_ETC_OPT, "sh",
            str(root)]


def clear_cache(root: Path) -> None:
    """An empty Cryptolib cache, as after installation (its pre-install script empties it)."""
    cache = root / "etc/opt/santesocial/CPS/cache"
    if cache.is_dir():
        for entry in cache.iterdir():
            entry.unlink()


def run_isolated(root: Path, argv: list[str], *, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*launcher(root), *argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
