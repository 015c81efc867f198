"""The one protocol every card source implements, and the T=0 rules layered over it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from apdu.command import CommandApdu
from apdu.errors import ProtocolLoop, TooManyApdus
from apdu.response import ResponseApdu

INS_GET_RESPONSE = 0xC0


@runtime_checkable
class Transport(Protocol):
    """A channel to one card: a real reader, a virtual card, or a replayed transcript."""

    @property
    def atr(self) -> bytes: ...

    def transmit(self, command: CommandApdu) -> ResponseApdu: ...

    def close(self) -> None: ...


class TransportLayer:
    """A transport that adds a behaviour on top of another one and passes the rest through."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        return self.inner.transmit(command)

    def close(self) -> None:
        self.inner.close()


class T0Transport(TransportLayer):
    """Applies the T=0 transport rules over any transport.

    ``61xx`` is followed by GET RESPONSE (data chained), ``6Cxx`` by the same command with Le = xx.
    Both are bounded: a card that answers ``61xx`` or ``6Cxx`` for ever ends in
    :class:`ProtocolLoop` instead of an endless exchange.
    """

    def __init__(self, inner: Transport, *, max_chain: int = 16, max_resend: int = 2) -> None:
        super().__init__(inner)
        self.max_chain = max_chain
        self.max_resend = max_resend

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.transmit(command)
        resends = 0
        # 6Cxx corrects the Le of a command that has one. Giving an Le to a command sent
        # without (an empty VERIFY above all) would make it another command: never.
        while response.sw1 == 0x6C and command.le is not None:
            resends += 1
            if resends > self.max_resend:
                raise ProtocolLoop(f"card kept answering 6Cxx to {command}")
            command = command.with_le(response.sw2 or 256)
            response = self.inner.transmit(command)
        data = response.data
        chained = 0
        while response.sw1 == 0x61:
            chained += 1
            if chained > self.max_chain:
                raise ProtocolLoop(f"card kept answering 61xx to {command}")
            # GET RESPONSE goes out on the same logical channel as the command it completes.
            get_response = CommandApdu(_channel_class(command.cla), INS_GET_RESPONSE, 0, 0,
                                       le=response.sw2 or 256)
            response = self.inner.transmit(get_response)
            data += response.data
        return ResponseApdu(data, response.sw1, response.sw2)


class ApduLimit(TransportLayer):
    """Carries at most ``limit`` commands, then raises :class:`TooManyApdus`.

    :class:`T0Transport` bounds each exchange; this bounds their number. A card (or a recording)
    can keep a reading going with answers that each look plausible: a directory naming thousands
    of files, files that never end. Put below the T=0 layer, it counts what reaches the wire.
    """

    def __init__(self, inner: Transport, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit
        self.sent = 0

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        if self.sent >= self.limit:
            raise TooManyApdus(f"the card needed more than {self.limit} commands; reading "
                               f"stopped before {command}")
        self.sent += 1
        return self.inner.transmit(command)


def _channel_class(cla: int) -> int:
    """The plain interindustry CLA on the same logical channel as ``cla`` (no SM, no chaining)."""
    if cla & 0x80:
        return 0x00
    if cla & 0x40:
        return cla & 0x4F
    return cla & 0x03
