"""PIN and unblock-code counters, read without ever spending a try.

CPS3: GET DATA on the PIN object with the MF selected, the Cryptolib's own method (the command
form of the public trace, kept byte for byte). CPS4: VERIFY with no data on logical channel 1,
after the ChipDoc applet is selected there. Neither changes a counter; a VERIFY *with* data would,
and the read-only guard refuses it whatever this module does.
"""

from __future__ import annotations

from dataclasses import dataclass

from apdu.command import CommandApdu
from apdu.errors import TlvError
from apdu.tlv import Tlv, parse
from apdu.transport import Transport
from diagcps.cps.detect import (
    CHIPDOC_CHANNEL,
    SW_CONDITIONS_NOT_SATISFIED,
    recover_chipdoc,
    select_chipdoc,
)
from diagcps.cps.model import (
    PIN_BLOCKED,
    PIN_LAST_TRY,
    PIN_LOW,
    PIN_OK,
    PIN_UNKNOWN,
    PIN_VERIFIED,
    PinStatus,
)
from diagcps.cps.session import MF, UnexpectedStatus, path_bytes

#: The PIN ("code porteur") object's reference, as in the public trace (``BF 81 01``).
PIN_REFERENCE = 0x01

INS_GET_DATA = 0xCB
INS_VERIFY = 0x20
SW_DATA_NOT_FOUND = 0x6A88  # GET DATA on a PIN object outside the MF
SW_BLOCKED = 0x6983

#: The public trace selects the MF with this exact command before GET DATA.
SELECT_MF = CommandApdu(0x00, 0xA4, 0x09, 0x0C, path_bytes(MF))

SOURCE_GET_DATA = "get_data"
SOURCE_VERIFY = "verify"


def get_data_command(reference: int) -> CommandApdu:
    """``00 CB 3F FF 0A 4D 08 70 06 BF 81 <ref> 02 A0 80``: no Le, exactly as the Cryptolib."""
    data = bytes((0x4D, 0x08, 0x70, 0x06, 0xBF, 0x81, reference & 0xFF, 0x02, 0xA0, 0x80))
    return CommandApdu(0x00, INS_GET_DATA, 0x3F, 0xFF, data)


def empty_verify_command(reference: int, channel: int = CHIPDOC_CHANNEL) -> CommandApdu:
    """``01 20 00 <ref>`` with no Lc and no data: asks the counter, spends nothing."""
    return CommandApdu(channel, INS_VERIFY, 0x00, reference & 0xFF)


# --- states --------------------------------------------------------------------------------------


def pin_state(tries_left: int | None, tries_max: int | None = None,
              uses_left: int | None = None) -> str:
    """The PIN state from its counters.

    Blocked when no try is left, and also when the usage counter is 0 (the Cryptolib once missed
    a CPS3 blocked that way). Two tries left is "low" only when that is less than the maximum.
    """
    if tries_left is None:
        return PIN_UNKNOWN
    if tries_left <= 0 or uses_left == 0:
        return PIN_BLOCKED
    if tries_left == 1:
        return PIN_LAST_TRY
    if tries_left == 2 and (tries_max is None or tries_max > 2):
        return PIN_LOW
    return PIN_OK


def unblock_state(tries_left: int | None, uses_left: int | None = None) -> str:
    """The unblock code is either usable or exhausted (then the card is definitively blocked
    as soon as the PIN is)."""
    if tries_left is None and uses_left is None:
        return PIN_UNKNOWN
    if tries_left == 0 or uses_left == 0:
        return PIN_BLOCKED
    return PIN_OK


# --- CPS3: GET DATA ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinCounters:
    tries_max: int | None
    tries_left: int | None
    uses_left: int | None


def decode_pin_counters(data: bytes, reference: int | None = None) -> PinCounters:
    """Decode ``70 L BF 81 <ref> L A0 L 9A 01 max 9B 01 left [9C ..] [9D 1|2 usage] [A1 ..]``.

    Tolerant: ``9A``/``9B`` may be missing, ``9D`` may be one or two bytes, ``9C`` is ambiguous
    across sources and ignored. Raises :class:`TlvError` when no counter can be found at all.
    """
    template = _find_a0(parse(data), reference)
    if template is None:
        raise TlvError("no A0 template with PIN counters in the GET DATA answer")
    values = {child.tag: child.value for child in template.children if not child.constructed}

    def number(tag: int, sizes: tuple[int, ...]) -> int | None:
        value = values.get(tag)
        if value is None or len(value) not in sizes:
            return None
        return int.from_bytes(value, "big")

    counters = PinCounters(number(0x9A, (1,)), number(0x9B, (1,)), number(0x9D, (1, 2)))
    if counters.tries_left is None and counters.uses_left is None:
        raise TlvError("the PIN object template holds neither 9B nor 9D")
    return counters


def _find_a0(objects: list[Tlv], reference: int | None) -> Tlv | None:
    # 70 > BF81xx > A0, but accept the BF81xx or A0 level at the top as well.
    for obj in objects:
        if obj.tag == 0xA0:
            return obj
        if obj.tag == 0x70 or (obj.tag >> 8) == 0xBF81:
            if (obj.tag >> 8) == 0xBF81 and reference is not None \
                    and (obj.tag & 0xFF) != reference:
                continue
            found = _find_a0(obj.children, reference)
            if found is not None:
                return found
    return None


def read_counters(card: Transport, reference: int, *, unblock: bool = False,
                  select_mf: bool = False) -> PinStatus:
    """CPS3: GET DATA on the PIN object ``reference``.

    ``select_mf``: select the MF first (when this reading itself moved into a DF). Otherwise the
    GET DATA is tried as is, and the MF selected only if the card answers ``6A88`` (the PIN object
    is visible from the MF only).
    """
    if select_mf:
        _select_mf(card)
    command = get_data_command(reference)
    response = card.transmit(command)
    if response.sw == SW_DATA_NOT_FOUND and not select_mf:
        _select_mf(card)
        response = card.transmit(command)
    if not response.ok:
        raise UnexpectedStatus(command, response.sw, f"GET DATA PIN {reference:02X}")
    counters = decode_pin_counters(response.data, reference)
    if unblock:
        state = unblock_state(counters.tries_left, counters.uses_left)
    else:
        state = pin_state(counters.tries_left, counters.tries_max, counters.uses_left)
    return PinStatus(state, counters.tries_left, counters.tries_max, counters.uses_left,
                     SOURCE_GET_DATA, "9000", reference)


def _select_mf(card: Transport) -> None:
    response = card.transmit(SELECT_MF)
    if not response.ok:
        raise UnexpectedStatus(SELECT_MF, response.sw, "select MF")


# --- CPS4: empty VERIFY on channel 1 -------------------------------------------------------------


def open_chipdoc(card: Transport) -> None:
    """Select the ChipDoc applet on channel 1 (CPS4), where the whole reading happens.

    ``69 85``: the selection was lost; the Cryptolib's recovery sequence brings it back (the only
    moment a CPS4 reading touches the basic channel). Any other refusal is left to the caller: a
    card fault ("CPS4 illisible"), not a reason to reset channels another program may be using.
    """
    response = select_chipdoc(card)
    if response.sw == SW_CONDITIONS_NOT_SATISFIED:
        response = recover_chipdoc(card)
    if not response.ok:
        raise UnexpectedStatus(CommandApdu(CHIPDOC_CHANNEL, 0xA4, 0x04, 0x0C), response.sw,
                               "select ChipDoc on channel 1")


def verify_status(card: Transport, reference: int, *, unblock: bool = False) -> PinStatus:
    """CPS4: empty VERIFY. ``63Cx`` = x tries left, ``6983`` = blocked, ``9000`` = already
    verified in this card session. ``6985`` = the ChipDoc selection was lost: recover, resend once.
    """
    command = empty_verify_command(reference)
    response = card.transmit(command)
    if response.sw == SW_CONDITIONS_NOT_SATISFIED:
        recovered = recover_chipdoc(card)
        if not recovered.ok:
            raise UnexpectedStatus(command, response.sw, "VERIFY (ChipDoc recovery failed)")
        response = card.transmit(command)
    sw = f"{response.sw:04X}"
    if response.sw1 == 0x63 and (response.sw2 & 0xF0) == 0xC0:
        left = response.sw2 & 0x0F
        state = unblock_state(left) if unblock else pin_state(left)
        return PinStatus(state, left, None, None, SOURCE_VERIFY, sw, reference)
    if response.sw == SW_BLOCKED:
        return PinStatus(PIN_BLOCKED, 0, None, None, SOURCE_VERIFY, sw, reference)
    if response.ok:
        # The PIN was presented by another program in this card session; for the unblock code
        # this would be odd, but it is certainly not exhausted.
        return PinStatus(PIN_OK if unblock else PIN_VERIFIED, None, None, None, SOURCE_VERIFY,
                         sw, reference)
    raise UnexpectedStatus(command, response.sw, f"VERIFY (empty) PIN {reference:02X}")
