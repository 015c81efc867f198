"""What a reading of a CPS card found, as plain dataclasses.

These are facts, not judgements: a blocked PIN is ``state="blocked"``, and deciding that this is a
failure belongs to the checks. A field that could not be read is ``None``, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# --- PIN states ----------------------------------------------------------------------------------

PIN_OK = "ok"
PIN_LOW = "low"  # two tries left (of three)
PIN_LAST_TRY = "last_try"
PIN_BLOCKED = "blocked"
PIN_VERIFIED = "verified"  # another program already presented the PIN in this card session
PIN_UNKNOWN = "unknown"
PIN_ABSENT = "absent"  # contactless mode has no PIN at all

PIN_STATES = (PIN_OK, PIN_LOW, PIN_LAST_TRY, PIN_BLOCKED, PIN_VERIFIED, PIN_UNKNOWN, PIN_ABSENT)

# --- detection outcomes --------------------------------------------------------------------------

DETECTION_CPS = "cps"
DETECTION_WRONG_CARD = "wrong_card"  # a Vitale card, or any ATR outside the CPS family
DETECTION_UNKNOWN = "unknown"  # CPS-like ATR, but EF.SN does not prove an ANS card
#: CPS4 ATR, but ChipDoc cannot be selected on channel 1 (or gives no EF.SN): a card fault.
DETECTION_UNREADABLE = "unreadable"

GENERATION_CPS3 = "CPS3"
GENERATION_CPS3_CL = "CPS3-CL"
GENERATION_CPS4 = "CPS4"

# --- certificate roles and states ---------------------------------------------------------------

ROLE_AUTHENTICATION = "authentication"
ROLE_SIGNATURE = "signature"
ROLE_TECHNICAL = "technical"
ROLE_OTHER = "other"

CERT_VALID = "valid"
CERT_EXPIRES_SOON = "expires_soon"
CERT_EXPIRED = "expired"
CERT_NOT_YET_VALID = "not_yet_valid"

# --- reading problem codes ----------------------------------------------------------------------

#: The card answered something unexpected (status word, malformed data): the reading goes on.
CARD_READ_ERROR = "CARD_READ_ERROR"
#: The read-only guard refused a command the reader tried to send: a bug of the tool, never
#: expected; the reading stops.
COMMAND_REFUSED = "COMMAND_REFUSED"
# Transport failures carry the TransportError's own code (REPLAY_MISSING, CARD_REMOVED...).


@dataclass
class PinStatus:
    """The state of the PIN ("code porteur") or of the unblock code ("code de déblocage").

    ``source`` says how it was learnt: ``"get_data"`` (CPS3 counters), ``"verify"`` (CPS4 empty
    VERIFY) or ``None`` when nothing was asked. ``sw`` is the status word that decided it (hex).
    """

    state: str
    tries_left: int | None = None
    tries_max: int | None = None
    uses_left: int | None = None
    source: str | None = None
    sw: str | None = None
    #: The card's reference of the PIN object (``01`` for the PIN, from the AODF for the unblock
    #: code), when known.
    reference: int | None = None


@dataclass
class Holder:
    """The holder as CPS_NAME_PS and CPS_INFO_PS describe them (docs/CPS-CARD.md 5.2)."""

    national_id: str | None = None
    id_type: str | None = None
    id_type_label: str | None = None
    id_number: str | None = None
    #: Luhn check of the number: ``None`` when the type has no known rule or is not all digits.
    id_check_digit_ok: bool | None = None
    #: Whether the check rule is confirmed (RPPS) or only likely (ADELI: a warning at most).
    id_check_confirmed: bool = False
    civility_code: str | None = None
    civility: str | None = None
    birth_name: str | None = None
    usage_name: str | None = None
    first_names: list[str] = field(default_factory=list)
    first_name: str | None = None
    practice_name: str | None = None
    card_type_code: str | None = None
    profession_code: str | None = None
    profession: str | None = None
    training_profession_code: str | None = None
    training_profession: str | None = None
    specialty_code: str | None = None
    specialty: str | None = None
    display_name: str | None = None


@dataclass
class Certificate:
    role: str
    label: str
    #: Where the certificate lives on the card, e.g. ``3F00/0001/C001``.
    path: str
    subject: str
    issuer: str
    #: Upper-case hex, no separators.
    serial_number: str
    not_before: datetime
    not_after: datetime
    #: e.g. ``"RSA 2048"``; None when the key could not be decoded.
    key: str | None
    state: str
    #: SHA-256 of the DER certificate, upper-case hex.
    sha256: str
    #: The subject's CN, which carries the holder's national identifier on personal cards.
    subject_common_name: str | None = None


@dataclass
class ReadProblem:
    """Something that went wrong while reading, with the step it happened in.

    ``code`` is :data:`CARD_READ_ERROR`, :data:`COMMAND_REFUSED`, or the code of the transport
    failure that stopped the reading (``REPLAY_MISSING``, ``CARD_REMOVED``...).
    """

    code: str
    step: str
    message: str
    sw: str | None = None


@dataclass
class ActuaStatus:
    """EF_ACTUA, the card-update journal. Absent is the normal case."""

    present: bool | None
    #: ``True`` when the journal shows an interrupted update; ``None`` when it could not be told.
    incident: bool | None
    started: datetime | None = None
    ended: datetime | None = None
    #: Why an incident (or no verdict) was concluded, in plain words.
    reason: str | None = None
    sw: str | None = None


@dataclass
class CardReading:
    atr: bytes
    generation: str | None = None
    detection: str = DETECTION_UNKNOWN
    wrong_card_label: str | None = None
    #: ATR matched a CPS pattern and EF.SN names the ANS issuer 8025000001.
    recognised: bool = False
    contactless: bool = False
    kind: str | None = None
    test_card: bool | None = None
    card_category: str | None = None
    #: EF.SN digits after the issuer prefix, without the check digit (the Cryptolib's token serial).
    serial: str | None = None
    #: EF.SN digits without the check digit (issuer prefix included).
    pan: str | None = None
    pan_check_digit_ok: bool | None = None
    card_number: str | None = None
    issued: date | None = None
    expires: date | None = None
    update_incident: bool | None = None
    actua: ActuaStatus | None = None
    pin: PinStatus = field(default_factory=lambda: PinStatus(PIN_UNKNOWN))
    unblock: PinStatus = field(default_factory=lambda: PinStatus(PIN_UNKNOWN))
    holder: Holder | None = None
    certificates: list[Certificate] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)
    #: APDUs that reached the card (GET RESPONSE included, refused commands excluded).
    apdu_count: int = 0

    @property
    def definitively_blocked(self) -> bool:
        """PIN blocked and unblock code exhausted: the card must be replaced."""
        return self.pin.state == PIN_BLOCKED and self.unblock.state == PIN_BLOCKED
