"""``-v`` logs what the tool does on stderr, and the installed package works as documented.

* ``-v``: each APDU (the answers' data masked: they carry the holder's identity), each check's
  start and end, a crash with its traceback; nothing on stderr without it; ``--json`` stays
  clean on stdout. ``-vv`` adds the data of answers that carry nothing personal.
* A wheel built with ``python -m build`` (no deprecation warning, ``twine check`` clean),
  installed in a fresh virtual environment, runs ``diagcps demo --json`` with its built-in card
  profiles (package data), away from the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardsim.virtual import VirtualCard
from diagcps.cli import main

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T09:00:00"
NATIONAL_ID = "899700075122"


def _personal_hex() -> list[str]:
    return [NATIONAL_ID.encode().hex().upper(), "99213845"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_v_logs_apdus_and_checks_on_stderr_without_personal_data(lang: str) -> None:
    result = CliRunner().invoke(main, ["-v", "check", "--virtual-card", "cps3-healthy", "--json",
                                       "--now", NOW, "--lang", lang])
    json.loads(result.stdout)  # stdout holds the report and nothing else
    log = result.stderr
    assert "> 00A4090C023F00" in log  # the first command of a CPS reading
    assert "< 9000 [12 bytes]" in log  # EF.SN's answer: its length, not the serial number
    assert "check card.pin: start" in log and "check card.pin: end, ok" in log
    for secret in _personal_hex():
        assert secret not in log.upper()


def test_without_v_stderr_stays_empty_and_vv_adds_non_personal_data() -> None:
    quiet = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                      "--now", NOW])
    assert quiet.stderr == ""
    very = CliRunner().invoke(main, ["-vv", "check", "--virtual-card", "cps3-healthy", "--json",
                                     "--now", NOW])
    plain = CliRunner().invoke(main, ["-v", "check", "--virtual-card", "cps3-healthy", "--json",
                                      "--now", NOW])
    assert len(very.stderr) > len(plain.stderr)
    for secret in _personal_hex():
        assert secret not in very.stderr.upper()


def test_v_logs_a_crash_with_its_traceback(mocker) -> None:
    from diagcps.checks.registry import REGISTRY

    spec = REGISTRY["card.validity"]
    mocker.patch.dict(REGISTRY, {"card.validity": type(spec)(
        spec.id, spec.title, lambda _ctx: 1 / 0, spec.needs)})
    result = CliRunner().invoke(main, ["-v", "check", "--virtual-card", "cps3-healthy", "--json",
                                       "--now", NOW])
    assert result.exit_code == 3
    assert "check card.validity crashed" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "ZeroDivisionError" in result.stderr


@pytest.mark.pcsc
def test_v_through_the_real_stack_shows_the_mute_cards_unanswered_command(pcsc_stack) -> None:
    pcsc_stack.serve(VirtualCard.from_file(ROOT / "cardsim/profiles/cps3-healthy.json"),
                     mute=True)
    done = subprocess.run([sys.executable, "-m", "diagcps", "-v", "check", "--json", "--now",
                           NOW, "--timeout", "0.5"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert "> 00A4090C023F00" in done.stderr
    assert "< no answer" in done.stderr and "PCSC_TIMEOUT" not in done.stdout[:0]
    assert "check card.detected: end, fail PCSC_TIMEOUT" in done.stderr


# --- the installed package ----------------------------------------------------------------------

def _needs_root_and_tools() -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("the demo's private pcscd needs root and unshare")


@pytest.mark.pcsc
def test_a_wheel_builds_cleanly_and_its_demo_runs_from_a_fresh_venv(tmp_path: Path) -> None:
    _needs_root_and_tools()
    pytest.importorskip("build")
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", "build", "dist"))
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600,
                           check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    output = built.stdout + built.stderr
    assert "Deprecat" not in output, [line for line in output.splitlines() if "eprecat" in line]
    wheels = list((tmp_path / "dist").glob("*.whl"))
    assert len(wheels) == 1
    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                            *map(str, (tmp_path / "dist").iterdir())],
                           capture_output=True, text=True, timeout=120, check=False)
    assert twine.returncode == 0, twine.stdout + twine.stderr

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheels[0])],
                               capture_output=True, text=True, timeout=900, check=False)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # Away from the source tree: only what the wheel holds can be found.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PCSCLITE_CSOCK_NAME", "PYTHONPATH", "DIAGCPS_PROFILES")}
    demo = subprocess.run([str(env_dir / "bin" / "diagcps"), "demo", "--json", "--now", NOW],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
                          check=False)
    assert demo.returncode in (0, 1), demo.stderr
    report = json.loads(demo.stdout)
    assert report["verdicts"]["card"]["status"] == "ok"
    assert report["readers"][0]["card"]["serial"] == "99213845"
