"""Command APDUs (ISO/IEC 7816-4 section 5.1): build, encode, parse."""

from __future__ import annotations

from dataclasses import dataclass

from apdu.errors import MalformedApdu
from apdu.hexstr import parse_hex

#: Le value meaning "as many bytes as available": 256 in short form, 65536 in extended form.
LE_MAX_SHORT = 256
LE_MAX_EXTENDED = 65536


@dataclass(frozen=True)
class CommandApdu:
    """One command APDU.

    ``le`` is ``None`` when no response data is expected (cases 1 and 3); otherwise the number of
    bytes expected, 1..256 (short) or 1..65536 (extended). ``extended`` forces extended lengths even
    when short ones would do.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 0xFF:
                raise MalformedApdu(f"{name} must be a byte, got {value!r}")
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > 65535:
            raise MalformedApdu(f"command data too long ({len(self.data)} bytes)")
        if self.le is not None and not 1 <= self.le <= LE_MAX_EXTENDED:
            raise MalformedApdu(f"Le out of range: {self.le}")

    # --- description -------------------------------------------------------------------------

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 (no data), 2 (Le only), 3 (data only), 4 (data and Le)."""
        if self.data:
            return 4 if self.le is not None else 3
        return 2 if self.le is not None else 1

    @property
    def uses_extended(self) -> bool:
        return self.extended or len(self.data) > 255 or (self.le or 0) > LE_MAX_SHORT

    @property
    def channel(self) -> int:
        """Logical channel encoded in an interindustry CLA, 0 for proprietary classes."""
        if self.cla & 0x80:
            return 0
        if self.cla & 0x40:  # further interindustry class: channels 4..19
            return 4 + (self.cla & 0x0F)
        return self.cla & 0x03

    # --- encoding ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not self.uses_extended:
            body = b""
            if self.data:
                body += bytes((len(self.data),)) + self.data
            if self.le is not None:
                body += bytes((self.le % LE_MAX_SHORT,))
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le % LE_MAX_EXTENDED).to_bytes(2, "big")
            body += le if self.data else b"\x00" + le
        return header + body

    def hex(self) -> str:
        return self.to_bytes().hex().upper()

    def with_le(self, le: int) -> CommandApdu:
        return CommandApdu(self.cla, self.ins, self.p1, self.p2, self.data, le, self.extended)

    def __str__(self) -> str:
        return self.hex()

    # --- parsing -----------------------------------------------------------------------------

    @classmethod
    def from_hex(cls, text: str) -> CommandApdu:
        return cls.from_bytes(parse_hex(text, MalformedApdu))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandApdu:
        raw = bytes(raw)
        if len(raw) < 4:
            raise MalformedApdu(f"a command APDU has at least 4 bytes, got {len(raw)}")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or LE_MAX_SHORT)
        if body[0] != 0:
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], body[-1] or LE_MAX_SHORT)
            raise MalformedApdu(f"Lc={lc} does not match {len(body) - 1} bytes of body")
        # body[0] == 0 and more bytes: extended lengths.
        if len(body) == 3:
            le = int.from_bytes(body[1:3], "big") or LE_MAX_EXTENDED
            return cls(cla, ins, p1, p2, le=le, extended=True)
        if len(body) < 3:
            raise MalformedApdu("truncated extended length")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise MalformedApdu("extended Lc of zero")
        rest = body[3:]
        if len(rest) == lc:
            return cls(cla, ins, p1, p2, rest, extended=True)
        if len(rest) == lc + 2:
            le = int.from_bytes(rest[lc:], "big") or LE_MAX_EXTENDED
            return cls(cla, ins, p1, p2, rest[:lc], le, extended=True)
        raise MalformedApdu(f"extended Lc={lc} does not match {len(rest)} bytes of body")
