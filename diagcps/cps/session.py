"""The session with one card: the guarded transport, the APDU counter and the file cache.

:func:`open_card_session` is the single place where the read-only guard is put in front of a card:
every card command of the tool goes through the transport it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from apdu.command import CommandApdu
from apdu.errors import ApduError, CommandRefused, TlvError
from apdu.guard import ReadOnlyGuard
from apdu.response import ResponseApdu
from apdu.tlv import parse
from apdu.transport import T0Transport, Transport, TransportLayer

#: The CPS3 answers READ BINARY with at most E7 (231) bytes at a time (CPS-CARD.md section 3).
MAX_CHUNK = 0xE7
#: READ BINARY without SFI carries a 15-bit offset (P1 bit 8 would announce an SFI).
MAX_OFFSET = 0x7FFF
#: No CPS file comes near this; a bound so that a card that keeps giving data cannot loop.
MAX_FILE_SIZE = 0x4000

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than asked: end of file reached
SW_WRONG_OFFSET = 0x6B00
SW_FILE_NOT_FOUND = 0x6A82

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
SELECT_BY_PATH = 0x09  # path from the current DF; starting it with 3F00 makes it absolute
P2_FCP = 0x04
P2_NO_DATA = 0x0C

MF = "3F00"


class UnexpectedStatus(ApduError):
    """The card answered a status word the step cannot go on with."""

    def __init__(self, command: CommandApdu, sw: int, what: str) -> None:
        super().__init__(f"{what}: card answered {sw:04X} to {command.hex()}")
        self.command = command
        self.sw = sw
        self.what = what

    @property
    def sw_hex(self) -> str:
        return f"{self.sw:04X}"


def open_card_session(raw: Transport, *, chipdoc_only: bool = False) -> Transport:
    """The transport every command of a diagnosis goes through: guard first, then T=0 rules.

    The guard sits *below* the T=0 layer so that the GET RESPONSE and Le-corrected resends it
    generates are checked too. ``chipdoc_only`` (CPS4) adds :class:`BasicChannelGuard` there.
    """
    if chipdoc_only:
        raw = BasicChannelGuard(raw)
    return T0Transport(ReadOnlyGuard(raw))


#: The one command a CPS4 reading may send on the basic channel: the Cryptolib's recovery after
#: ``69 85`` puts the CPS2ter part back there (SELECT by AID, no answer data).
CPS2TER_RESELECT = CommandApdu(0x00, INS_SELECT, 0x04, P2_NO_DATA,
                               bytes.fromhex("8025000001FF0002"))


class BasicChannelGuard(TransportLayer):
    """CPS4: nothing but the recovery's CPS2ter reselection goes out on the basic channel.

    There the CPS2ter emulation answers, and a SESAM-Vitale program may be using it at this very
    moment: an ISO command from the diagnosis would disturb it. A refused command is a bug of the
    reader, reported as such (COMMAND_REFUSED), never sent.
    """

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        if command.channel == 0 and command.to_bytes() != CPS2TER_RESELECT.to_bytes():
            raise CommandRefused(command.hex(), "CPS4: the basic channel belongs to the CPS2ter "
                                 "emulation; the reading runs on logical channel 1")
        return self.inner.transmit(command)


class ApduCounter(TransportLayer):
    """Counts the exchanges that reached the card (those that came back with an answer)."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.count = 0

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.transmit(command)
        self.count += 1
        return response


def path_bytes(path: str) -> bytes:
    """``"3F00/0001/5031"`` -> ``3F 00 00 01 50 31``."""
    return bytes.fromhex(path.replace("/", ""))


@dataclass(frozen=True)
class Addressing:
    """How one card generation is addressed: the class byte and the form of a file SELECT.

    CPS3: basic channel, SELECT by path from the current DF starting with 3F00 (P1 ``09``).
    CPS4: everything on logical channel 1 (CLA ``01``), where ChipDoc lives, and files selected
    the one way the Cryptolib's traffic shows: P1 ``08`` (path from the MF, without 3F00),
    P2 ``00`` with Le, answered with an FCI template ``6F`` that gives the size, and READ BINARY
    with Le ``00`` (256 bytes) [C].
    """

    cla: int
    chipdoc: bool
    #: The most bytes one READ BINARY asks for.
    max_chunk: int = MAX_CHUNK

    @property
    def channel(self) -> int:
        return self.cla & 0x03


BASIC_CHANNEL = Addressing(0x00, chipdoc=False)
CHIPDOC_CHANNEL_ONE = Addressing(0x01, chipdoc=True, max_chunk=0x100)
SELECT_FROM_MF = 0x08
P2_FCI = 0x00


def select_command(path: str, *, fcp: bool = False, with_le: bool = False,
                   addressing: Addressing = BASIC_CHANNEL) -> CommandApdu:
    """The SELECT of the file at ``path`` (absolute, ``3F00/...``) for this addressing."""
    if addressing.chipdoc:
        fids = path_bytes(path)
        if fids[:2] == bytes.fromhex(MF):
            fids = fids[2:]
        return CommandApdu(addressing.cla, INS_SELECT, SELECT_FROM_MF, P2_FCI, fids, le=256)
    return CommandApdu(0x00, INS_SELECT, SELECT_BY_PATH, P2_FCP if fcp else P2_NO_DATA,
                       path_bytes(path), le=256 if fcp and with_le else None)


def select_path(card: Transport, path: str, *, fcp: bool = False,
                with_le: bool = False, addressing: Addressing = BASIC_CHANNEL) -> ResponseApdu:
    """SELECT by path from the MF (the Cryptolib's form: on CPS3 the path starts with 3F00).

    P2 ``0C`` asks for no answer data, saving the GET RESPONSE when the FCP is not needed.
    ``with_le`` adds Le = 00 (case 4): over T=1 a command without Le gets no data back, while the
    trace's T=0 form has none (T=0 announces the data with 61xx either way). On the ChipDoc
    channel (CPS4) the FCI always comes back: it is the Cryptolib's only form.
    """
    return card.transmit(select_command(path, fcp=fcp, with_le=with_le, addressing=addressing))


def fcp_file_size(fcp: bytes) -> int | None:
    """File size from an FCP template (``62``: tag ``80`` data size, else ``81``), if given.

    An FCI template ``6F`` (CPS4's answer to P2 ``00``) carries the same objects, directly or
    inside a ``62``.
    """
    try:
        objects = parse(fcp)
        template = next((o for o in objects if o.tag in (0x62, 0x6F)), None)
        if template is not None and template.tag == 0x6F:
            template = template.find(0x62) or template
        if template is None:
            return None
        for tag in (0x80, 0x81):
            item = template.find(tag)
            if item is not None and 1 <= len(item.value) <= 4:
                return int.from_bytes(item.value, "big")
    except TlvError:
        return None
    return None


def der_total_length(header: bytes) -> int | None:
    """Total size of the DER object starting ``header`` (tag, length and value), if it tells.

    A certificate begins ``30 82 LL LL``: its first four bytes give the size of the whole file
    content, so the read can stop there instead of running into the file's unused tail.
    """
    if len(header) < 2 or header[0] in (0x00, 0xFF):
        return None
    first = header[1]
    if first < 0x80:
        return 2 + first
    size = first & 0x7F
    if size == 0 or size > 3 or len(header) < 2 + size:
        return None
    return 2 + size + int.from_bytes(header[2 : 2 + size], "big")


@dataclass(frozen=True)
class _Failure:
    error: ApduError


class CardFiles:
    """Reads transparent files, each at most once per diagnosis.

    A file is selected by its absolute path with P2 ``0C`` and read in chunks of at most
    :data:`MAX_CHUNK` bytes. Without a known size the first chunk asks for E7 bytes; a smaller
    file then answers ``6Cxx`` and the T=0 layer asks again with the right Le, so a small file
    costs three APDUs whichever way it is selected (``04`` + GET RESPONSE would cost the same).
    Failures are remembered too, so that a file the card refused is not asked for twice.

    ``fcp_free``: the link is T=1, where a SELECT brings its FCP in the same exchange (no
    GET RESPONSE): files other than certificates are then selected with P2 ``04`` and read to
    the size the FCP gives, which saves the ``6Cxx`` round of small files.
    """

    def __init__(self, card: Transport, *, fcp_free: bool = False,
                 addressing: Addressing = BASIC_CHANNEL) -> None:
        self.card = card
        self.fcp_free = fcp_free
        self.addressing = addressing
        # Keyed by path (plus the limit, for a partial read of a file shared by several objects).
        self._cache: dict[str, bytes | _Failure] = {}

    def read(self, path: str, *, der_length: bool = False, records: bool = False,
             limit: int | None = None) -> bytes:
        """The content of the file at ``path`` (absolute, e.g. ``3F00/0001/5031``).

        ``der_length``: the file holds one DER object; stop after it. ``records``: the file holds
        BER-TLV records then padding; stop at the padding. ``limit``: read no more than this many
        bytes. Raises :class:`UnexpectedStatus` (or another ApduError) on failure.
        """
        key = path if limit is None else f"{path}#{limit}"
        cached = self._cache.get(key)
        if isinstance(cached, _Failure):
            raise cached.error
        if cached is not None:
            return cached
        chipdoc = self.addressing.chipdoc
        use_fcp = (self.fcp_free or chipdoc) and not der_length
        try:
            command = select_command(path, fcp=use_fcp, with_le=True, addressing=self.addressing)
            response = self.card.transmit(command)
            if not response.ok:
                raise UnexpectedStatus(command, response.sw, f"select {path}")
            size = fcp_file_size(response.data) if use_fcp else None
            data = read_selected(self.card, path, size=size, der_length=der_length,
                                 records=records, limit=limit, cla=self.addressing.cla,
                                 max_chunk=self.addressing.max_chunk)
        except UnexpectedStatus as exc:
            self._cache[key] = _Failure(exc)
            raise
        self._cache[key] = data
        return data

    def remember(self, path: str, data: bytes) -> None:
        """Keep a file read by another route (e.g. EF.SN by SFI) so it is not read again."""
        self._cache[path] = data


def records_end(data: bytes) -> bool:
    """Whether ``data``, the start of a file of BER-TLV records, already holds all of them.

    PKCS#15 directories and the CPS data objects are allocated larger than their content and
    padded with ``00`` (or ``FF``): a padding byte where a tag should start ends the content, so
    the rest of the file need not be read. A record cut by the chunk boundary means "read on";
    a malformed header means "stop" (reading further would not repair it; the parser reports it).
    """
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):
            return True
        end = _record_end(data, pos)
        if end is None:
            return False
        if end < 0:
            return True
        pos = end
    return False


def _record_end(data: bytes, pos: int) -> int | None:
    """End offset of the record at ``pos``; ``None`` if cut short, ``-1`` if malformed."""
    i = pos + 1
    if data[pos] & 0x1F == 0x1F:  # multi-byte tag: bytes with bit 8 set, then a last one
        while i < len(data) and data[i] & 0x80 and i - pos < 4:
            i += 1
        i += 1
    if i >= len(data):
        return None
    first = data[i]
    i += 1
    length = first
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            return -1
        if i + count > len(data):
            return None
        length = int.from_bytes(data[i : i + count], "big")
        i += count
    end = i + length
    return end if end <= len(data) else None


def read_selected(card: Transport, what: str, *, size: int | None = None,
                  der_length: bool = False, records: bool = False,
                  limit: int | None = None, cla: int = 0x00,
                  max_chunk: int = MAX_CHUNK) -> bytes:
    """READ BINARY the currently selected EF from offset 0, chunk by chunk (class ``cla``).

    ``size`` is the file size when the FCP gave it: each chunk then asks for exactly what is left.
    ``der_length``: the file holds one DER object, whose header tells where to stop.
    ``records``: the file holds BER-TLV records then padding; stop at the padding.
    """
    total = size
    if limit is not None:
        total = limit if total is None else min(total, limit)
    total = min(total, MAX_FILE_SIZE) if total is not None else None
    data = b""
    while True:
        want = max_chunk if total is None else min(max_chunk, total - len(data))
        if want <= 0 or len(data) >= MAX_FILE_SIZE:
            break
        offset = len(data)
        if offset > MAX_OFFSET:
            break
        command = CommandApdu(cla, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=want)
        response = card.transmit(command)
        if response.sw == SW_WRONG_OFFSET:
            # Past the end: the previous chunk ended exactly at the end of the file (or the file
            # is empty).
            break
        if response.sw not in (SW_OK, SW_END_OF_FILE):
            raise UnexpectedStatus(command, response.sw, f"read {what}")
        data += response.data
        if der_length and total is None and data:
            found = der_total_length(data[:6])
            if found is not None:
                total = min(found, limit) if limit is not None else found
        if len(response.data) < want or response.sw == SW_END_OF_FILE:
            break
        if records and records_end(data):
            break
    return data if total is None else data[:total]
