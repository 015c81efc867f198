"""Real NSS databases for tests, made with NSS's own tools (Debian's libnss3-tools)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def nss_tools() -> None:
    if shutil.which("modutil") and shutil.which("certutil"):
        return
    reason = "NSS tools (modutil, certutil: apt libnss3-tools) are not installed"
    if os.environ.get("CI"):
        pytest.fail(reason + "; scripts/setup.sh test installs them")
    pytest.skip(reason)


def nss_database(folder: Path, *modules: tuple[str, str]) -> Path:
    nss_tools()
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True,
                   capture_output=True)
    for name, library in modules:
        subprocess.run(["modutil", "-rawadd", f'library="{library}" name="{name}"',
                        "-dbdir", f"sql:{folder}", "-force"], check=True, capture_output=True)
    return folder
