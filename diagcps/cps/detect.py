"""Is it a CPS, and which one: ATR tables, EF.SN, and the card's selection recoveries.

An ATR match is not proof (another French hospital card shares the shape): only EF.SN with the ANS
issuer number ``8025000001`` makes a card a CPS, and only then may PIN-related commands be sent.
Tables written from docs/CPS-CARD.md 2.1.
"""

from __future__ import annotations

from dataclasses import dataclass

from apdu.atr import Atr, AtrPattern, match_first
from apdu.command import CommandApdu
from apdu.errors import AtrError, NoRecordedAnswer, TransportError
from apdu.response import ResponseApdu
from apdu.transport import Transport, TransportLayer
from diagcps.cps.codes import luhn_check_digit
from diagcps.cps.model import GENERATION_CPS3, GENERATION_CPS3_CL, GENERATION_CPS4
from diagcps.cps.session import INS_READ_BINARY, select_path

# --- ATR tables --------------------------------------------------------------------------------

_CPS3_CONTACT_MASK = "FF 00 00 00 00 FF FF FF FF FF FF 00 00 00 FF FF FF"


@dataclass(frozen=True)
class CpsAtr:
    pattern: AtrPattern
    generation: str
    contactless: bool = False


CPS_ATRS: tuple[CpsAtr, ...] = (
    # Exact patterns first: the CPS3 contact mask also matches "CPS4 forced T=0" (both carry
    # 3B .. .. .. .. 00 12 25 00 64 80 .. .. .. 00 90 00), which must stay a CPS4.
    CpsAtr(AtrPattern.from_hex("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44",
                               label="CPS4"), GENERATION_CPS4),
    CpsAtr(AtrPattern.from_hex("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44",
                               label="CPS4 (release candidate)"), GENERATION_CPS4),
    CpsAtr(AtrPattern.from_hex("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00",
                               label="CPS4 (forced T=0)"), GENERATION_CPS4),
    CpsAtr(AtrPattern.from_hex("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00",
                               _CPS3_CONTACT_MASK, "CPS3 contact"), GENERATION_CPS3),
    CpsAtr(AtrPattern.from_hex("3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00",
                               _CPS3_CONTACT_MASK, "CPS3 contact, older batch"), GENERATION_CPS3),
    # OpenSC writes this entry with a first byte 2B, which can never match: TS is 3B.
    CpsAtr(AtrPattern.from_hex("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
                               "FF FF FF FF FF FF FF FF 00 00 FF C0 FF FF FF FF FF FF FF FF",
                               "CPS3 contactless"), GENERATION_CPS3_CL, contactless=True),
)

#: Cards a user may insert by mistake: reported as the wrong card, never probed.
WRONG_CARD_ATRS: tuple[AtrPattern, ...] = (
    # 3B 75 13 00 00 43..4C 09 EA|FA 90 00: the sixth byte and bit 4 of the eighth vary.
    AtrPattern.from_hex("3B 75 13 00 00 40 09 EA 90 00", "FF FF FF FF FF F0 FF EF FF FF",
                        "Vitale 2"),
    AtrPattern.from_hex("3F 65 25 00 00 09 00 90 00", "FF FF FF FF 00 FF 00 FF FF", "Vitale 1"),
)


@dataclass(frozen=True)
class AtrVerdict:
    """What the ATR alone says. ``generation`` is set for a CPS-like ATR."""

    generation: str | None
    label: str | None
    contactless: bool = False
    wrong_card_label: str | None = None
    #: The card offers T=1 (CPS4, contactless), which PC/SC then negotiates.
    offers_t1: bool = False

    @property
    def cps_like(self) -> bool:
        return self.generation is not None


def classify_atr(atr: bytes) -> AtrVerdict:
    for entry in CPS_ATRS:
        if entry.pattern.matches(atr):
            return AtrVerdict(entry.generation, entry.pattern.label, entry.contactless,
                              offers_t1=_offers_t1(atr))
    wrong = match_first(WRONG_CARD_ATRS, atr)
    return AtrVerdict(None, None, wrong_card_label=wrong.label if wrong else None)


def _offers_t1(atr: bytes) -> bool:
    try:
        return Atr.parse(atr).offers(1)
    except AtrError:
        return False


# --- EF.SN -------------------------------------------------------------------------------------

REPLAY_MISSING = "REPLAY_MISSING"
EF_SN_PATH = "3F00/D003"
EF_SN_SFI = 0x1C
EF_SN_SIZE = 12
ANS_ISSUER = "8025000001"

#: READ BINARY by SFI (P1 = 80 | SFI), the exact Le: one APDU.
READ_EF_SN_BY_SFI = CommandApdu(0x00, INS_READ_BINARY, 0x80 | EF_SN_SFI, 0x00, le=EF_SN_SIZE)
#: The Cryptolib's way, as in the public trace: SELECT with FCP, then READ BINARY 12 bytes.
READ_EF_SN_SELECTED = CommandApdu(0x00, INS_READ_BINARY, 0x00, 0x00, le=EF_SN_SIZE)


@dataclass(frozen=True)
class SerialNumber:
    """EF.SN decoded: ``5A 0A`` + BCD ``8025000001`` + card digits + Luhn digit + ``F`` pad."""

    raw: bytes
    #: Every BCD digit before the pad, check digit included.
    digits: str
    issuer: str
    #: Digits without the check digit (``802500000199213845`` on the public trace).
    pan: str
    check_digit: str | None
    check_digit_ok: bool | None
    #: Digits after the issuer prefix, without check digit: the Cryptolib's token serial.
    serial: str

    @property
    def ans(self) -> bool:
        """The Cryptolib's own test: 12 bytes and the ANS issuer prefix."""
        return len(self.raw) == EF_SN_SIZE and self.issuer == ANS_ISSUER


def decode_ef_sn(data: bytes) -> SerialNumber | None:
    """``None`` when the data is not a ``5A`` PAN object with BCD digits."""
    if len(data) < 3 or data[0] != 0x5A or data[1] > len(data) - 2 or data[1] == 0:
        return None
    value = data[2 : 2 + data[1]]
    digits = ""
    for nibble in value.hex().upper():
        if nibble == "F":
            break
        if not nibble.isdigit():
            return None
        digits += nibble
    if len(digits) < len(ANS_ISSUER) + 2:
        return SerialNumber(bytes(data), digits, digits[: len(ANS_ISSUER)], digits, None, None,
                            digits[len(ANS_ISSUER):])
    pan, check = digits[:-1], digits[-1]
    return SerialNumber(
        raw=bytes(data),
        digits=digits,
        issuer=digits[: len(ANS_ISSUER)],
        pan=pan,
        check_digit=check,
        check_digit_ok=luhn_check_digit(pan) == int(check),
        serial=pan[len(ANS_ISSUER):],
    )


@dataclass(frozen=True)
class EfSnRead:
    data: bytes | None
    #: The status word of the last attempt (hex), for the report when nothing came back.
    sw: str | None
    #: Which way worked: ``"sfi"`` or ``"select"``.
    method: str | None


def read_ef_sn(card: Transport) -> EfSnRead:
    """Read EF.SN by SFI first (one APDU); else the Cryptolib's select-then-read.

    A replayed transcript recorded from the Cryptolib has no answer for the SFI form: that
    ``REPLAY_MISSING`` is a reason to try the other form, not to stop. Any other transport error
    propagates (the card went away).
    """
    try:
        response = card.transmit(READ_EF_SN_BY_SFI)
        if response.ok and len(response.data) == EF_SN_SIZE:
            return EfSnRead(response.data, "9000", "sfi")
        sw = f"{response.sw:04X}"
    except TransportError as exc:
        if not isinstance(exc, NoRecordedAnswer) and exc.code != REPLAY_MISSING:
            raise
        sw = None
    selected = select_path(card, EF_SN_PATH, fcp=True)
    if not selected.ok:
        return EfSnRead(None, f"{selected.sw:04X}", None)
    response = card.transmit(READ_EF_SN_SELECTED)
    if not response.ok:
        return EfSnRead(None, f"{response.sw:04X}", None)
    if not response.data:
        return EfSnRead(None, sw, None)
    return EfSnRead(response.data, "9000", "select")


# --- applications and their recoveries ---------------------------------------------------------

IAS_AID = bytes.fromhex("8025000001FF0100")  # CPS3 IAS application; CPS4 ChipDoc applet
CPS2TER_AID = bytes.fromhex("8025000001FF0002")
GP_SECURITY_DOMAIN_AID = bytes.fromhex("A0000001510000")

INS_SELECT = 0xA4
SELECT_BY_AID = 0x04
P2_NO_DATA = 0x0C

CHIPDOC_CHANNEL = 1
SW_CONDITIONS_NOT_SATISFIED = 0x6985  # CPS4: the ChipDoc selection was lost
SW_WRONG_P1P2 = 0x6A86


def select_aid(card: Transport, aid: bytes, channel: int = 0) -> ResponseApdu:
    """SELECT by AID without answer data, on ``channel`` (0..3: CLA low bits)."""
    return card.transmit(CommandApdu(channel, INS_SELECT, SELECT_BY_AID, P2_NO_DATA, aid))


def select_ias(card: Transport) -> ResponseApdu:
    """Reselect the IAS application on the basic channel (after the CPS2ter part was left
    selected by another program). P2 0C: the FCP is not needed, and the CPS4 recovery sequence
    shows the card accepting this AID with 0C."""
    return select_aid(card, IAS_AID, 0)


def select_chipdoc(card: Transport) -> ResponseApdu:
    """CPS4: the ChipDoc applet lives on logical channel 1 (CLA 01)."""
    return select_aid(card, IAS_AID, CHIPDOC_CHANNEL)


def recover_chipdoc(card: Transport) -> ResponseApdu:
    """CPS4 after ``69 85``: the Cryptolib's sequence (security domain on channel 1, CPS2ter part
    on channel 0, ChipDoc on channel 1). Returns the answer to the last SELECT."""
    select_aid(card, GP_SECURITY_DOMAIN_AID, CHIPDOC_CHANNEL)
    select_aid(card, CPS2TER_AID, 0)
    return select_chipdoc(card)


def needs_ias_reselect(sw: int) -> bool:
    """``6Exx`` (class not supported) or ``6A86``: the CPS2ter part holds the basic channel."""
    return (sw >> 8) == 0x6E or sw == SW_WRONG_P1P2


class IasReselect(TransportLayer):
    """A transport that, on ``6Exx``/``6A86`` to a basic-channel command, reselects the IAS
    application and resends the command, once (what the Cryptolib does).

    ``6A86`` also means "wrong P1-P2" in general: when a reselect did not help, later ``6A86``
    answers are taken at face value, so a card that simply refuses a form costs two APDUs once.
    """

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.reselections = 0
        self._trust_6a86 = False

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.transmit(command)
        if command.channel != 0 or not needs_ias_reselect(response.sw):
            return response
        if response.sw == SW_WRONG_P1P2 and self._trust_6a86:
            return response
        if command.ins == INS_SELECT and command.p1 == SELECT_BY_AID:
            return response  # selecting an application is the recovery itself: no loop
        self.reselections += 1
        reselected = select_ias(self.inner)
        if not reselected.ok:
            return response
        retried = self.inner.transmit(command)
        if retried.sw == SW_WRONG_P1P2 and response.sw == SW_WRONG_P1P2:
            self._trust_6a86 = True
        return retried
