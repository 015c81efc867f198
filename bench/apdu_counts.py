"""APDU counts of a full ``read_card`` next to the minimal sequence that gets the same facts.

Run from the repository root: ``.venv/bin/python bench/apdu_counts.py``; writes
``bench/RESULTS-apdu-counts.json``. Every APDU costs 10-30 ms on a real card, so the count is the
reading's cost.

The minimal sequence is a lower bound: it is what a reader would send if it already knew every
file's path and the length of its content (an oracle; here, the profile itself). It is sent to
the same virtual card to prove that it works. For a CPS3 contact card (T=0)::

    00 B0 9C 00 0C                              EF.SN by SFI (MF current after power-on)
    00 A4 09 04 04 3F 00 D0 10                  EF_ACTUA: 6A82, absent
    00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80    PIN counters -> 61xx
    00 C0 00 00 xx                              GET RESPONSE
    00 A4 09 0C 06 3F 00 00 01 50 31            ODF            } each file: SELECT (P2 0C)
    00 B0 00 00 <len>                                          } then ceil(len / E7) reads
    ... AODF (3F00/0001/7001)                                  } with the exact Le
    00 A4 09 0C 02 3F 00                        back to the MF: the PIN objects live there
    00 CB ... BF 81 <unblock ref> 02 A0 80      unblock code counters -> 61xx
    00 C0 00 00 xx                              GET RESPONSE
    ... DODF, CPS_ID_CARD, CPS_NAME_PS, CPS_INFO_PS
    ... CDF, authentication certificate, signature certificate   (with certificates only)

For a CPS4 everything goes to logical channel 1, where ChipDoc lives (the basic channel belongs to
the CPS2ter emulation and is never touched)::

    01 A4 04 0C 08 80 25 00 00 01 FF 01 00      ChipDoc on channel 1 (no MANAGE CHANNEL)
    01 A4 08 0C 02 D0 03 + 01 B0 00 00 0C       EF.SN: SELECT by path from the MF, then read
    01 A4 08 0C 02 D0 10                        EF_ACTUA: 6A82, absent
    01 20 00 01                                 PIN state (empty VERIFY)
    ... ODF, AODF                               SELECT (P1 08, P2 0C) then ceil(len / 256) reads
    01 20 00 <unblock ref>                      unblock state (empty VERIFY)
    ... DODF, CPS_ID_CARD, CPS_NAME_PS, CPS_INFO_PS [, CDF and the two certificates]

The oracle selects with P2 ``0C`` (it needs no FCI: it knows the lengths); ``read_card`` uses the
Cryptolib's P2 ``00``, whose ``6F`` FCI gives the size in the same exchange over T=1, so the count
is the same there. Over T=0 the FCI costs a GET RESPONSE each time (``cps4-t0-healthy``).

What ``read_card`` sends beyond that, and why:

- one ``SELECT MF`` first: in PC/SC shared mode another program may have left a DF selected, and
  EF.SN is read by SFI relative to the current DF (and the PIN objects answer only from the MF);
  CPS3 only;
- on T=0 (CPS3 contact), one more READ BINARY for each small file whose length it cannot know:
  the first chunk asks for E7 bytes and the card answers ``6Cxx`` with the real length (selecting
  with P2 04 to get the size from the FCP would cost a GET RESPONSE instead: the same count). On
  T=1 (CPS4, contactless) the FCP comes with the SELECT itself, so files are selected with P2 04
  and read to the size it gives: no extra APDU.

Directory files allocated larger than their content are read only up to their padding,
certificates only to their DER length, in both cases.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apdu.cardmodel import DirectTransport  # noqa: E402
from apdu.command import CommandApdu  # noqa: E402
from apdu.errors import TlvError  # noqa: E402
from apdu.tlv import parse_one  # noqa: E402
from apdu.transport import Transport  # noqa: E402
from cardsim.virtual import VirtualCard  # noqa: E402
from diagcps.cps import read_card  # noqa: E402
from diagcps.cps.session import ApduCounter, open_card_session  # noqa: E402

CARDS = ROOT / "cardsim" / "profiles"
RESULTS = ROOT / "bench" / "RESULTS-apdu-counts.json"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PROFILES = ("cps3-healthy", "cps4-healthy", "cps4-t0-healthy")
CHUNK = 0xE7
#: ChipDoc gives 256 bytes a READ BINARY (Le 00, as the Cryptolib reads it).
CHIPDOC_CHUNK = 0x100
MS_PER_APDU = (10, 30)

APP = "3F00/0001"
FILES_BEFORE_UNBLOCK = ("5031", "7001")  # ODF, AODF
IDENTITY_FILES = ("7006", "D001", "D002", "D003")  # DODF and the three free identity objects
CERTIFICATE_FILES = ("7005", "C001", "C002")  # CDF and the two certificates
UNBLOCK_REFERENCE = 0x02  # what the AODF of these profiles says


def content_length(data: bytes) -> int:
    """Length of the content: one DER object, or BER-TLV records up to the padding."""
    pos = 0
    while pos < len(data) and data[pos] not in (0x00, 0xFF):
        try:
            _tlv, used = parse_one(data[pos:], allow_padding=False)
        except TlvError:
            break
        pos += used
    return pos


class Minimal:
    """Sends the oracle sequence and checks each answer."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.counter = ApduCounter(DirectTransport(card))
        self.session: Transport = open_card_session(
            self.counter, chipdoc_only=card.quirks.get("basic_channel") == "cps2ter")
        self.sequence: list[str] = []

    def send(self, hex_command: str, purpose: str, ok: Callable[[int], bool] | None = None,
             ) -> bytes:
        command = CommandApdu.from_hex(hex_command)
        before = self.counter.count
        response = self.session.transmit(command)
        sent = self.card.commands()[before:]
        for raw in sent:
            self.sequence.append(f"{raw.hex().upper()}  {purpose}")
        if not (ok or (lambda sw: sw == 0x9000))(response.sw):
            raise AssertionError(f"{purpose}: {command} answered {response.sw:04X}")
        return response.data

    def read_file(self, path: str, purpose: str, *, chipdoc: bool = False) -> None:
        data = self.card.files[path].data or b""
        length = content_length(data)
        fids = path.replace("/", "")
        if chipdoc:  # channel 1, P1 08: the path from the MF without 3F00
            fids = fids[4:]
            self.send(f"01A4080C{len(fids) // 2:02X}{fids}", f"select {purpose}")
        else:
            self.send(f"00A4090C{len(fids) // 2:02X}{fids}", f"select {purpose}")
        chunk_size = CHIPDOC_CHUNK if chipdoc else CHUNK
        for chunk in range(math.ceil(length / chunk_size)):
            offset = chunk * chunk_size
            size = min(chunk_size, length - offset)
            self.send(f"{'01' if chipdoc else '00'}B0{offset:04X}{size & 0xFF:02X}",
                      f"read {purpose}")


def minimal_cps3(card: VirtualCard, certificates: bool) -> Minimal:
    run = Minimal(card)
    run.send("00B09C000C", "EF.SN by SFI")
    run.send("00A40904043F00D010", "EF_ACTUA (absent)", lambda sw: sw == 0x6A82)
    run.send("00CB3FFF0A4D087006BF810102A080", "PIN counters")
    for fid in FILES_BEFORE_UNBLOCK:
        run.read_file(f"{APP}/{fid}", fid)
    run.send("00A4090C023F00", "back to the MF")
    run.send(f"00CB3FFF0A4D087006BF81{UNBLOCK_REFERENCE:02X}02A080", "unblock counters")
    for fid in IDENTITY_FILES + (CERTIFICATE_FILES if certificates else ()):
        run.read_file(f"{APP}/{fid}", fid)
    return run


def minimal_cps4(card: VirtualCard, certificates: bool) -> Minimal:
    run = Minimal(card)
    run.send("01A4040C088025000001FF0100", "ChipDoc on channel 1")
    run.read_file("3F00/D003", "EF.SN", chipdoc=True)
    run.send("01A4080C02D010", "EF_ACTUA (absent)", lambda sw: sw == 0x6A82)
    run.send("01200001", "PIN state (empty VERIFY)", lambda sw: sw >> 4 == 0x63C)
    for fid in FILES_BEFORE_UNBLOCK:
        run.read_file(f"{APP}/{fid}", fid, chipdoc=True)
    run.send(f"012000{UNBLOCK_REFERENCE:02X}", "unblock state (empty VERIFY)",
             lambda sw: sw >> 4 == 0x63C)
    for fid in IDENTITY_FILES + (CERTIFICATE_FILES if certificates else ()):
        run.read_file(f"{APP}/{fid}", fid, chipdoc=True)
    assert all(raw[0] & 0x03 == 1 for raw in card.commands()), "basic channel touched"
    return run


def measure(name: str, certificates: bool) -> dict[str, Any]:
    card = VirtualCard.from_file(CARDS / f"{name}.json")
    reading = read_card(DirectTransport(card), now=NOW, dictionary=Path("/nonexistent"),
                        certificates=certificates)
    assert not reading.problems, reading.problems
    build = minimal_cps4 if reading.generation == "CPS4" else minimal_cps3
    minimal = build(VirtualCard.from_file(CARDS / f"{name}.json"), certificates)
    sent = [raw.hex().upper() for raw in card.commands()]
    return {
        "read_card": reading.apdu_count,
        "minimal": minimal.counter.count,
        "extra": reading.apdu_count - minimal.counter.count,
        "read_card_ms_estimate": [reading.apdu_count * ms for ms in MS_PER_APDU],
        "re_sent_after_6Cxx": sum(1 for i, raw in enumerate(sent[1:], 1)
                                  if raw[:8] == sent[i - 1][:8] and raw[2:4] == "B0"),
        "read_card_sequence": sent,
        "minimal_sequence": minimal.sequence,
    }


def main() -> None:
    results: dict[str, Any] = {
        "generated_by": "bench/apdu_counts.py",
        "what": "APDUs that reached the (virtual) card for one full read_card, next to the "
                "oracle lower bound (every path and content length known in advance).",
        "profiles": {},
    }
    for name in PROFILES:
        results["profiles"][name] = {
            "with_certificates": measure(name, True),
            "without_certificates": measure(name, False),
        }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name, variants in results["profiles"].items():
        for variant, numbers in variants.items():
            print(f"{name:14} {variant:22} read_card {numbers['read_card']:3}  "
                  f"minimal {numbers['minimal']:3}  extra {numbers['extra']}")


if __name__ == "__main__":
    main()
