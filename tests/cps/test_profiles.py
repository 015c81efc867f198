"""Every card profile in cardsim/profiles: the expected reading, the safety of the reading, and the
replay of every transcript in fixtures/transcripts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from cps_support import (
    NO_DICTIONARY,
    NOW,
    TRANSCRIPTS,
    assert_read_only,
    commands,
    load_card,
    profile_names,
    read_direct,
)

from apdu.transcript import ReplayCard, Transcript
from diagcps.cps import CardReading, read_card


@dataclass
class Expected:
    generation: str | None = "CPS3"
    detection: str = "cps"
    serial: str | None = "99213845"
    pin: tuple[str, int | None, int | None] = ("ok", 3, 3)
    unblock: tuple[str, int | None, int | None] = ("ok", 10, None)  # state, tries, uses
    kind: str | None = "CPS"
    test_card: bool | None = False
    card_number: str | None = "2900012345"
    issued: date | None = date(2025, 1, 15)
    expires: date | None = date(2028, 1, 14)
    update_incident: bool | None = False
    national_id: str | None = "899700075122"
    id_type_label: str | None = "RPPS"
    profession: str | None = "Médecin"
    display_name: str | None = "Madame DURAND-ESSAI CLAIRE"
    certificates: list[tuple[str, str]] = field(
        default_factory=lambda: [("authentication", "valid"), ("signature", "valid")])
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, step)
    contactless: bool = False
    wrong_card_label: str | None = None


CPS4 = {"generation": "CPS4", "serial": "40012347", "card_number": "4000067890",
        "issued": date(2025, 2, 3), "expires": date(2031, 2, 2), "national_id": "899700366240",
        "profession": "Pharmacien", "display_name": "Madame LAMBERT-ESSAI HÉLÈNE",
        "pin": ("ok", 3, None)}
NOTHING = {"serial": None, "pin": ("unknown", None, None), "unblock": ("unknown", None, None),
           "kind": None, "test_card": None, "card_number": None, "issued": None, "expires": None,
           "update_incident": None, "national_id": None, "id_type_label": None,
           "profession": None, "display_name": None, "certificates": []}

EXPECTED: dict[str, Expected] = {
    "cps3-healthy": Expected(),
    "cps3-pin-2-left": Expected(pin=("low", 2, 3)),
    "cps3-pin-1-left": Expected(pin=("last_try", 1, 3)),
    "cps3-pin-blocked": Expected(pin=("blocked", 0, 3), unblock=("ok", 10, 5)),
    "cps3-definitively-blocked": Expected(pin=("blocked", 0, 3), unblock=("blocked", 10, 0)),
    # GET DATA cannot see a verification: the CPS3 reading reports the counters.
    "cps3-pin-verified": Expected(),
    "cps4-healthy": Expected(**CPS4),
    "cps4-blocked": Expected(**{**CPS4, "pin": ("blocked", 0, None)}),
    "cps4-lost-selection": Expected(**CPS4),
    "cps4-pin-verified": Expected(**{**CPS4, "pin": ("verified", None, None)}),
    "cps4-t0-healthy": Expected(**CPS4),
    "cps4-t0-blocked": Expected(**{**CPS4, "pin": ("blocked", 0, None)}),
    "cps4-cps2ter-busy": Expected(**CPS4),
    # A CPS4 ATR whose ChipDoc cannot be selected: unreadable, never "not an ANS card".
    "cps4-chipdoc-unselectable": Expected(**{**NOTHING, "generation": "CPS4",
                                             "detection": "unreadable",
                                             "problems": [("CARD_READ_ERROR", "chipdoc")]}),
    # diagcps reads it; the Cryptolib 5.2.2 ignores it (exact ATR match).
    "cps3-older-batch": Expected(serial="33344455", card_number="2900055555"),
    "cps3-expired": Expected(serial="11122233", card_number="2900011111",
                             issued=date(2011, 3, 1), expires=date(2014, 2, 28),
                             certificates=[("authentication", "expired"),
                                           ("signature", "expired")]),
    "cps3-update-incident": Expected(update_incident=True),
    "cps3-contactless": Expected(generation="CPS3-CL", contactless=True,
                                 pin=("absent", None, None), unblock=("absent", None, None),
                                 certificates=[("technical", "valid")]),
    "cpf": Expected(serial="55566677", card_number="2950022222", kind="CPF",
                    national_id="899700366240", profession=None,
                    display_name="Monsieur PETIT-ESSAI PAUL"),
    "cps3-test-card": Expected(serial="80000018", card_number="8000033333", test_card=True,
                               national_id="899700735741", profession="Infirmier",
                               display_name="Monsieur ROBERT-ESSAI LUC"),
    "speech-therapist": Expected(serial="66677788", card_number="2960044444",
                                 national_id="0991086265", id_type_label="ADELI",
                                 profession="Orthophoniste",
                                 display_name="Mademoiselle GIRARD-ESSAI LÉA"),
    "vitale": Expected(**{**NOTHING, "generation": None, "detection": "wrong_card",
                          "wrong_card_label": "Vitale 2"}),
    "foreign-cps-like": Expected(**{**NOTHING, "detection": "unknown"}),
    "cps3-cps2ter-selected": Expected(),
    "cps3-malformed-identity": Expected(
        expires=None, display_name="DURAND-ESSAI",
        problems=[("CARD_READ_ERROR", "identity")] * 3),
}


def test_every_profile_has_an_expectation() -> None:
    assert sorted(EXPECTED) == profile_names()


def check(reading: CardReading, expected: Expected) -> None:
    assert reading.generation == expected.generation
    assert reading.detection == expected.detection
    assert reading.recognised is (expected.detection == "cps")
    assert reading.wrong_card_label == expected.wrong_card_label
    assert reading.contactless is expected.contactless
    assert reading.serial == expected.serial
    assert (reading.pin.state, reading.pin.tries_left, reading.pin.tries_max) == expected.pin
    assert (reading.unblock.state, reading.unblock.tries_left,
            reading.unblock.uses_left) == expected.unblock
    assert reading.definitively_blocked is (expected.unblock[0] == "blocked")
    assert reading.kind == expected.kind
    assert reading.test_card is expected.test_card
    assert reading.card_number == expected.card_number
    assert (reading.issued, reading.expires) == (expected.issued, expected.expires)
    assert reading.update_incident is expected.update_incident
    holder = reading.holder
    if expected.national_id is None:
        assert holder is None
    else:
        assert holder is not None
        assert holder.national_id == expected.national_id
        assert holder.id_type_label == expected.id_type_label
        assert holder.id_check_digit_ok is True
        assert holder.profession == expected.profession
        assert holder.display_name == expected.display_name
    assert [(c.role, c.state) for c in reading.certificates] == expected.certificates
    for cert in reading.certificates:
        assert cert.key == "RSA 2048"
        assert cert.issuer.startswith("CN=AC IGC-SANTE FORT PERSONNES")
        assert cert.subject_common_name == expected.national_id
        assert cert.subject.endswith(",C=FR") and "+" in cert.subject.split(",")[0]
    assert [(p.code, p.step) for p in reading.problems] == expected.problems


@pytest.mark.parametrize("name", profile_names())
def test_profile_reading(name: str) -> None:
    card = load_card(name)
    before = card.pin_counters()
    reading = read_direct(card)
    check(reading, EXPECTED[name])
    # Safety: only reads reached the card, nothing was spent or reset, no verification lost.
    assert_read_only(card)
    assert card.pin_counters() == before
    assert reading.apdu_count == len(card.commands())


@pytest.mark.parametrize("name", ["vitale", "foreign-cps-like"])
def test_no_pin_command_reaches_a_card_not_identified_as_cps(name: str) -> None:
    card = load_card(name)
    read_direct(card)
    assert all(c.ins not in (0x20, 0xCA, 0xCB) for c in commands(card))


def test_the_vitale_card_is_not_even_selected() -> None:
    card = load_card("vitale")
    read_direct(card)
    assert card.commands() == []


def test_a_foreign_card_gets_no_more_than_the_mf_and_ef_sn() -> None:
    card = load_card("foreign-cps-like")
    read_direct(card)
    assert [c.hex() for c in commands(card)] == ["00A4090C023F00", "00B09C000C"]


def test_contactless_gets_no_pin_command_and_stays_in_its_application() -> None:
    card = load_card("cps3-contactless")
    read_direct(card)
    sent = commands(card)
    assert all(c.ins != 0x20 and c.ins not in (0xCA, 0xCB) for c in sent)
    assert not any(bytes.fromhex("3F000001") in c.data for c in sent)


def test_cps4_pin_states_come_from_an_empty_verify_on_channel_1() -> None:
    card = load_card("cps4-healthy")
    read_direct(card)
    verifies = [c for c in commands(card) if c.ins == 0x20]
    assert [c.hex() for c in verifies] == ["01200001", "01200002"]


def test_cps4_lost_selection_runs_the_recovery_sequence() -> None:
    """69 85 to the ChipDoc SELECT: the Cryptolib's recovery, the one moment a CPS4 reading
    touches the basic channel (to put the CPS2ter part back there) [C]."""
    card = load_card("cps4-lost-selection")
    read_direct(card)
    sent = [c.hex() for c in commands(card)]
    recovery = ["01A4040C088025000001FF0100", "01A4040C07A0000001510000",
                "00A4040C088025000001FF0002", "01A4040C088025000001FF0100"]
    assert sent[:4] == recovery
    assert [c for c in sent if c.startswith("00")] == ["00A4040C088025000001FF0002"]


def test_cps4_basic_channel_busy_with_cps2ter_is_left_alone() -> None:
    """A SESAM-Vitale program keeps file 2002 of the CPS2ter part selected on the basic channel,
    and reads it between the diagnosis' commands: its answers and its state stay the same."""
    from apdu.cardmodel import DirectTransport
    from apdu.command import CommandApdu
    from apdu.response import ResponseApdu
    from apdu.transport import Transport, TransportLayer

    card = load_card("cps4-cps2ter-busy")
    content = card.cps2ter_files["2002"]
    other_reads: list[bytes] = []

    class Interleaved(TransportLayer):
        def transmit(self, command: CommandApdu) -> ResponseApdu:
            # The other program's READ BINARY of its selected CPS2ter file, class A0.
            other_reads.append(card.process(bytes.fromhex("A0B0000018")))
            return self.inner.transmit(command)

    transport: Transport = Interleaved(DirectTransport(card))
    reading = read_card(transport, now=NOW, dictionary=NO_DICTIONARY)
    assert reading.recognised and reading.pin.state == "ok" and len(reading.certificates) == 2
    assert len(other_reads) == reading.apdu_count
    assert set(other_reads) == {content + b"\x90\x00"}
    assert card.cps2ter_selected_file == "2002"
    diagnosis = [c for c in card.commands() if c[0] != 0xA0]
    assert diagnosis and all(c[0] & 0x03 == 1 for c in diagnosis)


def test_cps3_pin_counters_use_the_public_trace_s_get_data() -> None:
    card = load_card("cps3-healthy")
    read_direct(card)
    sent = [c.hex() for c in commands(card)]
    assert "00CB3FFF0A4D087006BF810102A080" in sent
    assert "00CB3FFF0A4D087006BF810202A080" in sent  # the unblock reference from the AODF
    assert sent[sent.index("00CB3FFF0A4D087006BF810202A080") - 1] == "00A4090C023F00"


def test_cps2ter_left_selected_is_recovered_with_one_reselection() -> None:
    healthy, left = load_card("cps3-healthy"), load_card("cps3-cps2ter-selected")
    assert read_direct(left).apdu_count == read_direct(healthy).apdu_count + 2
    assert "00A4040C088025000001FF0100" in [c.hex() for c in commands(left)]


def test_a_verified_pin_survives_the_diagnosis() -> None:
    for name in ("cps3-pin-verified", "cps4-pin-verified"):
        card = load_card(name)
        read_direct(card)
        assert card.pin_counters()[1][2] is True


# --- transcripts ---------------------------------------------------------------------------------


def transcript_names() -> list[str]:
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.json"))


@pytest.mark.parametrize("name", transcript_names())
def test_every_transcript_replays_without_crashing(name: str) -> None:
    transcript = Transcript.load(TRANSCRIPTS / f"{name}.json")
    assert transcript.provenance.source in ("virtual-card", "public-trace", "real-card")
    reading = read_card(ReplayCard(transcript), now=NOW, dictionary=NO_DICTIONARY)
    assert reading.atr == transcript.atr


@pytest.mark.parametrize("name", [n for n in transcript_names() if n in profile_names()])
def test_a_recorded_transcript_replays_into_the_direct_reading(name: str) -> None:
    transcript = Transcript.load(TRANSCRIPTS / f"{name}.json")
    assert transcript.provenance.source == "virtual-card"
    replayed = read_card(ReplayCard(transcript), now=NOW, dictionary=NO_DICTIONARY)
    direct = read_direct(load_card(name))
    assert replayed == direct
    assert not any(p.code == "REPLAY_MISSING" for p in replayed.problems)


def test_every_main_profile_has_a_transcript() -> None:
    assert set(profile_names()) <= set(transcript_names())


def test_an_unselectable_chipdoc_is_unreadable_without_touching_the_basic_channel() -> None:
    card = load_card("cps4-chipdoc-unselectable")
    reading = read_direct(card)
    assert reading.detection == "unreadable" and reading.generation == "CPS4"
    assert [c.hex() for c in commands(card)] == ["01A4040C088025000001FF0100"]


def test_the_demo_finds_every_profile_the_builder_writes() -> None:
    """``diagcps demo`` serves the profiles shipped in the package (cardsim/profiles), the very
    files fixtures/build_profiles.py writes and the tests read."""
    from diagcps.profiles import known_profiles, load_profile

    root = Path(__file__).resolve().parents[2]
    built = {p.stem for p in (root / "cardsim" / "profiles").glob("*.json")}
    assert len(built) >= 20
    assert set(known_profiles()) >= built
    assert load_profile("cps3-healthy").atr.hex().upper().startswith("3BAC")
