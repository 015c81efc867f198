"""Start-up stays cheap: the command line loads rich, cryptography and pyscard only when a command
needs them, never for ``import diagcps.cli``, ``--help`` or ``--version`` (bench/run.py measures
the time; this pins the cause)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("rich", "cryptography", "smartcard")

_REPORT = (
    "import json, sys\n"
    f"heavy = set({HEAVY!r})\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
)


def _heavy_modules_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\n" + _REPORT], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_command_line_loads_no_heavy_module() -> None:
    assert _heavy_modules_after("import diagcps.cli") == []


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_load_no_heavy_module(option: str) -> None:
    code = (
        "import contextlib, io\n"
        "from diagcps.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main.main([{option!r}], prog_name='diagcps', standalone_mode=False)\n"
    )
    assert _heavy_modules_after(code) == []


def test_python_dash_m_diagcps_help_loads_no_heavy_module() -> None:
    code = (
        "import contextlib, io, runpy, sys\n"
        "sys.argv = ['diagcps', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    runpy.run_module('diagcps', run_name='__main__')\n"
    )
    assert _heavy_modules_after(code) == []
