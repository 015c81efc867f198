"""The real chain: pyscard -> libpcsclite -> private pcscd -> vpcd -> a card in this process.

Every PC/SC situation the tool reports (TROUBLESHOOTING.md section 3) is produced here for real,
and the tool's manners are checked from the card's side: shared mode, a transaction, and a
disconnect that neither resets nor powers off the card.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from apdu.command import CommandApdu
from apdu.errors import TransportError
from diagcps import pcsc

pytestmark = pytest.mark.pcsc

ATR = bytes.fromhex("3BAC00402A001225006480000310009000")
SELECT_MF = CommandApdu(0x00, 0xA4, 0x00, 0x00, b"\x3F\x00")
READ = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class EchoCard:
    """A card that answers every command with its own bytes followed by 90 00."""

    atr = ATR

    def __init__(self) -> None:
        self.commands: list[bytes] = []

    def process(self, command: bytes) -> bytes:
        self.commands.append(command)
        return command + b"\x90\x00"

    def power_on(self) -> None:
        pass

    def power_off(self) -> None:
        pass

    def reset(self) -> None:
        pass


def _other_program() -> tuple[object, int]:
    """Another PC/SC client in its own context: ``(scard module, context)``."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == 0
    return scard, context


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}, check=False,
    )


def test_readers_go_from_empty_to_present_with_the_atr_and_back(pcsc_stack) -> None:
    names = [r.name for r in pcsc.list_readers()]
    assert names == ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    pcsc.wait_for_reader(pcsc_stack.reader(0), {"empty"}, 3.0)

    bridge = pcsc_stack.serve(EchoCard())
    first, second = pcsc.list_readers()
    assert (first.state, first.atr, first.exclusive) == ("present", ATR, False)
    assert (second.state, second.atr) == ("empty", None)

    bridge.remove()
    gone = pcsc.wait_for_reader(pcsc_stack.reader(0), {"empty"}, 3.0)
    assert gone.atr is None


def test_transport_round_trip_returns_the_card_answer(pcsc_stack) -> None:
    card = EchoCard()
    pcsc_stack.serve(card)
    with pcsc.PcscTransport.connect(pcsc_stack.reader(0), timeout_s=2.0) as transport:
        assert transport.atr == ATR
        response = transport.transmit(SELECT_MF)
    assert response.sw == 0x9000
    assert response.data == SELECT_MF.to_bytes()
    assert card.commands == [SELECT_MF.to_bytes()]


def test_closing_leaves_the_card_powered_and_another_session_intact(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(EchoCard())
    reader = pcsc_stack.reader(0)
    scard, context = _other_program()
    # Another program keeps a session open all along: pcscd then never idles the card off, so
    # any power-off or reset the card sees can only come from the tool.
    hresult, other, protocol = scard.SCardConnect(
        context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    )
    assert hresult == 0
    try:
        bridge.clear_events()
        transport = pcsc.PcscTransport.connect(reader, timeout_s=2.0)
        transport.transmit(SELECT_MF)
        transport.close()
        time.sleep(0.6)  # longer than pcscd's poll: late power events would show up
        assert bridge.events_of("power_off", "reset", "power_on") == []

        # The other program's session carries on without a reset warning.
        pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        hresult, response = scard.SCardTransmit(other, pci, list(READ.to_bytes()))
        assert hresult == 0 and bytes(response[-2:]) == b"\x90\x00"

        # The probe is sensitive: a program that unpowers on disconnect is seen at once.
        hresult, rude, _ = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED,
                                              scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        assert hresult == 0
        scard.SCardDisconnect(rude, scard.SCARD_UNPOWER_CARD)
        # Control messages get no reply: the bridge logs this one just after pcscd sent it.
        deadline = time.monotonic() + 1.0
        while not bridge.events_of("power_off") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [e.kind for e in bridge.events_of("power_off", "reset")] == ["power_off"]
    finally:
        scard.SCardDisconnect(other, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)


def test_no_service_maps_to_pcsc_service_down(tmp_path: Path) -> None:
    # libpcsclite keeps the socket path of its first context: a fresh process is needed.
    code = (
        "from diagcps import pcsc\n"
        "try:\n"
        "    pcsc.list_readers()\n"
        "except pcsc.PcscError as exc:\n"
        "    print(exc.code, hex(exc.hresult))\n"
    )
    result = _run_python(code, {"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-such.comm")})
    assert result.stdout.split() == ["PCSC_SERVICE_DOWN", "0x8010001d"], result.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root")
def test_missing_pcsc_library_maps_to_library_missing_and_keeps_stdout_clean() -> None:
    import ctypes.util

    library = ctypes.util.find_library("pcsclite")
    path = next((str(p.resolve()) for p in Path("/").glob(f"usr/lib/*/{library}")), None)
    if path is None:
        pytest.skip(f"cannot locate {library}")
    # Hide the library in a private mount namespace: the system is untouched.
    code = (
        "from diagcps import pcsc\n"
        "try:\n"
        "    pcsc.list_readers()\n"
        "except pcsc.PcscError as exc:\n"
        "    print(exc.code)\n"
    )
    script = f'mount --bind /dev/null "{path}" && exec "{sys.executable}" -c "$0"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, code],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, check=False,
    )
    # Exactly the code: pyscard's own "Failed to dlopen" would have gone to stdout.
    assert result.stdout == "PCSC_LIBRARY_MISSING\n", result.stderr


def test_connecting_to_an_empty_reader_maps_to_card_absent(pcsc_stack) -> None:
    with pytest.raises(pcsc.PcscError) as caught:
        pcsc.PcscTransport.connect(pcsc_stack.reader(1), timeout_s=2.0)
    assert caught.value.code == "CARD_ABSENT"
    assert caught.value.hresult == 0x8010000C


def test_card_removed_mid_session_maps_to_card_removed(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(EchoCard())
    with pcsc.PcscTransport.connect(pcsc_stack.reader(0), timeout_s=2.0) as transport:
        assert transport.transmit(READ).sw == 0x9000
        bridge.remove()
        with pytest.raises(TransportError) as caught:
            transport.transmit(READ)
    assert caught.value.code == "CARD_REMOVED"


def test_mute_card_transmit_ends_in_pcsc_timeout_within_the_bound(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(EchoCard(), mute=True)
    transport = pcsc.PcscTransport.connect(pcsc_stack.reader(0), timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        transport.transmit(READ)
    elapsed = time.monotonic() - started
    assert caught.value.code == "PCSC_TIMEOUT"
    assert 0.45 <= elapsed < 1.5
    with pytest.raises(TransportError) as again:  # the stuck connection is not reused
        transport.transmit(READ)
    assert again.value.code == "PCSC_TIMEOUT"
    started = time.monotonic()
    transport.close()
    assert time.monotonic() - started < 0.1  # close() does not wait for the stuck call

    # Taking the card out ends the stuck call; its worker then cleans up and goes away.
    bridge.remove()
    deadline = time.monotonic() + 3.0
    while any(t.name.startswith("pcsc-") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "PC/SC worker thread left behind"
        time.sleep(0.02)


def test_card_held_exclusively_by_another_program_maps_to_card_in_use(pcsc_stack) -> None:
    pcsc_stack.serve(EchoCard())
    reader = pcsc_stack.reader(0)
    scard, context = _other_program()
    hresult, holder, _ = scard.SCardConnect(context, reader, scard.SCARD_SHARE_EXCLUSIVE,
                                            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    assert hresult == 0
    try:
        state = next(r for r in pcsc.list_readers() if r.name == reader)
        assert (state.state, state.exclusive) == ("in_use", True)
        started = time.monotonic()
        with pytest.raises(pcsc.PcscError) as caught:
            pcsc.PcscTransport.connect(reader, timeout_s=1.0)
        assert time.monotonic() - started < 1.5
        assert caught.value.code == "CARD_IN_USE"
    finally:
        scard.SCardDisconnect(holder, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)


def test_card_locked_in_another_transaction_maps_to_card_in_use_within_the_bound(
    pcsc_stack,
) -> None:
    bridge = pcsc_stack.serve(EchoCard())
    reader = pcsc_stack.reader(0)
    scard, context = _other_program()
    hresult, holder, _ = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED,
                                            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    assert hresult == 0
    try:
        assert scard.SCardBeginTransaction(holder) == 0
        bridge.clear_events()
        # pcscd itself makes SCardConnect wait for the other transaction: bounded by the tool.
        started = time.monotonic()
        with pytest.raises(pcsc.PcscError) as caught:
            pcsc.PcscTransport.connect(reader, timeout_s=0.5)
        assert time.monotonic() - started < 1.5
        assert caught.value.code == "CARD_IN_USE"
        assert scard.SCardEndTransaction(holder, scard.SCARD_LEAVE_CARD) == 0

        # A transaction taken between our connect and our own transaction: bounded as well.
        transport = pcsc.PcscTransport.connect(reader, timeout_s=0.5, transaction=False)
        assert scard.SCardBeginTransaction(holder) == 0
        started = time.monotonic()
        with pytest.raises(pcsc.PcscError) as caught:
            transport._begin_transaction(time.monotonic() + 0.5)
        assert time.monotonic() - started < 1.5
        assert caught.value.code == "CARD_IN_USE"
        transport.close()
        assert scard.SCardEndTransaction(holder, scard.SCARD_LEAVE_CARD) == 0
        assert bridge.events_of("power_off", "reset") == []
    finally:
        scard.SCardDisconnect(holder, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)


def test_card_reset_by_another_program_maps_to_card_reset(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(EchoCard())
    reader = pcsc_stack.reader(0)
    scard, context = _other_program()
    transport = pcsc.PcscTransport.connect(reader, timeout_s=2.0, transaction=False)
    try:
        hresult, other, _ = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED,
                                               scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        assert hresult == 0
        hresult, _ = scard.SCardReconnect(other, scard.SCARD_SHARE_SHARED,
                                          scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                                          scard.SCARD_RESET_CARD)
        assert hresult == 0
        with pytest.raises(TransportError) as caught:
            transport.transmit(READ)
        assert caught.value.code == "CARD_RESET"
        assert [e.kind for e in bridge.events_of("reset")] == ["reset"]  # the card saw it too
        scard.SCardDisconnect(other, scard.SCARD_LEAVE_CARD)
    finally:
        transport.close()
        scard.SCardReleaseContext(context)


def test_a_slow_card_is_waited_for_and_a_swapped_card_shows_its_own_atr(pcsc_stack) -> None:
    bridge = pcsc_stack.serve(EchoCard(), delay_s=0.05)
    reader = pcsc_stack.reader(0)
    with pcsc.PcscTransport.connect(reader, timeout_s=2.0) as transport:
        started = time.monotonic()
        assert transport.transmit(READ).sw == 0x9000
        assert time.monotonic() - started >= 0.05

    other = EchoCard()
    other.atr = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
    bridge.swap(other)
    deadline = time.monotonic() + 3.0
    while next(r for r in pcsc.list_readers() if r.name == reader).atr != other.atr:
        assert time.monotonic() < deadline, "pcscd never saw the swapped card"
        time.sleep(0.05)
    with pcsc.PcscTransport.connect(reader, timeout_s=2.0) as transport:
        assert transport.atr == other.atr


def test_a_subprocess_reaches_the_private_daemon_through_env(pcsc_stack) -> None:
    code = "from diagcps import pcsc\nprint(len(pcsc.list_readers()))\n"
    result = _run_python(code, pcsc_stack.pcscd.env)
    assert result.stdout.strip() == "2", result.stderr
