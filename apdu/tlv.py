"""BER-TLV data objects (ISO/IEC 7816-4 section 5.2, with the tag and length rules of X.690).

A tag is kept as the integer of its bytes read big-endian (``BF 81 01`` is ``0xBF8101``), which is
how card documentation writes it. A :class:`Tlv` holds its value as bytes and parses children only
when asked, so building, encoding and comparing objects never recurses; :func:`walk` is the one
place that descends, and it does so with an explicit stack and a depth bound.

Every malformed input ends in :class:`~apdu.errors.TlvError`: card data is read from whatever card
the user inserted, so a parser crash (IndexError, RecursionError...) would be a bug in the tool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from apdu.errors import TlvError

#: Bound on nesting levels (the top level counts as one), so that hostile data, where each level
#: costs only two bytes, cannot make a walk descend without limit. Card templates nest a few levels.
MAX_DEPTH = 32

#: ISO 7816-4 uses tags of one to three bytes; one more byte of slack for proprietary data, and a
#: bound so that a run of continuation bytes cannot build an arbitrarily large integer.
MAX_TAG_BYTES = 4

#: Long-form lengths ``81`` to ``84`` carry one to four length bytes (ISO 7816-4 5.2.2.2).
MAX_LENGTH_BYTES = 4

#: ISO 7816-4 5.2.2: "before, between, or after BER-TLV data objects, '00' or 'FF' bytes without
#: any meaning may occur" (erased or rewritten data). They are therefore never a tag's first byte.
PADDING_BYTES = frozenset({0x00, 0xFF})

_CONSTRUCTED_BIT = 0x20  # bit 6 of the first tag byte (X.690 8.1.2.5)
_TAG_NUMBER_MASK = 0x1F  # low five bits all set: the tag number follows in further bytes
_MORE_TAG_BYTES = 0x80  # bit 8 of a subsequent tag byte: another tag byte follows


# --- tags and lengths ------------------------------------------------------------------------


def _tag_bytes(tag: int) -> bytes:
    """The bytes of ``tag`` without validation (at least one byte, even for ``0``)."""
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_tag(tag: int) -> bytes:
    """The bytes of ``tag``, checked to be one well-formed BER tag.

    Well-formed means: the first byte is not padding; it is alone unless its low five bits are all
    set; then every following byte but the last has bit 8 set, and the last has it clear.
    """
    if not isinstance(tag, int) or isinstance(tag, bool) or tag < 0:
        raise TlvError(f"a tag is a non-negative integer, got {tag!r}")
    raw = _tag_bytes(tag)
    if len(raw) > MAX_TAG_BYTES:
        raise TlvError(f"tag {tag:X} is longer than {MAX_TAG_BYTES} bytes")
    if raw[0] in PADDING_BYTES:
        raise TlvError(f"tag {tag:X} starts with a padding byte {raw[0]:02X}")
    multi = (raw[0] & _TAG_NUMBER_MASK) == _TAG_NUMBER_MASK
    if not multi:
        if len(raw) != 1:
            raise TlvError(f"tag {tag:X}: first byte {raw[0]:02X} announces a one-byte tag")
        return raw
    if len(raw) == 1:
        raise TlvError(f"tag {tag:X}: first byte announces further tag bytes")
    for byte in raw[1:-1]:
        if not byte & _MORE_TAG_BYTES:
            raise TlvError(f"tag {tag:X}: byte {byte:02X} ends the tag early")
    if raw[-1] & _MORE_TAG_BYTES:
        raise TlvError(f"tag {tag:X}: last byte {raw[-1]:02X} announces another tag byte")
    return raw


def encode_length(length: int) -> bytes:
    """The shortest BER length field for ``length`` (short form below 128, else ``81``..``84``)."""
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise TlvError(f"a length is a non-negative integer, got {length!r}")
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_BYTES:
        raise TlvError(f"length {length} needs more than {MAX_LENGTH_BYTES} length bytes")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    """One encoded data object: tag, shortest length, value."""
    value = bytes(value)
    return encode_tag(tag) + encode_length(len(value)) + value


def is_constructed(tag: int) -> bool:
    """Whether ``tag`` marks a constructed object (bit 6 of its first byte)."""
    return bool(_tag_bytes(tag)[0] & _CONSTRUCTED_BIT)


# --- the data object -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tlv:
    """One BER-TLV data object. ``value`` is the raw value field, children included."""

    tag: int
    value: bytes = b""

    def __post_init__(self) -> None:
        encode_tag(self.tag)  # refuse a tag that could not be written back
        object.__setattr__(self, "value", bytes(self.value))

    @classmethod
    def from_children(cls, tag: int, children: Iterable[Tlv]) -> Tlv:
        """A constructed object whose value is the encoding of ``children``."""
        if not is_constructed(tag):
            raise TlvError(f"tag {tag:X} is primitive: it cannot hold children")
        return cls(tag, b"".join(child.to_bytes() for child in children))

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    @property
    def tag_hex(self) -> str:
        return _tag_bytes(self.tag).hex().upper()

    @property
    def children(self) -> list[Tlv]:
        """The objects in the value of a constructed object (padding skipped)."""
        if not self.constructed:
            raise TlvError(f"tag {self.tag_hex} is primitive: it has no children")
        return parse(self.value)

    def find(self, tag: int) -> Tlv | None:
        """The first direct child with ``tag``, or ``None``."""
        return next((child for child in self.children if child.tag == tag), None)

    def find_all(self, tag: int) -> list[Tlv]:
        """Every direct child with ``tag``, in order."""
        return [child for child in self.children if child.tag == tag]

    def to_bytes(self) -> bytes:
        return encode(self.tag, self.value)

    def __str__(self) -> str:
        return f"{self.tag_hex}[{len(self.value)}] {self.value.hex().upper()}"


# --- parsing ---------------------------------------------------------------------------------


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    """The tag starting at ``pos`` and the position after it."""
    first = data[pos]
    end = pos + 1
    if (first & _TAG_NUMBER_MASK) == _TAG_NUMBER_MASK:
        # X.690 8.1.2.4: subsequent bytes carry bit 8 = 1 while more follow.
        while True:
            if end >= len(data):
                raise TlvError(f"tag at offset {pos} runs past the end of the data")
            byte = data[end]
            end += 1
            if end - pos > MAX_TAG_BYTES:
                raise TlvError(f"tag at offset {pos} is longer than {MAX_TAG_BYTES} bytes")
            if not byte & _MORE_TAG_BYTES:
                break
    return int.from_bytes(data[pos:end], "big"), end


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    """The length starting at ``pos`` and the position after it."""
    if pos >= len(data):
        raise TlvError(f"length missing at offset {pos}")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    if first == 0x80:
        # Indefinite length belongs to BER streams, not to ISO 7816-4 data objects.
        raise TlvError(f"indefinite length (80) at offset {pos}")
    size = first & 0x7F
    if size > MAX_LENGTH_BYTES:
        raise TlvError(f"length field {first:02X} at offset {pos} announces {size} length bytes")
    end = pos + 1 + size
    if end > len(data):
        raise TlvError(f"length field at offset {pos} runs past the end of the data")
    return int.from_bytes(data[pos + 1 : end], "big"), end


def _skip_padding(data: bytes, pos: int, allow_padding: bool) -> int:
    while pos < len(data) and data[pos] in PADDING_BYTES:
        if not allow_padding:
            raise TlvError(f"padding byte {data[pos]:02X} at offset {pos} where a tag was expected")
        pos += 1
    return pos


def _read_object(data: bytes, pos: int) -> tuple[Tlv, int]:
    tag, pos = _read_tag(data, pos)
    length, pos = _read_length(data, pos)
    end = pos + length
    if end > len(data):
        raise TlvError(
            f"tag {_tag_bytes(tag).hex().upper()}: length {length} runs past the end of the data "
            f"({len(data) - pos} bytes left)"
        )
    return Tlv(tag, data[pos:end]), end


def parse(data: bytes, *, allow_padding: bool = True) -> list[Tlv]:
    """The data objects of ``data``, one level only (children stay in their parent's value).

    ``00`` and ``FF`` between objects are skipped as ISO 7816-4 padding; with
    ``allow_padding=False`` they are an error instead.
    """
    data = bytes(data)
    objects: list[Tlv] = []
    pos = _skip_padding(data, 0, allow_padding)
    while pos < len(data):
        tlv, pos = _read_object(data, pos)
        objects.append(tlv)
        pos = _skip_padding(data, pos, allow_padding)
    return objects


def parse_one(data: bytes, *, allow_padding: bool = True) -> tuple[Tlv, int]:
    """The first data object of ``data`` and the number of bytes consumed (leading padding
    included); what follows the object is left alone."""
    data = bytes(data)
    pos = _skip_padding(data, 0, allow_padding)
    if pos >= len(data):
        raise TlvError("no data object in the data")
    return _read_object(data, pos)


def walk(tlvs: Iterable[Tlv], *, strict: bool = True) -> Iterator[tuple[int, Tlv]]:
    """Every object of ``tlvs`` and of their descendants, depth-first, as ``(depth, tlv)`` with
    depth 0 for the objects given.

    A constructed object whose value is not valid BER-TLV raises :class:`TlvError`; with
    ``strict=False`` it is yielded as a leaf instead, since proprietary data sometimes sets the
    constructed bit on opaque values.
    """
    stack: list[tuple[int, Tlv]] = [(0, tlv) for tlv in reversed(list(tlvs))]
    while stack:
        depth, tlv = stack.pop()
        yield depth, tlv
        if not tlv.constructed:
            continue
        try:
            children = tlv.children
        except TlvError:
            if strict:
                raise
            continue
        if children and depth + 1 >= MAX_DEPTH:
            raise TlvError(f"data objects nested more than {MAX_DEPTH} levels deep")
        stack.extend((depth + 1, child) for child in reversed(children))


def format_tree(tlvs: Iterable[Tlv]) -> str:
    """An indented, one-object-per-line dump for logs and reports (hex, upper case)."""
    lines = []
    for depth, tlv in walk(tlvs, strict=False):
        indent = "  " * depth
        if tlv.constructed and _parses(tlv.value):
            lines.append(f"{indent}{tlv.tag_hex} ({len(tlv.value)} bytes)")
        else:
            lines.append(f"{indent}{tlv.tag_hex} {tlv.value.hex().upper()}")
    return "\n".join(lines)


def _parses(value: bytes) -> bool:
    try:
        parse(value)
    except TlvError:
        return False
    return True
