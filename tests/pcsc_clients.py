"""Another PC/SC client of the test's pcscd, as a second program on the workstation would be
(a middleware, a SESAM-Vitale program): it shares the card, holds it exclusively, opens
transactions or resets the card, so that the tests see what diagcps does around it."""

from __future__ import annotations

#: PC/SC constants (pcsclite.h), kept here so that importing this module loads no pyscard.
SHARED, EXCLUSIVE, T0_T1 = 2, 1, 3
RESET_CARD, LEAVE_CARD = 1, 0


class OtherProgram:
    """Another PC/SC client of the session's pcscd (this process's own context)."""

    def __init__(self, reader: str, share: int = SHARED) -> None:
        from smartcard import scard

        self.scard = scard
        hresult, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == 0
        hresult, self.handle, _protocol = scard.SCardConnect(self.context, reader, share, T0_T1)
        assert hresult == 0, hex(hresult & 0xFFFFFFFF)

    def begin(self) -> None:
        assert self.scard.SCardBeginTransaction(self.handle) == 0

    def end(self) -> None:
        assert self.scard.SCardEndTransaction(self.handle, LEAVE_CARD) == 0

    def reset(self) -> int:
        hresult, _protocol = self.scard.SCardReconnect(self.handle, SHARED, T0_T1, RESET_CARD)
        return hresult

    def close(self) -> None:
        self.scard.SCardDisconnect(self.handle, LEAVE_CARD)
        self.scard.SCardReleaseContext(self.context)

    def __enter__(self) -> OtherProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
