"""The PC/SC fault matrix through the real stack: pyscard, libpcsclite, pcscd, vpcd, virtual card.

A diagnostic tool is run when things are broken. For every fault below, ``diagcps check`` runs as a
user runs it (a subprocess) and must: name the fault with its finding code and remedy, exit 1,
print a JSON report valid against the schema, end within its bound, and print no traceback. The
card is served from this process, so a fault hook (pull the card out, stop pcscd, reset the card
from another program) runs here, at a chosen command, while the tool runs over there.

The bound: every PC/SC wait is bounded by ``--timeout`` (5 s by default; 1 s here), plus at most
about 1 s for the adapter to tell a removed card from a mute one. ``SLACK_S`` adds Python start-up
and a loaded CI machine; the durations measured on a 2-core machine are in the README table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pcsc_clients import EXCLUSIVE, OtherProgram

from cardsim.faults import HookCard, RewritingCard, in_background, nth, on_ins, status_from
from cardsim.pcscd import PrivatePcscd
from cardsim.virtual import VirtualCard
from diagcps.report.model import load_schema

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "cardsim" / "profiles"
NOW = "2026-11-28T09:00:00"
#: The --timeout these runs get (seconds).
TIMEOUT = 1.0
#: What a faulty run may take beyond the waits it is allowed: start-up, the removal settle,
#: a busy machine. Generous on purpose: the point is "bounded", not "fast".
SLACK_S = 4.0
#: Read-only instructions (VERIFY, 20, only without data).
ALLOWED_INS = {0xA4, 0xB0, 0xC0, 0xCA, 0xCB, 0x20}

_SCHEMA = load_schema()


def card(profile: str) -> VirtualCard:
    return VirtualCard.from_file(PROFILES / f"{profile}.json")


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stderr: str
    seconds: float

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    @property
    def verdict(self) -> dict[str, Any]:
        return self.report["verdicts"]["card"]


def start_tool(*args: str, env: dict[str, str] | None = None,
               timeout: float = TIMEOUT) -> tuple[subprocess.Popen[str], float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "diagcps", "check", "--json", "--now", NOW, "--lang", "fr",
         "--timeout", str(timeout), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})})
    return proc, time.monotonic()


def finish(proc: subprocess.Popen[str], started: float, name: str) -> Run:
    stdout, stderr = proc.communicate(timeout=60)
    seconds = time.monotonic() - started
    print(f"[fault] {name}: exit {proc.returncode} in {seconds:.2f} s")
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    report = json.loads(stdout)  # stdout holds the JSON document and nothing else
    jsonschema.validate(report, _SCHEMA)
    return Run(proc.returncode, report, stderr, seconds)


def run_tool(name: str, *args: str, env: dict[str, str] | None = None,
             timeout: float = TIMEOUT) -> Run:
    proc, started = start_tool(*args, env=env, timeout=timeout)
    return finish(proc, started, name)


def assert_fault(run: Run, code: str, *, remedy_words: str, bound_s: float) -> dict[str, Any]:
    """The common promise of every fault: named precisely, with a remedy, exit 1, in time."""
    assert run.verdict["status"] == "fail", run.verdict
    assert run.verdict["code"] == code, run.verdict
    finding = next(c for c in run.report["checks"] if c["code"] == code)
    assert finding["status"] == "fail"
    assert remedy_words in (finding["remedy"] or ""), finding
    assert run.code == 1
    assert run.seconds < bound_s, f"{run.seconds:.2f} s"
    return finding


def assert_read_only(commands: list[bytes]) -> None:
    for raw in commands:
        assert raw[1] in ALLOWED_INS, raw.hex()
        if raw[1] == 0x20:
            assert len(raw) == 4, f"VERIFY with data reached the card: {raw.hex()}"


def _dedicated_daemon(**options: Any) -> PrivatePcscd:
    """A pcscd of this test's own (the session's must not be stopped or frozen)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("a second private pcscd needs root and unshare")
    return PrivatePcscd(**options).start()


def _wait_inserted(bridge: Any, timeout_s: float = 3.0) -> None:
    """pcscd powers a card on when its poll finds it (this process has no context on a
    dedicated daemon, so the card's own log tells)."""
    deadline = time.monotonic() + timeout_s
    while not bridge.events_of("power_on"):
        assert time.monotonic() < deadline, "pcscd never saw the card"
        time.sleep(0.01)


# --- the service and the readers -----------------------------------------------------------------

def test_no_pcscd(tmp_path: Path) -> None:
    run = run_tool("no pcscd", env={"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")})
    finding = assert_fault(run, "PCSC_SERVICE_DOWN", remedy_words="pcscd",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "pcsc.service"
    assert run.report["verdicts"]["workstation"]["code"] == "PCSC_SERVICE_DOWN"
    assert run.report["readers"] == []


def test_pcscd_without_readers() -> None:
    daemon = _dedicated_daemon(readers=False)
    try:
        run = run_tool("pcscd without readers", env=daemon.env)
    finally:
        daemon.stop()
    finding = assert_fault(run, "NO_READER", remedy_words="lecteur",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "reader.present"
    assert run.check("pcsc.service")["status"] == "ok"
    assert run.report["readers"] == []


def test_readers_without_a_card(pcsc_stack) -> None:
    from diagcps.pcsc import wait_for_reader

    for index in (0, 1):
        wait_for_reader(pcsc_stack.reader(index), {"empty"}, 3.0)
    run = run_tool("empty readers")
    assert_fault(run, "CARD_ABSENT", remedy_words="Insérez", bound_s=TIMEOUT + SLACK_S)
    assert [r["state"] for r in run.report["readers"]] == ["empty", "empty"]


def test_pcscd_frozen_is_a_timeout_not_a_hang() -> None:
    daemon = _dedicated_daemon()
    os.kill(daemon.pid, signal.SIGSTOP)  # our own child, by its PID
    try:
        run = run_tool("pcscd frozen", env=daemon.env)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        daemon.stop()
    finding = assert_fault(run, "PCSC_TIMEOUT", remedy_words="rebranchez",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "pcsc.service"
    assert run.seconds >= TIMEOUT  # it did wait, as long as it was told


def test_pcscd_stopped_during_the_run() -> None:
    from cardsim.vpcd import VpcdBridge

    daemon = _dedicated_daemon()
    virtual = card("cps3-healthy")
    # At the PIN read the service goes away (stopped from another thread: pcscd waits for this
    # very answer while it shuts down).
    faulty = HookCard(virtual, in_background(daemon.stop), when=on_ins(0xCB))
    bridge = VpcdBridge(faulty, port=daemon.vpcd_port)
    try:
        bridge.insert()
        _wait_inserted(bridge)
        run = run_tool("pcscd stopped during the run", env=daemon.env)
    finally:
        bridge.close()
        daemon.stop()
    assert faulty.fired.is_set()
    finding = assert_fault(run, "PCSC_SERVICE_STOPPED", remedy_words="Redémarrez",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "pcsc.service"
    assert run.verdict["summary"].startswith("Carte non vérifiée")
    assert run.report["verdicts"]["workstation"]["code"] == "PCSC_SERVICE_STOPPED"
    assert_read_only(faulty.commands())


# --- the card ------------------------------------------------------------------------------------

def test_mute_card_gives_its_atr_and_never_answers(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(card("cps3-healthy"), mute=True)
    run = run_tool("mute card")
    finding = assert_fault(run, "PCSC_TIMEOUT", remedy_words="carte",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "card.detected"
    assert run.seconds >= TIMEOUT
    assert run.verdict["summary"].startswith("Carte non vérifiée")
    assert len(bridge.events_of("apdu")) == 1  # one unanswered command, then nothing more


def test_card_that_stops_answering_in_the_middle(pcsc_stack) -> None:
    holder: dict[str, Any] = {}

    def go_mute(_command: bytes) -> None:
        holder["bridge"].mute = True  # this answer still goes out; the next ones never do

    faulty = HookCard(card("cps3-healthy"), go_mute, when=on_ins(0xCB))
    holder["bridge"] = pcsc_stack.serve(faulty)
    run = run_tool("card mute mid-read")
    finding = assert_fault(run, "PCSC_TIMEOUT", remedy_words="carte",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "card.pin"
    assert run.check("card.detected")["status"] == "ok"


@pytest.mark.parametrize(
    ("step", "profile", "when", "failing_check"),
    [("detection", "cps3-healthy", nth(2), "card.detected"),
     ("pin", "cps3-healthy", on_ins(0xCB), "card.pin"),
     ("pin-cps4", "cps4-healthy", on_ins(0x20), "card.pin"),
     ("identity", "cps3-healthy", on_ins(0xA4, data_prefix=bytes.fromhex("3F000001D001")),
      "card.certificates"),
     ("certificates", "cps3-healthy",
      on_ins(0xA4, data_prefix=bytes.fromhex("3F000001C001")), "card.certificates")],
)
def test_card_removed_in_the_middle(pcsc_stack, step: str, profile: str, when: Any,
                                    failing_check: str) -> None:
    holder: dict[str, Any] = {}
    faulty = HookCard(card(profile), lambda _command: holder["bridge"].remove(), when=when)
    holder["bridge"] = pcsc_stack.serve(faulty)
    run = run_tool(f"card removed during {step}")
    assert faulty.fired.is_set()
    finding = assert_fault(run, "CARD_REMOVED", remedy_words="Réinsérez",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == failing_check
    assert run.verdict["summary"].startswith("Carte non vérifiée")
    read = run.check("card.read")
    if read["status"] != "skipped":
        assert read["code"] == "CARD_REMOVED"
    # Nothing was sent after the command the card never answered.
    assert faulty.count == faulty.fired_at_index
    assert_read_only(faulty.commands())


def test_card_reset_by_another_program_waits_for_the_diagnosis(pcsc_stack) -> None:
    """pcsc-lite makes another program's reset wait while the tool holds its transaction: the
    diagnosis is not disturbed, and the reset goes through as soon as the tool lets go."""
    virtual = card("cps3-healthy")
    done: dict[str, Any] = {}

    def reset_from_the_other_program() -> None:
        done["hresult"] = done["other"].reset()
        done["at"] = time.monotonic()

    faulty = HookCard(virtual, in_background(reset_from_the_other_program), when=on_ins(0xCB))
    bridge = pcsc_stack.serve(faulty)
    other = done["other"] = OtherProgram(pcsc_stack.reader(0))
    try:
        bridge.clear_events()
        run = run_tool("card reset by another program during the diagnosis")
        deadline = time.monotonic() + 3.0
        while "at" not in done and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        other.close()
    assert done.get("hresult") == 0
    assert run.verdict["status"] == "ok" and run.code == 0
    last_apdu = max(e.timestamp for e in bridge.events_of("apdu"))
    resets = bridge.events_of("reset")
    assert len(resets) == 1 and resets[0].timestamp > last_apdu
    assert run.seconds < TIMEOUT + SLACK_S


def test_exclusive_connection_of_another_program(pcsc_stack) -> None:
    virtual = card("cps3-healthy")
    pcsc_stack.serve(virtual)
    other = OtherProgram(pcsc_stack.reader(0), share=EXCLUSIVE)
    try:
        run = run_tool("exclusive connection of another program")
    finally:
        other.close()
    finding = assert_fault(run, "CARD_IN_USE", remedy_words="Fermez",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "card.present"
    assert run.report["readers"][0]["state"] == "in_use"
    assert virtual.commands() == []


def test_transaction_of_another_program_held_beyond_the_bound(pcsc_stack) -> None:
    virtual = card("cps3-healthy")
    bridge = pcsc_stack.serve(virtual)
    other = OtherProgram(pcsc_stack.reader(0))
    other.begin()
    try:
        bridge.clear_events()
        run = run_tool("transaction of another program held")
    finally:
        other.end()
        other.close()
    finding = assert_fault(run, "CARD_IN_USE", remedy_words="Fermez",
                           bound_s=TIMEOUT + SLACK_S)
    assert finding["id"] == "card.present"
    assert run.seconds >= TIMEOUT  # waited as long as allowed, no longer
    assert virtual.commands() == []
    assert bridge.events_of("reset", "power_off") == []


def test_transaction_of_another_program_is_waited_for_within_the_bound(pcsc_stack) -> None:
    virtual = card("cps3-healthy")
    pcsc_stack.serve(virtual)
    other = OtherProgram(pcsc_stack.reader(0))
    other.begin()
    release = threading.Timer(0.6, other.end)
    try:
        proc, started = start_tool(timeout=3.0)
        release.start()
        run = finish(proc, started, "transaction of another program released after 0.6 s")
    finally:
        release.join()
        other.close()
    assert run.verdict["status"] == "ok" and run.code == 0
    assert 0.6 <= run.seconds < 3.0 + SLACK_S
    assert virtual.commands()


def test_several_readers_with_several_cards(pcsc_stack) -> None:
    vitale, cps = card("vitale"), card("cps3-pin-blocked")
    pcsc_stack.serve(vitale, reader=0)
    pcsc_stack.serve(cps, reader=1)
    run = run_tool("several readers, several cards")
    assert_fault(run, "PIN_BLOCKED", remedy_words="déblocage", bound_s=TIMEOUT + SLACK_S)
    several = run.check("reader.present")
    assert several["code"] == "SEVERAL_READERS" and several["status"] == "ok"
    readers = run.report["readers"]
    assert [r["diagnosed"] for r in readers] == [False, True]
    assert readers[0]["card"]["detection"] == "wrong_card"
    assert readers[1]["card"]["pin"]["state"] == "blocked"
    assert vitale.commands() == []


# --- in process: the tool's connection is released on every path ---------------------------------

def _diagnose_in_process(timeout_s: float = 2.0) -> tuple[Any, dict[str, Any]]:
    from diagcps.diagnosis import diagnose
    from diagcps.report.model import build_report
    from diagcps.sources import PcscSource

    diagnosis = diagnose(PcscSource(timeout_s=timeout_s),
                         skip=("workstation.cryptolib", "workstation.firefox",
                               "workstation.clock"),
                         now=datetime(2026, 11, 28, 9, tzinfo=timezone.utc),
                         dictionary=Path("/nonexistent/DICO-FR.GIP"))
    report = build_report(diagnosis, lang="fr")
    jsonschema.validate(report, _SCHEMA)
    return diagnosis, report


def _assert_released(reader: str) -> None:
    """Nobody holds the card any more: no PC/SC handle of ours, no transaction, no worker."""
    from diagcps import pcsc

    state = next(r for r in pcsc.list_readers() if r.name == reader)
    assert not state.held_by_others, hex(state.flags)
    other = OtherProgram(reader)
    try:
        started = time.monotonic()
        other.begin()  # would wait if a transaction had been left behind
        assert time.monotonic() - started < 0.5
        other.end()
    finally:
        other.close()
    deadline = time.monotonic() + 2.0
    while any(t.name.startswith("pcsc-") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "PC/SC worker thread left behind"
        time.sleep(0.02)


def test_reset_between_connection_and_transaction_is_retried_once(pcsc_stack,
                                                                  monkeypatch) -> None:
    from diagcps import pcsc

    pcsc_stack.serve(card("cps3-healthy"))
    reader = pcsc_stack.reader(0)
    other = OtherProgram(reader)
    original = pcsc.PcscTransport._begin_transaction
    resets = []

    def begin_after_a_reset(self: Any, deadline: float) -> None:
        if not resets:  # another program resets the card in the tool's one unguarded moment
            resets.append(other.reset())
        original(self, deadline)

    monkeypatch.setattr(pcsc.PcscTransport, "_begin_transaction", begin_after_a_reset)
    try:
        _diagnosis, report = _diagnose_in_process()
    finally:
        other.close()
    assert resets == [0]
    assert report["verdicts"]["card"]["status"] == "ok"
    read = next(c for c in report["checks"] if c["id"] == "card.read")
    assert read["details"]["retried_after"] == "CARD_RESET"
    _assert_released(reader)


def test_reset_again_on_the_retry_reports_card_reset(pcsc_stack, monkeypatch) -> None:
    from diagcps import pcsc
    from diagcps.cli import exit_code

    pcsc_stack.serve(card("cps3-healthy"))
    reader = pcsc_stack.reader(0)
    other = OtherProgram(reader)
    original = pcsc.PcscTransport._begin_transaction

    def begin_after_a_reset(self: Any, deadline: float) -> None:
        assert other.reset() == 0
        original(self, deadline)

    monkeypatch.setattr(pcsc.PcscTransport, "_begin_transaction", begin_after_a_reset)
    try:
        _diagnosis, report = _diagnose_in_process()
    finally:
        other.close()
    verdict = report["verdicts"]["card"]
    assert (verdict["status"], verdict["code"]) == ("fail", "CARD_RESET")
    assert verdict["summary"].startswith("Carte non vérifiée")
    finding = next(c for c in report["checks"] if c["code"] == "CARD_RESET")
    assert "réessayé" in finding["remedy"]
    assert exit_code(report) == 1
    _assert_released(reader)


def test_connection_released_after_garbage_answers(pcsc_stack) -> None:
    faulty = RewritingCard(card("cps3-healthy"), status_from(4, 0x6F00))
    pcsc_stack.serve(faulty)
    _diagnosis, report = _diagnose_in_process()
    assert report["verdicts"]["card"]["status"] in ("warning", "fail")
    assert_read_only(faulty.commands())
    _assert_released(pcsc_stack.reader(0))


def test_connection_released_when_interrupted(pcsc_stack) -> None:
    def interrupt(_command: bytes) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to this process's main thread
        time.sleep(0.05)  # the tool is still waiting for this very answer when it arrives

    faulty = HookCard(card("cps3-healthy"), interrupt, when=on_ins(0xCB))
    pcsc_stack.serve(faulty)
    # Python's own Ctrl-C handler, even when the suite runs as a background job (which starts
    # with SIGINT ignored): the signal must land as a terminal would deliver it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _diagnose_in_process()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert faulty.fired.is_set()
    _assert_released(pcsc_stack.reader(0))


def test_readers_command_on_a_service_without_readers_says_so_and_exits_1() -> None:
    daemon = _dedicated_daemon(readers=False)
    try:
        done = subprocess.run([sys.executable, "-m", "diagcps", "readers", "--lang", "en"],
                              capture_output=True, text=True, timeout=30,
                              env={**os.environ, **daemon.env}, check=False)
        as_json = subprocess.run([sys.executable, "-m", "diagcps", "readers", "--json"],
                                 capture_output=True, text=True, timeout=30,
                                 env={**os.environ, **daemon.env}, check=False)
    finally:
        daemon.stop()
    assert done.returncode == 1
    assert "NO_READER" in done.stderr and "Plug your reader in" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(as_json.stdout) == {"readers": [], "error": {"code": "NO_READER",
                                                                   "message": "no reader"}}
    assert as_json.returncode == 1
