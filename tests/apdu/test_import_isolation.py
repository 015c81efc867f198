"""The apdu layer stays pure: importing it loads none of pyscard, click or rich."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import apdu


def test_importing_every_apdu_module_loads_no_pyscard_click_or_rich() -> None:
    modules = [f"apdu.{m.name}" for m in pkgutil.iter_modules(apdu.__path__)]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('smartcard', 'click', 'rich'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert len(modules) >= 8
    assert json.loads(out.stdout) == []
