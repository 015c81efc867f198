"""Transcripts: JSON round trip, atomic save, replay, and clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apdu import CommandApdu, NoRecordedAnswer, TranscriptError
from apdu.cardmodel import DirectTransport
from apdu.transcript import Exchange, Provenance, RecordingTransport, ReplayCard, Transcript
from cardsim.virtual import VirtualCard

ATR = bytes.fromhex("3BAC00402A001225006480000310009000")


def _transcript() -> Transcript:
    return Transcript(
        atr=ATR,
        provenance=Provenance("virtual-card", "unit test", "2026-11-28T08:00:00Z", ["none"]),
        exchanges=[
            Exchange(bytes.fromhex("00B09C000C"), bytes.fromhex("5A0A8025000001992138450F9000")),
            Exchange(bytes.fromhex("00A4090C023F00"), bytes.fromhex("9000")),
            Exchange(bytes.fromhex("00A4090C023F00"), bytes.fromhex("6A82")),
        ],
        protocol="T=0",
        reader="Virtual PCD 00 00",
    )


def test_transcript_survives_a_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    _transcript().save(path)
    loaded = Transcript.load(path)
    assert loaded == _transcript()
    assert json.loads(path.read_text())["format"] == "diagcps-transcript"


def test_save_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    _transcript().save(tmp_path / "t.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def test_replay_answers_in_recorded_order_then_repeats_the_last_answer() -> None:
    card = ReplayCard(_transcript())
    select = CommandApdu.from_hex("00A4090C023F00")
    assert [card.transmit(select).sw for _ in range(3)] == [0x9000, 0x6A82, 0x6A82]
    assert card.transmit(CommandApdu.from_hex("00B09C000C")).data[:2] == b"\x5a\x0a"


def test_replay_names_the_command_it_has_no_answer_for() -> None:
    card = ReplayCard(_transcript())
    with pytest.raises(NoRecordedAnswer) as missing:
        card.transmit(CommandApdu.from_hex("00A40404088025000001FF0100"))
    assert missing.value.command_hex == "00A40404088025000001FF0100"
    assert missing.value.code == "REPLAY_MISSING"


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        "[]",
        '{"format": "something-else", "version": 1}',
        '{"format": "diagcps-transcript", "version": 99, "provenance": {"source": "x"}}',
        '{"format": "diagcps-transcript", "version": 1}',
        '{"format": "diagcps-transcript", "version": 1, "provenance": {"source": "x"},'
        ' "atr": "3B", "exchanges": [{"command": "zz", "response": "9000"}]}',
        '{"format": "diagcps-transcript", "version": 1, "provenance": {"source": "x"},'
        ' "atr": "3B", "exchanges": [{"command": "00A4", "response": "90"}]}',
        '{"format": "diagcps-transcript", "version": 1, "provenance": {"source": "x"},'
        ' "atr": "3B", "exchanges": [7]}',
    ],
)
def test_malformed_transcript_files_raise_transcript_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TranscriptError):
        Transcript.load(path)


def test_missing_or_binary_transcript_file_raises_transcript_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError):
        Transcript.load(tmp_path / "absent.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TranscriptError):
        Transcript.load(tmp_path / "bin.json")


def test_recording_then_replaying_gives_the_same_answers() -> None:
    card = VirtualCard({
        "format": "diagcps-card-profile", "version": 1, "atr": ATR.hex(),
        "files": [{"path": "3F00/D003", "sfi": 28, "data": "5A0A8025000001992138450F"}],
    })
    recorder = RecordingTransport(DirectTransport(card))
    commands = [CommandApdu.from_hex(h) for h in ("00B09C000C", "00A4090C023F00", "00B09C0000")]
    live = [recorder.transmit(c) for c in commands]
    replay = ReplayCard(recorder.transcript(Provenance("virtual-card")))
    assert [replay.transmit(c) for c in commands] == live
    assert replay.atr == ATR
