"""Fault injection: card models that misbehave on purpose, for tests and demonstrations.

A diagnostic tool runs exactly when something is broken, so its tests break things: a card pulled
out in the middle of the PIN read, a PC/SC service that stops under the tool, a card whose answers
are garbage. Each class here wraps another :class:`~apdu.cardmodel.CardModel` (usually a
:class:`~cardsim.virtual.VirtualCard`) and keeps its behaviour except for the fault it injects, so
the same fault works through :class:`~cardsim.virtual.DirectTransport` (in process) and through the
vpcd bridge into a real pcscd (where the card, and so the hook, runs in the test process while the
tool under test may be another process)::

    bridge = VpcdBridge(HookCard(card, lambda cmd: bridge.remove(), when=on_ins(0xCB)))

:class:`HookCard` calls a function when a chosen command arrives (remove the card through its
bridge, stop pcscd, signal the tool...); :class:`RewritingCard` passes every answer through a
function (fuzzing). Both count and log what reached them. Pure Python: no pyscard here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from apdu.cardmodel import CardModel

#: ``when(index, command)``: index is 1 for the first APDU the wrapper receives.
Trigger = Callable[[int, bytes], bool]
#: ``hook(command)``: may return raw answer bytes to give instead of the card's own.
Hook = Callable[[bytes], "bytes | None"]
#: ``rewrite(index, command, answer) -> answer`` (raw bytes, SW1 SW2 included).
Rewrite = Callable[[int, bytes, bytes], bytes]


# --- triggers ----------------------------------------------------------------------------------

def nth(n: int) -> Trigger:
    """The ``n``-th APDU (1-based) the card receives."""
    return lambda index, _command: index == n


def on_ins(ins: int, *, data_prefix: bytes = b"", occurrence: int = 1) -> Trigger:
    """The ``occurrence``-th command with instruction ``ins`` whose data starts with
    ``data_prefix`` (e.g. ``on_ins(0xA4, data_prefix=bytes.fromhex("3F000001C001"))``: the
    SELECT of the first certificate file)."""
    seen = [0]

    def match(_index: int, command: bytes) -> bool:
        if len(command) < 4 or command[1] != ins:
            return False
        data = command[5 : 5 + command[4]] if len(command) > 5 else b""
        if not data.startswith(data_prefix):
            return False
        seen[0] += 1
        return seen[0] == occurrence

    return match


def in_background(action: Callable[[], object], name: str = "fault-action") -> Hook:
    """A hook that starts ``action`` in a daemon thread and returns at once.

    For actions that must not run inside the card's serving thread because they wait for the
    reader (stopping pcscd, resetting the card from another PC/SC client): the card answers
    the current command normally and the fault lands while the tool goes on.
    """

    def hook(_command: bytes) -> None:
        threading.Thread(target=action, name=name, daemon=True).start()

    return hook


# --- the wrappers ------------------------------------------------------------------------------

@dataclass
class Received:
    """One command a wrapper received, and what it answered (``b""`` if the hook ended the
    exchange, e.g. by removing the card)."""

    index: int
    command: bytes
    answer: bytes
    at: float = field(default_factory=time.monotonic)


class CardWrapper:
    """Delegates everything to ``inner`` and logs the commands (thread-safe: a bridge serves
    the card from its own thread while a test reads the log)."""

    def __init__(self, inner: CardModel) -> None:
        self.inner = inner
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def commands(self) -> list[bytes]:
        with self._lock:
            return [r.command for r in self.received]

    def power_on(self) -> None:
        self.inner.power_on()

    def power_off(self) -> None:
        self.inner.power_off()

    def reset(self) -> None:
        self.inner.reset()

    def process(self, command: bytes) -> bytes:
        with self._lock:
            index = len(self.received) + 1
            entry = Received(index, bytes(command), b"")
            self.received.append(entry)
        entry.answer = self._answer(index, bytes(command))
        return entry.answer

    def _answer(self, index: int, command: bytes) -> bytes:
        return bytes(self.inner.process(command))


class HookCard(CardWrapper):
    """Calls ``hook(command)`` when ``when(index, command)`` holds, before the card answers.

    ``once`` (default): only at the first match. The hook may return replacement answer bytes;
    otherwise the inner card answers as usual (if the hook removed the card from its bridge, that
    answer is simply never delivered). ``fired`` is set once the hook has run, and
    ``fired_at_index`` says at which APDU.
    """

    def __init__(self, inner: CardModel, hook: Hook, *, when: Trigger,
                 once: bool = True) -> None:
        super().__init__(inner)
        self.hook = hook
        self.when = when
        self.once = once
        self.fired = threading.Event()
        self.fired_at_index: int | None = None

    def _answer(self, index: int, command: bytes) -> bytes:
        if not (self.once and self.fired.is_set()) and self.when(index, command):
            if self.fired_at_index is None:
                self.fired_at_index = index
            replacement = self.hook(command)
            self.fired.set()
            if replacement is not None:
                return bytes(replacement)
        return super()._answer(index, command)


class RewritingCard(CardWrapper):
    """Every answer of the inner card goes through ``rewrite(index, command, answer)``.

    The inner card always processes the command first, so its state (selections, pending
    GET RESPONSE data) moves on as if the answer had been delivered: the rewritten answer is a
    lie the reader is told, not a different card.
    """

    def __init__(self, inner: CardModel, rewrite: Rewrite) -> None:
        super().__init__(inner)
        self.rewrite = rewrite

    def _answer(self, index: int, command: bytes) -> bytes:
        return bytes(self.rewrite(index, command, super()._answer(index, command)))


# --- ready-made rewrites -----------------------------------------------------------------------

def status_from(first: int, sw: int) -> Rewrite:
    """From APDU ``first`` on, answer only the status word ``sw`` (e.g. ``0x6100`` for endless
    GET RESPONSE, ``0x6C10`` for endless Le corrections)."""
    status = bytes(((sw >> 8) & 0xFF, sw & 0xFF))

    def rewrite(index: int, _command: bytes, answer: bytes) -> bytes:
        return status if index >= first else answer

    return rewrite
