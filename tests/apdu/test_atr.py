"""ATR decoding (ISO 7816-3 section 8) and ATR patterns, on the ATRs of CPS-CARD.md 2.1."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apdu import Atr, AtrError, AtrPattern, match_first
from apdu.atr import MAX_ATR_LENGTH, InterfaceGroup

CPS3 = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"
CPS3_OLDER = "3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00"
CPS3_CONTACTLESS = "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E"
CPS4 = "3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44"
CPS4_RC = "3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44"
CPS4_T0 = "3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00"
VITALE2 = "3B 75 13 00 00 43 09 EA 90 00"
VITALE1 = "3F 65 25 00 52 09 6A 90 00"

CPS3_MASK = "FF 00 00 00 00 FF FF FF FF FF FF 00 00 00 FF FF FF"
CONTACTLESS_MASK = "FF FF FF FF FF FF FF FF 00 00 FF C0 FF FF FF FF FF FF FF FF"


def _xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


# --- the documented ATRs ---------------------------------------------------------------------


@pytest.mark.parametrize(("atr_hex", "protocols", "tck", "historical"), [
    (CPS3, (0,), None, "00 12 25 00 64 80 00 03 10 00 90 00"),
    (CPS3_OLDER, (0,), None, "00 12 25 00 64 80 82 02 12 00 90 00"),
    (CPS3_CONTACTLESS, (0, 1), 0x0E, "00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00"),
    (CPS4, (0, 1), 0x44, "00 12 25 00 64 80 04 01 00 00 90"),
    (CPS4_RC, (0, 1), 0x44, "00 12 25 00 64 80 00 04 01 00 90"),
    (CPS4_T0, (0,), None, "00 12 25 00 64 80 00 04 01 00 90 00"),
    (VITALE2, (0,), None, "43 09 EA 90 00"),
    (VITALE1, (0,), None, "52 09 6A 90 00"),
])
def test_documented_atrs_decode(atr_hex, protocols, tck, historical):
    atr = Atr.from_hex(atr_hex)
    assert atr.raw == bytes.fromhex(atr_hex)
    assert atr.protocols == protocols
    assert atr.tck == tck
    assert atr.tck_ok is (None if tck is None else True)
    assert atr.historical == bytes.fromhex(historical)
    assert atr.problems == ()


def test_cps4_offers_t0_and_t1_and_has_a_valid_tck():
    atr = Atr.from_hex(CPS4)
    assert atr.offers(0) and atr.offers(1)
    assert atr.tck_required and atr.tck == 0x44 and atr.tck_ok
    assert atr.interface_bytes == (
        InterfaceGroup(1, ta=0x18, td=0x80),
        InterfaceGroup(2, td=0x01, protocol=0),
        InterfaceGroup(3, protocol=1),
    )
    assert atr.interface_byte("TA1") == 0x18
    assert atr.fi_di == (372, 12)


def test_cps3_contact_offers_t0_only_without_tck():
    atr = Atr.from_hex(CPS3)
    assert atr.protocols == (0,)
    assert not atr.tck_required and atr.tck is None and atr.tck_ok is None
    assert atr.interface_byte("TB1") == 0x00
    assert atr.interface_byte("TD1") == 0x40
    assert atr.interface_byte("TC2") == 0x2A  # T=0 work waiting integer
    assert atr.interface_byte("TA1") is None
    assert atr.interface_byte("TA5") is None
    assert atr.fi_di == (372, 1)  # defaults without TA1
    # Country code 250 (France) in the historical bytes, as CPS-CARD.md says.
    assert atr.historical[1:4] == bytes.fromhex("122500")


def test_vitale_1_uses_the_inverse_convention():
    atr = Atr.from_hex(VITALE1)
    assert atr.ts == 0x3F and atr.convention == "inverse"
    assert atr.interface_bytes == (InterfaceGroup(1, tb=0x25, tc=0x00),)
    assert Atr.from_hex(VITALE2).convention == "direct"


def test_no_td_means_t0():
    atr = Atr.from_hex("3B 00")
    assert atr.protocols == (0,)
    assert atr.historical == b""
    assert atr.interface_bytes == (InterfaceGroup(1),)


def test_t15_global_bytes_are_kept_but_not_offered_as_a_protocol():
    # TD1 T=0, TD2 T=15 with TA3 (clock stop / class indicator); T=15 requires TCK.
    body = bytes.fromhex("80 80 1F 07")
    atr = Atr.parse(b"\x3b" + body + bytes((_xor(body),)))
    assert atr.protocols == (0,)
    assert atr.interface_bytes[2] == InterfaceGroup(3, ta=0x07, protocol=15)
    assert atr.tck_required and atr.tck_ok


def test_protocols_are_listed_once_in_the_card_order():
    body = bytes.fromhex("80 80 81 01")  # T0, then TD1 T=0, TD2 T=1, TD3 T=1 again
    atr = Atr.parse(b"\x3b" + body + bytes((_xor(body),)))
    assert atr.protocols == (0, 1)


def test_t15_in_td1_is_reported():
    body = bytes.fromhex("80 0F")
    atr = Atr.parse(b"\x3b" + body + bytes((_xor(body),)))
    assert atr.protocols == (0,)
    assert any("TD1" in problem for problem in atr.problems)


# --- TCK ---------------------------------------------------------------------------------------


def test_a_missing_tck_is_reported_not_raised():
    atr = Atr.from_hex(CPS4[:-3])
    assert atr.tck is None and atr.tck_ok is False
    assert atr.protocols == (0, 1)
    assert any("TCK missing" in problem for problem in atr.problems)


def test_a_wrong_tck_is_reported():
    atr = Atr.from_hex(CPS4[:-2] + "45")
    assert atr.tck == 0x45 and atr.tck_ok is False
    assert any("expected 44" in problem for problem in atr.problems)


def test_a_tck_on_a_t0_only_atr_is_read_and_reported():
    raw = bytes.fromhex(VITALE2)
    atr = Atr.parse(raw + bytes((_xor(raw[1:]),)))
    assert atr.tck_ok is True
    assert any("only T=0" in problem for problem in atr.problems)


# --- malformed ATRs ------------------------------------------------------------------------


@pytest.mark.parametrize("atr_hex", [CPS3, CPS4_T0, VITALE1, CPS4])
def test_every_truncation_raises_atr_error(atr_hex):
    raw = bytes.fromhex(atr_hex)
    # For an ATR with TCK, dropping only the TCK is reported instead (see above).
    last = len(raw) - 1 if Atr.parse(raw).tck is not None else len(raw)
    for cut in range(last):
        with pytest.raises(AtrError):
            Atr.parse(raw[:cut])


@pytest.mark.parametrize(("atr_hex", "why"), [
    ("", "empty"),
    ("3B", "T0 missing"),
    ("3C 00", "bad TS"),
    ("2B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", "OpenSC's typo"),
    ("3B 10", "TA1 missing"),
    ("3B 80 80", "TD2 announced by TD1 is absent"),
    ("3B 02 01", "historical bytes short"),
    (VITALE2 + " 00 00", "two trailing bytes"),
    ("3B 0F" + " 00" * 32, "longer than 33 bytes"),
    ("3B 9B 18 zz", "not hex"),
])
def test_malformed_atrs_raise_atr_error(atr_hex, why):
    with pytest.raises(AtrError):
        Atr.from_hex(atr_hex)


def test_interface_byte_names_are_checked():
    with pytest.raises(ValueError):
        Atr.from_hex(CPS3).interface_byte("TE1")
    with pytest.raises(ValueError):
        Atr.from_hex(CPS3).interface_byte("TA")


def test_hex_and_str_are_upper_case_without_spaces():
    atr = Atr.from_hex(CPS3.lower())
    assert atr.hex() == str(atr) == "3BAC00402A001225006480000310009000"


# --- patterns ----------------------------------------------------------------------------------


def test_cps3_mask_matches_both_contact_batches_and_not_cps4():
    pattern = AtrPattern.from_hex(CPS3, CPS3_MASK, label="CPS3")
    assert pattern.matches(bytes.fromhex(CPS3))
    assert pattern.matches(bytes.fromhex(CPS3_OLDER))
    assert pattern.matches(Atr.from_hex(CPS3_OLDER))
    assert not pattern.matches(bytes.fromhex(CPS4))
    assert not pattern.matches(bytes.fromhex(CPS4_RC))


def test_cps3_mask_also_matches_a_cps4_forced_to_t0():
    # Same length, and the CPS3 mask ignores T0 and every interface byte: the CPS4 "forced T=0"
    # ATR passes it. Exact CPS4 patterns must therefore be tried before the CPS3 mask.
    cps3 = AtrPattern.from_hex(CPS3, CPS3_MASK, label="CPS3")
    cps4_t0 = AtrPattern.from_hex(CPS4_T0, label="CPS4 forced T=0")
    assert cps3.matches(bytes.fromhex(CPS4_T0))
    assert match_first([cps4_t0, cps3], bytes.fromhex(CPS4_T0)) is cps4_t0


def test_contactless_mask_ignores_the_variable_bytes():
    pattern = AtrPattern.from_hex(CPS3_CONTACTLESS, CONTACTLESS_MASK)
    variant = bytearray.fromhex(CPS3_CONTACTLESS)
    variant[8] ^= 0xFF  # masked out entirely
    variant[9] ^= 0x55
    variant[11] ^= 0x3F  # only the two high bits are compared
    assert pattern.matches(bytes(variant))
    variant[11] ^= 0x40
    assert not pattern.matches(bytes(variant))


def test_opensc_contactless_entry_with_2b_can_never_match():
    pattern = AtrPattern.from_hex("2B" + CPS3_CONTACTLESS[2:], CONTACTLESS_MASK)
    assert not pattern.matches(bytes.fromhex(CPS3_CONTACTLESS))


def test_no_mask_means_exact_match():
    pattern = AtrPattern.from_hex(CPS4, label="CPS4")
    assert pattern.mask == b"\xff" * 17
    assert pattern.matches(bytes.fromhex(CPS4))
    assert not pattern.matches(bytes.fromhex(CPS4_RC))


def test_a_different_length_never_matches():
    pattern = AtrPattern.from_hex("3B 00", "00 00")
    assert pattern.matches(bytes.fromhex("3F FF"))
    assert not pattern.matches(bytes.fromhex("3B 00 00"))
    assert not pattern.matches(b"")


def test_pattern_and_mask_must_have_the_same_length():
    with pytest.raises(AtrError):
        AtrPattern.from_hex(CPS4, "FF FF")
    with pytest.raises(AtrError):
        AtrPattern.from_hex("3B GG")


def test_hex_accepts_spaces_and_colons():
    assert AtrPattern.from_hex("3b:9b 18").atr == bytes.fromhex("3B9B18")


def test_match_first_returns_the_first_matching_pattern_in_order():
    patterns = [
        AtrPattern.from_hex(CPS4, label="CPS4"),
        AtrPattern.from_hex(CPS3, CPS3_MASK, label="CPS3"),
        AtrPattern.from_hex(CPS3, label="CPS3 exact"),
    ]
    assert match_first(patterns, bytes.fromhex(CPS3)).label == "CPS3"
    assert match_first(patterns, Atr.from_hex(CPS4)).label == "CPS4"
    assert match_first(patterns, bytes.fromhex(VITALE2)) is None
    assert match_first([], bytes.fromhex(CPS4)) is None


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.binary(max_size=40),
    st.binary(max_size=38).map(lambda tail: b"\x3b" + tail),
    st.binary(max_size=38).map(lambda tail: b"\x3f" + tail),
))
def test_random_bytes_only_ever_raise_atr_error(raw):
    try:
        atr = Atr.parse(raw)
    except AtrError:
        return
    assert atr.raw == raw
    assert atr.protocols and 15 not in atr.protocols
    assert len(atr.historical) == atr.t0 & 0x0F
    if atr.tck_ok:
        assert _xor(raw[1:]) == 0


_group = st.fixed_dictionaries({
    "ta": st.one_of(st.none(), st.integers(0, 0xFF)),
    "tb": st.one_of(st.none(), st.integers(0, 0xFF)),
    "tc": st.one_of(st.none(), st.integers(0, 0xFF)),
})


@settings(max_examples=300, deadline=None)
@given(st.lists(_group, min_size=1, max_size=5), st.lists(st.integers(0, 15), min_size=4,
       max_size=4), st.binary(max_size=15), st.booleans())
def test_assembled_atrs_decode_to_their_parts(groups, protocols, historical, inverse):
    protocols = protocols[: len(groups) - 1]
    presence = [
        (g["ta"] is not None) | (g["tb"] is not None) << 1 | (g["tc"] is not None) << 2
        | (i < len(groups) - 1) << 3
        for i, g in enumerate(groups)
    ]
    body = bytearray([presence[0] << 4 | len(historical)])
    for i, group in enumerate(groups):
        body += bytes(group[k] for k in ("ta", "tb", "tc") if group[k] is not None)
        if i < len(groups) - 1:
            body.append(presence[i + 1] << 4 | protocols[i])
    body += historical
    if any(t != 0 for t in protocols):
        body.append(_xor(body))
    raw = bytes([0x3F if inverse else 0x3B]) + bytes(body)
    assume(len(raw) <= MAX_ATR_LENGTH)

    atr = Atr.parse(raw)
    assert atr.historical == historical
    assert [(g.ta, g.tb, g.tc) for g in atr.interface_bytes] == [
        (g["ta"], g["tb"], g["tc"]) for g in groups
    ]
    assert [g.next_protocol for g in atr.interface_bytes[:-1]] == protocols
    assert [g.protocol for g in atr.interface_bytes] == [None, *protocols]
    expected = tuple(dict.fromkeys(t for t in protocols if t != 15)) or (0,)
    assert atr.protocols == expected
    assert atr.tck_ok is (True if any(protocols) else None)
    assert atr.convention == ("inverse" if inverse else "direct")
