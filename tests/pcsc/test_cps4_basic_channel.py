"""A CPS4 whose basic channel a SESAM-Vitale program is using (the CPS2ter part, class A0) while
``diagcps check`` runs, through the real pcscd: the other program's reads keep their answers, its
selected CPS2ter file stays selected, and the diagnosis sends nothing on the basic channel."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cardsim.virtual import VirtualCard

pytestmark = pytest.mark.pcsc

PROFILES = Path(__file__).resolve().parents[2] / "cardsim" / "profiles"


def test_a_second_program_on_the_basic_channel_is_left_alone(pcsc_stack) -> None:
    from smartcard.System import readers

    card = VirtualCard.from_file(PROFILES / "cps4-cps2ter-busy.json")
    pcsc_stack.serve(card)
    content = list(card.cps2ter_files["2002"])
    reader = next(r for r in readers() if str(r) == pcsc_stack.reader())
    other = reader.createConnection()
    other.connect()  # shared mode, as a SESAM-Vitale program would
    answers: list[tuple[list[int], int, int]] = []
    done = threading.Event()

    def sesam_vitale() -> None:
        while not done.is_set():
            answers.append(other.transmit([0xA0, 0xB0, 0x00, 0x00, len(content)]))

    worker = threading.Thread(target=sesam_vitale, daemon=True)
    worker.start()
    try:
        run = subprocess.run([sys.executable, "-m", "diagcps", "check", "--json"],
                             capture_output=True, text=True, timeout=60, check=False,
                             env=dict(os.environ))
    finally:
        done.set()
        worker.join(10)
    answers.append(other.transmit([0xA0, 0xB0, 0x00, 0x00, len(content)]))
    other.disconnect()

    report = json.loads(run.stdout)
    assert report["verdicts"]["card"]["status"] == "ok", run.stdout
    assert answers and all(a == (content, 0x90, 0x00) for a in answers)
    assert card.cps2ter_selected_file == "2002"
    diagnosis = [c for c in card.commands() if c[0] != 0xA0]
    assert diagnosis and {c[0] for c in diagnosis} == {0x01}
    # The two programs' commands did interleave on the card.
    kinds = [c[0] == 0xA0 for c in card.commands()]
    assert any(a and not b for a, b in itertools.pairwise(kinds))


@pytest.mark.parametrize(("profile", "status", "code", "pin"), [
    ("cps4-healthy", "ok", None, "ok"),
    ("cps4-blocked", "fail", "PIN_BLOCKED", "blocked"),
    ("cps4-t0-healthy", "ok", None, "ok"),
    ("cps4-t0-blocked", "fail", "PIN_BLOCKED", "blocked"),
    ("cps4-lost-selection", "ok", None, "ok"),
])
def test_a_cps4_gets_its_verdict_through_pcscd_on_channel_1(pcsc_stack, profile: str,
                                                            status: str, code: str | None,
                                                            pin: str) -> None:
    card = VirtualCard.from_file(PROFILES / f"{profile}.json")
    before = card.pin_counters()
    pcsc_stack.serve(card)
    run = subprocess.run([sys.executable, "-m", "diagcps", "check", "--json"],
                         capture_output=True, text=True, timeout=60, check=False,
                         env=dict(os.environ))
    report = json.loads(run.stdout)
    assert (report["verdicts"]["card"]["status"], report["verdicts"]["card"]["code"]) == (
        status, code)
    ours = next(r["card"] for r in report["readers"] if r["diagnosed"])
    assert ours["generation"] == "CPS4" and ours["pin"]["state"] == pin
    assert len(card.commands()) == ours["apdu_count"]
    basic = [c.hex().upper() for c in card.commands() if c[0] & 0x03 == 0]
    # Only the recovery, and only on the card that lost its ChipDoc selection.
    assert basic == (["00A4040C088025000001FF0002"] if profile == "cps4-lost-selection" else [])
    assert card.pin_counters() == before
