"""Redacting a recorded transcript, field by field, so that it can go with a ticket and replays.

The card's answers are put back together into the files they were read from (SELECT, READ BINARY
at an offset, by SFI, GET RESPONSE), each file is redacted by its structure, and the answers are
cut again from the redacted files:

* EF.SN (``5A``): the serial digits become the run's pseudonym, the check digit is recomputed;
* CPS_ID_CARD (``E3``): the card number (``81``);
* CPS_NAME_PS (``E4``): birth name, usage name, first names, usual first name;
* CPS_INFO_PS (``ED``): the national identifier (``81``, whatever its characters: RPPS, ADELI,
  ``FINESS/index`` of CPE and CPA cards) and the practice name (``84``);
* certificates: replaced whole by stand-ins (:mod:`diagcps.report.standin`), and their key
  identifiers in the PKCS#15 directories by the stand-ins' ones.

Pseudonyms come from the run's :class:`~diagcps.report.redact.Pseudonyms`: drawn at random, the
same in the report of the run. Every value keeps its byte length, so lengths, file sizes and the
commands the reading sends stay the same, and the transcript replays. Then, as a last guard, any
personal value of the reading still found in an answer (a layout not known above) is replaced
where it stands, and the transcript says so in its redactions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from apdu.transcript import Exchange, Provenance, Transcript
from diagcps.cps.codes import is_digits, luhn_check_digit, luhn_ok
from diagcps.report.redact import Pseudonyms, holder_names

INS_SELECT, INS_READ_BINARY, INS_GET_RESPONSE = 0xA4, 0xB0, 0xC0
ANS_ISSUER = "8025000001"
PADDING = b"\x00\xff"


# --- answers -> files ----------------------------------------------------------------------------

@dataclass
class _Segment:
    exchange: int
    file: str
    offset: int
    length: int


@dataclass
class _Files:
    images: dict[str, bytearray] = field(default_factory=dict)
    segments: list[_Segment] = field(default_factory=list)


def _files(exchanges: list[Exchange]) -> _Files:
    """Which bytes of which answer are which bytes of which file."""
    files = _Files()
    current: str | None = None
    generation = 0
    pending: tuple[str, int] | None = None  # READ BINARY answered 61xx: data by GET RESPONSE
    for index, exchange in enumerate(exchanges):
        command, response = exchange.command, exchange.response
        data, sw1 = response[:-2], response[-2]
        ins = command[1] if len(command) > 1 else None
        if ins == INS_SELECT and len(command) >= 5:
            generation += 1
            current = f"select:{command[2]:02X}:{command[5:5 + command[4]].hex().upper()}"
            pending = None
            continue
        if ins == INS_READ_BINARY and len(command) >= 4 and command[0] & 0xF0 in (0x00, 0x80):
            p1, p2 = command[2], command[3]
            if p1 & 0x80:
                current = f"sfi:{p1 & 0x1F:02X}"
                generation += 1
                offset = p2
            else:
                offset = (p1 << 8) | p2
            if current is None:
                continue
            key = current
            if sw1 == 0x61:
                pending = (key, offset)
            elif data:
                _place(files, index, key, offset, data)
            continue
        if ins == INS_GET_RESPONSE and pending is not None and data:
            key, offset = pending
            _place(files, index, key, offset, data)
            pending = (key, offset + len(data)) if sw1 == 0x61 else None
            continue
        pending = None
    return files


def _place(files: _Files, index: int, key: str, offset: int, data: bytes) -> None:
    image = files.images.setdefault(key, bytearray())
    end = offset + len(data)
    if len(image) < end:
        image.extend(bytes(end - len(image)))
    known = image[offset:end]
    # The same file read twice (after a reset) with other content: keep each read apart.
    if any(known) and bytes(known) != data:
        suffix = 1
        while f"{key}#{suffix}" in files.images:
            suffix += 1
        key = f"{key}#{suffix}"
        image = files.images.setdefault(key, bytearray(end))
    image[offset:end] = data
    files.segments.append(_Segment(index, key, offset, len(data)))


# --- files, by structure --------------------------------------------------------------------------

def _records(data: bytes | bytearray, start: int = 0, end: int | None = None) -> list[
        tuple[int, int, int, int]]:
    """BER-TLV records in ``data[start:end]`` as (tag, record start, value start, value end),
    up to the padding or the first malformed header."""
    end = len(data) if end is None else end
    found = []
    pos = start
    while pos < end and data[pos] not in PADDING:
        head = pos
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            while pos < end and data[pos] & 0x80:
                tag = (tag << 8) | data[pos]
                pos += 1
            if pos >= end:
                break
            tag = (tag << 8) | data[pos]
            pos += 1
        if pos >= end:
            break
        first = data[pos]
        pos += 1
        length = first
        if first & 0x80:
            count = first & 0x7F
            if count == 0 or count > 3 or pos + count > end:
                break
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        value_end = min(pos + length, end)
        found.append((tag, head, pos, value_end))
        pos = pos + length
    return found


class _Redactor:
    def __init__(self, pseudonyms: Pseudonyms) -> None:
        self.p = pseudonyms
        self.notes: list[str] = []

    # Text fields: ISO-8859-1, padded with spaces, 00 or FF, as identity.text() reads them.
    def _text(self, image: bytearray, start: int, end: int, kind: str) -> None:
        raw = bytes(image[start:end])
        core_start = start + len(raw) - len(raw.lstrip(PADDING))
        core_end = start + len(raw.rstrip(PADDING))
        if core_end <= core_start:
            return
        text = bytes(image[core_start:core_end]).decode("iso-8859-1")
        left = len(text) - len(text.lstrip())
        body = text.strip()
        if not body:
            return
        fake = self.p.national_id(body) if kind == "id" else self.p.name(body)
        encoded = fake.encode("iso-8859-1", errors="replace")
        begin = core_start + left
        image[begin:begin + len(encoded)] = encoded

    def _bcd(self, image: bytearray, start: int, end: int, make: Any) -> None:
        digits = bytes(image[start:end]).hex().upper().rstrip("F")
        if not digits or not digits.isdigit():
            return
        fake = make(digits)
        packed = bytes.fromhex(fake + "F" * (2 * (end - start) - len(fake)))
        image[start:end] = packed

    def serial_number(self, digits: str) -> str:
        """EF.SN: issuer prefix, serial, check digit: the serial is the run's pseudonym."""
        body, check = digits[:-1], digits[-1:]
        if body.startswith(ANS_ISSUER) and len(body) > len(ANS_ISSUER):
            fake_body = ANS_ISSUER + self.p.digits(body[len(ANS_ISSUER):])
        else:
            fake_body = self.p.digits(body)
        if not check:
            return fake_body
        right = str(luhn_check_digit(fake_body))
        if luhn_ok(digits):
            return fake_body + right
        return fake_body + str((int(right) + 1) % 10)  # wrong on the card: wrong here too

    def file(self, image: bytearray) -> None:
        for tag, _head, start, end in _records(image):
            if tag == 0x5A:
                self._bcd(image, start, end, self.serial_number)
            elif tag in (0xE3, 0xE4, 0xED):
                self._identity(image, tag, start, end)
            elif tag == 0x30:
                self._certificate(image, _head, end)

    def _identity(self, image: bytearray, container: int, start: int, end: int) -> None:
        for tag, _head, vstart, vend in _records(image, start, end):
            if container == 0xE3 and tag == 0x81:
                self._bcd(image, vstart, vend, self.p.digits)
            elif container == 0xE4 and tag in (0x81, 0x82, 0x84):
                self._text(image, vstart, vend, "name")
            elif container == 0xE4 and tag == 0x83:
                pos = vstart
                for part in bytes(image[vstart:vend]).split(b"\xff"):
                    self._text(image, pos, pos + len(part), "name")
                    pos += len(part) + 1
            elif container == 0xED and tag == 0x81:
                self._text(image, vstart, vend, "id")
            elif container == 0xED and tag == 0x84:
                self._text(image, vstart, vend, "name")

    def _certificate(self, image: bytearray, head: int, end: int) -> None:
        der = bytes(image[head:end])
        if len(der) < 64 or der[1] not in (0x82, 0x83):
            return
        import hashlib

        from cryptography import x509

        from diagcps.report.standin import NoStandin, key_identifiers, make_standin

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a negative serial: still a certificate to replace
            try:
                x509.load_der_x509_certificate(der)
            except ValueError:
                return  # a directory record, not a certificate
        digest = hashlib.sha256(der).hexdigest().upper()
        standin = self.p.standins.get(digest)
        if standin is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a negative serial: still replaced
                    standin = make_standin(der, self._attribute)
                    for old, new in zip(key_identifiers(der), key_identifiers(standin),
                                        strict=False):
                        self.p.key_ids.setdefault(old, new)
            except (NoStandin, ValueError) as exc:
                # Not a certificate, or one we cannot mimic: nothing of it is kept.
                self.notes.append(f"a certificate could not be replaced ({exc}): "
                                  "its bytes are zeroed")
                standin = bytes(len(der))
            self.p.standins[digest] = standin
        image[head:end] = standin

    def _attribute(self, oid: Any, value: str) -> str:
        from cryptography.x509.oid import NameOID

        if oid in (NameOID.SURNAME, NameOID.GIVEN_NAME):
            return self.p.name(value)
        if value[:1].isdigit():
            return self.p.national_id(value)
        return self.p.name(value)


def redact_transcript(transcript: Transcript, pseudonyms: Pseudonyms,
                      readings: list[Any] = ()) -> Transcript:  # type: ignore[assignment]
    """The transcript with every personal value replaced by the run's pseudonyms.

    ``readings``: the (real) readings of the card, whose values are looked for once more in the
    redacted answers (the last guard described above).
    """
    redactor = _Redactor(pseudonyms)
    files = _files(transcript.exchanges)
    originals = {key: bytes(image) for key, image in files.images.items()}
    for image in files.images.values():
        redactor.file(image)
    for image in files.images.values():  # key identifiers, once every stand-in is known
        for old, new in pseudonyms.key_ids.items():
            start = image.find(old)
            while start >= 0:
                image[start:start + len(old)] = new
                start = image.find(old, start + len(new))
    responses = [bytearray(e.response) for e in transcript.exchanges]
    for segment in files.segments:
        image = files.images[segment.file]
        if image[segment.offset:segment.offset + segment.length] != \
                originals[segment.file][segment.offset:segment.offset + segment.length]:
            responses[segment.exchange][:segment.length] = \
                image[segment.offset:segment.offset + segment.length]
    leftovers = _last_guard(responses, readings, pseudonyms)
    exchanges = [Exchange(e.command, bytes(r)) for e, r in zip(transcript.exchanges, responses,
                                                               strict=True)]
    redactions = [*transcript.provenance.redactions,
                  "card serial, card number, national identifier and names replaced by "
                  "pseudonyms drawn at random for this run (not derived from the real values); "
                  "certificates replaced by stand-ins with the same dates and roles, a fake key "
                  "and no real serial or signature", *redactor.notes, *leftovers]
    provenance = Provenance(
        transcript.provenance.source,
        transcript.provenance.description + " (personal values replaced by pseudonyms)",
        transcript.provenance.recorded_at,
        redactions,
        redacted=True,
        run_id=pseudonyms.run_id,
    )
    return replace(transcript, exchanges=exchanges, provenance=provenance)


#: Values shorter than this are not looked for byte by byte (a short name would match inside
#: other text, "INES" in "FINESS"); the structure above is what removes them.
GUARD_MIN_LENGTH = 6


def _last_guard(responses: list[bytearray], readings: list[Any],
                pseudonyms: Pseudonyms) -> list[str]:
    pairs: dict[bytes, bytes] = {}
    for reading in readings:
        for value, fake in _values(reading, pseudonyms):
            if len(value) < GUARD_MIN_LENGTH:
                continue
            for encoding in ("iso-8859-1", "utf-8"):
                try:
                    old, new = value.encode(encoding), fake.encode(encoding)
                except UnicodeEncodeError:
                    continue
                if len(old) == len(new):
                    pairs[old] = new
            if is_digits(value) and len(value) % 2 == 0:
                pairs[bytes.fromhex(value)] = bytes.fromhex(fake)
    found = []
    for old, new in sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True):
        for response in responses:
            start = response.find(old)
            while start >= 0:
                response[start:start + len(old)] = new
                found.append(old)
                start = response.find(old, start + len(new))
    if found:
        return [f"{len(found)} personal value(s) found outside the known layouts replaced "
                "where they stood"]
    return []


def _values(reading: Any, pseudonyms: Pseudonyms) -> list[tuple[str, str]]:
    values = []
    if reading.serial and is_digits(reading.serial):
        values.append((reading.serial, pseudonyms.digits(reading.serial)))
    if reading.card_number and is_digits(reading.card_number):
        values.append((reading.card_number, pseudonyms.digits(reading.card_number)))
    holder = reading.holder
    if holder is not None:
        if holder.national_id:
            values.append((holder.national_id, pseudonyms.national_id(holder.national_id)))
        values += [(name, pseudonyms.name(name)) for name in holder_names(holder)]
    return values
