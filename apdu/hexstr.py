"""Hexadecimal text at the edges (command lines, fixtures, logs): ``"00 A4 04 0C"``,
``"00a4040c"`` and ``"00:A4:04:0C"`` all read as the same bytes."""

from __future__ import annotations

from apdu.errors import ApduError


def parse_hex(text: str, error: type[ApduError] = ApduError) -> bytes:
    """Bytes from hex text with any spaces or colons; bad text raises ``error``."""
    cleaned = "".join(str(text).replace(":", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise error(f"not hexadecimal: {text!r}") from exc
