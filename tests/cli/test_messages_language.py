"""Every message in the chosen language, on one line: click's own usage errors, the tool's
errors, ``--reader`` choices; through click's runner and as a user runs the command."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from diagcps.cli import main

#: arguments -> (French words, English words) the one line must hold
USAGE_ERRORS = {
    ("check", "--bogus"): ("option inconnue : --bogus", "no such option: --bogus"),
    ("check", "--lang-x"): ("option inconnue", "no such option"),
    ("chek",): ("commande inconnue : chek (commandes : check, demo, readers, replay, show, "
                "summary)",
                "no such command: chek (commands: check, demo, readers, replay, show, summary)"),
    ("check", "--timeout", "0"): ("valeur invalide pour --timeout : 0.0 (un nombre de 0.1 à 120)",
                                  "invalid value for --timeout: 0.0 (a number from 0.1 to 120)"),
    ("check", "--timeout"): ("l’option --timeout attend une valeur",
                             "option --timeout requires a value"),
    ("replay",): ("argument manquant : TRANSCRIPT", "missing argument: TRANSCRIPT"),
    ("check", "card.nothing"): ("vérification inconnue : card.nothing",
                                "unknown check id(s): card.nothing"),
    ("check", "--now", "hier"): ("--now : date attendue", "--now: a date was expected"),
    ("demo", "--profile", "no-such-card"): ("pas de profil de carte « no-such-card »",
                                            "no card profile named “no-such-card”"),
    ("check", "--virtual-card", "cps3-healthy", "extra", "--skip", "x.y"): (
        "vérification inconnue", "unknown check id"),
}


def _args(args: tuple[str, ...], lang: str) -> list[str]:
    # --lang belongs to the subcommands; "chek" has none, so it comes from the locale there.
    return [args[0], "--lang", lang, *args[1:]] if args[0] != "chek" else list(args)


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("args", list(USAGE_ERRORS), ids=" ".join)
def test_usage_errors_are_one_line_in_the_chosen_language(args: tuple[str, ...],
                                                          lang: str) -> None:
    env = {"LANG": "en_GB.UTF-8" if lang == "en" else "fr_FR.UTF-8", "LC_ALL": "",
           "LC_MESSAGES": "", "LANGUAGE": ""}
    result = CliRunner(env=env).invoke(main, _args(args, lang))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    line = result.stderr
    assert line.count("\n") == 1, line
    assert line.startswith("diagcps : " if lang == "fr" else "diagcps: ")
    words = USAGE_ERRORS[args][0 if lang == "fr" else 1]
    assert words in line, line
    if lang == "fr":
        for english in ("Error", "Usage", "Try ", "No such", "Invalid value", "Missing"):
            assert english not in line


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_usage_errors_through_a_real_process_too(lang: str) -> None:
    done = subprocess.run([sys.executable, "-m", "diagcps", "check", "--lang", lang, "--bogus"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert done.stderr == ("diagcps : option inconnue : --bogus — aide : diagcps check --help\n"
                           if lang == "fr" else
                           "diagcps: no such option: --bogus — help: diagcps check --help\n")


@pytest.mark.parametrize(("lang", "words"), [
    ("fr", "--reader « Gemalto » ne désigne aucun lecteur ; lecteurs présents : Virtual card 00"),
    ("en", "--reader “Gemalto” matches no reader; readers present: Virtual card 00")])
def test_a_reader_choice_matching_nothing_is_a_usage_error_before_any_check(lang: str,
                                                                            words: str) -> None:
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--reader",
                                       "Gemalto", "--lang", lang])
    assert result.exit_code == 2
    assert result.stdout == ""  # no "NON FAIT" rows, no verdict
    assert result.stderr == ("diagcps : " if lang == "fr" else "diagcps: ") + words + "\n"


def test_help_and_version_still_work() -> None:
    assert CliRunner().invoke(main, ["--version"]).exit_code == 0
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0 and "--reader" in result.output and "--now" in result.output
