"""Which ATRs the official Cryptolib CPS recognises: byte for byte, and nothing else.

The Cryptolib 5.2.2 (Linux module ``libcps3_pkcs11_lux.so``) keeps a table of five ATRs. Its data
also holds masks beside some of them, yet it matches the whole ATR exactly: a CPS3 whose ATR
differs only in bytes the mask leaves out (the older-batch ``… 80 82 02 12 00 90 00``, or a
changed ``TC2``) gets no token and not one APDU, and neither does the contactless ATR with
other bytes 8-9 [C]. Such a card reads fine in diagcps and fails in every browser.

How the table was found (docs/CPS-CARD.md 2.1): by reading the module's data (every complete,
well-formed ATR stored there, :func:`atrs_in_module`; a test checks it against the RPM), and by
observation: the module run against virtual cards that differ only by their ATR.
"""

from __future__ import annotations

from apdu.atr import Atr
from apdu.errors import AtrError

#: The Cryptolib version the table below was taken from.
CRYPTOLIB_VERSION = "5.2.2"

#: label -> ATR, as the module stores them.
CRYPTOLIB_ATRS: dict[str, bytes] = {
    "CPS3 contact": bytes.fromhex("3BAC00402A001225006480000310009000"),
    "CPS3 contactless": bytes.fromhex("3B8F80010031B86404B0ECC1739401808290000E"),
    "CPS4 (release candidate)": bytes.fromhex("3B9B188001001225006480000401009044"),
    "CPS4": bytes.fromhex("3B9B188001001225006480040100009044"),
    "CPS4 (forced T=0)": bytes.fromhex("3BDC18FF00001225006480000401009000"),
}

_KNOWN = frozenset(CRYPTOLIB_ATRS.values())

#: Fewer historical bytes than this is not a CPS-family ATR (they all carry 11 or more); it also
#: keeps a stray ``3B`` byte of machine code from passing for an ATR.
_MIN_HISTORICAL = 8


def cryptolib_knows_atr(atr: bytes) -> bool:
    """Whether the Cryptolib CPS 5.2.2 takes a card with this ATR at all (exact match)."""
    return bytes(atr) in _KNOWN


def atrs_in_module(data: bytes) -> list[bytes]:
    """Every ATR stored in a Cryptolib module's bytes, in the order they appear.

    An entry is a complete, well-formed ATR (structure and TCK right, at least 8 historical
    bytes of category ``00`` with ``90`` in their last two bytes) starting on a 16-byte boundary
    and followed by a zero byte, the way the module's table of fixed-size, zero-padded arrays
    holds them.
    """
    found: list[bytes] = []
    for start in range(0, len(data) - 2, 16):
        if data[start] != 0x3B:
            continue
        size = _atr_size(data, start)
        if size is None or start + size >= len(data) or data[start + size] != 0x00:
            continue
        raw = data[start:start + size]
        try:
            atr = Atr.parse(raw)
        except AtrError:
            continue
        historical = atr.historical
        # Category 00: the historical bytes end with a status indicator; every card of the
        # family has 90 in its last two bytes (90 00, or 00 90 on the CPS4's T=1 ATRs).
        if not atr.problems and len(historical) >= _MIN_HISTORICAL \
                and historical[0] == 0x00 and 0x90 in historical[-2:]:
            found.append(raw)
    return found


def _atr_size(data: bytes, start: int) -> int | None:
    """The length the ATR starting at ``start`` announces through its structure bytes."""
    pos = start + 1
    if pos >= len(data):
        return None
    historical = data[pos] & 0x0F
    indicator = data[pos] >> 4
    protocols: list[int] = []
    while True:
        present = bin(indicator & 0x0F).count("1")
        has_td = bool(indicator & 0x08)
        pos += present
        if pos >= len(data) or pos - start > 32:
            return None
        if not has_td:
            break
        td = data[pos]
        protocols.append(td & 0x0F)
        indicator = td >> 4
    size = pos + 1 - start + historical
    if any(p != 0 for p in protocols):
        size += 1  # TCK
    return size if size <= 33 else None
