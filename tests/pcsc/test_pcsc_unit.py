"""diagcps.pcsc without a PC/SC service: error mapping, state decoding, bounds (pyscard mocked)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from apdu.command import CommandApdu
from apdu.errors import TransportError
from diagcps import pcsc

READ = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=2)


@pytest.mark.parametrize(
    ("hresult", "code"),
    [
        (0x8010001D, "PCSC_SERVICE_DOWN"),
        (0x8010001E, "PCSC_SERVICE_STOPPED"),
        (0x8010002E, "NO_READER"),
        (0x8010000C, "CARD_ABSENT"),
        (0x8010000B, "CARD_IN_USE"),
        (0x80100069, "CARD_REMOVED"),
        (0x80100016, "CARD_REMOVED"),
        (0x80100068, "CARD_RESET"),
        (0x8010000A, "PCSC_TIMEOUT"),
        (0x80100066, "CARD_MUTE"),
        (0x8010000F, "CARD_MUTE"),
        (0x80100009, "READER_NOT_FOUND"),
        (0x80100001, pcsc.GENERIC_CODE),
    ],
)
def test_hresult_maps_to_its_finding_code(hresult: int, code: str) -> None:
    assert pcsc.map_hresult(hresult) == code


def test_negative_hresults_from_signed_builds_map_the_same() -> None:
    assert pcsc.map_hresult(0x8010001D - 0x100000000) == "PCSC_SERVICE_DOWN"
    error = pcsc.PcscError.from_hresult(-0x7FEFFFE3, "SCardEstablishContext")
    assert error.hresult == 0x8010001D
    assert "0x8010001D" in str(error)


def test_both_pyscard_exception_families_become_pcsc_errors() -> None:
    pytest.importorskip("smartcard")
    from smartcard.Exceptions import CardConnectionException, NoCardException, NoReadersException
    from smartcard.pcsc.PCSCExceptions import EstablishContextException, ListReadersException

    cases = [
        (EstablishContextException(0x8010001D), "PCSC_SERVICE_DOWN"),
        (ListReadersException(0x8010002E), "NO_READER"),
        (NoCardException("no card", hresult=0x8010000C), "CARD_ABSENT"),
        (CardConnectionException("gone", hresult=0x80100069), "CARD_REMOVED"),
        (NoReadersException(), "NO_READER"),  # raised without an hresult
    ]
    for exc, code in cases:
        error = pcsc.pcsc_error_from(exc)
        assert error is not None and error.code == code, exc


def test_pyscard_errors_block_translates_and_lets_other_errors_through() -> None:
    pytest.importorskip("smartcard")
    from smartcard.pcsc.PCSCExceptions import EstablishContextException

    with pytest.raises(pcsc.PcscError) as caught, pcsc.pyscard_errors():
        raise EstablishContextException(0x8010001D)
    assert caught.value.code == "PCSC_SERVICE_DOWN"
    assert isinstance(caught.value.__cause__, EstablishContextException)
    with pytest.raises(KeyError), pcsc.pyscard_errors():
        raise KeyError("not pyscard")


@pytest.mark.parametrize(
    ("flags", "state", "exclusive"),
    [
        (0x0012, "empty", False),
        (0x10022, "present", False),  # event counter in the upper 16 bits
        (0x30122, "present", False),
        (0x300A2, "in_use", True),
        (0x0222, "mute", False),
        (0x0008, "unavailable", False),
        (0x0006, "unavailable", False),
    ],
)
def test_reader_state_flags_decode(flags: int, state: str, exclusive: bool) -> None:
    decoded = pcsc.reader_state("R", flags, [0x3B, 0x00])
    assert (decoded.state, decoded.exclusive, decoded.flags) == (state, exclusive, flags)
    assert decoded.atr == (None if state == "empty" else b"\x3b\x00")


class FakeScard(SimpleNamespace):
    """The few smartcard.scard functions the module uses, answering what a test sets."""

    SCARD_PCI_T0 = "T0"
    SCARD_PCI_T1 = "T1"

    def __init__(self, **overrides: object) -> None:
        super().__init__(
            SCardEstablishContext=lambda scope: (0, 1),
            SCardReleaseContext=lambda context: 0,
            SCardListReaders=lambda context, groups: (0, ["Reader A", "Reader B"]),
            SCardGetStatusChange=lambda context, ms, states: (
                0, [(states[0][0], 0x10022, [0x3B, 0x00]), (states[1][0], 0x0012, [])]),
            SCardConnect=lambda context, reader, share, protocols: (0, 7, 1),
            SCardStatus=lambda card: (0, "Reader A", 0x34, 1, [0x3B, 0x00]),
            SCardBeginTransaction=lambda card: 0,
            SCardEndTransaction=lambda card, disposition: 0,
            SCardDisconnect=lambda card, disposition: 0,
            SCardTransmit=lambda card, pci, apdu: (0, [0x90, 0x00]),
        )
        for name, value in overrides.items():
            setattr(self, name, value)


@pytest.fixture
def fake_scard(mocker):
    def install(**overrides: object) -> FakeScard:
        fake = FakeScard(**overrides)
        mocker.patch.object(pcsc, "_scard", return_value=fake)
        return fake

    return install


def test_list_readers_reads_states_and_atrs(fake_scard) -> None:
    fake_scard()
    first, second = pcsc.list_readers()
    assert (first.name, first.state, first.atr) == ("Reader A", "present", b"\x3b\x00")
    assert (second.name, second.state, second.atr) == ("Reader B", "empty", None)


def test_no_reader_is_an_empty_list(fake_scard) -> None:
    fake_scard(SCardListReaders=lambda context, groups: (0x8010002E, []))
    assert pcsc.list_readers() == []


def test_service_down_raises_with_its_code(fake_scard) -> None:
    fake_scard(SCardEstablishContext=lambda scope: (0x8010001D, 0))
    with pytest.raises(pcsc.PcscError) as caught:
        pcsc.list_readers()
    assert caught.value.code == "PCSC_SERVICE_DOWN"


def test_missing_library_is_reported_before_pyscard_is_imported(mocker) -> None:
    mocker.patch.object(pcsc, "library_problem", return_value="cannot load libpcsclite.so.1")
    with pytest.raises(pcsc.PcscError) as caught:
        pcsc.list_readers()
    assert caught.value.code == "PCSC_LIBRARY_MISSING"


def test_a_hung_service_is_bounded(fake_scard) -> None:
    release = threading.Event()
    fake_scard(SCardListReaders=lambda context, groups: (release.wait(5), (0, []))[1])
    started = time.monotonic()
    with pytest.raises(pcsc.PcscError) as caught:
        pcsc.list_readers(timeout_s=0.2)
    release.set()
    assert caught.value.code == "PCSC_TIMEOUT"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("hresult", "code"),
    [
        (0x80100068, "CARD_RESET"),
        (0x80100069, "CARD_REMOVED"),
        # The service was there at connect time: it stopped during use.
        (0x8010001D, "PCSC_SERVICE_STOPPED"),
    ],
)
def test_transmit_failures_carry_a_finding_code(fake_scard, hresult: int, code: str) -> None:
    fake_scard(SCardTransmit=lambda card, pci, apdu: (hresult, []))
    with pcsc.PcscTransport.connect("Reader A") as transport, pytest.raises(
        TransportError
    ) as caught:
        transport.transmit(READ)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("status", "code"),
    [((0x80100069, "", 0, 0, []), "CARD_REMOVED"), ((0, "Reader A", 0x34, 1, [0x3B]), "CARD_MUTE")],
)
def test_a_broken_exchange_is_told_apart_by_asking_the_reader(
    fake_scard, mocker, status: tuple[object, ...], code: str
) -> None:
    # NOT_TRANSACTED: the card left before pcscd's poll noticed, or it stopped answering.
    mocker.patch.object(pcsc, "_SETTLE_S", 0.1)
    fake_scard(SCardTransmit=lambda card, pci, apdu: (0x80100016, []))
    with pcsc.PcscTransport.connect("Reader A") as transport:
        transport._scard.SCardStatus = lambda card: status
        with pytest.raises(TransportError) as caught:
            transport.transmit(READ)
    assert caught.value.code == code


def test_transmit_uses_the_pci_of_the_negotiated_protocol(fake_scard) -> None:
    seen: list[str] = []
    fake_scard(
        SCardConnect=lambda context, reader, share, protocols: (0, 7, 2),
        SCardStatus=lambda card: (0, "Reader A", 0x34, 2, [0x3B, 0x00]),
        SCardTransmit=lambda card, pci, apdu: (seen.append(pci), (0, [0x90, 0x00]))[1],
    )
    with pcsc.PcscTransport.connect("Reader A") as transport:
        assert transport.transmit(READ).sw == 0x9000
        assert transport.protocol == "T=1"
    assert seen == ["T1"]


def test_close_ends_the_transaction_and_leaves_the_card(fake_scard) -> None:
    calls: list[tuple[str, int]] = []
    fake_scard(
        SCardEndTransaction=lambda card, disposition: calls.append(("end", disposition)) or 0,
        SCardDisconnect=lambda card, disposition: calls.append(("disconnect", disposition)) or 0,
    )
    transport = pcsc.PcscTransport.connect("Reader A")
    transport.close()
    transport.close()  # idempotent
    assert calls == [("end", pcsc.SCARD_LEAVE_CARD), ("disconnect", pcsc.SCARD_LEAVE_CARD)]
