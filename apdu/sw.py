"""Status words: what any SW1-SW2 means (ISO/IEC 7816-4 section 5.6), and on a CPS card.

:func:`describe` answers for every 16-bit value, so a report can always say something about what
the card returned. The interindustry meanings follow ISO 7816-4 (tables 5 and 6); ``cps_meaning``
adds what the same status word means on a CPS card (docs/CPS-CARD.md section 4.2), where
it differs from or sharpens the ISO reading.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCESS = "success"
WARNING = "warning"
ERROR = "error"
#: Status words that are T=0 transport instructions (fetch or resend) rather than a result.
TRANSPORT = "transport"

CATEGORIES = (SUCCESS, WARNING, ERROR, TRANSPORT)

UNKNOWN_MEANING = "unknown status word"


@dataclass(frozen=True)
class StatusWord:
    sw: int
    category: str
    meaning: str
    cps_meaning: str | None = None

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def hex(self) -> str:
        return format_sw(self.sw)

    @property
    def ok(self) -> bool:
        return self.category == SUCCESS

    def __str__(self) -> str:
        text = f"{self.hex} {self.meaning}"
        return f"{text} (CPS: {self.cps_meaning})" if self.cps_meaning else text


def format_sw(sw: int) -> str:
    """``0x6A82`` -> ``"6A82"``."""
    _check(sw)
    return f"{sw:04X}"


def tries_left(sw: int) -> int | None:
    """The counter of a ``63Cx`` status word (tries remaining after VERIFY), else ``None``.

    ``6983`` (blocked) carries no counter: callers that want "0 tries" for it decide so themselves.
    """
    _check(sw)
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    return None


# --- ISO 7816-4 -------------------------------------------------------------------------------

#: Status words with a fixed meaning (ISO 7816-4:2013 table 6).
_ISO_EXACT: dict[int, tuple[str, str]] = {
    0x9000: (SUCCESS, "Success: no further qualification"),
    0x6200: (WARNING, "Warning, memory unchanged: no information given"),
    0x6281: (WARNING, "Warning: part of the returned data may be corrupted"),
    0x6282: (WARNING, "Warning: end of file or record reached before reading Ne bytes"),
    0x6283: (WARNING, "Warning: selected file deactivated"),
    0x6284: (WARNING, "Warning: file control information not formatted according to ISO 7816-4"),
    0x6285: (WARNING, "Warning: selected file in termination state"),
    0x6286: (WARNING, "Warning: no input data available from a sensor on the card"),
    0x6287: (WARNING, "Warning: at least one of the referenced records is deactivated"),
    0x6300: (WARNING, "Warning, memory changed: no information given (e.g. verification failed)"),
    0x6381: (WARNING, "Warning: file filled up by the last write"),
    0x6400: (ERROR, "Execution error, memory unchanged: no information given"),
    0x6401: (ERROR, "Execution error: immediate response required by the card"),
    0x6500: (ERROR, "Execution error, memory changed: no information given"),
    0x6581: (ERROR, "Execution error: memory failure"),
    0x6700: (ERROR, "Wrong length (Lc or Le)"),
    0x6800: (ERROR, "Function in CLA not supported: no information given"),
    0x6881: (ERROR, "Logical channel not supported"),
    0x6882: (ERROR, "Secure messaging not supported"),
    0x6883: (ERROR, "Last command of the chain expected"),
    0x6884: (ERROR, "Command chaining not supported"),
    0x6900: (ERROR, "Command not allowed: no information given"),
    0x6981: (ERROR, "Command incompatible with file structure"),
    0x6982: (ERROR, "Security status not satisfied"),
    0x6983: (ERROR, "Authentication method blocked"),
    0x6984: (ERROR, "Reference data not usable"),
    0x6985: (ERROR, "Conditions of use not satisfied"),
    0x6986: (ERROR, "Command not allowed (no current EF)"),
    0x6987: (ERROR, "Expected secure messaging data objects missing"),
    0x6988: (ERROR, "Incorrect secure messaging data objects"),
    0x6A00: (ERROR, "Wrong parameters P1-P2: no information given"),
    0x6A80: (ERROR, "Incorrect parameters in the command data field"),
    0x6A81: (ERROR, "Function not supported"),
    0x6A82: (ERROR, "File or application not found"),
    0x6A83: (ERROR, "Record not found"),
    0x6A84: (ERROR, "Not enough memory space in the file"),
    0x6A85: (ERROR, "Nc inconsistent with TLV structure"),
    0x6A86: (ERROR, "Incorrect parameters P1-P2"),
    0x6A87: (ERROR, "Nc inconsistent with parameters P1-P2"),
    0x6A88: (ERROR, "Referenced data or reference data not found"),
    0x6A89: (ERROR, "File already exists"),
    0x6A8A: (ERROR, "DF name already exists"),
    0x6B00: (ERROR, "Wrong parameters P1-P2"),
    0x6D00: (ERROR, "Instruction code not supported or invalid"),
    0x6E00: (ERROR, "Class not supported"),
    0x6F00: (ERROR, "No precise diagnosis"),
}

#: What each SW1 means when SW2 has no meaning of its own (ISO 7816-4:2013 table 5).
_ISO_FAMILY: dict[int, tuple[str, str]] = {
    0x62: (WARNING, "Warning, state of non-volatile memory unchanged"),
    0x63: (WARNING, "Warning, state of non-volatile memory changed"),
    0x64: (ERROR, "Execution error, state of non-volatile memory unchanged"),
    0x65: (ERROR, "Execution error, state of non-volatile memory changed"),
    0x66: (ERROR, "Execution error, security-related issue"),
    0x67: (ERROR, "Wrong length"),
    0x68: (ERROR, "Functions in CLA not supported"),
    0x69: (ERROR, "Command not allowed"),
    0x6A: (ERROR, "Wrong parameters P1-P2"),
    0x6B: (ERROR, "Wrong parameters P1-P2"),
    0x6D: (ERROR, "Instruction code not supported or invalid"),
    0x6E: (ERROR, "Class not supported"),
    0x6F: (ERROR, "No precise diagnosis"),
}

# --- CPS ----------------------------------------------------------------------------------------

_IAS_RESELECT = "reselect the IAS application (AID 80 25 00 00 01 FF 01 00) and resend once"
_CPS2TER_LEFT_SELECTED = f"The CPS2ter part was left selected by another program: {_IAS_RESELECT}"

_CPS_EXACT: dict[int, str] = {
    0x9000: "Success; after an empty VERIFY: the PIN is already verified in this card session "
    "(another program is logged in)",
    0x6982: "Protected object: the security status is not satisfied (PIN needed)",
    0x6983: "PIN (or unblock code) blocked",
    0x6985: "CPS4: the ChipDoc applet selection (logical channel 1) was lost; run the recovery "
    "selection sequence and resend",
    0x6A82: "File not found; for EF_ACTUA (3F00/D010) this is the normal case",
    0x6A86: "Wrong P1/P2; also seen when another program left the CPS2ter part selected: "
    + _IAS_RESELECT,
    0x6A88: "PIN object read outside the MF: GET DATA on a PIN object needs 3F00 selected",
    0x6E00: _CPS2TER_LEFT_SELECTED,
}

#: The CPS2ter-compatible part (CLA A0) answers with proprietary status words, in the style of
#: GSM 11.11: 98xx for PIN outcomes, 94xx for file errors, 9Fxx for "response waiting".
_CPS2TER_EXACT: dict[int, tuple[str, str, str]] = {
    0x9840: (ERROR, "Proprietary: secret code blocked", "CPS2ter part: PIN locked"),
    0x9804: (ERROR, "Proprietary: access conditions not fulfilled", "CPS2ter part: wrong PIN"),
    0x9802: (ERROR, "Proprietary: no secret code initialised", "CPS2ter part: PIN not activated"),
    0x9404: (ERROR, "Proprietary: file not found", "CPS2ter part: file not found"),
}


# --- lookup -----------------------------------------------------------------------------------


def _check(sw: int) -> None:
    if not isinstance(sw, int) or isinstance(sw, bool) or not 0 <= sw <= 0xFFFF:
        raise ValueError(f"a status word is a 16-bit integer, got {sw!r}")


def _count(sw2: int) -> int:
    # In 61xx and 6Cxx, SW2 = 00 stands for 256 bytes, like a short Le of 00.
    return sw2 or 256


def _by_rule(sw: int) -> tuple[str, str, str | None]:
    """Category, meaning and CPS meaning for the status words whose SW2 is a parameter."""
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return (TRANSPORT, f"{_count(sw2)} response bytes still available: send GET RESPONSE "
                           f"with Le={sw2:02X}", None)
    if sw1 == 0x6C:
        return (TRANSPORT, f"Wrong Le field: resend the same command with Le={sw2:02X} "
                           f"({_count(sw2)} bytes available)", None)
    if sw & 0xFFF0 == 0x63C0:
        tries = sw & 0x0F
        cps = f"{tries} PIN (or unblock code) tries remaining"
        if tries == 0:
            cps += ": the code is blocked"
        return (WARNING, f"Counter value {tries} (after VERIFY: {tries} tries remaining)", cps)
    if 0x6202 <= sw <= 0x6280:
        return (WARNING, f"Warning: triggering by the card (SW2={sw2:02X})", None)
    if 0x6402 <= sw <= 0x6480:
        return (ERROR, f"Execution error: triggering by the card (SW2={sw2:02X})", None)
    if sw1 == 0x9F:
        return (TRANSPORT, f"Proprietary: {_count(sw2)} response bytes waiting",
                f"CPS2ter part: {_count(sw2)} response bytes waiting (GET RESPONSE)")
    if sw1 == 0x60:
        # ISO 7816-3 10.3.3: 60 is the T=0 NULL procedure byte, never a valid SW1.
        return (TRANSPORT, "Not a status word: 60 is the T=0 NULL procedure byte", None)
    if sw1 in _ISO_FAMILY:
        category, family = _ISO_FAMILY[sw1]
        cps = _CPS2TER_LEFT_SELECTED if sw1 == 0x6E else None
        return (category, f"{family} (SW2={sw2:02X} has no standard meaning)", cps)
    if sw1 & 0xF0 == 0x90:
        return (ERROR, f"{UNKNOWN_MEANING} (proprietary {sw1:02X}xx)", None)
    # ISO 7816-3: a valid SW1 is 6X (except 60) or 9X.
    return (ERROR, f"{UNKNOWN_MEANING} (SW1={sw1:02X} is not a valid status byte)", None)


def describe(sw: int) -> StatusWord:
    """What ``sw`` means, for any 16-bit value (unknown ones say so)."""
    _check(sw)
    if sw in _ISO_EXACT:
        category, meaning = _ISO_EXACT[sw]
        return StatusWord(sw, category, meaning, _CPS_EXACT.get(sw))
    if sw in _CPS2TER_EXACT:
        return StatusWord(sw, *_CPS2TER_EXACT[sw])
    return StatusWord(sw, *_by_rule(sw))
