"""Ctrl-C at any point ends the tool within half a second, a mute card included.

A mute card never answers: the exchange in flight is stuck in the PC/SC library until
``--timeout``. Ctrl-C must not wait for it. Measured through the real stack: the tool runs as a
user runs it (a subprocess), the signal is sent once the card has received a command (the
bridge's own log says so), and the time from the signal to the end of the process is compared
with the ``--timeout`` the run was given: a tenth of it at most (0.5 s of the default 5 s).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tool_process import start_tool

from cardsim.virtual import VirtualCard

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T09:00:00"
TIMEOUT = 5.0


def _interrupt_when(proc: subprocess.Popen[str], ready: Callable[[], bool],
                    what: str) -> float:
    deadline = time.monotonic() + 20
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.005)
    time.sleep(0.05)  # the tool is now waiting for the answer that never comes
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=TIMEOUT * 3)
    return time.monotonic() - sent


@pytest.mark.pcsc
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_ctrl_c_on_a_mute_card_ends_within_a_tenth_of_the_timeout(pcsc_stack, lang: str) -> None:
    bridge = pcsc_stack.serve(VirtualCard.from_file(ROOT / "cardsim/profiles/cps3-healthy.json"),
                              mute=True)
    bridge.clear_events()
    proc = start_tool("check", "--json", "--now", NOW, "--lang", lang, "--timeout", str(TIMEOUT))
    seconds = _interrupt_when(proc, lambda: bool(bridge.events_of("apdu")), "first command")
    stdout, stderr = proc.communicate()
    print(f"[ctrl-c] mute card, --timeout {TIMEOUT:g}: exit {proc.returncode} "
          f"{seconds * 1000:.0f} ms after the signal")
    assert proc.returncode == 130
    assert seconds <= TIMEOUT / 10, f"{seconds:.2f} s"
    assert stdout == ""
    assert stderr.strip() == ("diagcps : interrompu" if lang == "fr" else "diagcps: interrupted")
    assert len(bridge.events_of("apdu")) == 1  # nothing more was sent to the card


@pytest.mark.pcsc
def test_ctrl_c_while_another_program_holds_the_card_is_as_quick(pcsc_stack) -> None:
    """The tool waits up to --timeout for another program's PC/SC transaction (the library
    retries for ever): Ctrl-C during that wait ends it at once too."""
    from smartcard import scard

    pcsc_stack.serve(VirtualCard.from_file(ROOT / "cardsim/profiles/cps3-healthy.json"))
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hresult, other, _ = scard.SCardConnect(context, pcsc_stack.reader(0),
                                           scard.SCARD_SHARE_SHARED,
                                           scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    assert hresult == 0
    assert scard.SCardBeginTransaction(other) == 0
    try:
        proc = start_tool("check", "--json", "--now", NOW, "--timeout", str(TIMEOUT))
        started = time.monotonic()
        # Start-up and connection take well under a second; the wait lasts TIMEOUT.
        seconds = _interrupt_when(proc, lambda: time.monotonic() - started > 1.5,
                                  "the wait for the transaction")
        _stdout, stderr = proc.communicate()
    finally:
        scard.SCardEndTransaction(other, scard.SCARD_LEAVE_CARD)
        scard.SCardDisconnect(other, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    print(f"[ctrl-c] waiting for another program's transaction: {seconds * 1000:.0f} ms")
    assert proc.returncode == 130
    assert seconds <= TIMEOUT / 10
    assert "Traceback" not in stderr
