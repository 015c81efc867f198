"""``diagcps`` as a user runs it: a real subprocess, through pyscard, libpcsclite, the private
pcscd and vpcd, against virtual cards served from this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cardsim.virtual import VirtualCard
from diagcps.report.model import load_schema

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "cardsim" / "profiles"
NOW = "2026-11-28T09:00:00"
#: The read-only set, as instruction bytes; VERIFY (20) is allowed only without data.
ALLOWED_INS = {0xA4, 0xB0, 0xC0, 0xCA, 0xCB, 0x20}


def diagcps(*args: str, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "diagcps", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          check=False)


def check_json(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any],
                                                                        str]:
    done = diagcps("check", "--json", "--now", NOW, *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)  # stdout holds the JSON document and nothing else
    jsonschema.validate(report, load_schema())
    return done.returncode, report, done.stderr


def card(profile: str) -> VirtualCard:
    return VirtualCard.from_file(PROFILES / f"{profile}.json")


def assert_card_untouched(virtual: VirtualCard, before: dict) -> None:
    for raw in virtual.commands():
        assert raw[1] in ALLOWED_INS, raw.hex()
        if raw[1] == 0x20:
            assert len(raw) == 4, f"VERIFY with data reached the card: {raw.hex()}"
    assert virtual.pin_counters() == before


@pytest.mark.parametrize(
    ("profile", "exit_code", "verdict", "code"),
    [("cps3-healthy", 0, "ok", None),
     ("cps4-healthy", 0, "ok", None),
     ("cps3-pin-blocked", 1, "fail", "PIN_BLOCKED"),
     ("cps3-definitively-blocked", 1, "fail", "CARD_DEFINITIVELY_BLOCKED"),
     ("vitale", 1, "fail", "WRONG_CARD")],
)
def test_check_as_a_subprocess_through_the_real_stack(pcsc_stack, profile: str, exit_code: int,
                                                      verdict: str, code: str | None) -> None:
    virtual = card(profile)
    before = virtual.pin_counters()
    pcsc_stack.serve(virtual)
    status, report, _ = check_json()
    assert report["verdicts"]["card"]["status"] == verdict
    assert report["verdicts"]["card"]["code"] == code
    assert status == exit_code
    diagnosed = [r for r in report["readers"] if r["diagnosed"]]
    assert diagnosed[0]["name"] == pcsc_stack.reader(0)
    assert diagnosed[0]["atr"] == virtual.atr.hex().upper()
    assert_card_untouched(virtual, before)
    if profile == "vitale":
        assert virtual.commands() == []  # a wrong card is never probed


def test_no_card_in_any_reader(pcsc_stack) -> None:
    from diagcps.pcsc import wait_for_reader

    for index in (0, 1):  # a card taken out a moment ago stays visible until pcscd's next poll
        wait_for_reader(pcsc_stack.reader(index), {"empty"}, 3.0)
    status, report, _ = check_json()
    assert report["verdicts"]["card"]["code"] == "CARD_ABSENT"
    assert [r["state"] for r in report["readers"]] == ["empty", "empty"]
    assert status == 1


def test_no_service(tmp_path: Path) -> None:
    env = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-such-pcscd.comm")}
    status, report, _ = check_json(env=env)
    service = next(c for c in report["checks"] if c["id"] == "pcsc.service")
    assert service["code"] == "PCSC_SERVICE_DOWN"
    assert "pcscd" in service["remedy"]
    assert report["verdicts"]["card"]["status"] == "fail"
    assert report["verdicts"]["workstation"]["code"] == "PCSC_SERVICE_DOWN"
    assert status == 1


def test_a_logged_in_session_of_another_program_survives_the_diagnosis(pcsc_stack) -> None:
    # The other program logs in, as middleware does: ChipDoc on channel 1, then the PIN.
    virtual = card("cps4-healthy")
    pin = virtual.pins[1]
    with pcsc_stack.logged_in_elsewhere(virtual) as bridge:
        status, report, _ = check_json()
        pin_check = next(c for c in report["checks"] if c["id"] == "card.pin")
        assert pin_check["code"] == "PIN_VERIFIED"
        assert bridge.events_of("power_off", "reset") == []
        assert pin.verified and pin.remaining == pin.max
        assert status == 0


def test_readers_lists_state_and_atr(pcsc_stack) -> None:
    virtual = card("cps3-healthy")
    pcsc_stack.serve(virtual)
    done = diagcps("readers", "--json")
    assert done.returncode == 0
    listed = json.loads(done.stdout)["readers"]
    assert listed == [
        {"name": pcsc_stack.reader(0), "state": "present", "atr": virtual.atr.hex().upper()},
        {"name": pcsc_stack.reader(1), "state": "empty", "atr": None},
    ]
    human = diagcps("readers", "--lang", "en")
    assert "card present" in human.stdout and "3B AC 00 40" in human.stdout


def test_readers_without_service_says_so_and_exits_1(tmp_path: Path) -> None:
    env = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "absent.comm")}
    done = diagcps("readers", env=env)
    assert done.returncode == 1
    assert "PCSC_SERVICE_DOWN" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_on_the_card_in_a_chosen_reader(pcsc_stack) -> None:
    pcsc_stack.serve(card("vitale"), reader=0)
    pcsc_stack.serve(card("cps3-healthy"), reader=1)
    status, report, _ = check_json("--reader", "00 01")
    assert report["verdicts"]["card"]["status"] == "ok"
    assert status == 0
    status, report, _ = check_json()
    several = next(c for c in report["checks"] if c["id"] == "reader.present")
    assert several["code"] == "SEVERAL_READERS"
    assert [r["diagnosed"] for r in report["readers"]] == [False, True]



@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(("wanted", "words"), [
    ("nothing like it", {"fr": "ne désigne aucun lecteur ; lecteurs présents :",
                         "en": "matches no reader; readers present:"}),
    ("Virtual", {"fr": "désigne plusieurs lecteurs :", "en": "matches several readers:"})])
def test_a_reader_choice_matching_none_or_several_is_a_usage_error_naming_the_readers(
        pcsc_stack, lang: str, wanted: str, words: dict[str, str]) -> None:
    bridge = pcsc_stack.serve(card("cps3-healthy"), reader=0)
    pcsc_stack.serve(card("vitale"), reader=1)
    bridge.clear_events()
    done = diagcps("check", "--lang", lang, "--reader", wanted)
    assert done.returncode == 2
    assert done.stdout == ""  # no diagnosis, no "NON FAIT" rows
    line = done.stderr.strip()
    assert "\n" not in line and words[lang] in line, line
    assert pcsc_stack.reader(0) in line and pcsc_stack.reader(1) in line
    assert bridge.events_of("apdu") == []  # refused before any card was read


def test_demo_runs_the_diagnosis_of_a_built_in_card_through_its_own_pcscd() -> None:
    # The demo starts a second private pcscd of its own; it must not need or touch this run's.
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "diagcps", "demo", "--json", "--now", NOW],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    report = json.loads(done.stdout)
    assert report["verdicts"]["card"]["status"] == "ok"
    assert report["readers"][0]["card"]["generation"] == "CPS3"
    assert done.returncode == 0
    assert time.monotonic() - start < 20
