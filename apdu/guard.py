"""The read-only guard: the single gate every command to a card passes through.

A diagnosis needs to read, never to change, a card. The guard lets through only the instructions a
read needs and refuses everything else *before* it reaches the transport, whatever the class byte:
interindustry on any logical channel, the CPS2ter class ``A0``, or any proprietary class. Refusing
by instruction byte alone, and not only for class ``0x``, matters: a VERIFY sent with class ``A0``
to the CPS2ter part spends a try just as surely as one sent with ``00``.
"""

from __future__ import annotations

from apdu.command import CommandApdu
from apdu.errors import CommandRefused
from apdu.response import ResponseApdu
from apdu.transport import TransportLayer

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1
INS_GET_RESPONSE = 0xC0
INS_GET_DATA = 0xCA
INS_GET_DATA_ODD = 0xCB
INS_VERIFY = 0x20

#: Instructions that only read. VERIFY is handled separately: allowed only without data.
READ_ONLY_INSTRUCTIONS = frozenset(
    {INS_SELECT, INS_READ_BINARY, INS_READ_BINARY_ODD, INS_GET_RESPONSE, INS_GET_DATA,
     INS_GET_DATA_ODD}
)

#: Names for the refusals, so that a refused command is reported in the card's vocabulary.
_KNOWN_WRITES = {
    0x20: "VERIFY with data (would spend a PIN try)",
    0x21: "VERIFY (odd)",
    0x24: "CHANGE REFERENCE DATA",
    0x2C: "RESET RETRY COUNTER",
    0xD6: "UPDATE BINARY",
    0xD0: "WRITE BINARY",
    0xDA: "PUT DATA",
    0xDB: "PUT DATA",
    0x22: "MANAGE SECURITY ENVIRONMENT",
    0x2A: "PERFORM SECURITY OPERATION",
    0x88: "INTERNAL AUTHENTICATE",
    0x84: "GET CHALLENGE",
    0x82: "EXTERNAL AUTHENTICATE",
    0x86: "GENERAL AUTHENTICATE",
    0x87: "GENERAL AUTHENTICATE",
    0x46: "GENERATE ASYMMETRIC KEY PAIR",
    0x44: "ACTIVATE FILE",
    0x04: "DEACTIVATE FILE",
    0xE0: "CREATE FILE",
    0xE4: "DELETE FILE",
    0xE6: "INSTALL (GlobalPlatform)",
    0xE8: "LOAD (GlobalPlatform)",
    0xF0: "SET STATUS (GlobalPlatform)",
    0xF2: "GET STATUS (GlobalPlatform)",
    0x50: "INITIALIZE UPDATE (GlobalPlatform)",
    0x70: "MANAGE CHANNEL",
    0xFE: "TERMINATE CARD",
}


def check_read_only(command: CommandApdu) -> None:
    """Raise :class:`CommandRefused` unless ``command`` only reads."""
    if command.ins == INS_VERIFY:
        if command.data:
            raise CommandRefused(command.hex(), _KNOWN_WRITES[INS_VERIFY])
        if command.le is not None:
            # Only the header alone (case 1) is the counter query of ISO 7816-4; a VERIFY
            # carrying an Le is something else, which some card may take for a try.
            raise CommandRefused(command.hex(), "VERIFY with Le (only the empty VERIFY reads)")
        return
    if command.ins in READ_ONLY_INSTRUCTIONS:
        return
    name = _KNOWN_WRITES.get(command.ins, f"instruction {command.ins:02X} is not a read")
    raise CommandRefused(command.hex(), name)


class ReadOnlyGuard(TransportLayer):
    """A transport that forwards only read-only commands to the transport it wraps."""

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        check_read_only(command)
        return self.inner.transmit(command)
