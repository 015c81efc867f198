"""Transcripts: recorded APDU exchanges with their provenance, saved as versioned JSON.

A transcript is recorded *below* the T=0 layer and the guard's callers, so it holds exactly what
crossed the wire (GET RESPONSE included) and replays through the same code path.
"""

from __future__ import annotations

import contextlib
import json
import os
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
            if doc.get("version") != VERSION:
                raise TranscriptError(f"unsupported transcript version {doc.get('version')!r}")
            prov = doc.get("provenance") or {}
            if not isinstance(prov, dict) or not isinstance(prov.get("source"), str):
                raise TranscriptError("transcript provenance must name its source")
            exchanges = []
            for i, item in enumerate(doc.get("exchanges", [])):
                command = _hex_field(item, "command", i)
                response = _hex_field(item, "response", i)
                if len(command) < 4 or len(response) < 2:
                    raise TranscriptError(f"exchange {i} is too short to be an APDU pair")
                exchanges.append(Exchange(command, response))
            redactions = prov.get("redactions") or []
            for name, value in (("reader", doc.get("reader")), ("protocol", doc.get("protocol")),
                                ("recorded_at", prov.get("recorded_at"))):
                if value is not None and not isinstance(value, str):
                    raise TranscriptError(f"transcript field {name} must be text")
            host = doc.get("host")
            if host is not None and (not isinstance(host, dict) or not all(
                    isinstance(k, str) and (v is None or isinstance(v, (str, bool)))
                    for k, v in host.items())):
                raise TranscriptError("transcript field host must map names to text")
            return cls(
                atr=bytes.fromhex(str(doc.get("atr", ""))),
                provenance=Provenance(
                    source=prov["source"],
                    description=str(prov.get("description") or ""),
                    recorded_at=prov.get("recorded_at"),
                    redactions=[str(r) for r in redactions] if isinstance(redactions, list) else [],
                ),
                exchanges=exchanges,
                protocol=doc.get("protocol"),
                reader=doc.get("reader"),
                host=host,
            )
        except TranscriptError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise TranscriptError(f"malformed transcript: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a reader never sees half a file, even after a crash or Ctrl-C."""
        write_atomic(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Transcript:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TranscriptError(f"cannot read {path}: {exc}") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path} is not JSON: {exc}") from exc
        return cls.from_json(doc)


def _hex_field(item: Any, name: str, index: int) -> bytes:
    if not isinstance(item, dict) or not isinstance(item.get(name), str):
        raise TranscriptError(f"exchange {index} has no {name}")
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
