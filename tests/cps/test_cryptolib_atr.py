"""The Cryptolib's ATR table: exact matches only, and the same five ATRs as the module's data."""

from __future__ import annotations

from pathlib import Path

import pytest
import vendor

from diagcps.cps.cryptolib_atr import CRYPTOLIB_ATRS, atrs_in_module, cryptolib_knows_atr
from diagcps.cps.detect import classify_atr

OLDER_BATCH = bytes.fromhex("3BAC00402A001225006480820212009000")


@pytest.mark.parametrize("label", sorted(CRYPTOLIB_ATRS))
def test_every_listed_atr_is_known_and_a_cps_for_diagcps(label: str) -> None:
    atr = CRYPTOLIB_ATRS[label]
    assert cryptolib_knows_atr(atr)
    assert classify_atr(atr).cps_like


@pytest.mark.parametrize("atr", [
    OLDER_BATCH,  # matches diagcps's CPS3 mask, not the Cryptolib's exact table
    bytes.fromhex("3BAC00402B001225006480000310009000"),  # another TC2
    bytes.fromhex("3B8F80010031B86405B1ECC1739401808290000E"),  # contactless, other bytes 8-9
    bytes.fromhex("3B751300004409EA9000"),  # Vitale 2
    CRYPTOLIB_ATRS["CPS4"] + b"\x00",
    CRYPTOLIB_ATRS["CPS4"][:-1],
    b"",
])
def test_anything_else_is_ignored_even_one_byte_away(atr: bytes) -> None:
    assert not cryptolib_knows_atr(atr)


def test_the_older_batch_is_a_cps3_for_diagcps_but_not_for_the_cryptolib() -> None:
    assert classify_atr(OLDER_BATCH).generation == "CPS3"
    assert not cryptolib_knows_atr(OLDER_BATCH)


def test_the_table_is_the_one_in_the_module(tmp_path: Path) -> None:
    vendor.extract_rpm(vendor.vendor_file(vendor.LINUX_RPM), tmp_path)
    data = (tmp_path / vendor.LINUX_MODULE).read_bytes()
    assert atrs_in_module(data) == list(CRYPTOLIB_ATRS.values())


def test_the_module_scan_finds_a_table_entry_and_skips_noise() -> None:
    entry = CRYPTOLIB_ATRS["CPS4"]
    data = (b"\x3b\x00" + b"\x90" * 14                      # a stray 3B: too short an ATR
            + entry.ljust(32, b"\x00")
            + (entry[:-1] + b"\x45").ljust(32, b"\x00"))  # wrong TCK
    assert atrs_in_module(data) == [entry]
