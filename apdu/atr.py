"""Answer-to-reset decoding (ISO/IEC 7816-3 section 8) and ATR patterns with masks.

An ATR is ``TS T0 {TAi TBi TCi TDi} historical-bytes [TCK]``. T0 and every TDi say, in their high
nibble, which of the next group's interface bytes follow; T0's low nibble is the number of
historical bytes, and each TDi's low nibble names a protocol T. Decoding here is structural: it
reports what the card announced, and leaves judging the card to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apdu.errors import AtrError
from apdu.hexstr import parse_hex

#: ISO 7816-3 8.2.1: at most 32 characters follow TS.
MAX_ATR_LENGTH = 33

#: TS: ``3B`` direct convention, ``3F`` inverse convention (as read back by the reader).
TS_DIRECT = 0x3B
TS_INVERSE = 0x3F

#: T=15 is not a transmission protocol: it qualifies global interface bytes (ISO 7816-3 8.2.3).
T_GLOBAL = 15

# ISO 7816-3 tables 7 and 8: clock rate conversion Fi and baud rate adjustment Di from TA1.
_FI = (372, 372, 558, 744, 1116, 1488, 1860, None, None, 512, 768, 1024, 1536, 2048, None, None)
_DI = (None, 1, 2, 4, 8, 16, 32, 64, 12, 20, None, None, None, None, None, None)

_PRESENCE_BITS = (("ta", 0x1), ("tb", 0x2), ("tc", 0x4), ("td", 0x8))


@dataclass(frozen=True)
class InterfaceGroup:
    """The interface bytes TAi, TBi, TCi, TDi of group ``index`` (``None`` when absent).

    ``protocol`` is the T announced by TD(i-1), to which the group's bytes belong (15 for global
    bytes); it is ``None`` for group 1, whose bytes are always global.
    """

    index: int
    ta: int | None = None
    tb: int | None = None
    tc: int | None = None
    td: int | None = None
    protocol: int | None = None

    @property
    def next_protocol(self) -> int | None:
        """The protocol T announced by TDi, if any."""
        return None if self.td is None else self.td & 0x0F


@dataclass(frozen=True)
class Atr:
    raw: bytes
    ts: int
    t0: int
    interface_bytes: tuple[InterfaceGroup, ...]
    historical: bytes
    tck: int | None
    #: ``None`` when no TCK is required nor present; ``False`` when it is wrong or missing.
    tck_ok: bool | None
    #: Transmission protocols offered, in the card's order; T=0 alone when none is indicated.
    protocols: tuple[int, ...]
    #: Deviations noticed while decoding that do not prevent it (missing or bad TCK...).
    problems: tuple[str, ...] = ()

    # --- parsing -----------------------------------------------------------------------------

    @classmethod
    def from_hex(cls, text: str) -> Atr:
        return cls.parse(parse_hex(text, AtrError))

    @classmethod
    def parse(cls, raw: bytes) -> Atr:
        raw = bytes(raw)
        if not raw:
            raise AtrError("empty ATR")
        if len(raw) > MAX_ATR_LENGTH:
            raise AtrError(f"ATR of {len(raw)} bytes: ISO 7816-3 allows at most {MAX_ATR_LENGTH}")
        ts = raw[0]
        if ts not in (TS_DIRECT, TS_INVERSE):
            raise AtrError(f"TS is {ts:02X}: it must be 3B (direct) or 3F (inverse convention)")
        if len(raw) < 2:
            raise AtrError("truncated ATR: T0 missing")
        t0 = raw[1]
        groups, indicated, pos = _read_interface_bytes(raw)
        problems: list[str] = []

        historical_count = t0 & 0x0F
        if pos + historical_count > len(raw):
            raise AtrError(f"truncated ATR: T0 announces {historical_count} historical bytes, "
                           f"{len(raw) - pos} present")
        historical = raw[pos : pos + historical_count]
        pos += historical_count

        # ISO 7816-3 8.2.5: TCK is absent if only T=0 is indicated, present in every other case
        # (T=15 included). It makes the XOR of T0..TCK zero.
        tck_required = any(t != 0 for t in indicated)
        rest = raw[pos:]
        if len(rest) > 1:
            raise AtrError(f"{len(rest)} unexpected bytes after the historical bytes")
        tck: int | None = rest[0] if rest else None
        tck_ok: bool | None = None
        if tck is not None:
            tck_ok = _xor(raw[1:]) == 0
            if not tck_required:
                problems.append("TCK present although only T=0 is indicated")
            if not tck_ok:
                problems.append(f"TCK {tck:02X} is wrong: expected {_xor(raw[1:-1]):02X}")
        elif tck_required:
            tck_ok = False
            problems.append("TCK missing although a protocol other than T=0 is indicated")

        if groups[0].td is not None and groups[0].td & 0x0F == T_GLOBAL:
            problems.append("TD1 indicates T=15, which ISO 7816-3 does not allow in TD1")
        protocols = tuple(dict.fromkeys(t for t in indicated if t != T_GLOBAL)) or (0,)
        return cls(raw, ts, t0, tuple(groups), historical, tck, tck_ok, protocols,
                   tuple(problems))

    # --- reading -----------------------------------------------------------------------------

    @property
    def convention(self) -> str:
        return "direct" if self.ts == TS_DIRECT else "inverse"

    @property
    def tck_required(self) -> bool:
        return any(g.next_protocol not in (None, 0) for g in self.interface_bytes)

    def offers(self, protocol: int) -> bool:
        return protocol in self.protocols

    def interface_byte(self, name: str) -> int | None:
        """One interface byte by its ISO name, e.g. ``"TA1"`` or ``"TD2"``; ``None`` if absent."""
        kind, index = name[:2].lower(), name[2:]
        if kind not in ("ta", "tb", "tc", "td") or not index.isdigit():
            raise ValueError(f"not an interface byte name: {name!r}")
        for group in self.interface_bytes:
            if group.index == int(index):
                return getattr(group, kind)
        return None

    @property
    def fi_di(self) -> tuple[int | None, int | None]:
        """Fi and Di from TA1 (ISO 7816-3 tables 7 and 8); defaults 372 and 1 without TA1.

        ``None`` marks a value reserved for future use.
        """
        ta1 = self.interface_byte("TA1")
        if ta1 is None:
            return 372, 1
        return _FI[ta1 >> 4], _DI[ta1 & 0x0F]

    def hex(self) -> str:
        return self.raw.hex().upper()

    def __str__(self) -> str:
        return self.hex()


def _read_interface_bytes(raw: bytes) -> tuple[list[InterfaceGroup], list[int], int]:
    """The interface groups, the protocols the TDs indicate, and the position after them."""
    groups: list[InterfaceGroup] = []
    indicated: list[int] = []
    presence = raw[1] >> 4  # T0's high nibble announces TA1..TD1
    protocol: int | None = None
    pos = 2
    index = 1
    while True:
        values: dict[str, int] = {}
        for name, bit in _PRESENCE_BITS:
            if presence & bit:
                if pos >= len(raw):
                    raise AtrError(f"truncated ATR: {name.upper()}{index} missing")
                values[name] = raw[pos]
                pos += 1
        groups.append(InterfaceGroup(index, protocol=protocol, **values))
        td = values.get("td")
        if td is None:
            return groups, indicated, pos
        # The ATR length bound makes this loop finite: each TD consumes a byte.
        protocol = td & 0x0F
        indicated.append(protocol)
        presence = td >> 4
        index += 1


def _xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


# --- patterns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtrPattern:
    """An ATR with a mask: a byte position is compared only where the mask has 1 bits."""

    atr: bytes
    mask: bytes
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "atr", bytes(self.atr))
        object.__setattr__(self, "mask", bytes(self.mask))
        if len(self.atr) != len(self.mask):
            raise AtrError(f"pattern {self.label!r}: ATR of {len(self.atr)} bytes, "
                           f"mask of {len(self.mask)}")

    @classmethod
    def from_hex(cls, atr_hex: str, mask_hex: str | None = None, label: str = "") -> AtrPattern:
        """A pattern from hex text; without a mask, the ATR must match exactly."""
        atr = parse_hex(atr_hex, AtrError)
        mask = b"\xff" * len(atr) if mask_hex is None else parse_hex(mask_hex, AtrError)
        return cls(atr, mask, label)

    def matches(self, atr: bytes | Atr) -> bool:
        raw = atr.raw if isinstance(atr, Atr) else bytes(atr)
        if len(raw) != len(self.atr):
            return False
        return all((a & m) == (p & m) for a, p, m in zip(raw, self.atr, self.mask, strict=True))


def match_first(patterns: Iterable[AtrPattern], atr: bytes | Atr) -> AtrPattern | None:
    """The first pattern that ``atr`` matches, or ``None``."""
    return next((pattern for pattern in patterns if pattern.matches(atr)), None)
