"""Shared helpers of the tests in tests/cps (imported by name: pytest puts this folder on
sys.path; the name is unique across the test tree)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from apdu.cardmodel import DirectTransport
from apdu.command import CommandApdu
from apdu.transcript import Exchange, Provenance, ReplayCard, Transcript
from cardsim.virtual import VirtualCard
from diagcps.cps import CardReading, read_card

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "cardsim" / "profiles"
TRANSCRIPTS = REPO / "fixtures" / "transcripts"

#: The fixed clock of every card test: profiles are dated relative to it.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
#: No DICO-FR.GIP, whatever the machine has installed: built-in labels only.
NO_DICTIONARY = Path("/nonexistent/DICO-FR.GIP")

ATR_CPS3 = bytes.fromhex("3BAC00402A001225006480000310009000")
ATR_CPS4 = bytes.fromhex("3B9B188001001225006480040100009044")

#: What a diagnosis may send: SELECT, READ BINARY, GET RESPONSE, GET DATA, VERIFY without data.
READ_INSTRUCTIONS = {0xA4, 0xB0, 0xC0, 0xCA, 0xCB}


def profile_names() -> list[str]:
    return sorted(p.stem for p in CARDS.glob("*.json"))


def load_card(name: str) -> VirtualCard:
    return VirtualCard.from_file(CARDS / f"{name}.json")


def read_direct(card: VirtualCard, **options: object) -> CardReading:
    return read_card(DirectTransport(card), now=NOW, dictionary=NO_DICTIONARY, **options)


def replay(pairs: list[tuple[str, str]], atr: bytes = ATR_CPS3) -> ReplayCard:
    """A transport answering from command/response hex pairs (spaces allowed)."""
    exchanges = [Exchange(bytes.fromhex(c.replace(" ", "")), bytes.fromhex(r.replace(" ", "")))
                 for c, r in pairs]
    return ReplayCard(Transcript(atr, Provenance("virtual-card", "unit test"), exchanges))


def commands(card: VirtualCard) -> list[CommandApdu]:
    return [CommandApdu.from_bytes(raw) for raw in card.commands()]


def assert_read_only(card: VirtualCard, *, idle_power_off_allowed: bool = False) -> None:
    """Only reading commands reached the card, and it was never reset nor powered off.

    ``idle_power_off_allowed``: through a real pcscd, the daemon powers an unused card off a
    moment after insertion or after the last handle is released (its own power saving; the tool
    leaves the card with SCARD_LEAVE_CARD): a power-off is then accepted outside the diagnosis,
    before its first command or after its last, never in between.
    """
    for command in commands(card):
        if command.ins == 0x20:
            assert not command.data, f"VERIFY with data reached the card: {command}"
        else:
            assert command.ins in READ_INSTRUCTIONS, f"non-read command reached the card: {command}"
    apdus = [entry.at for entry in card.log if entry.kind == "apdu"]
    first, last = (min(apdus), max(apdus)) if apdus else (float("inf"), float("-inf"))
    for entry in card.log:
        outside = entry.at < first or entry.at > last
        if entry.kind == "reset" or (entry.kind == "power_off"
                                     and not (idle_power_off_allowed and outside)):
            raise AssertionError(f"the card got a {entry.kind} during the diagnosis")
