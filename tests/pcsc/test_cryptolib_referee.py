"""The official Cryptolib CPS 5.2.2 as referee of every virtual card.

For each profile in cardsim/profiles, served through the private pcscd and vpcd: ``diagcps check``
(a real subprocess), then the real Cryptolib module (``pkcs11-tool -L -T``, cold cache, no login)
on the same card. They must agree: a token exactly when diagcps recognises a CPS whose ATR the
Cryptolib lists (the older-batch CPS3 is the one profile diagcps reads and the Cryptolib ignores,
and diagcps must say so), the same serial, the PIN-locked flag equal to diagcps's PIN state, and
neither spends a try. A card model the real middleware cannot read is a defect of the model.

Needs ../shared (the RPM): skipped in a user's clone, failed in CI (tests/vendor.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cryptolib_run
import pytest
import vendor

from cardsim.virtual import VirtualCard
from diagcps.cps.cryptolib_atr import cryptolib_knows_atr

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "cardsim" / "profiles"
NOW = "2026-11-28T09:00:00"
#: Profiles diagcps reads as a CPS although the Cryptolib 5.2.2 gives them no token: its ATR
#: table is matched byte for byte (docs/CPS-CARD.md 2.1).
CRYPTOLIB_IGNORES = {"cps3-older-batch"}


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.json"))


@pytest.fixture(scope="module")
def cryptolib(tmp_path_factory: pytest.TempPathFactory) -> cryptolib_run.CryptolibInstall:
    install = cryptolib_run.extract_cryptolib(tmp_path_factory.mktemp("cryptolib-root"))
    problem = cryptolib_run.runner_problem()
    if problem is not None:
        if vendor.vendor_required() or os.environ.get("DIAGCPS_REQUIRE_PCSC") == "1":
            pytest.fail(f"the Cryptolib referee cannot run: {problem}")
        pytest.skip(problem)
    return install


def diagcps_check() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "diagcps", "check", "--json", "--now", NOW],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ))
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def diagnosed_card(report: dict[str, Any]) -> dict[str, Any] | None:
    return next((r["card"] for r in report["readers"] if r["diagnosed"]), None)


@pytest.fixture
def served(pcsc_stack: Any) -> Iterator[Any]:
    def serve(profile: str) -> VirtualCard:
        card = VirtualCard.from_file(PROFILES / f"{profile}.json")
        pcsc_stack.serve(card)
        return card

    yield serve


def test_the_exception_list_is_what_the_atr_table_says() -> None:
    ignored = {name for name in profile_names()
               if json.loads((PROFILES / f"{name}.json").read_text())["atr"]
               and not cryptolib_knows_atr(bytes.fromhex(
                   json.loads((PROFILES / f"{name}.json").read_text())["atr"]))}
    # The Vitale card is ignored too, and diagcps does not take it for a CPS either.
    assert ignored == CRYPTOLIB_IGNORES | {"vitale"}


@pytest.mark.parametrize("profile", profile_names())
def test_the_cryptolib_agrees_with_diagcps(profile: str, cryptolib: Any, served: Any) -> None:
    card = served(profile)
    before = card.pin_counters()
    cps2ter_before = card.cps2ter_selected_file

    report = diagcps_check()
    ours = diagnosed_card(report)
    assert ours is not None
    diagcps_commands = len(card.commands())
    assert card.pin_counters() == before, "diagcps changed a counter"
    if ours["generation"] == "CPS4":
        basic = {c.hex().upper() for c in card.commands() if c[0] & 0x03 == 0}
        assert basic <= {"00A4040C088025000001FF0002"}, basic

    cryptolib.clear_cache()
    listing = cryptolib_run.list_tokens(cryptolib)
    theirs = listing.token()
    sent = card.commands()[diagcps_commands:]
    assert card.pin_counters() == before, "the Cryptolib changed a counter"

    recognised = ours["recognised"]
    assert ours["cryptolib_atr_known"] is (profile not in CRYPTOLIB_IGNORES | {"vitale"})
    expect_token = recognised and profile not in CRYPTOLIB_IGNORES
    assert (theirs is not None) is expect_token, (
        f"{profile}: diagcps recognised={recognised}, Cryptolib token={theirs}\n"
        f"{listing.stdout}\n{listing.stderr}\n" + "\n".join(c.hex().upper() for c in sent))
    if profile in CRYPTOLIB_IGNORES:
        # Not one APDU for an ATR it does not list; diagcps reports what that means.
        assert sent == []
        codes = {c["code"] for c in report["checks"]}
        assert "CARD_ATR_UNKNOWN_TO_CRYPTOLIB" in codes
    if theirs is None:
        return
    assert theirs.serial == ours["serial"]
    assert theirs.pin_locked is (ours["pin"]["state"] == "blocked")
    if ours["generation"] == "CPS4":
        # The Cryptolib, too, reads a CPS4 on channel 1 only, but for its recovery.
        basic = [c.hex().upper() for c in sent if c[0] & 0x03 == 0]
        assert set(basic) <= {"00A4040C088025000001FF0002"}
        assert card.cps2ter_selected_file == cps2ter_before


def test_the_cryptolib_reads_a_cps4_as_the_documented_sequence(cryptolib: Any,
                                                                served: Any) -> None:
    """The [C] sequence of docs/CPS-CARD.md 3.2, on the healthy CPS4 over T=1, cold cache."""
    card = served("cps4-healthy")
    cryptolib.clear_cache()
    listing = cryptolib_run.list_tokens(cryptolib)
    assert listing.token() is not None, listing.stdout + listing.stderr
    sent = [c.hex().upper() for c in card.commands()]
    assert sent[:7] == ["01A4040C088025000001FF0100", "01A4080002D00300", "01B000000C",
                        "01A40800022F0000", "01A40800022F0000", "01B0000055",
                        "01A40800020001"]
    assert {c[:2] for c in sent} == {"01"}
    assert sent.index("01200001") < sent.index("01200002")
    # Warm cache: only the live facts are asked again.
    card.log.clear()
    listing = cryptolib_run.list_tokens(cryptolib)
    assert listing.token() is not None
    warm = [c.hex().upper() for c in card.commands()]
    assert len(warm) < len(sent)
    assert "01200001" in warm
