"""Serve a simulated card into a real pcscd through vsmartcard's ``vpcd`` reader driver.

The vpcd driver listens on a TCP port (35963 for the first reader of the stock configuration); the
card side connects to it. Connecting inserts the card, closing the connection removes it. Both ways,
a message is a 2-byte big-endian length followed by the payload. From the reader, a 1-byte payload
is a control message (``00`` power off, ``01`` power on, ``02`` reset, ``04`` get ATR); anything
longer is a command APDU. Only "get ATR" and APDUs get a reply.

Two socket options matter for speed, not for correctness: vpcd writes the length and the payload
separately without ``TCP_NODELAY``, so unless the card side sets ``TCP_QUICKACK`` before *every*
``recv`` the second write waits for a delayed ACK and each APDU costs about 44 ms instead of about
0.1 ms. Linux clears ``TCP_QUICKACK`` by itself, hence "every".

Pure Python (socket and threading): no pyscard here.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import NamedTuple

from apdu.cardmodel import CardModel

DEFAULT_PORT = 35963

_CTRL_POWER_OFF = 0x00
_CTRL_POWER_ON = 0x01
_CTRL_RESET = 0x02
_CTRL_GET_ATR = 0x04

_CONTROL_EVENTS = {_CTRL_POWER_OFF: "power_off", _CTRL_POWER_ON: "power_on", _CTRL_RESET: "reset"}

#: Longer than vpcd's presence poll (400 ms): see :meth:`VpcdBridge.swap`.
SWAP_GAP_S = 0.5

#: A serving thread that does not stop within this bound is reported, never waited on for ever.
_JOIN_TIMEOUT_S = 2.0


class BridgeEvent(NamedTuple):
    """What the reader did to the card: ``kind`` is "power_off", "power_on", "reset" or "apdu";
    ``timestamp`` comes from :func:`time.monotonic`; ``payload_hex`` is the APDU (empty for
    control messages)."""

    kind: str
    timestamp: float
    payload_hex: str


class _Closed(Exception):
    """The connection ended (removed by us, or closed by vpcd)."""


class VpcdBridge:
    """Carries one :class:`~apdu.cardmodel.CardModel` between vpcd's socket and the model.

    ``insert()`` connects (the card appears at pcscd's next poll, within about 400 ms),
    ``remove()`` closes the connection (the card disappears at the next poll), ``swap(card)``
    does both around a model change. A background thread per insertion serves the reader's
    messages. ``events`` logs what the reader did to the card (power, reset, APDUs) so that a
    test can prove a tool never reset or powered off a card it shared.

    ``delay_s`` delays every APDU answer (a slow card, for benchmarks); ``mute`` answers the ATR but
    never an APDU (the host's transmit then blocks until the card is removed: vpcd has no
    time-out). ``quickack=False`` exists only to measure the delayed-ACK penalty.
    """

    def __init__(
        self,
        card: CardModel,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        delay_s: float = 0.0,
        mute: bool = False,
        quickack: bool = True,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.delay_s = delay_s
        self.mute = mute
        self.quickack = quickack
        self.connect_timeout_s = connect_timeout_s
        self._events: list[BridgeEvent] = []
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: Set when the serving thread ended because of an unexpected error (kept for tests).
        self.error: BaseException | None = None

    # --- what happened ---------------------------------------------------------------------------

    @property
    def events(self) -> list[BridgeEvent]:
        """A snapshot of the events so far (safe to read while the bridge serves)."""
        with self._lock:
            return list(self._events)

    def clear_events(self) -> None:
        with self._lock:
            self._events.clear()

    def events_of(self, *kinds: str) -> list[BridgeEvent]:
        return [event for event in self.events if event.kind in kinds]

    def _log(self, kind: str, payload: bytes = b"") -> None:
        with self._lock:
            self._events.append(BridgeEvent(kind, time.monotonic(), payload.hex().upper()))

    # --- insertion and removal -------------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def insert(self) -> None:
        """Connect to vpcd: the card is in the reader.

        Retries while the port refuses (pcscd may still be loading the driver), up to
        ``connect_timeout_s``.
        """
        if self.inserted:
            return
        self._reap()
        sock = self._connect()
        self._stop.clear()
        self._sock = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"vpcd-card-{self.port}", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Close the connection: the card leaves the reader."""
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            # shutdown() wakes the serving thread out of recv(); close() alone would not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._reap()

    def swap(self, card: CardModel, gap_s: float = SWAP_GAP_S) -> None:
        """Take the card out, wait ``gap_s``, put ``card`` in.

        The gap matters (measured): when the new connection is already waiting at the poll that
        finds the old one closed, vpcd takes it over at once, pcscd never sees the reader empty
        and keeps reporting the old card's ATR. A gap longer than one poll (400 ms) makes pcscd
        see "empty" then the new card, within about 0.8 s. The same holds for remove() followed
        quickly by insert(): wait for the reader to show empty in between.
        """
        was_inserted = self.inserted
        self.remove()
        self.card = card
        if was_inserted:
            time.sleep(gap_s)
            self.insert()

    def close(self) -> None:
        self.remove()

    def __enter__(self) -> VpcdBridge:
        self.insert()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reap(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():  # pragma: no cover - would mean a bug in _serve
                raise RuntimeError(f"vpcd bridge thread on port {self.port} did not stop")

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except (ConnectionRefusedError, TimeoutError) as exc:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"vpcd does not listen on {self.host}:{self.port}: {exc}"
                    ) from exc
                time.sleep(0.02)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock

    # --- serving ---------------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                message = self._receive(sock)
                answer = self._handle(message)
                if answer is not None:
                    sock.sendall(struct.pack(">H", len(answer)) + answer)
        except (_Closed, OSError):
            # Either our own remove() shut the socket down under recv()/sendall(), or vpcd closed
            # the link (pcscd stopped): in both cases the card is simply out of the reader.
            pass
        except BaseException as exc:  # a broken CardModel must not kill the test run silently
            self.error = exc
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _handle(self, message: bytes) -> bytes | None:
        if len(message) == 1:
            code = message[0]
            if code == _CTRL_GET_ATR:
                return bytes(self.card.atr)
            kind = _CONTROL_EVENTS.get(code)
            if kind is None:
                return None  # unknown control byte: vpcd expects no reply to control messages
            self._log(kind)
            getattr(self.card, kind)()
            return None
        self._log("apdu", message)
        if self.mute:
            return None
        if self.delay_s and self._stop.wait(self.delay_s):
            raise _Closed
        return bytes(self.card.process(message))

    def _receive(self, sock: socket.socket) -> bytes:
        header = self._recv_exact(sock, 2)
        (length,) = struct.unpack(">H", header)
        return self._recv_exact(sock, length)

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            if self.quickack:
                # The kernel turns quick ACK mode off again by itself: set it before every recv.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = sock.recv(size - len(chunks))
            if not chunk:
                raise _Closed
            chunks += chunk
        return bytes(chunks)
