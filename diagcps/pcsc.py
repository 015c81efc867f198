"""The PC/SC adapter: the only module of diagcps that imports pyscard.

pyscard is imported lazily (inside functions) so that ``import diagcps.pcsc`` stays cheap and a
machine without pyscard or libpcsclite still gets a diagnosis (``PCSC_LIBRARY_MISSING``) instead of
an import error.

Three things about libpcsclite shape this module (measured with pcsc-lite 1.9.9):

* Some calls block with no time-out of their own: ``SCardTransmit`` to a card that never answers
  (vpcd has no time-out at all), ``SCardBeginTransaction`` while another program holds a transaction
  (the library retries every 100 ms for ever) and ``SCardConnect`` while another program holds a
  transaction (the daemon itself waits). pyscard releases the GIL in these calls, so each one runs
  in a worker thread and the caller waits a bounded time.
* A call stuck on a context holds that context's mutex, and libpcsclite takes a process-wide lock
  while it waits for a context's mutex: touching a stuck context from another thread freezes every
  PC/SC call of the process. So each :class:`PcscTransport` owns a private context used by one
  worker thread only; after a time-out the context is abandoned to that thread, which cleans up
  (``SCARD_LEAVE_CARD``) if the stuck call ever returns. The one exception is the
  ``SCardBeginTransaction`` retry loop, which releases the mutex between tries: disconnecting from
  outside is safe there and stops the loop.
* libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once, at the first ``SCardEstablishContext`` of the
  process, and keeps it.

Before importing pyscard the library is loaded with ctypes first: when libpcsclite is missing,
pyscard prints "Failed to dlopen" on *stdout* (which would corrupt a JSON report) and then reports
``SCARD_E_NO_SERVICE``, which would be the wrong diagnosis.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from apdu.command import CommandApdu
from apdu.errors import TransportError
from apdu.response import ResponseApdu

T = TypeVar("T")

#: ``-vv`` shows the PC/SC steps here (connection, transaction, release).
log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
#: How long a broken exchange waits for the reader to tell a removal from a mute card: pcscd
#: polls readers every 400 ms, so a removal is known within one poll.
_SETTLE_S = 1.0
#: After Ctrl-C or SIGTERM, how long closing waits for the exchange in flight to end, so that the
#: card is left as found (transaction ended, SCARD_LEAVE_CARD): a card answers within tens of
#: milliseconds; the whole exit must stay under half a second.
_INTERRUPTED_GRACE_S = 0.25

# --- return codes (identical in pcsc-lite and WinSCard) -----------------------------------------

SCARD_S_SUCCESS = 0x00000000
SCARD_E_CANCELLED = 0x80100002
SCARD_E_INVALID_HANDLE = 0x80100003
SCARD_E_UNKNOWN_READER = 0x80100009
SCARD_E_TIMEOUT = 0x8010000A
SCARD_E_SHARING_VIOLATION = 0x8010000B
SCARD_E_NO_SMARTCARD = 0x8010000C
SCARD_E_PROTO_MISMATCH = 0x8010000F
SCARD_F_COMM_ERROR = 0x80100013
SCARD_E_NOT_TRANSACTED = 0x80100016
SCARD_E_READER_UNAVAILABLE = 0x80100017
SCARD_E_NO_SERVICE = 0x8010001D
SCARD_E_SERVICE_STOPPED = 0x8010001E
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
SCARD_W_UNSUPPORTED_CARD = 0x80100065
SCARD_W_UNRESPONSIVE_CARD = 0x80100066
SCARD_W_UNPOWERED_CARD = 0x80100067
SCARD_W_RESET_CARD = 0x80100068
SCARD_W_REMOVED_CARD = 0x80100069

#: Finding code when nothing more precise is known (not a catalogue entry of its own).
GENERIC_CODE = "PCSC_ERROR"

_FINDINGS: dict[int, str] = {
    SCARD_E_NO_SERVICE: "PCSC_SERVICE_DOWN",
    SCARD_E_SERVICE_STOPPED: "PCSC_SERVICE_STOPPED",
    # The daemon went away under an open context (measured: pcscd killed mid-session).
    SCARD_F_COMM_ERROR: "PCSC_SERVICE_STOPPED",
    SCARD_E_NO_READERS_AVAILABLE: "NO_READER",
    SCARD_E_READER_UNAVAILABLE: "NO_READER",
    SCARD_E_UNKNOWN_READER: "READER_NOT_FOUND",
    SCARD_E_NO_SMARTCARD: "CARD_ABSENT",
    SCARD_E_SHARING_VIOLATION: "CARD_IN_USE",
    SCARD_W_REMOVED_CARD: "CARD_REMOVED",
    # What a transmit gets when the card has just left the reader, before pcscd's next poll
    # notices (then REMOVED_CARD follows). PcscTransport refines it by asking the reader again.
    SCARD_E_NOT_TRANSACTED: "CARD_REMOVED",
    SCARD_W_RESET_CARD: "CARD_RESET",
    SCARD_E_TIMEOUT: "PCSC_TIMEOUT",
    SCARD_W_UNRESPONSIVE_CARD: "CARD_MUTE",
    # Measured: after another program disconnects with SCARD_UNPOWER_CARD, pcscd leaves the card
    # off and a new SCardConnect gets UNPOWERED_CARD. The card is not mute: someone else acted.
    SCARD_W_UNPOWERED_CARD: "CARD_RESET",
    SCARD_W_UNSUPPORTED_CARD: "CARD_MUTE",
    # A card whose ATR is garbage (vpcd: a 1-byte ATR) cannot be given any protocol.
    SCARD_E_PROTO_MISMATCH: "CARD_MUTE",
}

#: pyscard exceptions raised without an hresult, by class name (both families).
_FINDINGS_BY_CLASS = {
    "NoCardException": "CARD_ABSENT",
    "NoReadersException": "NO_READER",
    "InvalidReaderException": "READER_NOT_FOUND",
    "CardRequestTimeoutException": "PCSC_TIMEOUT",
    "EstablishContextException": "PCSC_SERVICE_DOWN",
}

# --- reader state flags (SCARD_STATE_*); pcsc-lite keeps an event counter in the upper 16 bits --

STATE_UNAWARE = 0x0000
STATE_IGNORE = 0x0001
STATE_CHANGED = 0x0002
STATE_UNKNOWN = 0x0004
STATE_UNAVAILABLE = 0x0008
STATE_EMPTY = 0x0010
STATE_PRESENT = 0x0020
STATE_EXCLUSIVE = 0x0080
STATE_INUSE = 0x0100
STATE_MUTE = 0x0200

# SCardStatus reports a different set of bits (pcsc-lite: SCARD_ABSENT, SCARD_PRESENT, ...).
STATUS_PRESENT = 0x0004

SCARD_SHARE_EXCLUSIVE = 1
SCARD_SHARE_SHARED = 2
SCARD_LEAVE_CARD = 0
SCARD_PROTOCOL_T0 = 0x0001
SCARD_PROTOCOL_T1 = 0x0002
SCARD_SCOPE_USER = 0


def _u32(value: int) -> int:
    # pyscard hands back negative numbers on some builds (LONG is signed): 0x-7FEFFFE3.
    return value & 0xFFFFFFFF


def map_hresult(hresult: int) -> str:
    """The finding code (docs/TROUBLESHOOTING.md section 3) for a PC/SC return code."""
    return _FINDINGS.get(_u32(hresult), GENERIC_CODE)


class PcscError(Exception):
    """A PC/SC failure with its finding code and, when there is one, the PC/SC return code."""

    def __init__(self, message: str, *, code: str, hresult: int | None = None) -> None:
        self.code = code
        self.hresult = _u32(hresult) if hresult is not None else None
        suffix = f" (0x{self.hresult:08X})" if self.hresult is not None else ""
        super().__init__(f"{message}{suffix}")

    @classmethod
    def from_hresult(cls, hresult: int, what: str) -> PcscError:
        return cls(f"{what} failed", code=map_hresult(hresult), hresult=hresult)


def check(hresult: int, what: str) -> None:
    """Raise :class:`PcscError` unless a raw ``smartcard.scard`` return code is a success."""
    if _u32(hresult) != SCARD_S_SUCCESS:
        raise PcscError.from_hresult(hresult, what)


def _pyscard_exception_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = []
    with contextlib.suppress(ImportError):
        from smartcard.Exceptions import SmartcardException

        types.append(SmartcardException)
    with contextlib.suppress(ImportError):
        from smartcard.pcsc.PCSCExceptions import BaseSCardException

        types.append(BaseSCardException)
    return tuple(types)


def pcsc_error_from(exc: BaseException) -> PcscError | None:
    """The :class:`PcscError` for an exception of either pyscard family (``smartcard.Exceptions``
    or ``smartcard.pcsc.PCSCExceptions``, which share no base class), or None if it is neither."""
    if isinstance(exc, PcscError):
        return exc
    families = _pyscard_exception_types()
    if not families or not isinstance(exc, families):
        return None
    hresult = getattr(exc, "hresult", -1)
    if isinstance(hresult, int) and hresult not in (-1, 0):
        return PcscError(str(exc), code=map_hresult(hresult), hresult=hresult)
    for klass in type(exc).__mro__:
        code = _FINDINGS_BY_CLASS.get(klass.__name__)
        if code is not None:
            return PcscError(str(exc), code=code)
    return PcscError(str(exc), code=GENERIC_CODE)


@contextlib.contextmanager
def pyscard_errors() -> Iterator[None]:
    """Turn any pyscard exception raised inside the block into a :class:`PcscError`."""
    try:
        yield
    except Exception as exc:
        error = pcsc_error_from(exc)
        if error is None or error is exc:
            raise
        raise error from exc


# --- loading pyscard -----------------------------------------------------------------------------


def _pcsc_library_name() -> str:
    if sys.platform == "win32":
        return "winscard.dll"
    if sys.platform == "darwin":
        return "/System/Library/Frameworks/PCSC.framework/PCSC"
    return "libpcsclite.so.1"


@functools.lru_cache(maxsize=1)
def library_problem() -> str | None:
    """Why the PC/SC client library cannot be loaded, or None when it can."""
    import ctypes

    name = _pcsc_library_name()
    try:
        ctypes.CDLL(name)
    except OSError as exc:
        return f"cannot load the PC/SC library {name}: {exc}"
    return None


def _scard() -> ModuleType:
    problem = library_problem()
    if problem is not None:
        raise PcscError(problem, code="PCSC_LIBRARY_MISSING")
    try:
        from smartcard import scard
    except ImportError as exc:
        raise PcscError(f"pyscard is not usable: {exc}", code="PCSC_LIBRARY_MISSING") from exc
    return scard


# --- bounded calls -------------------------------------------------------------------------------


class _Expired(Exception):
    """A call did not return within its bound (the worker is left to finish on its own)."""


def _run_bounded(fn: Callable[[], T], timeout_s: float, name: str) -> T:
    """Run ``fn`` in a daemon thread and wait at most ``timeout_s``; raise :class:`_Expired`."""
    worker = _Worker(name)
    try:
        return worker.call(fn, timeout_s)
    finally:
        worker.stop()


class _Worker:
    """One daemon thread running calls in order. Daemon, so that a call stuck in the PC/SC
    library can never keep the process from exiting."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: Set when the caller stopped waiting (Ctrl-C, SIGTERM) while a call was still running.
        self.interrupted = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, box, done = job
            try:
                box.append((True, fn()))
            except BaseException as exc:
                box.append((False, exc))
            done.set()

    def call(self, fn: Callable[[], T], timeout_s: float) -> T:
        box: list[tuple[bool, Any]] = []
        done = threading.Event()
        self._jobs.put((fn, box, done))
        try:
            finished = done.wait(max(timeout_s, 0.0))
        except BaseException:
            # A signal (Ctrl-C) landed while the call runs: the call goes on in the library.
            if not done.is_set():
                self.interrupted = True
            raise
        if not finished:
            raise _Expired
        ok, value = box[0]
        if ok:
            return value
        raise value

    def submit(self, fn: Callable[[], object]) -> None:
        """Queue ``fn`` without waiting (runs after whatever is running now)."""
        self._jobs.put((fn, [], threading.Event()))

    def stop(self) -> None:
        self._jobs.put(None)


# --- readers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderState:
    """One reader as PC/SC sees it.

    ``state`` is "empty", "present" (other programs may share it: ``held_by_others``), "mute"
    (a card that does not answer), "in_use" (another program holds it exclusively) or
    "unavailable". ``flags`` is the raw ``SCARD_STATE_*`` event state, event counter included.
    """

    name: str
    state: str
    atr: bytes | None
    exclusive: bool
    flags: int

    @property
    def has_card(self) -> bool:
        return self.state in ("present", "in_use", "mute")

    @property
    def held_by_others(self) -> bool:
        """Other connections hold the card, shared or exclusive."""
        return bool(self.flags & (STATE_INUSE | STATE_EXCLUSIVE))


def reader_state(name: str, flags: int, atr: bytes | list[int] | None = None) -> ReaderState:
    """Decode an event state from ``SCardGetStatusChange``."""
    bits = flags & 0xFFFF
    if bits & (STATE_UNKNOWN | STATE_UNAVAILABLE | STATE_IGNORE):
        state = "unavailable"
    elif bits & STATE_EMPTY:
        state = "empty"
    elif bits & STATE_MUTE:
        state = "mute"
    elif bits & STATE_EXCLUSIVE:
        state = "in_use"
    elif bits & (STATE_PRESENT | STATE_INUSE):
        # INUSE alone is shared use (middleware holding the card): the card is there and can be
        # read alongside; only an exclusive hold keeps the diagnosis out.
        state = "present"
        state = "present"
    else:
        state = "unavailable"
    raw_atr = bytes(atr) if atr else b""
    return ReaderState(
        name=name,
        state=state,
        atr=raw_atr if raw_atr and state != "empty" else None,
        exclusive=bool(bits & STATE_EXCLUSIVE),
        flags=flags,
    )


def _establish(scard: ModuleType) -> int:
    hresult, context = scard.SCardEstablishContext(SCARD_SCOPE_USER)
    check(hresult, "SCardEstablishContext")
    return context


def _read_states(
    scard: ModuleType, context: int, names: list[str], known: list[int], timeout_ms: int
) -> list[ReaderState] | None:
    wanted = list(zip(names, known, strict=True))
    hresult, states = scard.SCardGetStatusChange(context, timeout_ms, wanted)
    if _u32(hresult) == SCARD_E_TIMEOUT:
        return None
    check(hresult, "SCardGetStatusChange")
    return [reader_state(name, flags, atr) for name, flags, atr in states]


def _list_now(scard: ModuleType) -> list[ReaderState]:
    context = _establish(scard)
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if _u32(hresult) == SCARD_E_NO_READERS_AVAILABLE or not names:
            return []
        check(hresult, "SCardListReaders")
        # UNAWARE as the known state makes the call return the current states at once.
        return _read_states(scard, context, names, [STATE_UNAWARE] * len(names), 0) or []
    finally:
        scard.SCardReleaseContext(context)


def list_readers(timeout_s: float = 2.0) -> list[ReaderState]:
    """Every reader with its state and ATR; ``[]`` when there is none. Raises :class:`PcscError`
    (``PCSC_SERVICE_DOWN``, ``PCSC_LIBRARY_MISSING``, ``PCSC_TIMEOUT``...)."""
    scard = _scard()
    try:
        return _run_bounded(lambda: _list_now(scard), timeout_s, "pcsc-list-readers")
    except _Expired:
        raise PcscError(
            f"the PC/SC service did not list the readers within {timeout_s:g} s",
            code="PCSC_TIMEOUT",
        ) from None


def wait_for_reader(
    name: str, states: Collection[str], timeout_s: float = 5.0
) -> ReaderState:
    """Wait (``SCardGetStatusChange``, no busy polling) until reader ``name`` is in one of
    ``states``; raise :class:`PcscError` ``PCSC_TIMEOUT`` after ``timeout_s``, and at once
    ``READER_NOT_FOUND`` when pcscd has no such reader."""
    scard = _scard()
    deadline = time.monotonic() + timeout_s
    last: list[ReaderState] = []

    def wait() -> ReaderState | None:
        context = _establish(scard)
        try:
            known = STATE_UNAWARE
            while (remaining := deadline - time.monotonic()) > 0:
                # Short slices: a reader that does not exist yet does not wake the call up.
                slice_ms = int(min(remaining, 0.5) * 1000)
                read = _read_states(scard, context, [name], [known], slice_ms)
                if read is None:
                    continue
                last[:] = read
                if read[0].state in states:
                    return read[0]
                known = read[0].flags & ~STATE_CHANGED
            return None
        finally:
            scard.SCardReleaseContext(context)

    try:
        found = _run_bounded(wait, timeout_s + 1.0, f"pcsc-wait-{name}")
    except _Expired:
        found = None
    if found is None:
        seen = last[0].state if last else "unknown"
        raise PcscError(
            f"reader {name!r} not in {sorted(states)} after {timeout_s:g} s (last: {seen})",
            code="PCSC_TIMEOUT",
        )
    return found


# --- the transport -------------------------------------------------------------------------------


class PcscTransport:
    """An :class:`apdu.Transport` over a PC/SC reader: shared mode, one PC/SC transaction around
    the whole diagnosis, ``SCARD_LEAVE_CARD`` at the end (never a reset or power-off: another
    program's logged-in session on the card must survive). Every call is bounded by ``timeout_s``.

    Build it with :meth:`connect`. Connection failures raise :class:`PcscError`; exchange failures
    raise :class:`~apdu.errors.TransportError` with a finding code.
    """

    def __init__(self, reader_name: str, timeout_s: float, scard: ModuleType) -> None:
        self.reader_name = reader_name
        self.timeout_s = timeout_s
        self._scard = scard
        self._worker = _Worker(f"pcsc-{reader_name}")
        self._context: int | None = None
        self._card: int | None = None
        self._protocol = 0
        self._atr = b""
        self._in_transaction = False
        #: Set after a call did not return in time: the worker thread is stuck in the library.
        self._stuck = False
        self._closed = False

    # --- connecting ----------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        reader_name: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transaction: bool = True,
    ) -> PcscTransport:
        """Connect to the card in ``reader_name`` (shared, T=0 or T=1) and, with ``transaction``,
        begin a PC/SC transaction. Gives up after ``timeout_s`` with ``CARD_IN_USE`` when another
        program holds the card, ``PCSC_TIMEOUT`` otherwise."""
        transport = cls(reader_name, timeout_s, _scard())
        try:
            transport._open(time.monotonic() + timeout_s, transaction)
        except BaseException:
            transport.close()
            raise
        return transport

    def _open(self, deadline: float, transaction: bool) -> None:
        scard = self._scard

        def establish() -> None:
            self._context = _establish(scard)

        def connect() -> None:
            hresult, card, protocol = scard.SCardConnect(
                self._context, self.reader_name, SCARD_SHARE_SHARED,
                SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
            )
            check(hresult, f"SCardConnect({self.reader_name})")
            self._card, self._protocol = card, protocol

        def status() -> None:
            hresult, _reader, _state, protocol, atr = scard.SCardStatus(self._card)
            check(hresult, "SCardStatus")
            self._protocol = protocol or self._protocol
            self._atr = bytes(atr)

        self._call(establish, deadline, "opening a PC/SC context")
        try:
            self._call(connect, deadline, f"connecting to {self.reader_name}")
        except PcscError as exc:
            if exc.code == "PCSC_TIMEOUT" and self._held_by_others():
                # pcscd makes SCardConnect wait while another program holds a transaction.
                raise PcscError(
                    f"another program kept the card in {self.reader_name} locked (PC/SC"
                    f" transaction) for more than {self.timeout_s:g} s",
                    code="CARD_IN_USE",
                ) from None
            raise
        log.debug("%s: connected (shared)", self.reader_name)
        self._call(status, deadline, "reading the card status")
        if self._protocol not in (SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1):
            raise PcscError(
                f"the card uses protocol {self._protocol:#x}, not T=0 or T=1",
                code="CARD_MUTE",
            )
        if transaction:
            self._begin_transaction(deadline)

    def _begin_transaction(self, deadline: float) -> None:
        card = self._card

        def begin() -> None:
            check(self._scard.SCardBeginTransaction(card), "SCardBeginTransaction")
            self._in_transaction = True
            log.debug("%s: transaction begun", self.reader_name)

        try:
            self._worker.call(begin, deadline - time.monotonic())
        except _Expired:
            # libpcsclite retries every 100 ms while another program holds a transaction, and
            # releases the context between tries: disconnecting from here is safe and ends the
            # loop (which then fails with INVALID_HANDLE in the worker).
            self._stuck = True
            self._abort_begin(card)
            raise PcscError(
                f"another program kept the card in {self.reader_name} locked (PC/SC transaction)"
                f" for more than {self.timeout_s:g} s",
                code="CARD_IN_USE",
            ) from None

    def _abort_begin(self, card: int | None) -> None:
        def disconnect() -> None:
            with contextlib.suppress(Exception):
                self._scard.SCardDisconnect(card, SCARD_LEAVE_CARD)

        with contextlib.suppress(_Expired):
            _run_bounded(disconnect, 1.0, "pcsc-abort-begin")
        self._card = None
        # The worker is free again once its retry loop has seen the dead handle.
        self._stuck = False

    def _held_by_others(self) -> bool:
        """Whether other connections hold the card (asked on a fresh context: ours is stuck)."""
        try:
            states = list_readers(timeout_s=1.0)
        except PcscError:
            return False
        return any(s.name == self.reader_name and s.held_by_others for s in states)

    def _call(self, fn: Callable[[], T], deadline: float, what: str) -> T:
        if self._stuck:
            raise PcscError(f"{what}: an earlier PC/SC call is still stuck", code="PCSC_TIMEOUT")
        try:
            return self._worker.call(fn, deadline - time.monotonic())
        except _Expired:
            self._stuck = True
            raise PcscError(
                f"{what}: no answer within {self.timeout_s:g} s", code="PCSC_TIMEOUT"
            ) from None

    # --- Transport ------------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def protocol(self) -> str:
        return "T=1" if self._protocol == SCARD_PROTOCOL_T1 else "T=0"

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        if self._closed or self._card is None:
            raise TransportError("the PC/SC connection is closed", code=None)
        if self._stuck:
            raise TransportError(
                "an earlier exchange never ended; the connection is unusable", code="PCSC_TIMEOUT"
            )
        scard, card = self._scard, self._card
        pci = scard.SCARD_PCI_T1 if self._protocol == SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        raw = list(command.to_bytes())

        def exchange() -> tuple[int, list[int]]:
            hresult, response = scard.SCardTransmit(card, pci, raw)
            return hresult, response

        try:
            hresult, response = self._worker.call(exchange, self.timeout_s)
        except _Expired:
            self._stuck = True
            raise TransportError(
                f"no answer to {command.hex()} within {self.timeout_s:g} s", code="PCSC_TIMEOUT"
            ) from None
        hresult = _u32(hresult)
        if hresult == SCARD_S_SUCCESS and len(response) >= 2:
            return ResponseApdu.from_bytes(bytes(response))
        if hresult in (SCARD_S_SUCCESS, SCARD_E_NOT_TRANSACTED):
            # The exchange broke at the reader: either the card just left (pcscd has not polled
            # yet) or it stopped answering. Ask the reader until it knows.
            code = self._removed_or_mute()
            if code in (GENERIC_CODE, "PCSC_SERVICE_DOWN"):
                code = self._after_failure(code)
            raise TransportError(
                f"the exchange of {command.hex()} failed (0x{hresult:08X},"
                f" {len(response)} bytes)", code=code,
            )
        code = self._after_failure(map_hresult(hresult))
        raise TransportError(
            f"SCardTransmit of {command.hex()} failed (0x{hresult:08X})", code=code
        )

    def _after_failure(self, code: str) -> str:
        """Refine a failure code that does not say what happened, by asking the service on a
        fresh context (ours may be dead) what became of it and of our reader."""
        if code == "PCSC_SERVICE_DOWN":
            # Measured: a pcscd killed under an open connection gives NO_SERVICE, but the service
            # was there when we connected: it stopped during use.
            return "PCSC_SERVICE_STOPPED"
        if code != GENERIC_CODE:
            return code
        # Measured: pcscd stopped between two commands of ours answers the next one with
        # SCARD_W_SECURITY_VIOLATION (0x8010006A), a code that says nothing of the cause.
        until = time.monotonic() + _SETTLE_S
        while True:
            try:
                states = list_readers(timeout_s=_SETTLE_S)
            except PcscError:
                return "PCSC_SERVICE_STOPPED"
            mine = next((s for s in states if s.name == self.reader_name), None)
            if mine is not None and mine.state == "empty":
                return "CARD_REMOVED"
            if time.monotonic() >= until:
                return "NO_READER" if mine is None else code
            time.sleep(0.05)

    def _removed_or_mute(self) -> str:
        scard, card = self._scard, self._card

        def settle() -> str:
            until = time.monotonic() + _SETTLE_S
            while time.monotonic() < until:
                hresult, _reader, state, _protocol, _atr = scard.SCardStatus(card)
                hresult = _u32(hresult)
                if hresult == SCARD_W_REMOVED_CARD or (
                    hresult == SCARD_S_SUCCESS and not state & STATUS_PRESENT
                ):
                    return "CARD_REMOVED"
                if hresult != SCARD_S_SUCCESS:
                    return map_hresult(hresult)
                time.sleep(0.05)
            return "CARD_MUTE"

        try:
            return self._worker.call(settle, _SETTLE_S + 1.0)
        except _Expired:
            self._stuck = True
            return "PCSC_TIMEOUT"

    # --- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """End the transaction and disconnect with ``SCARD_LEAVE_CARD``. Never blocks for long: if
        a call is stuck, the clean-up is left queued behind it on the worker thread."""
        if self._closed:
            return
        self._closed = True
        scard = self._scard

        def cleanup() -> None:
            card, context = self._card, self._context
            self._card = self._context = None
            # Each step on its own: a card already gone must not keep the context alive. pyscard
            # raises SystemError instead of returning a code for some dead handles.
            if card is not None:
                if self._in_transaction:
                    with contextlib.suppress(Exception):
                        scard.SCardEndTransaction(card, SCARD_LEAVE_CARD)
                    self._in_transaction = False
                with contextlib.suppress(Exception):
                    scard.SCardDisconnect(card, SCARD_LEAVE_CARD)
            if context is not None:
                with contextlib.suppress(Exception):
                    scard.SCardReleaseContext(context)

        if not self._stuck and self._worker.interrupted:
            # Interrupted (Ctrl-C, SIGTERM) in the middle of an exchange: a card answers within
            # milliseconds, a mute card never will, and Ctrl-C must not wait the whole --timeout
            # for it. Wait a moment for the exchange in flight; if it ends, clean up as usual
            # (the card is left as found); if not, leave the clean-up queued behind it: the
            # process ends and pcscd closes the connection it leaves.
            try:
                self._worker.call(lambda: None, _INTERRUPTED_GRACE_S)
            except _Expired:
                self._stuck = True
            else:
                log.debug("%s: the exchange in flight ended after the interruption",
                          self.reader_name)
        if self._stuck:
            self._worker.submit(cleanup)
        else:
            with contextlib.suppress(_Expired):
                self._worker.call(cleanup, self.timeout_s)
        log.debug("%s: transaction ended, disconnected (SCARD_LEAVE_CARD)%s", self.reader_name,
                  " once the stuck call returns" if self._stuck else "")
        self._worker.stop()

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    reader_name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, transaction: bool = True
) -> PcscTransport:
    """Shorthand for :meth:`PcscTransport.connect`."""
    return PcscTransport.connect(reader_name, timeout_s=timeout_s, transaction=transaction)
