"""The APDU budget of a full reading: a regression guard on the count, not on a time.

On a real card every exchange costs 10 to 30 ms, so the number of APDUs is what a user feels.
These counts are pinned exactly: a change that adds an APDU to a healthy card's reading fails here,
and so does one that saves some (so that the budget, ``bench/RESULTS.md`` and the README move
together).

To change them deliberately: run ``.venv/bin/python bench/apdu_counts.py`` (the reading next to
the minimal sequence), explain the difference in the commit, update ``BUDGET`` below, then re-run
``.venv/bin/python bench/run.py`` so that bench/RESULTS.md and the README quote the new figures.
The count must stay within 1.2 times the minimal sequence (bench/apdu_counts.py) on a healthy
CPS3.
"""

from __future__ import annotations

import pytest
from cps_support import load_card, read_direct

#: (profile, certificates read) -> APDUs that reach the card, GET RESPONSE and 6Cxx resends
#: included. Minimal sequences for comparison (bench/apdu_counts.py): CPS3 35 / 23, CPS4 (T=1,
#: command forms of the Cryptolib's own traffic) 33 / 21. The Cryptolib's cold ``-L -T`` on the
#: same virtual cards: CPS3 51, CPS4 29 (bench/RESULTS.md).
BUDGET = {
    ("cps3-healthy", True): 40,
    ("cps3-healthy", False): 28,
    ("cps4-healthy", True): 33,
    ("cps4-healthy", False): 21,
    # Over T=0 each FCI the reading uses costs a GET RESPONSE on channel 1 (01 C0), as in the
    # Cryptolib's T=0 traffic.
    ("cps4-t0-healthy", True): 43,
    ("cps4-t0-healthy", False): 28,
}

HOW_TO_UPDATE = (
    "the APDU count of a healthy card's full reading changed. If that is deliberate, compare with "
    "the minimal sequence (.venv/bin/python bench/apdu_counts.py), update BUDGET in "
    "tests/cps/test_apdu_budget.py and re-run .venv/bin/python bench/run.py so that "
    "bench/RESULTS.md and the README quote the new figures."
)


@pytest.mark.parametrize(("profile", "certificates"), sorted(BUDGET))
def test_a_healthy_full_reading_sends_exactly_its_budget(profile: str,
                                                         certificates: bool) -> None:
    card = load_card(profile)
    reading = read_direct(card, certificates=certificates)

    assert reading.problems == []
    assert reading.recognised
    assert len(reading.certificates) == (2 if certificates else 0)
    sent = card.commands()
    # The counter of the reading and the card's own log agree: nothing is sent behind the counter.
    assert reading.apdu_count == len(sent)
    assert reading.apdu_count == BUDGET[(profile, certificates)], (
        f"{profile} ({'with' if certificates else 'without'} certificates): "
        f"{reading.apdu_count} APDUs instead of {BUDGET[(profile, certificates)]}: "
        + HOW_TO_UPDATE)


@pytest.mark.parametrize("profile", ["cps4-healthy", "cps4-t0-healthy"])
def test_a_cps4_reading_sends_nothing_on_the_basic_channel(profile: str) -> None:
    card = load_card(profile)
    read_direct(card)
    assert card.commands()
    assert [c.hex().upper() for c in card.commands() if c[0] & 0x03 == 0] == []
    assert {c[0] for c in card.commands()} == {0x01}


@pytest.mark.parametrize("profile", ["cps3-healthy", "cps4-healthy", "cps4-t0-healthy"])
def test_every_file_is_selected_at_most_once(profile: str) -> None:
    """Each file is read once per diagnosis and shared between checks (the SELECT MF that puts
    the card back in the MF for the PIN objects is the only repeat)."""
    card = load_card(profile)
    read_direct(card)
    selects = [c.hex().upper() for c in card.commands() if c[1] == 0xA4]
    repeated = {s for s in selects if selects.count(s) > 1}
    assert repeated <= {"00A4090C023F00"}, repeated
