"""The read-only guard refuses every family of command that could change a card or spend a try."""

from __future__ import annotations

import pytest

from apdu import CommandApdu, CommandRefused, ReadOnlyGuard, ResponseApdu
from apdu.guard import check_read_only


class RecordingCard:
    """A transport that records what reaches it and always answers 90 00."""

    atr = bytes.fromhex("3BAC00402A001225006480000310009000")

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        self.received.append(command.to_bytes())
        return ResponseApdu.status(0x9000)

    def close(self) -> None:
        pass


# Classes the guard must treat alike: interindustry on each basic channel, further interindustry,
# the CPS2ter part's A0, and a proprietary class.
CLASSES = [0x00, 0x01, 0x02, 0x03, 0x0C, 0x40, 0x4F, 0x80, 0x84, 0xA0, 0x90, 0xE0]

REFUSED = {
    "VERIFY with data": CommandApdu(0x00, 0x20, 0x00, 0x01, b"1234"),
    "VERIFY with data, local PIN ref": CommandApdu(0x00, 0x20, 0x00, 0x81, b"\x31\x32\x33\x34"),
    "CHANGE REFERENCE DATA": CommandApdu(0x00, 0x24, 0x00, 0x01, b"12341234"),
    "RESET RETRY COUNTER": CommandApdu(0x00, 0x2C, 0x00, 0x01, b"12345678"),
    "RESET RETRY COUNTER no data": CommandApdu(0x00, 0x2C, 0x03, 0x01),
    "UPDATE BINARY": CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\x00"),
    "WRITE BINARY": CommandApdu(0x00, 0xD0, 0x00, 0x00, b"\x00"),
    "PUT DATA DA": CommandApdu(0x00, 0xDA, 0x01, 0x02, b"\x00"),
    "PUT DATA DB": CommandApdu(0x00, 0xDB, 0x3F, 0xFF, b"\x00"),
    "MANAGE SECURITY ENVIRONMENT": CommandApdu(0x00, 0x22, 0x41, 0xB6, b"\x84\x01\x81"),
    "PERFORM SECURITY OPERATION": CommandApdu(0x00, 0x2A, 0x9E, 0x9A, b"\x00" * 20, le=256),
    "INTERNAL AUTHENTICATE": CommandApdu(0x00, 0x88, 0x00, 0x00, b"\x00" * 8, le=256),
    "GET CHALLENGE": CommandApdu(0x00, 0x84, 0x00, 0x00, le=8),
    "CREATE FILE": CommandApdu(0x00, 0xE0, 0x00, 0x00, b"\x62\x00"),
    "DELETE FILE": CommandApdu(0x00, 0xE4, 0x00, 0x00),
    "GP INSTALL": CommandApdu(0x80, 0xE6, 0x0C, 0x00, b"\x00"),
    "GP DELETE": CommandApdu(0x80, 0xE4, 0x00, 0x00, b"\x4F\x00"),
    "GP LOAD": CommandApdu(0x80, 0xE8, 0x00, 0x00, b"\x00"),
    "GP SET STATUS": CommandApdu(0x80, 0xF0, 0x80, 0x07),
    "GP GET STATUS": CommandApdu(0x80, 0xF2, 0x80, 0x00, b"\x4F\x00", le=256),
    "GP INITIALIZE UPDATE": CommandApdu(0x80, 0x50, 0x00, 0x00, b"\x00" * 8, le=256),
    "MANAGE CHANNEL": CommandApdu(0x00, 0x70, 0x00, 0x00, le=1),
    "TERMINATE CARD": CommandApdu(0x00, 0xFE, 0x00, 0x00),
    "unknown instruction": CommandApdu(0x00, 0x12, 0x00, 0x00),
}

ALLOWED = {
    "SELECT by AID": CommandApdu.from_hex("00A40404088025000001FF0100"),
    "SELECT by path": CommandApdu.from_hex("00A4090C023F00"),
    "READ BINARY by SFI": CommandApdu.from_hex("00B09C000C"),
    "GET RESPONSE": CommandApdu.from_hex("00C0000027"),
    "GET DATA CB": CommandApdu.from_hex("00CB3FFF0A4D087006BF810102A080"),
    "GET DATA CA": CommandApdu.from_hex("00CA9F7F00"),
    "VERIFY without data": CommandApdu.from_hex("01200081"),
}


def _with_class(command: CommandApdu, cla: int) -> CommandApdu:
    return CommandApdu(cla, command.ins, command.p1, command.p2, command.data, command.le)


@pytest.mark.parametrize("cla", CLASSES, ids=lambda c: f"CLA{c:02X}")
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_write_and_try_spending_commands_never_reach_the_card(name: str, cla: int) -> None:
    card = RecordingCard()
    guard = ReadOnlyGuard(card)
    with pytest.raises(CommandRefused) as refused:
        guard.transmit(_with_class(REFUSED[name], cla))
    assert card.received == []
    assert refused.value.command_hex.startswith(f"{cla:02X}")


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_read_commands_pass_through_unchanged(name: str) -> None:
    card = RecordingCard()
    response = ReadOnlyGuard(card).transmit(ALLOWED[name])
    assert response.sw == 0x9000
    assert card.received == [ALLOWED[name].to_bytes()]


def test_verify_is_refused_even_with_a_single_data_byte() -> None:
    with pytest.raises(CommandRefused, match="VERIFY"):
        check_read_only(CommandApdu(0x00, 0x20, 0x00, 0x01, b"\x00"))


def test_guard_cannot_be_bypassed_by_a_raw_case_3_encoding() -> None:
    # The same VERIFY built from raw bytes, as a caller that skips CommandApdu's helpers would.
    command = CommandApdu.from_hex("0020000108FFFFFFFFFFFFFFFF")
    with pytest.raises(CommandRefused):
        check_read_only(command)


def test_the_guard_keeps_the_card_atr_visible() -> None:
    assert ReadOnlyGuard(RecordingCard()).atr == RecordingCard.atr


def test_verify_with_an_le_is_refused_only_the_header_alone_reads() -> None:
    # A card answering 6Cxx to the empty VERIFY once led to a resend with Le: refused here too.
    with pytest.raises(CommandRefused, match="VERIFY"):
        check_read_only(CommandApdu.from_hex("0120000200"))
    check_read_only(CommandApdu.from_hex("01200002"))
