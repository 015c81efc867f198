"""Record a session, replay it: support reproduces the user's diagnosis from the transcript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from apdu.transcript import Transcript
from diagcps.cli import main
from diagcps.report.model import load_schema

NOW = "2026-11-28T09:00:00"
ROOT = Path(__file__).resolve().parents[2]


def _json(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, [*args, "--json", "--now", NOW])
    return result.exit_code, json.loads(result.stdout)


def _card_view(report: dict[str, Any]) -> tuple[Any, ...]:
    checks = {c["id"]: (c["status"], c["code"]) for c in report["checks"]
              if c["id"].startswith("card.")}
    return report["verdicts"]["card"], checks


@pytest.mark.parametrize("profile", ["cps3-healthy", "cps3-pin-blocked", "cps4-healthy",
                                     "cps3-expired", "vitale"])
def test_replaying_a_recorded_check_gives_the_same_card_diagnosis(tmp_path: Path,
                                                                   profile: str) -> None:
    transcript = tmp_path / "session.json"
    code, live = _json(["check", "--virtual-card", profile, "--record", str(transcript)])
    replay_code, replayed = _json(["replay", str(transcript)])
    jsonschema.validate(replayed, load_schema())
    assert _card_view(replayed) == _card_view(live)
    assert replayed["readers"][0]["card"] == live["readers"][0]["card"]
    assert replayed["verdicts"]["workstation"]["status"] == "skipped"
    assert replay_code == code


def test_a_redacted_transcript_hides_personal_values_and_still_replays(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    _, live = _json(["check", "--virtual-card", "cps3-healthy", "--record", str(transcript),
                     "--redact"])
    raw = transcript.read_text()
    card = _json(["check", "--virtual-card", "cps3-healthy"])[1]["readers"][0]["card"]
    holder = card["holder"]
    for secret in (holder["national_id"], holder["practice_name"], holder["first_name"]):
        hex_secret = secret.encode("latin-1").hex().upper()
        assert hex_secret not in raw
    assert Transcript.load(transcript).provenance.redactions
    _, replayed = _json(["replay", str(transcript)])
    replayed_card = replayed["readers"][0]["card"]
    assert _card_view(replayed) == _card_view(live)
    assert replayed_card["serial"] != card["serial"]
    assert len(replayed_card["serial"]) == len(card["serial"])
    # The pseudonymous identifier fails its check digit on purpose; replay does not judge it.
    assert replayed_card["holder"]["id_check_digit_ok"] is None
    assert replayed_card["holder"]["id_check_digit"] == "masked"
    assert replayed_card["holder"]["national_id"] != holder["national_id"]
    assert replayed["redacted"] is True and replayed["help"]["ecps"] == []
    # The report and the transcript of one run: the same pseudonyms, the same run named.
    assert replayed_card == live["readers"][0]["card"]
    assert replayed["source"]["run_id"] == live["run_id"]


def test_replay_of_the_public_trace_reports_what_it_holds_and_what_it_lacks() -> None:
    code, report = _json(["replay", str(ROOT / "fixtures/transcripts/public-trace-cpx.json")])
    jsonschema.validate(report, load_schema())
    card = report["readers"][0]["card"]
    assert card["serial"] == "99213845"
    assert card["pin"]["state"] == "ok"
    assert card["update_incident"] is False
    read = next(c for c in report["checks"] if c["id"] == "card.read")
    assert read["code"] == "REPLAY_MISSING"
    assert code in (0, 1)
