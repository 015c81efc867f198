"""The terminal's middleware line: which Cryptolib the browsers will load, and what it sees."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from vendor import install_linux_rpm

from diagcps.cli import main
from diagcps.report.middleware_line import middleware_line

NOW = "2026-11-28T09:00:00"


def terminal(root: Path, lang: str) -> str:
    env = {"NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb", "DIAGCPS_ROOT": str(root)}
    result = CliRunner(env=env).invoke(
        main, ["check", "--virtual-card", "cps3-healthy", "--now", NOW, "--lang", lang])
    return " ".join(result.output.replace("│", " ").split())


def test_the_terminal_names_the_installed_cryptolib_version(tmp_path: Path) -> None:
    root = install_linux_rpm(tmp_path)
    shown = terminal(root, "fr")
    assert "Cryptolib CPS : 5.2.2 (/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so)" in shown
    # A virtual card is not read through PC/SC: the line says the Cryptolib was not asked.
    assert "Non vérifié" in shown.split("Cryptolib CPS : 5.2.2", 1)[1]
    assert "Cryptolib CPS: 5.2.2" in terminal(root, "en")


def test_the_terminal_says_when_no_cryptolib_is_installed(tmp_path: Path) -> None:
    assert "Cryptolib CPS : non installée" in terminal(tmp_path, "fr")


def test_the_line_carries_what_the_probe_saw_and_no_control_character() -> None:
    report = {"lang": "fr", "checks": [
        {"id": "workstation.cryptolib", "details": {"installed": True, "version": "5.2.2",
                                                    "library_path": "/opt/x\x1b[2J.so"}},
        {"id": "workstation.middleware", "summary": "La Cryptolib voit votre carte (CPS3 X).",
         "details": {"library_version": "3.1"}}]}
    line = middleware_line(report)
    assert line == ("5.2.2 (/opt/x\ufffd[2J.so), bibliothèque 3.1 — La Cryptolib voit votre "
                    "carte (CPS3 X).")
    assert middleware_line(report, "en").startswith("5.2.2 (/opt/x\ufffd[2J.so), library 3.1")
    assert middleware_line({"lang": "fr", "checks": []}) is None
