"""``-v``: every exchange with the card on stderr, without what is personal in it."""

from __future__ import annotations

import logging
import time
from typing import Any

from apdu.transport import TransportLayer

#: ``-v`` shows every exchange with the card here (response data masked, see ApduLog).
apdu_log = logging.getLogger("diagcps.apdu")


#: Instructions whose answers carry no personal data: SELECT (the file's control parameters) and
#: GET DATA (PIN counters, lifecycle). READ BINARY / READ RECORD / GET RESPONSE answers carry the
#: serial number, the holder's identity and certificates: their data is never logged.
_NOT_PERSONAL_INS = frozenset({0xA4, 0xCA, 0xCB, 0x20})


class ApduLog(TransportLayer):
    """Logs each exchange with the card: ``-v`` the command, status word and data length;
    ``-vv`` (DEBUG) also the answer's data, for the instructions that carry nothing personal."""

    #: The instruction a GET RESPONSE (C0) fetches the rest of (T=0 chaining).
    _chained_ins: int | None = None

    def transmit(self, command: Any) -> Any:
        ins = self._chained_ins if command.ins == 0xC0 else command.ins
        self._chained_ins = ins
        started = time.perf_counter()
        apdu_log.info("> %s", command.hex())
        try:
            response = self.inner.transmit(command)
        except Exception as exc:
            apdu_log.info("< no answer: %s", exc)
            raise
        ms = (time.perf_counter() - started) * 1000
        data = bytes(response.data)
        shown = f"[{len(data)} bytes]" if data else ""
        if data and apdu_log.isEnabledFor(logging.DEBUG) and ins in _NOT_PERSONAL_INS:
            shown = data.hex().upper()
        apdu_log.info("< %04X %s(%.1f ms)", response.sw, f"{shown} " if shown else "", ms)
        return response
