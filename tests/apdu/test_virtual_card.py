"""The virtual card answers like an IAS-ECC card in T=0, and shows any harm done to it."""

from __future__ import annotations

import pytest

from apdu import CommandApdu, ReadOnlyGuard, T0Transport
from apdu.cardmodel import DirectTransport
from apdu.errors import ProfileError
from cardsim.virtual import VirtualCard

PROFILE = {
    "format": "diagcps-card-profile",
    "version": 1,
    "name": "unit",
    "atr": "3BAC00402A001225006480000310009000",
    "files": [
        {"path": "3F00/D003", "sfi": 28, "data": "5A0A8025000001992138450F"},
        {"path": "3F00/0001", "aid": "E828BD080F8025000001FF0010"},
        {"path": "3F00/0001/5031", "data": "A0" + "00" * 300},
        {"path": "3F00/0001/C001", "data": "0102", "read": "pin"},
    ],
    "applications": [
        {"aid": "8025000001FF0100", "path": "3F00"},
        {"aid": "8025000001FF0002", "mode": "cps2ter"},
        {"aid": "A0000001510000", "mode": "gp"},
    ],
    "pins": [{"ref": 1, "max": 3, "remaining": 3, "value": "31323334"},
             {"ref": 2, "max": 10, "remaining": 10, "usage_remaining": 5}],
}


def _card(**quirks: object) -> VirtualCard:
    return VirtualCard({**PROFILE, "quirks": quirks})


def _send(card: VirtualCard, hex_command: str) -> str:
    return card.process(bytes.fromhex(hex_command)).hex().upper()


def test_public_trace_shape_select_with_fcp_answers_61xx_then_get_response() -> None:
    card = _card()
    first = _send(card, "00A40904043F00D003")
    assert first.startswith("61")
    fcp = _send(card, "00C00000" + first[2:])
    assert fcp.startswith("62") and fcp.endswith("9000")
    assert _send(card, "00B000000C") == "5A0A8025000001992138450F9000"


def test_read_binary_with_a_wrong_le_answers_6cxx() -> None:
    assert _send(_card(), "00B09C0000") == "6C0C"


def test_get_data_on_pin_object_needs_the_mf() -> None:
    card = _card()
    _send(card, "00A4090C043F000001")
    assert _send(card, "00CB3FFF0A4D087006BF810102A080") == "6A88"
    _send(card, "00A4090C023F00")
    assert _send(card, "00CB3FFF0A4D087006BF810102A080").startswith("61")


def test_get_data_reports_max_remaining_and_usage() -> None:
    t = T0Transport(DirectTransport(_card()))
    t.transmit(CommandApdu.from_hex("00A4090C023F00"))
    answer = t.transmit(CommandApdu.from_hex("00CB3FFF0A4D087006BF810202A080"))
    assert answer.hex() == "700FBF81020BA0099A010A9B010A9D01059000"


def test_empty_verify_reads_the_counter_without_spending_a_try() -> None:
    card = _card()
    for _ in range(5):
        assert _send(card, "00200001") == "63C3"
    assert card.pin_counters()[1] == (3, None, False)


def test_verify_with_a_wrong_pin_really_decrements_so_harm_is_visible() -> None:
    card = _card()
    assert _send(card, "002000010431313131") == "63C2"
    assert card.pin_counters()[1][0] == 2
    assert _send(card, "002000010431323334") == "9000"
    assert card.pin_counters()[1] == (3, None, True)


def test_pin_protected_file_answers_6982() -> None:
    card = _card()
    _send(card, "00A4090C063F000001C001")
    assert _send(card, "00B0000002") == "6982"


def test_cps2ter_part_left_selected_refuses_interindustry_class_until_ias_is_reselected() -> None:
    card = _card(cps2ter_selected=True)
    assert _send(card, "00B09C000C") == "6E00"
    assert _send(card, "00A4040C088025000001FF0100") == "9000"
    assert _send(card, "00B09C000C").endswith("9000")


def test_cps4_lost_selection_needs_the_full_recovery_sequence() -> None:
    card = _card(lost_selection=True)
    assert _send(card, "01A4040C088025000001FF0100") == "6985"
    assert _send(card, "01A4040C088025000001FF0100") == "6985"
    _send(card, "01A4040C07A0000001510000")
    _send(card, "00A4040C088025000001FF0002")
    _send(card, "01A4040C088025000001FF0100")
    assert _send(card, "01200001") == "63C3"


def test_log_records_commands_and_power_events() -> None:
    card = _card()
    _send(card, "00A4090C023F00")
    card.reset()
    assert [e.kind for e in card.log] == ["apdu", "reset"]
    assert card.commands() == [bytes.fromhex("00A4090C023F00")]


def test_verified_state_survives_until_a_reset() -> None:
    card = VirtualCard({**PROFILE, "pins": [{"ref": 1, "max": 3, "remaining": 3,
                                             "verified": True}]})
    assert _send(card, "00200001") == "9000"
    card.reset()
    assert _send(card, "00200001") == "63C3"


def test_a_long_file_is_read_through_the_guard_in_chunks() -> None:
    t = T0Transport(ReadOnlyGuard(DirectTransport(_card())))
    t.transmit(CommandApdu.from_hex("00A4090C063F0000015031"))
    first = t.transmit(CommandApdu(0, 0xB0, 0, 0, le=0xE7))
    second = t.transmit(CommandApdu(0, 0xB0, 0, 0xE7, le=0xE7))
    assert len(first.data) == 0xE7 and second.sw == 0x9000
    assert len(first.data) + len(second.data) == 301


@pytest.mark.parametrize("profile", [{}, {"format": "diagcps-card-profile", "version": 1},
                                     {"format": "diagcps-card-profile", "version": 1,
                                      "atr": "zz"}])
def test_malformed_profiles_raise_profile_error(profile: dict) -> None:
    with pytest.raises(ProfileError):
        VirtualCard(profile)
