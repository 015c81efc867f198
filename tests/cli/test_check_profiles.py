"""``diagcps check`` on every card profile: verdict, finding codes, exit code, valid report.

These run the whole command line (click's runner) on virtual cards plugged straight into the tool;
the same scenarios through the real pcscd are in tests/pcsc.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from golden_reports import normalised

from diagcps.cli import main
from diagcps.report.model import load_schema

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "cardsim" / "profiles"
GOLDEN = ROOT / "fixtures" / "reports"
NOW = "2026-11-28T09:00:00"

#: profile -> (exit code, card verdict status, card verdict code, codes the card checks must give)
EXPECTED: dict[str, tuple[int, str, str | None, set[str]]] = {
    "cps3-healthy": (0, "ok", None, set()),
    "cps3-pin-2-left": (0, "warning", "PIN_LOW", {"PIN_LOW"}),
    "cps3-pin-1-left": (0, "warning", "PIN_LAST_TRY", {"PIN_LAST_TRY"}),
    "cps3-pin-blocked": (1, "fail", "PIN_BLOCKED", {"PIN_BLOCKED"}),
    "cps3-definitively-blocked": (1, "fail", "CARD_DEFINITIVELY_BLOCKED",
                                  {"CARD_DEFINITIVELY_BLOCKED"}),
    "cps3-pin-verified": (0, "ok", None, set()),
    "cps4-healthy": (0, "ok", None, set()),
    "cps4-blocked": (1, "fail", "PIN_BLOCKED", {"PIN_BLOCKED"}),
    "cps4-lost-selection": (0, "ok", None, set()),
    "cps4-pin-verified": (0, "ok", None, {"PIN_VERIFIED"}),
    "cps4-t0-healthy": (0, "ok", None, set()),
    "cps4-t0-blocked": (1, "fail", "PIN_BLOCKED", {"PIN_BLOCKED"}),
    "cps4-cps2ter-busy": (0, "ok", None, set()),
    "cps4-chipdoc-unselectable": (1, "fail", "CPS4_UNREADABLE", {"CPS4_UNREADABLE"}),
    "cps3-older-batch": (1, "fail", "CARD_ATR_UNKNOWN_TO_CRYPTOLIB",
                         {"CARD_ATR_UNKNOWN_TO_CRYPTOLIB"}),
    "cps3-expired": (1, "fail", "CARD_EXPIRED", {"CARD_EXPIRED"}),
    "cps3-update-incident": (1, "fail", "CARD_UPDATE_INCIDENT", {"CARD_UPDATE_INCIDENT"}),
    "cps3-contactless": (0, "warning", "CONTACTLESS", {"CONTACTLESS"}),
    "cpf": (0, "ok", None, set()),
    "cps3-test-card": (0, "warning", "TEST_CARD", {"TEST_CARD"}),
    "speech-therapist": (0, "ok", None, set()),
    "vitale": (1, "fail", "WRONG_CARD", {"WRONG_CARD"}),
    "foreign-cps-like": (1, "fail", "CARD_UNKNOWN", {"CARD_UNKNOWN"}),
    "cps3-cps2ter-selected": (0, "ok", None, set()),
    "cps3-malformed-identity": (0, "warning", None, {"CARD_READ_ERROR"}),
}


def run_check(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["check", "--json", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def test_every_profile_has_an_expectation() -> None:
    assert {p.stem for p in PROFILES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_check_on_each_profile_gives_the_expected_verdict(profile: str) -> None:
    exit_code, report = run_check("--virtual-card", profile)
    jsonschema.validate(report, load_schema())
    want_exit, want_status, want_code, want_codes = EXPECTED[profile]
    verdict = report["verdicts"]["card"]
    assert verdict["status"] == want_status
    if want_code is not None:
        assert verdict["code"] == want_code
    card_codes = {c["code"] for c in report["checks"] if c["id"].startswith("card.") and c["code"]}
    assert want_codes <= card_codes
    assert exit_code == want_exit
    for check in report["checks"]:
        if check["code"] and check["status"] in ("fail", "warning"):
            assert check["remedy"], f"{check['id']} gives {check['code']} without a remedy"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_blocked_card_report_names_the_unblock_flow_in_each_language(lang: str) -> None:
    _, report = run_check("--virtual-card", "cps3-pin-blocked", "--lang", lang)
    pin = next(c for c in report["checks"] if c["id"] == "card.pin")
    assert pin["code"] == "PIN_BLOCKED"
    assert "CPS Gestion" in pin["remedy"]
    assert "0 825 852 000" in pin["remedy"]
    assert report["lang"] == lang


def test_redacted_report_hides_names_and_identifiers_behind_pseudonyms_of_the_same_shape() -> None:
    _, plain = run_check("--virtual-card", "cps3-healthy")
    _, redacted = run_check("--virtual-card", "cps3-healthy", "--redact")
    jsonschema.validate(redacted, load_schema())
    card = plain["readers"][0]["card"]
    text = json.dumps(redacted, ensure_ascii=False)
    for secret in (card["holder"]["national_id"], card["serial"], card["card_number"],
                   card["holder"]["practice_name"], card["holder"]["first_name"]):
        assert secret not in text
    masked = redacted["readers"][0]["card"]
    assert len(masked["serial"]) == len(card["serial"]) and masked["serial"].isdigit()
    assert masked["holder"]["national_id"][0] == card["holder"]["national_id"][0]  # its type
    assert masked["holder"]["id_check_digit"] == "masked"
    assert redacted["help"]["ecps"] == []
    assert redacted["redacted"] is True


def test_output_file_holds_the_same_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    _, report = run_check("--virtual-card", "cps3-healthy", "--output", str(out))
    assert json.loads(out.read_text()) == report


def test_selected_checks_run_with_their_prerequisites_and_skip_is_honoured() -> None:
    _, report = run_check("--virtual-card", "cps3-healthy", "card.pin", "--skip",
                          "card.identity")
    ids = [c["id"] for c in report["checks"]]
    assert "card.pin" in ids and "card.detected" in ids and "pcsc.service" in ids
    assert "card.identity" not in ids and "workstation.cryptolib" not in ids


def test_a_check_whose_prerequisite_failed_is_skipped_with_the_reason() -> None:
    _, report = run_check("--virtual-card", "vitale")
    pin = next(c for c in report["checks"] if c["id"] == "card.pin")
    assert pin["status"] == "skipped"
    assert pin["details"]["skipped_because"] == ["card.detected"]


def test_terminal_view_is_readable_at_80_columns_without_colour() -> None:
    env = {"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}
    result = CliRunner(env=env).invoke(
        main, ["check", "--virtual-card", "cps3-pin-blocked", "--now", NOW, "--lang", "fr"])
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert max(len(line) for line in lines) <= 80
    assert "\x1b[" not in result.output
    assert "ÉCHEC" in result.output and "Votre carte CPS est bloquée" in result.output
    assert lines.index(next(x for x in lines if "Carte CPS" in x)) < 4  # verdicts first


@pytest.mark.parametrize("profile", ["cps3-healthy", "cps3-pin-blocked", "cps4-healthy",
                                     "vitale", "cps3-expired"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_matches_its_golden_file(profile: str, lang: str) -> None:
    _, report = run_check("--virtual-card", profile, "--lang", lang)
    golden = GOLDEN / f"{profile}.{lang}.json"
    kept = normalised(report)
    if os.environ.get("DIAGCPS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
    assert kept == json.loads(golden.read_text())
