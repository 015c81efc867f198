"""Signals and files: what the user is left with when a run is cut short or given a bad file.

* Ctrl-C (SIGINT) ends with a short message and exit code 130; SIGTERM with 143. Either way the
  tool first ends its PC/SC transaction and disconnects leaving the card as it is: a killed
  PC/SC client would get the card reset by pcscd, logging another program out.
* ``--output`` and ``--record`` are written atomically: after an interruption a file is either
  absent or complete (a previous report stays as it was), never half written.
* A file the tool cannot write, or a transcript it cannot read, gets one clear line and exit 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tool_process import start_tool

from apdu.transcript import Transcript, write_atomic
from cardsim.faults import HookCard, on_ins
from cardsim.virtual import VirtualCard
from diagcps.cli import main

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T09:00:00"
HEALTHY_TRANSCRIPT = ROOT / "fixtures" / "transcripts" / "cps3-healthy.json"


# --- signals, through the real stack -------------------------------------------------------------

@pytest.mark.pcsc
@pytest.mark.parametrize(("signum", "exit_code", "message"),
                         [(signal.SIGINT, 130, "diagcps : interrompu"),
                          (signal.SIGTERM, 143, "diagcps : arrêté")])
def test_a_signal_in_the_middle_of_the_reading_ends_calmly_and_releases_the_card(
        pcsc_stack, tmp_path: Path, signum: int, exit_code: int, message: str) -> None:
    from smartcard import scard

    output, record = tmp_path / "report.json", tmp_path / "session.json"
    previous = '{"previous": "a complete report of an earlier run"}\n'
    output.write_text(previous)
    tool: dict[str, Any] = {}

    def signal_the_tool(_command: bytes) -> None:
        deadline = time.monotonic() + 5
        while "proc" not in tool and time.monotonic() < deadline:
            time.sleep(0.01)
        tool["proc"].send_signal(signum)
        time.sleep(0.05)  # the tool is still waiting for this very answer when the signal lands

    faulty = HookCard(VirtualCard.from_file(ROOT / "cardsim/profiles/cps3-healthy.json"),
                      signal_the_tool, when=on_ins(0xCB))
    bridge = pcsc_stack.serve(faulty)
    # Another program stays connected all along: pcscd then never powers the card off by
    # itself, so any reset or power-off the card gets comes from the tool's way out.
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hresult, other, _ = scard.SCardConnect(context, pcsc_stack.reader(0),
                                           scard.SCARD_SHARE_SHARED,
                                           scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    assert hresult == 0
    try:
        bridge.clear_events()
        started = time.monotonic()
        tool["proc"] = proc = start_tool("check", "--json", "--now", NOW, "--timeout", "2",
                                         "--lang", "fr", "--output", str(output),
                                         "--record", str(record))
        stdout, stderr = proc.communicate(timeout=30)
        seconds = time.monotonic() - started
        time.sleep(0.5)  # pcscd's reaction to a client that left without disconnecting
        events = [e.kind for e in bridge.events_of("reset", "power_off")]
        # The tool ended its transaction: another program gets one at once.
        began = time.monotonic()
        assert scard.SCardBeginTransaction(other) == 0
        assert time.monotonic() - began < 0.5
        assert scard.SCardEndTransaction(other, scard.SCARD_LEAVE_CARD) == 0
    finally:
        scard.SCardDisconnect(other, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    print(f"[signal] {signal.Signals(signum).name}: exit {proc.returncode} in {seconds:.2f} s")
    assert faulty.fired.is_set()
    assert proc.returncode == exit_code
    assert stderr.strip() == message, stderr
    assert "Traceback" not in stderr
    assert stdout == ""  # no half JSON document either
    assert output.read_text() == previous  # untouched, not half-overwritten
    assert not record.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary left
    assert events == []  # no reset, no power-off: another program's session survives


# --- atomic files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_the_previous_file_whole_and_no_temporary(
        tmp_path: Path, monkeypatch, failure: type[BaseException]) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous\n")

    def fail(_fd: int) -> None:
        raise failure()

    monkeypatch.setattr(os, "fsync", fail)  # after the new text is written, before the rename
    with pytest.raises(failure):
        write_atomic(target, "new " * 10_000)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_transcript_is_saved_atomically_too(tmp_path: Path, monkeypatch) -> None:
    transcript = Transcript.load(HEALTHY_TRANSCRIPT)
    target = tmp_path / "session.json"
    monkeypatch.setattr(os, "replace", lambda *_args: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        transcript.save(target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("lang", "words"), [("fr", "n’existe pas"), ("en", "does not exist")])
@pytest.mark.parametrize("option", ["--output", "--record"])
def test_a_file_in_a_missing_folder_is_refused_before_the_diagnosis(tmp_path: Path,
                                                                    option: str, lang: str,
                                                                    words: str) -> None:
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       option, str(tmp_path / "absent" / "file.json"),
                                       "--lang", lang])
    assert result.exit_code == 2
    assert words in result.output and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert '"schema_version"' not in result.output  # refused first, not after a whole run


def test_a_file_that_cannot_be_written_at_the_end_is_said_and_exits_2(tmp_path: Path,
                                                                      mocker) -> None:
    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    mocker.patch("apdu.transcript.write_atomic", side_effect=disk_full)
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       "--now", NOW, "--output", str(tmp_path / "r.json"),
                                       "--lang", "en"])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "No space left" in result.stderr
    assert result.stderr.count("\n") == 1
    french = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       "--now", NOW, "--output", str(tmp_path / "r.json")])
    assert french.stderr.startswith("diagcps : impossible d’écrire ")
    assert json.loads(result.stdout)["verdicts"]["card"]["status"] == "ok"  # still shown


# --- transcripts given to replay ------------------------------------------------------------------

def _truncated() -> bytes:
    raw = HEALTHY_TRANSCRIPT.read_bytes()
    return raw[: len(raw) // 2]  # what a crash in the middle of a non-atomic write leaves


def _with(**changes: Any) -> bytes:
    doc = json.loads(HEALTHY_TRANSCRIPT.read_text())
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("name", "content"), [
    ("binary", b"\x00\xff\xfe garbage \x89PNG"),
    ("truncated", _truncated()),
    ("empty", b""),
    ("a list", b"[1, 2, 3]"),
    ("newer version", _with(version=2)),
    ("exchanges not a list", _with(exchanges=5)),
    ("exchange without response", _with(exchanges=[{"command": "00A4000C023F00"}])),
    ("command not hex", _with(exchanges=[{"command": "zz", "response": "9000"}])),
    ("atr not hex", _with(atr="3B?")),
    ("no provenance", _with(provenance=None)),
    ("reader not text", _with(reader=["Virtual PCD 00 00"])),
])
def test_an_unusable_transcript_gets_one_clear_line_and_exit_2(tmp_path: Path, name: str,
                                                              content: bytes) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["replay", str(path), "--json", "--lang", "en"])
    assert result.exit_code == 2, (name, result.output)
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("diagcps: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


@pytest.mark.parametrize("target", ["missing", "folder"])
def test_a_transcript_path_that_is_no_file_is_a_usage_error(tmp_path: Path, target: str) -> None:
    path = tmp_path / "missing.json" if target == "missing" else tmp_path
    done = subprocess.run([sys.executable, "-m", "diagcps", "replay", str(path)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr
