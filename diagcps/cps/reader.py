"""One reading of a CPS card: everything the diagnosis needs, in as few APDUs as the card allows.

Order (CPS3 contact; see bench/apdu_counts.py for the counts)::

    SELECT MF             00 A4 09 0C 02 3F 00          a known state in shared mode
    EF.SN by SFI          00 B0 9C 00 0C                (else the trace's select + read)
    EF_ACTUA              00 A4 09 04 04 3F 00 D0 10    6A82 = normal
    PIN counters          00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80, GET RESPONSE
    ODF, AODF             SELECT (P2 0C) + READ BINARY, up to the padding
    unblock counters      SELECT MF + GET DATA (reference from the AODF)
    DODF, CPS_ID_CARD, CPS_NAME_PS, CPS_INFO_PS
    CDF, each certificate as far as its DER length says

The first SELECT MF costs one APDU but makes the SFI read and the GET DATA safe in PC/SC shared
mode, where another program may have left a DF selected. The PIN counters come before the PKCS#15
files so that a transcript of the Cryptolib's own exchange (which has no PKCS#15 reads) still
yields them. A contactless card has no PIN and keeps its PKCS#15 files in 3F00/0002.

CPS4 (docs/CPS-CARD.md 3.2), everything on logical channel 1, nothing on the basic channel (the
CPS2ter emulation's, which a SESAM-Vitale program may be using)::

    ChipDoc               01 A4 04 0C 08 80 25 00 00 01 FF 01 00   (69 85: the recovery)
    EF.SN                 01 A4 08 00 02 D0 03 00 (6F FCI), 01 B0 00 00 0C
    EF_ACTUA              01 A4 08 00 02 D0 10 00                  6A82 = normal
    PIN state             01 20 00 01                              empty VERIFY
    ODF, AODF, unblock state (01 20 00 <ref>), DODF, identity objects, CDF, certificates:
    each file 01 A4 08 00 <path from the MF> 00, then READ BINARY by 256 up to the FCI's size

Never raises for card-side trouble: a transport failure stops the reading and is recorded with its
code; an unexpected answer is recorded as CARD_READ_ERROR and the reading goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from apdu.errors import ApduError, CommandRefused, TransportError
from apdu.transport import Transport
from diagcps.cps import pkcs15
from diagcps.cps.actua import read_actua
from diagcps.cps.certificates import decode_certificate
from diagcps.cps.codes import G02, TEST_CATEGORIES, CodeTables
from diagcps.cps.detect import (
    EF_SN_PATH,
    IasReselect,
    SerialNumber,
    classify_atr,
    decode_ef_sn,
    read_ef_sn,
)
from diagcps.cps.identity import (
    LABEL_ID_CARD,
    LABEL_INFO_PS,
    LABEL_NAME_PS,
    IdCard,
    InfoPs,
    NamePs,
    build_holder,
    decode_id_card,
    decode_info_ps,
    decode_name_ps,
)
from diagcps.cps.model import (
    CARD_READ_ERROR,
    COMMAND_REFUSED,
    DETECTION_CPS,
    DETECTION_UNKNOWN,
    DETECTION_UNREADABLE,
    DETECTION_WRONG_CARD,
    GENERATION_CPS4,
    PIN_ABSENT,
    PIN_UNKNOWN,
    CardReading,
    PinStatus,
    ReadProblem,
)
from diagcps.cps.pin import PIN_REFERENCE, SELECT_MF, open_chipdoc, read_counters, verify_status
from diagcps.cps.session import (
    BASIC_CHANNEL,
    CHIPDOC_CHANNEL_ONE,
    SW_FILE_NOT_FOUND,
    Addressing,
    ApduCounter,
    CardFiles,
    UnexpectedStatus,
    open_card_session,
)

T = TypeVar("T")


class _Stop(Exception):
    """The card or the link went away: nothing more can be read."""


@dataclass
class _StepOutcome:
    error: ApduError | None = None

    @property
    def sw(self) -> str | None:
        return self.error.sw_hex if isinstance(self.error, UnexpectedStatus) else None


def read_card(raw: Transport, *, now: datetime, dictionary: Path | None = None,
              certificates: bool = True) -> CardReading:
    """Read everything a diagnosis needs from the card behind ``raw``.

    ``dictionary``: a DICO-FR.GIP file for the code labels; ``None`` looks where the Cryptolib
    installs it on this system (built-in tables when absent). ``certificates=False`` skips the CDF
    and the certificate files (about a third of the APDUs).
    """
    try:
        atr = bytes(raw.atr)
    except (TransportError, OSError) as exc:
        reading = CardReading(atr=b"")
        code = exc.code if isinstance(exc, TransportError) and exc.code else CARD_READ_ERROR
        reading.problems.append(ReadProblem(code, "atr", str(exc)))
        return reading
    reading = CardReading(atr=atr)
    verdict = classify_atr(atr)
    reading.contactless = verdict.contactless
    if not verdict.cps_like:
        # A Vitale card or anything else: reported, never probed.
        reading.detection = DETECTION_WRONG_CARD
        reading.wrong_card_label = verdict.wrong_card_label
        return reading
    reading.generation = verdict.generation
    counter = ApduCounter(raw)
    cps4 = verdict.generation == GENERATION_CPS4
    # CPS4: the whole reading on logical channel 1, nothing on the basic channel (it belongs to
    # the CPS2ter emulation, which another program may be using); CPS3: the basic channel, with
    # the IAS reselection should another program have left the CPS2ter part selected.
    session = open_card_session(counter, chipdoc_only=cps4)
    card = session if cps4 else IasReselect(session)
    run = _Reading(reading, card, now=now, tables=CodeTables.load(dictionary),
                   certificates=certificates, fcp_free=verdict.offers_t1,
                   addressing=CHIPDOC_CHANNEL_ONE if cps4 else BASIC_CHANNEL)
    try:
        run.read()
    except _Stop:
        pass
    finally:
        reading.apdu_count = counter.count
    return reading


class _Reading:
    def __init__(self, reading: CardReading, card: Transport, *, now: datetime,
                 tables: CodeTables, certificates: bool, fcp_free: bool,
                 addressing: Addressing) -> None:
        self.reading = reading
        self.card = card
        self.addressing = addressing
        self.files = CardFiles(card, fcp_free=fcp_free, addressing=addressing)
        self.now = now
        self.tables = tables
        self.want_certificates = certificates
        self.app_path = (pkcs15.CONTACTLESS_APP_PATH if reading.contactless
                         else pkcs15.CONTACT_APP_PATH)
        self.chipdoc_open = False

    # --- bookkeeping ---------------------------------------------------------------------------

    def problem(self, step: str, message: str, sw: str | None = None,
                code: str = CARD_READ_ERROR) -> None:
        self.reading.problems.append(ReadProblem(code, step, message, sw))

    @contextmanager
    def step(self, name: str) -> Iterator[_StepOutcome]:
        """Run one step: a transport failure stops the reading, anything else is recorded."""
        outcome = _StepOutcome()
        try:
            yield outcome
        except TransportError as exc:
            self.problem(name, str(exc), code=exc.code or CARD_READ_ERROR)
            raise _Stop from exc
        except CommandRefused as exc:
            self.problem(name, str(exc), code=COMMAND_REFUSED)
            raise _Stop from exc
        except UnexpectedStatus as exc:
            outcome.error = exc
            self.problem(name, str(exc), exc.sw_hex)
        except ApduError as exc:  # TlvError, CertificateError, MalformedApdu...
            outcome.error = exc
            self.problem(name, str(exc))

    def issues(self, step: str, issues: list[str]) -> None:
        for issue in issues:
            self.problem(step, issue)

    # --- the reading ---------------------------------------------------------------------------

    def read(self) -> None:
        if not self.identify():
            return
        self.read_actua()
        self.read_pin()
        odf = self.read_odf()
        if odf is None:
            return
        if not self.reading.contactless:
            self.read_unblock(odf)
        self.read_identity(odf)
        if self.want_certificates:
            self.read_certificates(odf)

    def identify(self) -> bool:
        """EF.SN decides: only a card with the ANS issuer number is a CPS."""
        if self.addressing.chipdoc:
            return self.identify_cps4()
        reading = self.reading
        with self.step("select_mf"):
            response = self.card.transmit(SELECT_MF)
            if not response.ok:
                raise UnexpectedStatus(SELECT_MF, response.sw, "select MF")
        read = None
        with self.step("ef_sn"):
            read = read_ef_sn(self.card)
        if read is None:
            return False
        serial = decode_ef_sn(read.data) if read.data else None
        if read.data is None:
            self.problem("ef_sn", "EF.SN could not be read", read.sw)
        if serial is None or not serial.ans:
            # CPS-like ATR, foreign or missing EF.SN: not an ANS card. Nothing is probed further,
            # and above all no PIN-related command is sent.
            reading.detection = DETECTION_UNKNOWN
            if serial is not None:
                reading.pan = serial.pan
            return False
        self.files.remember("3F00/D003", read.data)
        return self.recognise(serial)

    def identify_cps4(self) -> bool:
        """CPS4: ChipDoc on channel 1 first, then EF.SN there, as the Cryptolib does [C].

        A ChipDoc that cannot be selected, or an EF.SN it will not give, is a card that cannot be
        read ("carte CPS4 illisible"), not a foreign card: its ATR is a CPS4's.
        """
        reading = self.reading
        with self.step("chipdoc") as outcome:
            open_chipdoc(self.card)
            self.chipdoc_open = True
        if outcome.error is not None:
            reading.detection = DETECTION_UNREADABLE
            return False
        data = None
        with self.step("ef_sn") as outcome:
            data = self.files.read(EF_SN_PATH)
        serial = decode_ef_sn(data) if data else None
        if serial is None:
            if outcome.error is None:
                self.problem("ef_sn", "EF.SN is not a PAN object")
            reading.detection = DETECTION_UNREADABLE
            return False
        if not serial.ans:
            reading.detection = DETECTION_UNKNOWN
            reading.pan = serial.pan
            return False
        return self.recognise(serial)

    def recognise(self, serial: SerialNumber) -> bool:
        reading = self.reading
        reading.detection = DETECTION_CPS
        reading.recognised = True
        reading.serial = serial.serial
        reading.pan = serial.pan
        reading.pan_check_digit_ok = serial.check_digit_ok
        if serial.check_digit_ok is False:
            self.problem("ef_sn", f"EF.SN check digit {serial.check_digit} does not match "
                         f"the PAN {serial.pan}")
        return True

    def read_actua(self) -> None:
        with self.step("ef_actua"):
            actua = read_actua(self.card, self.addressing)
            self.reading.actua = actua
            self.reading.update_incident = actua.incident

    def read_pin(self) -> None:
        reading = self.reading
        if reading.contactless:
            reading.pin = PinStatus(PIN_ABSENT)
            reading.unblock = PinStatus(PIN_ABSENT)
            return
        with self.step("pin") as outcome:
            if reading.generation == GENERATION_CPS4:
                if not self.chipdoc_open:
                    open_chipdoc(self.card)
                    self.chipdoc_open = True
                reading.pin = verify_status(self.card, PIN_REFERENCE)
            else:
                reading.pin = read_counters(self.card, PIN_REFERENCE)
        if outcome.error is not None:
            reading.pin = PinStatus(PIN_UNKNOWN, sw=outcome.sw, reference=PIN_REFERENCE)

    def read_odf(self) -> pkcs15.Odf | None:
        odf = None
        with self.step("odf"):
            data = self._odf_data()
            odf, issues = pkcs15.parse_odf(data, self.app_path)
            self.issues("odf", issues)
        return odf

    def _odf_data(self) -> bytes:
        try:
            return self.files.read(f"{self.app_path}/{pkcs15.ODF_FID}", records=True)
        except UnexpectedStatus as exc:
            if exc.sw != SW_FILE_NOT_FOUND:
                raise
            # Not where CPS-CARD.md says: ask EF.DIR where the application lives.
            apps, issues = pkcs15.parse_ef_dir(self.files.read(pkcs15.EF_DIR_PATH,
                                                               records=True))
            self.issues("ef_dir", issues)
            aid = (pkcs15.PKCS15_AID_CONTACTLESS if self.reading.contactless
                   else pkcs15.PKCS15_AID_CONTACT)
            found = pkcs15.application_path(apps, aid)
            if found is None or found == self.app_path:
                raise
            self.app_path = found
            return self.files.read(f"{found}/{pkcs15.ODF_FID}", records=True)

    def _directory(self, odf: pkcs15.Odf, kind: int, default_fid: str | None,
                   step: str, parse: Callable[[bytes], tuple[list[T], list[str]]]) -> list[T]:
        paths = [p.path for p in odf.paths(kind)]
        if not paths and default_fid is not None:
            paths = [f"{self.app_path}/{default_fid}"]
        if not paths:
            self.problem(step, f"the ODF names no {step.upper()}")
        found: list[T] = []
        for path in paths:
            with self.step(step):
                items, issues = parse(self.files.read(path, records=True))
                found.extend(items)
                self.issues(step, issues)
        return found

    def read_unblock(self, odf: pkcs15.Odf) -> None:
        reading = self.reading
        auth_objects = self._directory(odf, pkcs15.ODF_AUTH_OBJECTS, pkcs15.DEFAULT_AODF_FID,
                                       "aodf", pkcs15.parse_aodf)
        reference = pkcs15.unblocking_reference(auth_objects)
        if reference is None:
            if auth_objects:
                self.problem("unblock", "no object flagged unblockingPin in the AODF")
            return
        with self.step("unblock") as outcome:
            if reading.generation == GENERATION_CPS4:
                if not self.chipdoc_open:
                    open_chipdoc(self.card)
                    self.chipdoc_open = True
                reading.unblock = verify_status(self.card, reference, unblock=True)
            else:
                # The AODF read moved into the application DF: the PIN objects are in the MF.
                reading.unblock = read_counters(self.card, reference, unblock=True,
                                                select_mf=True)
        if outcome.error is not None:
            reading.unblock = PinStatus(PIN_UNKNOWN, sw=outcome.sw, reference=reference)

    def read_identity(self, odf: pkcs15.Odf) -> None:
        reading = self.reading
        objects = self._directory(odf, pkcs15.ODF_DATA_OBJECTS, None, "dodf",
                                  lambda data: pkcs15.parse_dodf(data, self.app_path))
        if not objects:
            return
        id_card = self._decode(objects, LABEL_ID_CARD, decode_id_card)
        name = self._decode(objects, LABEL_NAME_PS, decode_name_ps)
        info = self._decode(objects, LABEL_INFO_PS, decode_info_ps)
        if isinstance(id_card, IdCard):
            reading.card_number = id_card.card_number
            reading.issued = id_card.issued
            reading.expires = id_card.expires
            reading.card_category = id_card.category
            if id_card.category is not None:
                reading.test_card = id_card.category in TEST_CATEGORIES
        if isinstance(info, InfoPs) and info.card_type is not None:
            reading.kind = info.kind
            if reading.kind is None:
                self.problem("identity", f"card type {info.card_type} is not in G02 "
                             f"({', '.join(G02)})")
        if isinstance(name, NamePs) or isinstance(info, InfoPs):
            reading.holder = build_holder(name if isinstance(name, NamePs) else None,
                                          info if isinstance(info, InfoPs) else None,
                                          self.tables)

    def _decode(self, objects: list[pkcs15.Pkcs15Object], label: str,
                decoder: Callable[[bytes], T]) -> T | None:
        obj = pkcs15.find_by_label(objects, label)
        if obj is None:
            if not self.reading.contactless:
                self.problem("identity", f"{label} is not listed in the DODF")
            return None
        if obj.needs_pin:
            self.problem("identity", f"{label} is listed as PIN-protected: not read")
            return None
        if obj.path is None:
            self.problem("identity", f"{label} has no path in the DODF")
            return None
        result = None
        with self.step("identity"):
            data = self._read_object(obj.path, der_length=False)  # records: one TLV
            result = decoder(data)
            self.issues("identity", getattr(result, "issues", []))
        return result

    def _read_object(self, where: pkcs15.ObjectPath, *, der_length: bool) -> bytes:
        if where.index is None:
            return self.files.read(where.path, der_length=der_length, records=not der_length)
        end = where.index + where.length if where.length is not None else None
        data = self.files.read(where.path, limit=end)
        return data[where.index : end]

    def read_certificates(self, odf: pkcs15.Odf) -> None:
        objects = self._directory(odf, pkcs15.ODF_CERTIFICATES, pkcs15.DEFAULT_CDF_FID, "cdf",
                                  lambda data: pkcs15.parse_cdf(data, self.app_path))
        for obj in objects:
            if obj.needs_pin or obj.path is None:
                self.problem("certificate", f"certificate {obj.label!r} not read: "
                             + ("PIN-protected" if obj.needs_pin else "no path"))
                continue
            with self.step("certificate"):
                der = self._read_object(obj.path, der_length=True)
                self.reading.certificates.append(
                    decode_certificate(der, label=obj.label, path=obj.path.path, now=self.now))
