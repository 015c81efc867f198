"""BER-TLV parsing and encoding (ISO 7816-4 5.2), on real CPS data and on hostile bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apdu import Tlv, TlvError, parse_tlv
from apdu.errors import ApduError
from apdu.tlv import (
    MAX_DEPTH,
    encode,
    encode_length,
    encode_tag,
    format_tree,
    parse,
    parse_one,
    walk,
)

# Real answers of a CPx card to the Cryptolib (CPS-CARD.md section 3, OpenSC issue 2275).
EF_SN = bytes.fromhex("5A0A8025000001992138450F")
FCP_EF_SN = bytes.fromhex(
    "6225 8002000C 820101 8302D003 8801E0 A112 8C077BFFFFFFFFFF00 9C077BFFFFFFFFFF00 8A0105"
)
PIN_INFO = bytes.fromhex("7016 BF810112 A010 9A0103 9B0103 A108 8C06F3000013FF00")


# --- real card data ------------------------------------------------------------------------


def test_ef_sn_is_one_primitive_object_holding_the_pan():
    (sn,) = parse(EF_SN)
    assert sn.tag == 0x5A
    assert not sn.constructed
    assert sn.value.hex() == "8025000001992138450f"
    assert sn.to_bytes() == EF_SN


def test_fcp_template_children_are_found_by_tag():
    (fcp,) = parse(FCP_EF_SN)
    assert fcp.tag == 0x62 and fcp.constructed
    assert fcp.find(0x80).value == b"\x00\x0c"  # file size 12
    assert fcp.find(0x83).value == b"\xd0\x03"  # file identifier
    assert fcp.find(0x88).value == b"\xe0"
    assert fcp.find(0x99) is None
    security = fcp.find(0xA1)
    assert [child.tag for child in security.children] == [0x8C, 0x9C]


def test_pin_counters_are_reached_through_a_three_byte_tag():
    (template,) = parse(PIN_INFO)
    pin = template.find(0xBF8101)
    assert pin is not None and pin.constructed
    info = pin.find(0xA0)
    assert info.find(0x9A).value == b"\x03"  # tries maximum
    assert info.find(0x9B).value == b"\x03"  # tries remaining
    # FF 00 at the end of 8C's value are data, not padding: only the value length counts.
    assert info.find(0xA1).find(0x8C).value == bytes.fromhex("F3000013FF00")
    assert template.to_bytes() == PIN_INFO


def test_parse_tlv_alias_is_the_module_parser():
    assert parse_tlv(EF_SN) == parse(EF_SN)


# --- tags --------------------------------------------------------------------------------------


def test_multi_byte_tags_read_as_big_endian_integers():
    assert parse(bytes.fromhex("5F2001 41"))[0].tag == 0x5F20
    assert parse(bytes.fromhex("BF810100"))[0] == Tlv(0xBF8101, b"")
    assert parse(bytes.fromhex("9F818001 00"))[0] == Tlv(0x9F818001, b"")


@pytest.mark.parametrize(("tag", "encoded"), [
    (0x5A, "5A"), (0x70, "70"), (0x5F20, "5F20"), (0xBF8101, "BF8101"), (0x7F4E, "7F4E"),
])
def test_encode_tag_writes_the_tag_bytes(tag, encoded):
    assert encode_tag(tag).hex().upper() == encoded


@pytest.mark.parametrize("tag", [
    0x00,  # padding, never a tag
    0xFF,
    0x1F,  # announces further tag bytes that are missing
    0x5F,
    0x0101,  # first byte announces a one-byte tag
    0x9F80,  # last byte announces another byte
    0x9F0180,  # middle byte ends the tag early
    0x9F81818101,  # longer than the bound
    -1,
])
def test_encode_tag_refuses_malformed_tags(tag):
    with pytest.raises(TlvError):
        encode_tag(tag)


def test_a_tlv_with_a_malformed_tag_cannot_be_built():
    with pytest.raises(TlvError):
        Tlv(0x1F, b"")


def test_constructed_is_bit_6_of_the_first_tag_byte():
    assert Tlv(0x70).constructed
    assert Tlv(0xBF8101).constructed
    assert Tlv(0xA0).constructed
    assert not Tlv(0x9F8101).constructed
    assert not Tlv(0x5F20).constructed


# --- lengths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "encoded"), [
    (0, "00"), (0x7F, "7F"), (0x80, "8180"), (0xFF, "81FF"), (0x100, "820100"),
    (0xFFFF, "82FFFF"), (0x10000, "83010000"), (0x1000000, "8401000000"),
])
def test_encode_length_uses_the_shortest_form(length, encoded):
    assert encode_length(length).hex().upper() == encoded


def test_encode_length_refuses_more_than_four_length_bytes():
    with pytest.raises(TlvError):
        encode_length(1 << 32)
    with pytest.raises(TlvError):
        encode_length(-1)


@pytest.mark.parametrize("length_field", ["8103", "820003", "83000003", "8400000003"])
def test_long_form_lengths_including_non_minimal_ones_are_read(length_field):
    data = bytes.fromhex("C1" + length_field + "AABBCC")
    assert parse(data) == [Tlv(0xC1, bytes.fromhex("AABBCC"))]


def test_long_length_value_round_trips():
    value = bytes(range(256)) * 2
    encoded = encode(0x53, value)
    assert encoded[:4] == bytes.fromhex("53820200")
    assert parse(encoded) == [Tlv(0x53, value)]


@pytest.mark.parametrize(("data", "why"), [
    ("70 80 00 00", "indefinite length"),
    ("5A 85 0000000001 00", "five length bytes"),
    ("5A", "length missing"),
    ("5A 05 0102", "value runs past the end"),
    ("5A 82 01", "length bytes run past the end"),
    ("5A 84 FFFFFFFF", "huge length"),
    ("BF", "tag runs past the end"),
    ("BF 81", "tag continuation runs past the end"),
    ("9F 81 81 81 81 01 00", "tag longer than the bound"),
    ("5A 01 01 70", "second object truncated"),
])
def test_malformed_data_raises_tlv_error(data, why):
    with pytest.raises(TlvError):
        parse(bytes.fromhex(data))


# --- padding -----------------------------------------------------------------------------------


def test_00_and_ff_between_objects_are_skipped_as_padding():
    data = bytes.fromhex("00FF 5A0101 0000 5F200141 FFFF")
    assert parse(data) == [Tlv(0x5A, b"\x01"), Tlv(0x5F20, b"A")]


def test_padding_is_an_error_when_not_allowed():
    with pytest.raises(TlvError):
        parse(bytes.fromhex("5A0101 00"), allow_padding=False)
    assert parse(bytes.fromhex("5A0101"), allow_padding=False) == [Tlv(0x5A, b"\x01")]


def test_empty_or_padding_only_data_holds_no_object():
    assert parse(b"") == []
    assert parse(b"\x00\xff\x00") == []


# --- parse_one, children, walk -------------------------------------------------------------


def test_parse_one_counts_leading_padding_and_leaves_what_follows():
    tlv, consumed = parse_one(bytes.fromhex("0000 5A0101 9000"))
    assert tlv == Tlv(0x5A, b"\x01")
    assert consumed == 5


def test_parse_one_of_nothing_raises():
    with pytest.raises(TlvError):
        parse_one(b"")
    with pytest.raises(TlvError):
        parse_one(b"\xff\xff")


def test_a_primitive_object_has_no_children():
    with pytest.raises(TlvError):
        _ = Tlv(0x5A, b"\x01").children
    with pytest.raises(TlvError):
        Tlv(0x5A, b"\x01").find(0x01)


def test_find_all_returns_every_direct_child_in_order():
    record = Tlv.from_children(0x61, [Tlv(0x4F, b"\x01"), Tlv(0x50, b"x"), Tlv(0x4F, b"\x02")])
    assert [t.value for t in record.find_all(0x4F)] == [b"\x01", b"\x02"]
    assert record.find(0x4F).value == b"\x01"


def test_from_children_refuses_a_primitive_tag():
    with pytest.raises(TlvError):
        Tlv.from_children(0x5A, [Tlv(0x01, b"")])


def test_walk_is_depth_first_with_depths():
    (template,) = parse(PIN_INFO)
    visited = [(depth, tlv.tag) for depth, tlv in walk([template])]
    assert visited == [
        (0, 0x70), (1, 0xBF8101), (2, 0xA0), (3, 0x9A), (3, 0x9B), (3, 0xA1), (4, 0x8C),
    ]


def test_walk_raises_on_a_constructed_object_with_bad_content_unless_lenient():
    broken = Tlv(0x70, bytes.fromhex("5A05"))
    with pytest.raises(TlvError):
        list(walk([broken]))
    assert list(walk([broken], strict=False)) == [(0, broken)]


def _nested(levels: int) -> bytes:
    data = b""
    for _ in range(levels):
        data = encode(0x70, data)
    return data


def test_nesting_up_to_the_bound_is_walked():
    depths = [depth for depth, _ in walk(parse(_nested(MAX_DEPTH)))]
    assert depths == list(range(MAX_DEPTH))


def test_nesting_beyond_the_bound_raises_instead_of_recursing():
    with pytest.raises(TlvError):
        list(walk(parse(_nested(MAX_DEPTH + 1))))
    # Hostile data: thousands of levels in a few kilobytes.
    hostile = b""
    for _ in range(3000):
        hostile = encode(0x70, hostile)
    with pytest.raises(TlvError):
        list(walk(parse(hostile)))


def test_format_tree_indents_children():
    text = format_tree(parse(PIN_INFO))
    lines = text.splitlines()
    assert lines[0] == "70 (22 bytes)"
    assert lines[1] == "  BF8101 (18 bytes)"
    assert "      9A 03" in lines


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_only_ever_raise_tlv_error(data):
    for padding in (True, False):
        try:
            objects = parse(data, allow_padding=padding)
        except TlvError:
            continue
        if not objects:
            assert not data.strip(b"\x00\xff")
        for strict in (True, False):
            try:
                for _depth, tlv in walk(objects, strict=strict):
                    tlv.to_bytes()
            except TlvError:
                assert strict
        format_tree(objects)
    with contextlib.suppress(TlvError):
        parse_one(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_errors_are_apdu_errors(data):
    try:
        list(walk(parse(data)))
    except ApduError as exc:
        assert isinstance(exc, TlvError)


_CLASSES = st.sampled_from([0x00, 0x40, 0x80, 0xC0])


def _tags(constructed: bool) -> st.SearchStrategy[int]:
    """Well-formed tags of one to three bytes with the requested constructed bit."""
    kind = 0x20 if constructed else 0x00
    one_byte = st.builds(lambda cls, number: cls | kind | number, _CLASSES,
                         st.integers(0, 0x1E)).filter(lambda b: b != 0x00)
    first_multi = _CLASSES.map(lambda cls: cls | kind | 0x1F).filter(lambda b: b != 0xFF)
    two_bytes = st.builds(lambda first, last: first << 8 | last, first_multi,
                          st.integers(0x00, 0x7F))
    three_bytes = st.builds(lambda first, mid, last: first << 16 | mid << 8 | last, first_multi,
                            st.integers(0x80, 0xFF), st.integers(0x00, 0x7F))
    return st.one_of(one_byte, two_bytes, three_bytes)


#: A tree as nested tuples: (tag, bytes) for a primitive, (tag, [subtrees]) for a constructed one.
_leaves = st.tuples(_tags(constructed=False), st.binary(max_size=140))
_trees = st.recursive(
    _leaves,
    lambda children: st.tuples(_tags(constructed=True), st.lists(children, max_size=4)),
    max_leaves=12,
)


def _build(tree) -> Tlv:
    tag, content = tree
    if isinstance(content, bytes):
        return Tlv(tag, content)
    return Tlv.from_children(tag, [_build(child) for child in content])


def _shape(tlv: Tlv):
    if tlv.constructed:
        return (tlv.tag, [_shape(child) for child in tlv.children])
    return (tlv.tag, tlv.value)


@settings(max_examples=150, deadline=None)
@given(st.lists(_trees, max_size=4), st.sampled_from([b"", b"\x00", b"\xff\x00"]))
def test_tlv_trees_round_trip_through_encode_and_parse(trees, padding):
    built = [_build(tree) for tree in trees]
    encoded = padding.join(tlv.to_bytes() for tlv in built)
    parsed = parse(encoded)
    assert parsed == built
    assert [_shape(tlv) for tlv in parsed] == [_normalise(tree) for tree in trees]
    assert all(encode_tag(t.tag) == t.to_bytes()[: len(encode_tag(t.tag))] for t in parsed)
    list(walk(parsed))


def _normalise(tree):
    tag, content = tree
    if isinstance(content, bytes):
        return (tag, content)
    return (tag, [_normalise(child) for child in content])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, (1 << 32) - 1))
def test_every_encodable_length_reads_back(length):
    field = encode_length(length)
    # Read it back through the parser on a tag whose value is cut short: the error must be about
    # the value, and a zero length must parse.
    data = b"\x5a" + field
    if length == 0:
        assert parse(data) == [Tlv(0x5A, b"")]
    else:
        with pytest.raises(TlvError, match="runs past the end"):
            parse(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_truncated_or_corrupted_encodings_only_raise_tlv_error(data):
    tlv = _build(data.draw(_trees))
    encoded = tlv.to_bytes()
    cut = data.draw(st.integers(1, len(encoded) - 1)) if len(encoded) > 1 else 0
    if cut:
        with pytest.raises(TlvError):
            parse(encoded[:cut])
    position = data.draw(st.integers(0, len(encoded) - 1))
    corrupted = bytearray(encoded)
    corrupted[position] = data.draw(st.integers(0, 0xFF))
    with contextlib.suppress(TlvError):
        list(walk(parse(bytes(corrupted))))
