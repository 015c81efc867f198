"""The apdu layer stays pure: importing it loads none of pyscard, click or rich, and none of the
card simulator (``cardsim``), which is a test double and the demo's card, never a dependency."""

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
        " if m.split('.')[0] in ('smartcard', 'click', 'rich', 'cardsim'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert len(modules) >= 8
    assert json.loads(out.stdout) == []


def test_the_card_reading_and_the_checks_do_not_import_the_simulator() -> None:
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import diagcps.cps, diagcps.checks\n"
        "for pkg in (diagcps.cps, diagcps.checks):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "import diagcps.diagnosis, diagcps.sources\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'cardsim')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []
