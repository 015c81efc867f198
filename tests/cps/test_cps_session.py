"""The card session: the guard in front, the T=0 rules, the file cache and chunked reads."""

from __future__ import annotations

import pytest
from cps_support import ATR_CPS3

from apdu.cardmodel import DirectTransport
from apdu.command import CommandApdu
from apdu.errors import CommandRefused
from cardsim.virtual import VirtualCard
from diagcps.cps.session import (
    MAX_CHUNK,
    ApduCounter,
    CardFiles,
    UnexpectedStatus,
    der_total_length,
    fcp_file_size,
    open_card_session,
    records_end,
)


def _card(files: list[dict[str, object]], t0: bool = True) -> VirtualCard:
    return VirtualCard({"format": "diagcps-card-profile", "version": 1,
                        "atr": ATR_CPS3.hex(), "t0": t0, "files": files,
                        "pins": [{"ref": 1, "max": 3, "remaining": 3, "value": "31323334"}]})


def _session(card: VirtualCard) -> tuple[ApduCounter, CardFiles]:
    counter = ApduCounter(DirectTransport(card))
    return counter, CardFiles(open_card_session(counter))


def test_the_session_refuses_a_verify_with_data_before_it_reaches_the_card() -> None:
    card = _card([])
    session = open_card_session(DirectTransport(card))
    with pytest.raises(CommandRefused):
        session.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01, b"1234"))
    assert card.commands() == []
    assert card.pin_counters() == {1: (3, None, False)}


def test_the_session_follows_61xx_with_get_response() -> None:
    card = _card([{"path": "3F00/D003", "data": "5A0A8025000001992138450F"}])
    session = open_card_session(DirectTransport(card))
    response = session.transmit(CommandApdu(0x00, 0xA4, 0x09, 0x04, bytes.fromhex("3F00D003")))
    assert response.ok and response.data.startswith(b"\x62")
    assert [c[:2] for c in card.commands()] == [b"\x00\xa4", b"\x00\xc0"]


def test_a_large_file_is_read_in_chunks_of_at_most_e7_bytes() -> None:
    content = bytes(range(256)) * 3  # 768 bytes
    card = _card([{"path": "3F00/0001", "aid": "E828BD080F8025000001FF0010"},
                  {"path": "3F00/0001/C001", "data": content.hex()}])
    counter, files = _session(card)
    assert files.read("3F00/0001/C001") == content
    reads = [CommandApdu.from_bytes(c) for c in card.commands() if c[1] == 0xB0]
    assert all((c.le or 256) <= MAX_CHUNK for c in reads)
    assert counter.count == len(card.commands())


def test_each_file_is_read_once() -> None:
    card = _card([{"path": "3F00/2F00", "data": "61034F0100"}])
    _counter, files = _session(card)
    first = files.read("3F00/2F00")
    sent = len(card.commands())
    assert files.read("3F00/2F00") == first
    assert len(card.commands()) == sent


def test_a_refused_file_is_not_asked_for_twice() -> None:
    card = _card([])
    _counter, files = _session(card)
    with pytest.raises(UnexpectedStatus) as first:
        files.read("3F00/0001/5031")
    assert first.value.sw == 0x6A82
    sent = len(card.commands())
    with pytest.raises(UnexpectedStatus):
        files.read("3F00/0001/5031")
    assert len(card.commands()) == sent


def test_a_certificate_file_is_read_no_further_than_its_der_length() -> None:
    der = bytes.fromhex("308201F4") + b"\x11" * 0x1F4  # 504 bytes, in a 2048-byte file
    card = _card([{"path": "3F00/C001", "data": (der + b"\x00" * (2048 - len(der))).hex()}])
    counter, files = _session(card)
    assert files.read("3F00/C001", der_length=True) == der
    # One SELECT, then ceil(504 / 231) = 3 reads, the last with the exact Le.
    assert counter.count == 4


def test_a_record_file_is_read_no_further_than_its_padding() -> None:
    records = bytes.fromhex("A00A300804063F0000017002") * 30  # 360 bytes of records
    card = _card([{"path": "3F00/7006", "data": (records + b"\x00" * 1000).hex()}])
    counter, files = _session(card)
    data = files.read("3F00/7006", records=True)
    assert data.startswith(records)
    assert len(data) < 1000
    assert counter.count == 1 + 2  # SELECT, two chunks: the second ends in padding


def test_an_empty_file_reads_as_empty() -> None:
    card = _card([{"path": "3F00/D010", "data": ""}])
    _counter, files = _session(card)
    assert files.read("3F00/D010") == b""


def test_records_end_tells_a_cut_record_from_padding() -> None:
    assert records_end(bytes.fromhex("300100 00"))
    assert not records_end(bytes.fromhex("3005010203"))  # cut by the chunk boundary
    assert not records_end(bytes.fromhex("300101"))  # ends exactly: more may follow
    assert records_end(bytes.fromhex("3085FFFFFFFFFF"))  # malformed: reading on would not help
    assert not records_end(bytes.fromhex("1F"))


def test_der_and_fcp_lengths() -> None:
    assert der_total_length(bytes.fromhex("3082038D")) == 4 + 0x38D
    assert der_total_length(bytes.fromhex("3081F0")) == 3 + 0xF0
    assert der_total_length(bytes.fromhex("3010")) == 0x12
    assert der_total_length(bytes.fromhex("0000")) is None
    assert der_total_length(bytes.fromhex("3080")) is None
    trace_fcp = ("62258002000C8201018302D0038801E0A1128C077BFFFFFFFFFF009C077BFFFFFFFFFF00"
                 "8A0105")
    assert fcp_file_size(bytes.fromhex(trace_fcp)) == 12
    assert fcp_file_size(bytes.fromhex("6206810200208201")) is None  # malformed: no guess
    assert fcp_file_size(b"") is None


# --- CPS4: channel 1 only ------------------------------------------------------------------------


def test_the_basic_channel_guard_lets_only_the_recovery_reselection_through() -> None:
    from diagcps.cps.session import CPS2TER_RESELECT

    card = _card([{"path": "3F00/D003", "data": "00" * 12}])
    session = open_card_session(DirectTransport(card), chipdoc_only=True)
    for command in ("00A4090C023F00", "00B09C000C", "00A4040C088025000001FF0100", "00200001"):
        with pytest.raises(CommandRefused):
            session.transmit(CommandApdu.from_hex(command))
    assert card.commands() == []
    session.transmit(CPS2TER_RESELECT)
    session.transmit(CommandApdu.from_hex("01A4080002D00300"))
    assert [c.hex().upper() for c in card.commands()] == ["00A4040C088025000001FF0002",
                                                          "01A4080002D00300"]


def test_chipdoc_files_are_selected_by_path_from_the_mf_and_read_to_the_fci_size() -> None:
    from diagcps.cps.session import CHIPDOC_CHANNEL_ONE

    card = _card([{"path": "3F00/0001"}, {"path": "3F00/0001/5031", "data": "AB" * 300}],
                 t0=False)
    card.quirks.update({"select_p1": [8], "select_p2": [0, 12], "select_p2_00": "fci"})
    files = CardFiles(open_card_session(DirectTransport(card), chipdoc_only=True),
                      addressing=CHIPDOC_CHANNEL_ONE)
    assert files.read("3F00/0001/5031") == b"\xab" * 300
    assert [c.hex().upper() for c in card.commands()] == [
        "01A40800040001503100", "01B0000000", "01B001002C"]
    assert fcp_file_size(card.log[0].response[:-2]) == 300
