"""Response APDUs: data followed by the two status bytes SW1 SW2."""

from __future__ import annotations

from dataclasses import dataclass

from apdu.errors import MalformedApdu
from apdu.hexstr import parse_hex


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes
    sw1: int
    sw2: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", bytes(self.data))
        for name in ("sw1", "sw2"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 0xFF:
                raise MalformedApdu(f"{name} must be a byte, got {value!r}")

    @property
    def sw(self) -> int:
        """The status word as one integer, e.g. ``0x9000``."""
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    def to_bytes(self) -> bytes:
        return self.data + bytes((self.sw1, self.sw2))

    def hex(self) -> str:
        return self.to_bytes().hex().upper()

    def __str__(self) -> str:
        return self.hex()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        raw = bytes(raw)
        if len(raw) < 2:
            raise MalformedApdu(f"a response APDU has at least 2 bytes, got {len(raw)}")
        return cls(raw[:-2], raw[-2], raw[-1])

    @classmethod
    def from_hex(cls, text: str) -> ResponseApdu:
        return cls.from_bytes(parse_hex(text, MalformedApdu))

    @classmethod
    def status(cls, sw: int, data: bytes = b"") -> ResponseApdu:
        return cls(data, (sw >> 8) & 0xFF, sw & 0xFF)
