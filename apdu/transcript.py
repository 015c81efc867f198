"""Transcripts: recorded APDU exchanges with their provenance, saved as versioned JSON.

A transcript is recorded *below* the T=0 layer and the guard's callers, so it holds exactly what
crossed the wire (GET RESPONSE included) and replays through the same code path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apdu.command import CommandApdu
from apdu.errors import ApduError, NoRecordedAnswer, TranscriptError
from apdu.response import ResponseApdu
from apdu.transport import Transport, TransportLayer

FORMAT = "diagcps-transcript"
VERSION = 1

# Bounds on what ``load`` accepts, so that a hostile file is refused in bounded time and memory.
# A full reading sends at most 300 APDUs, twice after a reset: its transcript weighs ~0.3 MB.
#: Largest transcript file read (bytes); the file is never read past it.
MAX_TRANSCRIPT_BYTES = 4 * 1024 * 1024
#: Deepest nesting of JSON arrays and objects (a transcript needs 3).
MAX_JSON_DEPTH = 16
#: Most exchanges in one transcript.
MAX_EXCHANGES = 4096
#: Longest command or response (an extended APDU: 7 + 65535 + 3 bytes).
MAX_APDU_BYTES = 65545
#: Longest ATR (ISO/IEC 7816-3).
MAX_ATR_BYTES = 33


@dataclass(frozen=True)
class Exchange:
    command: bytes
    response: bytes


@dataclass
class Provenance:
    #: "virtual-card", "public-trace" or "real-card".
    source: str
    description: str = ""
    recorded_at: str | None = None
    redactions: list[str] = field(default_factory=list)
    #: Personal values were replaced by pseudonyms drawn for one run (``diagcps check --redact``).
    redacted: bool = False
    #: The run that recorded it, also named in that run's report: support pairs the two files.
    run_id: str | None = None


@dataclass
class Transcript:
    atr: bytes
    provenance: Provenance
    exchanges: list[Exchange] = field(default_factory=list)
    protocol: str | None = None
    reader: str | None = None
    #: Facts of the computer the card was read on (system, versions, middleware), so that a
    #: replay elsewhere can still say what the user had. Text values only; optional.
    host: dict[str, Any] | None = None

    # --- JSON --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "provenance": {
                "source": self.provenance.source,
                "description": self.provenance.description,
                "recorded_at": self.provenance.recorded_at,
                "redactions": list(self.provenance.redactions),
                "redacted": self.provenance.redacted,
                "run_id": self.provenance.run_id,
            },
            "atr": self.atr.hex().upper(),
            "protocol": self.protocol,
            "reader": self.reader,
            "host": self.host,
            "exchanges": [
                {"command": e.command.hex().upper(), "response": e.response.hex().upper()}
                for e in self.exchanges
            ],
        }

    @classmethod
    def from_json(cls, doc: Any) -> Transcript:
        try:
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise TranscriptError("not a diagcps transcript (missing format marker)")
            version = doc.get("version")
            if type(version) is not int or version != VERSION:  # true == 1 in Python
                raise TranscriptError(f"unsupported transcript version {_short(version)}")
            prov = doc.get("provenance") or {}
            if not isinstance(prov, dict) or not isinstance(prov.get("source"), str):
                raise TranscriptError("transcript provenance must name its source")
            items = doc.get("exchanges")
            if not isinstance(items, list):
                raise TranscriptError("transcript has no list of exchanges")
            if len(items) > MAX_EXCHANGES:
                raise TranscriptError(f"transcript has more than {MAX_EXCHANGES} exchanges")
            exchanges = []
            for i, item in enumerate(items):
                command = _hex_field(item, "command", i)
                response = _hex_field(item, "response", i)
                if len(command) < 4 or len(response) < 2:
                    raise TranscriptError(f"exchange {i} is too short to be an APDU pair")
                exchanges.append(Exchange(command, response))
            redactions = prov.get("redactions") or []
            if not isinstance(redactions, list) or not all(isinstance(r, str)
                                                            for r in redactions):
                raise TranscriptError("transcript field redactions must be a list of text")
            for name, value in (("reader", doc.get("reader")), ("protocol", doc.get("protocol")),
                                ("recorded_at", prov.get("recorded_at")),
                                ("description", prov.get("description")),
                                ("run_id", prov.get("run_id")), ("atr", doc.get("atr"))):
                if value is not None and not isinstance(value, str):
                    raise TranscriptError(f"transcript field {name} must be text")
            redacted = prov.get("redacted", False)
            if not isinstance(redacted, bool):
                raise TranscriptError("transcript field redacted must be true or false")
            # Older redacted transcripts say so only in their list of redactions.
            redacted = redacted or any("pseudonym" in r for r in redactions)
            atr_text = doc.get("atr") or ""
            if len(atr_text) > 2 * MAX_ATR_BYTES:
                raise TranscriptError("transcript ATR is longer than an ATR can be")
            host = doc.get("host")
            if host is not None and (not isinstance(host, dict) or not all(
                    isinstance(k, str) and (v is None or isinstance(v, (str, bool)))
                    for k, v in host.items())):
                raise TranscriptError("transcript field host must map names to text")
            return cls(
                atr=bytes.fromhex(atr_text),
                provenance=Provenance(
                    source=prov["source"],
                    description=str(prov.get("description") or ""),
                    recorded_at=prov.get("recorded_at"),
                    redactions=list(redactions),
                    redacted=redacted,
                    run_id=prov.get("run_id"),
                ),
                exchanges=exchanges,
                protocol=doc.get("protocol"),
                reader=doc.get("reader"),
                host=host,
            )
        except TranscriptError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise TranscriptError(f"malformed transcript: {_short(exc)}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a reader never sees half a file, even after a crash or Ctrl-C."""
        write_atomic(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Transcript:
        """Read a transcript file, within :data:`MAX_TRANSCRIPT_BYTES` and
        :data:`MAX_JSON_DEPTH`; every refusal is a :class:`TranscriptError` of one line."""
        return cls.from_json(read_json(path, what="transcript",
                                       max_bytes=MAX_TRANSCRIPT_BYTES,
                                       max_depth=MAX_JSON_DEPTH, error=TranscriptError))


def read_json(path: str | os.PathLike[str], *, what: str, max_bytes: int, max_depth: int,
              error: type[Exception] = TranscriptError) -> Any:
    """A JSON document from a file that may be hostile: never more than ``max_bytes`` read,
    nesting checked before parsing (the parser would recurse), a UTF-8 BOM accepted (Windows
    editors add one). Raises ``error`` with a one-line message."""
    too_big = False
    try:
        with open(path, "rb") as handle:
            # A regular file says its size: a huge one is refused unread. A pipe or a device is
            # read to the bound and no further.
            too_big = os.fstat(handle.fileno()).st_size > max_bytes
            raw = b"" if too_big else handle.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from exc
    if too_big or len(raw) > max_bytes:
        raise error(f"{path} is larger than a {what} can be ({max_bytes // (1024 * 1024)} MB)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    depth = json_depth(text)
    if depth > max_depth:
        raise error(f"{path} is nested deeper than a {what} can be ({max_depth} levels)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") \
            from exc
    except (RecursionError, ValueError) as exc:  # a number too long to convert, for one
        raise error(f"{path} is not a usable {what}: {_short(exc)}") from exc


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (strings skipped), in linear time."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _short(value: object, limit: int = 80) -> str:
    """A value for a one-line message: repr, cut."""
    text = repr(value) if not isinstance(value, BaseException) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hex_field(item: Any, name: str, index: int) -> bytes:
    if not isinstance(item, dict) or not isinstance(item.get(name), str):
        raise TranscriptError(f"exchange {index} has no {name}")
    if len(item[name]) > 2 * MAX_APDU_BYTES:
        raise TranscriptError(f"exchange {index}: {name} is longer than an APDU can be")
    try:
        return bytes.fromhex(item[name])
    except ValueError as exc:
        raise TranscriptError(f"exchange {index}: {name} is not hexadecimal") from exc


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class RecordingTransport(TransportLayer):
    """Passes exchanges through to ``inner`` and keeps them, to build a transcript."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.exchanges: list[Exchange] = []

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.transmit(command)
        self.exchanges.append(Exchange(command.to_bytes(), response.to_bytes()))
        return response

    def transcript(self, provenance: Provenance, **kwargs: Any) -> Transcript:
        return Transcript(self.atr, provenance, list(self.exchanges), **kwargs)


class ReplayCard:
    """A transport that answers from a transcript.

    Each command gets the answers recorded for it, in order; when a command was sent more often
    than it was recorded, its last answer is given again (reads are repeatable). A command that
    was never recorded raises :class:`NoRecordedAnswer`, which names it.
    """

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self._answers: dict[bytes, deque[bytes]] = defaultdict(deque)
        self._last: dict[bytes, bytes] = {}
        for exchange in transcript.exchanges:
            self._answers[exchange.command].append(exchange.response)
        self.sent: list[bytes] = []

    @property
    def atr(self) -> bytes:
        return self.transcript.atr

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        raw = command.to_bytes()
        self.sent.append(raw)
        queue = self._answers.get(raw)
        if queue:
            answer = queue.popleft()
            self._last[raw] = answer
        elif raw in self._last:
            answer = self._last[raw]
        else:
            raise NoRecordedAnswer(command.hex())
        try:
            return ResponseApdu.from_bytes(answer)
        except ApduError as exc:  # cannot happen for a loaded transcript; kept for safety
            raise TranscriptError(str(exc)) from exc

    def close(self) -> None:
        return None
