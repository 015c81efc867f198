"""read_card: the order of the reading, its failures, and what it never does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cps_support import (
    CARDS,
    NO_DICTIONARY,
    NOW,
    TRANSCRIPTS,
    assert_read_only,
    load_card,
    read_direct,
)
from pytest_mock import MockerFixture

from apdu.cardmodel import DirectTransport
from apdu.command import CommandApdu
from apdu.errors import TransportError
from apdu.response import ResponseApdu
from apdu.tlv import encode
from apdu.transcript import ReplayCard, Transcript
from cardsim.virtual import VirtualCard
from diagcps.cps import read_card


class FailingAfter:
    """A transport whose card goes away after ``count`` exchanges."""

    def __init__(self, inner: DirectTransport, count: int, code: str = "CARD_REMOVED") -> None:
        self.inner, self.count, self.code = inner, count, code

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        if self.count <= 0:
            raise TransportError("the card was removed", code=self.code)
        self.count -= 1
        return self.inner.transmit(command)

    def close(self) -> None:
        return None


def _profile(name: str) -> dict[str, Any]:
    return json.loads((CARDS / f"{name}.json").read_text(encoding="utf-8"))


def test_the_public_trace_replays_into_what_it_holds_and_no_more() -> None:
    transcript = Transcript.load(TRANSCRIPTS / "public-trace-cpx.json")
    reading = read_card(ReplayCard(transcript), now=NOW, dictionary=NO_DICTIONARY)
    assert reading.detection == "cps" and reading.generation == "CPS3" and reading.recognised
    assert reading.serial == "99213845" and reading.pan_check_digit_ok
    assert reading.update_incident is False
    assert (reading.pin.state, reading.pin.tries_left, reading.pin.tries_max) == ("ok", 3, 3)
    assert reading.unblock.state == "unknown"
    assert [p.code for p in reading.problems] == ["REPLAY_MISSING"]
    # Answered: select MF, EF.SN select + GET RESPONSE + read, EF_ACTUA, GET DATA + GET RESPONSE.
    assert reading.apdu_count == 7


def test_a_card_removed_mid_reading_stops_it_and_says_so() -> None:
    card = load_card("cps3-healthy")
    reading = read_card(FailingAfter(DirectTransport(card), 6), now=NOW,
                        dictionary=NO_DICTIONARY)
    assert reading.serial == "99213845" and reading.pin.state == "ok"
    assert [(p.code, p.step) for p in reading.problems] == [("CARD_REMOVED", "odf")]
    assert reading.apdu_count == 6 == len(card.commands())
    assert reading.holder is None and reading.certificates == []


def test_a_card_removed_before_ef_sn_leaves_it_unknown() -> None:
    reading = read_card(FailingAfter(DirectTransport(load_card("cps3-healthy")), 1), now=NOW,
                        dictionary=NO_DICTIONARY)
    assert reading.detection == "unknown" and not reading.recognised
    assert reading.problems[0].code == "CARD_REMOVED"


def test_a_transport_error_without_code_is_a_read_error() -> None:
    reading = read_card(FailingAfter(DirectTransport(load_card("cps3-healthy")), 2, code=None),
                        now=NOW, dictionary=NO_DICTIONARY)
    assert reading.problems[-1].code == "CARD_READ_ERROR"


def test_an_unreadable_atr_is_recorded() -> None:
    class Mute:
        @property
        def atr(self) -> bytes:
            raise TransportError("no ATR", code="CARD_MUTE")

        def transmit(self, command: CommandApdu) -> ResponseApdu:
            raise AssertionError("nothing may be sent")

        def close(self) -> None:
            return None

    reading = read_card(Mute(), now=NOW)
    assert reading.problems[0].code == "CARD_MUTE" and reading.apdu_count == 0


def test_a_card_outside_every_table_is_the_wrong_card_and_never_probed() -> None:
    profile = _profile("cps3-healthy")
    profile["atr"] = "3B8A80015049562061544D00"
    card = VirtualCard(profile)
    reading = read_direct(card)
    assert reading.detection == "wrong_card" and reading.wrong_card_label is None
    assert card.commands() == [] and reading.apdu_count == 0


def test_a_malformed_pin_answer_is_a_read_error_and_the_reading_goes_on() -> None:
    profile = _profile("cps3-healthy")
    profile["pins"][0]["extra"] = "A1FF"  # the A0 template now claims more than it holds
    reading = read_direct(VirtualCard(profile))
    assert reading.pin.state == "unknown"
    assert any(p.step == "pin" and p.code == "CARD_READ_ERROR" for p in reading.problems)
    assert reading.holder is not None and len(reading.certificates) == 2


def test_a_pin_object_the_card_does_not_know_leaves_the_state_unknown_with_its_sw() -> None:
    profile = _profile("cps3-healthy")
    profile["pins"] = [p for p in profile["pins"] if p["ref"] != 1]
    reading = read_direct(VirtualCard(profile))
    assert (reading.pin.state, reading.pin.sw) == ("unknown", "6A88")
    assert reading.unblock.state == "ok"


def test_the_pkcs15_application_is_found_through_ef_dir_when_it_moved() -> None:
    profile = _profile("cps4-healthy")  # relative paths inside: the DF can move as a whole
    for item in profile["files"]:
        item["path"] = item["path"].replace("3F00/0001", "3F00/0005")
        if item["path"] == "3F00/2F00":
            item["data"] = encode(0x61, encode(0x4F, bytes.fromhex(
                "E828BD080F8025000001FF0010")) + encode(0x51, bytes.fromhex("3F000005"))).hex()
    reading = read_direct(VirtualCard(profile))
    assert reading.problems == []
    assert reading.holder is not None and reading.holder.national_id == "899700366240"
    assert len(reading.certificates) == 2


def test_without_certificates_no_certificate_file_is_touched() -> None:
    full_card, light_card = load_card("cps3-healthy"), load_card("cps3-healthy")
    full = read_direct(full_card)
    light = read_direct(light_card, certificates=False)
    assert light.certificates == [] and light.problems == []
    assert light.holder == full.holder and light.pin == full.pin
    assert light.apdu_count < full.apdu_count
    touched = b"".join(light_card.commands())
    assert bytes.fromhex("7005") not in touched and bytes.fromhex("C001") not in touched


def test_no_pin_protected_object_is_ever_selected() -> None:
    card = load_card("cps3-healthy")
    read_direct(card)
    protected = {item["path"].split("/")[-1] for item in _profile("cps3-healthy")["files"]
                 if item.get("read") == "pin"}
    for command in card.commands():
        if command[1] == 0xA4 and command[2] == 0x09:
            assert command[-2:].hex().upper() not in protected


def test_a_command_refused_by_the_guard_stops_the_reading(mocker: MockerFixture) -> None:
    def rogue(card: Any, *args: Any) -> None:
        card.transmit(CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\x00"))

    mocker.patch("diagcps.cps.reader.read_actua", side_effect=rogue)
    card = load_card("cps3-healthy")
    reading = read_direct(card)
    assert reading.problems[-1].code == "COMMAND_REFUSED"
    assert_read_only(card)


def test_labels_come_from_the_installed_dictionary(tmp_path: Path) -> None:
    dico = tmp_path / "DICO-FR.GIP"
    dico.write_bytes("R01\tSM26\t\t\t29\tQualifié en Médecine Générale\n".encode("latin-1"))
    reading = read_card(DirectTransport(load_card("cps3-healthy")), now=NOW, dictionary=dico)
    assert reading.holder is not None
    assert reading.holder.specialty == "Qualifié en Médecine Générale"


@pytest.mark.parametrize("name", ["cps3-healthy", "cps4-healthy"])
def test_each_file_is_selected_at_most_once(name: str) -> None:
    card = load_card(name)
    read_direct(card)
    selects = [c for c in card.commands() if c[1] == 0xA4 and c[2] == 0x09 and len(c) > 7]
    assert len(selects) == len(set(selects))
