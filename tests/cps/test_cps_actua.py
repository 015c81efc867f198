"""EF_ACTUA: absent is normal; present but empty, unreadable or without end date is an incident."""

from __future__ import annotations

from datetime import datetime

import pytest
from cps_support import replay

from apdu.transport import T0Transport
from diagcps.cps.actua import bcd_datetime, decode_actua, read_actua
from diagcps.cps.session import UnexpectedStatus

SELECT = "00A40904043F00D010"
COMPLETE = "EC1281072025061008000082072025061008051200"


def test_absent_journal_is_the_normal_case() -> None:
    status = read_actua(T0Transport(replay([(SELECT, "6A82")])))
    assert (status.present, status.incident, status.sw) == (False, False, "6A82")


def test_a_complete_journal_is_no_incident_and_is_read_to_its_fcp_size() -> None:
    fcp = "620780020015820101"
    card = replay([(SELECT, "6109"), ("00C0000009", fcp + "9000"),
                   ("00B0000015", COMPLETE + "9000")])
    status = read_actua(T0Transport(card))
    assert status.present and status.incident is False
    assert status.started == datetime(2025, 6, 10, 8, 0, 0)
    assert status.ended == datetime(2025, 6, 10, 8, 5, 12)


def test_a_journal_without_end_date_is_an_incident() -> None:
    status = decode_actua(bytes.fromhex("EC0981072025060110150000000000"))
    assert status.incident is True and status.ended is None
    assert status.started == datetime(2025, 6, 1, 10, 15)
    assert "end date" in (status.reason or "")


@pytest.mark.parametrize("content", ["", "0000000000", "FFFF"])
def test_an_empty_journal_is_an_incident(content: str) -> None:
    status = decode_actua(bytes.fromhex(content))
    assert status.incident is True and status.reason == "present but empty"


@pytest.mark.parametrize("content", ["EC0581", "EC04820299", "EC098207202513990000"])
def test_a_damaged_journal_is_an_incident(content: str) -> None:
    assert decode_actua(bytes.fromhex(content)).incident is True


def test_a_journal_that_cannot_be_read_is_an_incident() -> None:
    card = replay([(SELECT, "9000"), ("00B00000E7", "6982")])
    status = read_actua(T0Transport(card))
    assert status.incident is True and status.sw == "6982"


def test_a_refused_select_gives_no_verdict() -> None:
    with pytest.raises(UnexpectedStatus):
        read_actua(T0Transport(replay([(SELECT, "6985")])))


def test_bcd_dates() -> None:
    assert bcd_datetime(bytes.fromhex("20250610080512")) == datetime(2025, 6, 10, 8, 5, 12)
    assert bcd_datetime(bytes.fromhex("20250610")) == datetime(2025, 6, 10)
    assert bcd_datetime(bytes.fromhex("20251310080512")) is None
    assert bcd_datetime(bytes.fromhex("2025A610080512")) is None
    assert bcd_datetime(b"") is None
