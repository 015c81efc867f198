"""The command line's own behaviour: version, help, check selection, usage errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagcps._version import __version__
from diagcps.cli import default_lang, exit_code, main


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_python_dash_m_runs_the_same_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "diagcps", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"diagcps, version {__version__}"


@pytest.mark.parametrize(("locale", "usage", "help_option"), [
    ("en_GB.UTF-8", "Usage:", "Show this message and exit."),
    ("fr_FR.UTF-8", "Utilisation :", "Afficher cette aide et quitter.")])
@pytest.mark.parametrize("command", [[], ["check"], ["readers"], ["replay"], ["demo"]])
def test_every_command_has_help_in_the_users_language(command: list[str], locale: str,
                                                      usage: str, help_option: str) -> None:
    env = {"LANG": locale, "LC_ALL": "", "LC_MESSAGES": "", "LANGUAGE": ""}
    result = CliRunner(env=env).invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith(usage) and help_option in result.output
    if locale.startswith("fr"):
        for english in ("Show the", "Diagnose the", "Do not run", "Print only"):
            assert english not in result.output


def test_list_checks_names_stable_dotted_ids_in_reading_order() -> None:
    result = CliRunner().invoke(main, ["check", "--list-checks", "--json", "--lang", "en"])
    assert result.exit_code == 0
    ids = [c["id"] for c in json.loads(result.output)]
    for expected in ("pcsc.service", "reader.present", "card.detected", "card.pin",
                     "card.identity", "card.validity", "card.certificates",
                     "workstation.cryptolib"):
        assert expected in ids
    assert ids.index("pcsc.service") < ids.index("card.pin") < ids.index("workstation.cryptolib")


def test_unknown_check_id_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["check", "card.nonexistent", "--json"])
    assert result.exit_code == 2
    assert "card.nonexistent" in result.output


@pytest.mark.parametrize("content", ["{not json", '{"format": "other"}', ""])
def test_replay_of_a_malformed_transcript_exits_2_with_a_clear_message(
        tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("diagcps : l’enregistrement ") and "inutilisable" in \
        result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_replay_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "absent.json")])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("env", "lang"),
    [({}, "fr"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LANG": "fr_FR.UTF-8"}, "fr"),
     ({"LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"), ({"LANG": "de_DE.UTF-8"}, "fr"),
     ({"LANG": "C"}, "fr")],
)
def test_language_defaults_to_french_unless_the_locale_is_english(env: dict, lang: str) -> None:
    assert default_lang(env) == lang


@pytest.mark.parametrize(
    ("statuses", "code"),
    [(["ok", "skipped"], 0), (["ok", "warning"], 0), (["warning", "fail"], 1),
     (["fail", "error"], 3), (["error"], 3)],
)
def test_exit_codes_follow_the_contract(statuses: list[str], code: int) -> None:
    assert exit_code({"checks": [{"status": s} for s in statuses]}) == code


def test_a_crashing_check_becomes_an_error_the_run_goes_on_and_exit_code_is_3(
        mocker, tmp_path: Path) -> None:
    from diagcps.checks.registry import REGISTRY
    from diagcps.checks.selection import load_all

    load_all()
    spec = REGISTRY["card.identity"]
    mocker.patch.dict(REGISTRY, {"card.identity": spec.__class__(
        spec.id, spec.title, mocker.Mock(side_effect=ZeroDivisionError("boom")), spec.needs)})
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       "--output", str(out)])
    report = json.loads(result.stdout)
    identity = next(c for c in report["checks"] if c["id"] == "card.identity")
    assert identity["status"] == "error"
    assert "ZeroDivisionError: boom" in identity["details"]["exception"]
    assert any("ZeroDivisionError" in line for line in identity["details"]["traceback"])
    assert next(c for c in report["checks"] if c["id"] == "card.validity")["status"] == "ok"
    assert report["status"] == "error"
    assert result.exit_code == 3
    assert json.loads(out.read_text()) == report
    assert "Traceback" not in result.stderr
