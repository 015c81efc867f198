"""Redacting a recorded transcript so that it can be attached to a ticket and still replays.

Each personal value (card serial, card number, national identifier, names) is replaced by a
pseudonym of the *same byte length*, everywhere it appears in the card's answers: TLV lengths,
file sizes and DER lengths stay right, so the transcript replays to the same diagnosis with other
values. Digits stay digits and check digits are recomputed, so the checks that verify them still
pass. Certificate signatures no longer verify; the tool never relies on them.

Values are replaced in the concatenation of all answers, so a value cut across two READ BINARY
chunks is replaced too.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from apdu.transcript import Exchange, Provenance, Transcript
from diagcps.cps.codes import is_digits, luhn_check_digit
from diagcps.report.redact import holder_names


def _digits(seed: str, count: int) -> str:
    stream = hashlib.sha256(("digits:" + seed).encode()).hexdigest()
    out = "".join(str(int(c, 16) % 10) for c in stream)
    while len(out) < count:
        out += out
    return out[:count]


def _letters(seed: str, count: int) -> str:
    stream = hashlib.sha256(("letters:" + seed).encode()).digest()
    out = "".join(chr(ord("A") + b % 26) for b in stream)
    while len(out) < count:
        out += out
    return out[:count]


def _bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex(digits)


def replacements(reading: Any) -> dict[bytes, bytes]:
    """Byte patterns of the card's personal values mapped to same-length pseudonyms."""
    pairs: dict[bytes, bytes] = {}
    serial = reading.serial or ""
    if is_digits(serial):
        fake = _digits(serial, len(serial))
        pan_old = "8025000001" + serial
        pan_new = "8025000001" + fake
        old = pan_old + str(luhn_check_digit(pan_old))
        new = pan_new + str(luhn_check_digit(pan_new))
        pairs[_bcd(old)] = _bcd(new)
        pairs[serial.encode()] = fake.encode()
    number = reading.card_number or ""
    if is_digits(number):
        fake = _digits(number, len(number))
        pairs[_bcd(number)] = _bcd(fake)
        pairs[number.encode()] = fake.encode()
    holder = reading.holder
    if holder is not None:
        if holder.national_id and holder.id_number and is_digits(holder.id_number):
            body = _digits(holder.id_number, len(holder.id_number) - 1)
            fake_number = body + str(luhn_check_digit(body))
            fake_id = holder.national_id[: len(holder.national_id) - len(holder.id_number)] \
                + fake_number
            pairs[holder.national_id.encode()] = fake_id.encode()
        for name in holder_names(holder):
            if len(name) < 2:
                continue
            for encoding in ("latin-1", "utf-8"):
                try:
                    raw = name.encode(encoding)
                except UnicodeEncodeError:
                    continue
                pairs[raw] = _letters(name, len(raw)).encode()
    return pairs


def redact_transcript(transcript: Transcript, diagnosis: Any) -> Transcript:
    readings = [o.reading for o in diagnosis.outcomes.values() if o.reading is not None]
    pairs: dict[bytes, bytes] = {}
    for reading in readings:
        pairs.update(replacements(reading))
    return redact_exchanges(transcript, pairs)


def redact_exchanges(transcript: Transcript, pairs: dict[bytes, bytes]) -> Transcript:
    datas = [e.response[:-2] for e in transcript.exchanges]
    stream = b"".join(datas)
    for old, new in sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True):
        stream = stream.replace(old, new)
    exchanges, offset = [], 0
    for exchange, data in zip(transcript.exchanges, datas, strict=True):
        new_data = stream[offset : offset + len(data)]
        offset += len(data)
        exchanges.append(Exchange(exchange.command, new_data + exchange.response[-2:]))
    provenance = Provenance(
        transcript.provenance.source,
        transcript.provenance.description + " (personal values replaced by pseudonyms)",
        transcript.provenance.recorded_at,
        [*transcript.provenance.redactions,
         "card serial, card number, national identifier and names replaced by same-length "
         "pseudonyms; certificate signatures no longer verify"],
    )
    return replace(transcript, exchanges=exchanges, provenance=provenance)
