"""Command and response APDUs (ISO 7816-3/-4 cases 1-4, short and extended) and the T=0 rules."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apdu import (
    ApduError,
    CommandApdu,
    MalformedApdu,
    ProtocolLoop,
    ResponseApdu,
    T0Transport,
    Transport,
    TransportError,
)

# --- command encoding and parsing ----------------------------------------------------------

SELECT_MF = CommandApdu(0x00, 0xA4, 0x09, 0x0C, bytes.fromhex("3F00"))


@pytest.mark.parametrize(("command", "encoded", "case"), [
    # case 1: header only (the empty VERIFY that reads a CPS4 PIN counter)
    (CommandApdu(0x01, 0x20, 0x00, 0x01), "01200001", 1),
    # case 2 short: READ BINARY of EF.SN by SFI
    (CommandApdu(0x00, 0xB0, 0x9C, 0x00, le=12), "00B09C000C", 2),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000", 2),
    # case 3 short: SELECT MF
    (SELECT_MF, "00A4090C023F00", 3),
    # case 4 short
    (CommandApdu(0x00, 0xA4, 0x09, 0x04, bytes.fromhex("3F00D003"), le=256),
     "00A40904043F00D00300", 4),
    (CommandApdu(0x00, 0xCB, 0x3F, 0xFF, bytes.fromhex("4D087006BF810102A080"), le=0x18),
     "00CB3FFF0A4D087006BF810102A08018", 4),
    # case 2 extended
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536), "00B00000000000", 2),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=300), "00B0000000012C", 2),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256, extended=True), "00B00000000100", 2),
    # case 3 extended, forced
    (CommandApdu(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00", extended=True), "00A4000C0000023F00", 3),
    # case 4 extended: Le 65536 is written 0000 after the data
    (CommandApdu(0x00, 0xA4, 0x00, 0x04, b"\x3f\x00", le=65536, extended=True),
     "00A40004000002" + "3F00" + "0000", 4),
])
def test_command_cases_encode_and_parse_back(command, encoded, case):
    assert command.hex() == encoded
    assert command.case == case
    parsed = CommandApdu.from_hex(encoded)
    assert parsed.to_bytes() == command.to_bytes()
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.le) == (
        command.cla, command.ins, command.p1, command.p2, command.data, command.le)


def test_long_data_switches_to_extended_lengths():
    command = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(300))
    assert command.uses_extended
    assert command.to_bytes()[4:7] == bytes.fromhex("00012C")
    assert CommandApdu.from_bytes(command.to_bytes()).data == bytes(300)


def test_short_le_00_means_256_and_extended_0000_means_65536():
    assert CommandApdu.from_hex("00B0000000").le == 256
    assert CommandApdu.from_hex("00B00000000000").le == 65536


def test_from_hex_accepts_spaces():
    assert CommandApdu.from_hex("00 A4 09 0C 02 3F 00") == SELECT_MF


@pytest.mark.parametrize(("cla", "channel"), [(0x00, 0), (0x01, 1), (0x03, 3), (0x40, 4),
                                               (0x4F, 19), (0xA0, 0), (0x80, 0)])
def test_logical_channel_from_cla(cla, channel):
    assert CommandApdu(cla, 0xA4, 0, 0).channel == channel


@pytest.mark.parametrize(("encoded", "why"), [
    ("", "empty"),
    ("00A404", "three bytes"),
    ("00A40400 05 0102", "Lc larger than the data"),
    ("00A40400 02 010203 04", "Lc smaller than the body"),
    ("00B00000 00 01", "truncated extended Le"),
    ("00A40400 00 0000 01", "extended Lc of zero"),
    ("00A40400 00 0003 0102", "extended Lc larger than the data"),
    ("00A40400 00 0001 01 02", "extended body of the wrong size"),
    ("00 A4 zz", "not hexadecimal"),
])
def test_malformed_commands_raise_malformed_apdu(encoded, why):
    with pytest.raises(MalformedApdu):
        CommandApdu.from_hex(encoded)


@pytest.mark.parametrize("kwargs", [
    {"cla": 0x100}, {"ins": -1}, {"le": 0}, {"le": 65537}, {"data": bytes(65536)},
])
def test_out_of_range_fields_raise_malformed_apdu(kwargs):
    fields = {"cla": 0, "ins": 0xB0, "p1": 0, "p2": 0, **kwargs}
    with pytest.raises(MalformedApdu):
        CommandApdu(**fields)


def test_with_le_keeps_everything_else():
    command = CommandApdu(0x01, 0xB0, 0x9C, 0x00, le=0xFF)
    assert command.with_le(0x0C).hex() == "01B09C000C"


# --- command properties ----------------------------------------------------------------------

_bytes_ = st.integers(0, 0xFF)
_commands = st.builds(
    CommandApdu,
    cla=_bytes_, ins=_bytes_, p1=_bytes_, p2=_bytes_,
    data=st.one_of(st.binary(max_size=260), st.binary(min_size=250, max_size=600)),
    le=st.one_of(st.none(), st.integers(1, 256), st.integers(1, 65536),
                 st.sampled_from([256, 257, 65535, 65536])),
    extended=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(_commands)
def test_commands_round_trip_through_bytes(command):
    raw = command.to_bytes()
    parsed = CommandApdu.from_bytes(raw)
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.le) == (
        command.cla, command.ins, command.p1, command.p2, command.data, command.le)
    assert parsed.case == command.case
    assert parsed.to_bytes() == raw


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.binary(max_size=12),
    st.binary(min_size=4, max_size=300),
    st.tuples(st.binary(min_size=4, max_size=4), st.integers(0, 0xFF), st.binary(max_size=260))
    .map(lambda t: t[0] + bytes((t[1],)) + t[2]),
    st.tuples(st.binary(min_size=4, max_size=4), st.integers(0, 0x140), st.binary(max_size=330))
    .map(lambda t: t[0] + b"\x00" + t[1].to_bytes(2, "big") + t[2]),
))
def test_random_bytes_parse_as_a_command_or_raise_malformed_apdu(raw):
    try:
        command = CommandApdu.from_bytes(raw)
    except MalformedApdu:
        return
    # Whatever parses encodes back to the same bytes: the parser reads no byte twice or never.
    assert command.to_bytes() == raw


# --- responses -------------------------------------------------------------------------------


def test_response_splits_data_and_status_word():
    response = ResponseApdu.from_hex("5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00")
    assert response.data == bytes.fromhex("5A0A8025000001992138450F")
    assert (response.sw1, response.sw2, response.sw) == (0x90, 0x00, 0x9000)
    assert response.ok
    assert response.hex() == "5A0A8025000001992138450F9000"


def test_status_only_response():
    response = ResponseApdu.status(0x6A82)
    assert response.data == b"" and response.sw == 0x6A82 and not response.ok
    assert ResponseApdu.from_bytes(b"\x6a\x82") == response


@pytest.mark.parametrize("text", ["", "90", "9G00"])
def test_malformed_responses_raise_malformed_apdu(text):
    with pytest.raises(MalformedApdu):
        ResponseApdu.from_hex(text)


def test_status_bytes_must_be_bytes():
    with pytest.raises(MalformedApdu):
        ResponseApdu(b"", 0x100, 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_parse_as_a_response_or_raise_malformed_apdu(raw):
    try:
        response = ResponseApdu.from_bytes(raw)
    except MalformedApdu:
        assert len(raw) < 2
        return
    assert response.to_bytes() == raw
    assert response.sw == int.from_bytes(raw[-2:], "big")


# --- T=0 transport rules ---------------------------------------------------------------------


class ScriptedCard:
    """A transport that answers from a script and logs what it received."""

    atr = bytes.fromhex("3BAC00402A001225006480000310009000")

    def __init__(self, *answers: str) -> None:
        self.answers = deque(ResponseApdu.from_hex(answer) for answer in answers)
        self.received: list[CommandApdu] = []
        self.closed = False

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        self.received.append(command)
        return self.answers.popleft()

    def close(self) -> None:
        self.closed = True

    @property
    def sent(self) -> list[str]:
        return [command.hex() for command in self.received]


class StubbornCard(ScriptedCard):
    """A card stuck answering the same status word, for ever."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = ResponseApdu.from_hex(answer)

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        self.received.append(command)
        return self.answer


FCP = "6225 8002000C 820101 8302D003 8801E0 A112 8C077BFFFFFFFFFF00 9C077BFFFFFFFFFF00 8A0105"


def test_fakes_are_transports():
    assert isinstance(ScriptedCard(), Transport)
    assert isinstance(T0Transport(ScriptedCard()), Transport)


def test_61xx_is_followed_by_get_response():
    card = ScriptedCard("6127", FCP + "9000")
    response = T0Transport(card).transmit(CommandApdu.from_hex("00A40904043F00D003"))
    assert card.sent == ["00A40904043F00D003", "00C0000027"]
    assert response.data == bytes.fromhex(FCP)
    assert response.sw == 0x9000


def test_chained_61xx_responses_are_concatenated():
    card = ScriptedCard("6110", "01" * 16 + "6105", "02" * 5 + "9000")
    response = T0Transport(card).transmit(SELECT_MF)
    assert card.sent[1:] == ["00C0000010", "00C0000005"]
    assert response.data == b"\x01" * 16 + b"\x02" * 5
    assert response.ok


def test_6100_asks_for_256_bytes():
    card = ScriptedCard("6100", "AA" * 256 + "9000")
    response = T0Transport(card).transmit(SELECT_MF)
    assert card.sent[1] == "00C0000000"
    assert len(response.data) == 256


def test_get_response_goes_out_on_the_command_logical_channel():
    card = ScriptedCard("6102", "0102" + "9000")
    T0Transport(card).transmit(CommandApdu(0x01, 0xA4, 0x04, 0x04, bytes.fromhex("8025")))
    assert card.sent[1] == "01C0000002"


def test_the_final_status_word_after_get_response_is_kept():
    card = ScriptedCard("6102", "0102" + "6282")
    response = T0Transport(card).transmit(SELECT_MF)
    assert response.data == b"\x01\x02" and response.sw == 0x6282


def test_6cxx_resends_the_command_with_the_corrected_le():
    # OpenSC reads EF.SN with a larger Le and gets 6C 0C (CPS-CARD.md 2.3).
    card = ScriptedCard("6C0C", "5A0A8025000001992138450F9000")
    response = T0Transport(card).transmit(CommandApdu.from_hex("00B09C00FF"))
    assert card.sent == ["00B09C00FF", "00B09C000C"]
    assert response.data == bytes.fromhex("5A0A8025000001992138450F")


def test_6c00_resends_with_le_256():
    card = ScriptedCard("6C00", "00" * 256 + "9000")
    T0Transport(card).transmit(CommandApdu.from_hex("00B0000010"))
    assert card.sent[1] == "00B0000000"


def test_6cxx_then_61xx_are_both_handled():
    card = ScriptedCard("6C04", "6104", "01020304" + "9000")
    response = T0Transport(card).transmit(CommandApdu.from_hex("00CA010010"))
    assert card.sent == ["00CA010010", "00CA010004", "00C0000004"]
    assert response.data == b"\x01\x02\x03\x04"


@pytest.mark.parametrize("answer", ["9000", "6A82", "6983", "63C2", "0102039000"])
def test_other_answers_pass_through_unchanged(answer):
    card = ScriptedCard(answer)
    response = T0Transport(card).transmit(SELECT_MF)
    assert response == ResponseApdu.from_hex(answer)
    assert len(card.received) == 1


def test_an_endless_61xx_card_ends_in_protocol_loop():
    card = StubbornCard("01" + "6101")
    transport = T0Transport(card)
    with pytest.raises(ProtocolLoop):
        transport.transmit(SELECT_MF)
    assert len(card.received) == 1 + transport.max_chain


def test_an_endless_6cxx_card_ends_in_protocol_loop():
    card = StubbornCard("6C0C")
    transport = T0Transport(card, max_resend=2)
    with pytest.raises(ProtocolLoop):
        transport.transmit(CommandApdu.from_hex("00B09C00FF"))
    assert len(card.received) == 3


@pytest.mark.parametrize("max_chain", [0, 1, 5])
def test_the_61xx_bound_is_configurable(max_chain):
    card = StubbornCard("6110")
    with pytest.raises(ProtocolLoop):
        T0Transport(card, max_chain=max_chain).transmit(SELECT_MF)
    assert len(card.received) == 1 + max_chain


def test_protocol_loop_is_a_transport_error():
    assert issubclass(ProtocolLoop, TransportError)
    assert issubclass(ProtocolLoop, ApduError)


def test_atr_and_close_are_delegated():
    card = ScriptedCard()
    transport = T0Transport(card)
    assert transport.atr == card.atr
    transport.close()
    assert card.closed


def test_6cxx_to_a_command_without_le_is_not_resent_with_one():
    # Found by fuzzing: 6C00 answered to the empty VERIFY made the layer resend it with Le = 256.
    card = ScriptedCard("6C00")
    response = T0Transport(card).transmit(CommandApdu.from_hex("01200002"))
    assert response.sw == 0x6C00
    assert card.sent == ["01200002"]
