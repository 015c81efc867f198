"""The real PC/SC stack for tests marked ``pcsc``: a private pcscd with vpcd readers.

Tests marked ``@pytest.mark.pcsc`` are skipped when the stack cannot run here, and fail instead
when ``DIAGCPS_REQUIRE_PCSC=1`` (CI that must exercise it). They get the session-wide stack
through the ``pcsc_stack`` fixture::

    @pytest.mark.pcsc
    def test_something(pcsc_stack):
        with pcsc_stack.serve(card) as bridge:     # in "Virtual PCD 00 00", seen as present
            ...

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, at the first PC/SC context, and keeps
it. So when the daemon can be isolated, the variable is set at configure time, before any test
(of any group) could open a context, to the socket the private daemon will create: no test ever
talks to a system pcscd by accident.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from apdu.cardmodel import CardModel
    from cardsim.pcscd import PrivatePcscd
    from cardsim.vpcd import VpcdBridge

# pytest puts tests/ on sys.path to import this file, and tests/apdu (no __init__.py) would then
# be imported as a namespace package named "apdu", shadowing the real one. A regular package
# anywhere on sys.path wins over a namespace portion, so the project root goes on it too, before
# anything imports apdu (hence the imports inside the functions below).
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
if _PROJECT_ROOT not in sys.path:
    sys.path.append(_PROJECT_ROOT)

REQUIRE_ENV = "DIAGCPS_REQUIRE_PCSC"
#: Bound on waiting for pcscd to see an insertion or removal (it polls vpcd every 400 ms).
SEEN_TIMEOUT_S = 3.0

_run_dir: Path | None = None
_stack: PcscStack | None = None


@functools.cache
def _stack_problem() -> str | None:
    """Why the real stack cannot run here, or None."""
    import importlib.util

    from cardsim.pcscd import PrivatePcscd

    ready, reason = PrivatePcscd.available()
    if not ready:
        return reason
    if importlib.util.find_spec("smartcard") is None:
        return "pyscard is not installed"
    from diagcps.pcsc import library_problem

    return library_problem()


#: An empty machine for every test: the workstation checks, the card reading's code tables and
#: the browsers are looked for under it, never on the machine running the tests (which may have
#: the real Cryptolib, its DICO-FR.GIP or a Firefox profile). Tests that need files build them
#: under a root of their own.
_machine_root: Path | None = None


def _isolate_from_the_machine() -> None:
    global _machine_root
    from diagcps.workstation.paths import ROOT_VARIABLE

    _machine_root = Path(tempfile.mkdtemp(prefix="diagcps-empty-root-"))
    os.environ[ROOT_VARIABLE] = str(_machine_root)
    # read_card(dictionary=None) loads the code tables from where the Cryptolib installs
    # DICO-FR.GIP: in tests, that place is under the empty root too.
    import platform

    from diagcps.cps import codes
    from diagcps.workstation.cryptolib import installed_dictionary

    tables = getattr(codes, "CodeTables", None)
    load = getattr(tables, "load", None)
    if load is not None:
        def load_under_test_root(cls: Any, path: Path | None = None) -> Any:
            if path is None:
                path = installed_dictionary(platform.system(), _machine_root or Path("/"))
            return load.__func__(cls, path)

        tables.load = classmethod(load_under_test_root)


def pytest_configure(config: pytest.Config) -> None:
    from cardsim.pcscd import PrivatePcscd

    global _run_dir
    # Every ``diagcps check`` of the suite (in process or in a child) is offline: no test may
    # reach the internet. The network family's own tests run in private network namespaces.
    os.environ["DIAGCPS_OFFLINE"] = "1"
    _isolate_from_the_machine()
    if PrivatePcscd.available()[0] and os.geteuid() == 0 and shutil.which("unshare"):
        _run_dir = Path(tempfile.mkdtemp(prefix="diagcps-pcscd-run-"))
        os.environ["PCSCLITE_CSOCK_NAME"] = PrivatePcscd.planned_socket_path(_run_dir)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _stack is not None:
        _stack.shutdown()
    if _run_dir is not None:
        shutil.rmtree(_run_dir, ignore_errors=True)
    if _machine_root is not None:
        shutil.rmtree(_machine_root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the PC/SC stack cannot run: {reason}", pytrace=False)
    pytest.skip(f"PC/SC stack unavailable: {reason}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("pcsc") is not None:
        problem = _stack_problem()
        if problem is not None:
            _unavailable(problem)


@dataclass
class PcscStack:
    """The private pcscd and the cards served into its two vpcd readers."""

    pcscd: PrivatePcscd
    bridges: list[VpcdBridge] = field(default_factory=list)

    def reader(self, index: int = 0) -> str:
        return self.pcscd.reader_names[index]

    def serve(self, card: CardModel, reader: int = 0, **bridge_options: Any) -> VpcdBridge:
        """Insert ``card`` into reader ``reader`` and return once pcscd shows it present.

        Waits first for the reader to be empty: a card removed a moment ago stays "present" until
        pcscd's next poll, and a test must not mistake it for the new one.
        """
        from cardsim.vpcd import VpcdBridge
        from diagcps.pcsc import wait_for_reader

        name = self.reader(reader)
        wait_for_reader(name, {"empty"}, SEEN_TIMEOUT_S)
        bridge = VpcdBridge(card, port=self.pcscd.vpcd_port + reader, **bridge_options)
        bridge.insert()
        self.bridges.append(bridge)
        wait_for_reader(name, {"present", "in_use"}, SEEN_TIMEOUT_S)
        return bridge

    @contextlib.contextmanager
    def logged_in_elsewhere(self, card: Any, reader: int = 0) -> Iterator[VpcdBridge]:
        """Serve a CPS4 and log in to it from another PC/SC client, as a middleware does
        (ChipDoc on channel 1, then VERIFY with the PIN): that program's session must survive
        whatever the test does next. Yields the bridge, its events cleared."""
        from smartcard import scard

        bridge = self.serve(card, reader)
        pin = card.pins[1]
        _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        hresult, handle, protocol = scard.SCardConnect(
            context, self.reader(reader), scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        assert hresult == 0
        try:
            for apdu in ("01A4040C088025000001FF0100",
                         f"01200001{len(pin.value):02X}{pin.value.hex()}"):
                hresult, answer = scard.SCardTransmit(handle, protocol,
                                                      list(bytes.fromhex(apdu)))
                assert hresult == 0 and bytes(answer[-2:]) == b"\x90\x00"
            assert pin.verified
            bridge.clear_events()
            yield bridge
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
            scard.SCardReleaseContext(context)

    def remove_all(self) -> None:
        for bridge in self.bridges:
            bridge.close()
        self.bridges.clear()

    def shutdown(self) -> None:
        self.remove_all()
        self.pcscd.stop()


@pytest.fixture(scope="session")
def pcsc_stack() -> Iterator[PcscStack]:
    """The session's private pcscd (started on first use, stopped at the end of the run)."""
    from cardsim.pcscd import PrivatePcscd

    global _stack
    problem = _stack_problem()
    if problem is not None:
        _unavailable(problem)
    daemon = PrivatePcscd(run_dir=_run_dir).start()
    # Without isolation the daemon uses the system socket, known only now.
    os.environ["PCSCLITE_CSOCK_NAME"] = daemon.socket_path
    _stack = PcscStack(daemon)
    try:
        yield _stack
    finally:
        _stack.shutdown()
        _stack = None


@pytest.fixture(autouse=True)
def _pcsc_cards_out() -> Iterator[None]:
    """Take out whatever card a test left in a reader, so that the next test starts clean."""
    yield
    if _stack is not None:
        _stack.remove_all()


# --- hypothesis profiles -------------------------------------------------------------------------
# HYPOTHESIS_PROFILE selects one; "ci" is the default. "ci": the card fuzz runs 2,000 examples
# (tests without their own max_examples), derandomized so that a CI run is reproducible. "long":
# 50,000 random examples, for a soak run (see the README, "Faults and bad input").
from hypothesis import HealthCheck as _HealthCheck  # noqa: E402
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", max_examples=2000, deadline=None, derandomize=True,
                                      suppress_health_check=[_HealthCheck.too_slow])
_hypothesis_settings.register_profile("long", max_examples=50_000, deadline=None,
                                      suppress_health_check=[_HealthCheck.too_slow])
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
