from __future__ import annotations

from datetime import datetime, timedelta, timezone

from diagcps.workstation.clock import ROOT_CA_NOT_BEFORE, assess_clock

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
CARD = (datetime(2025, 1, 15, tzinfo=UTC), datetime(2028, 1, 31, tzinfo=UTC))


def test_a_plausible_clock_is_not_wrong() -> None:
    assessment = assess_clock(NOW, [CARD])
    assert assessment.wrong is False
    assert assessment.reason is None
    assert assessment.reference is None


def test_clock_before_the_root_ca_is_wrong() -> None:
    assessment = assess_clock(datetime(2010, 1, 1, tzinfo=UTC))
    assert assessment.wrong is True
    assert assessment.reason == "before_root_ca"
    assert assessment.reference == ROOT_CA_NOT_BEFORE


def test_root_ca_start_itself_is_plausible() -> None:
    assert assess_clock(ROOT_CA_NOT_BEFORE).wrong is False


def test_clock_after_2040_is_wrong() -> None:
    assessment = assess_clock(datetime(2041, 3, 1, tzinfo=UTC), [CARD])
    assert assessment.wrong is True
    assert assessment.reason == "after_2040"


def test_clock_well_before_a_certificate_start_is_wrong() -> None:
    now = CARD[0] - timedelta(days=2)
    assessment = assess_clock(now, [CARD])
    assert assessment.wrong is True
    assert assessment.reason == "before_certificate"
    assert assessment.reference == CARD[0]


def test_latest_certificate_start_is_the_one_compared() -> None:
    older = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))
    now = CARD[0] - timedelta(days=10)
    assessment = assess_clock(now, [older, CARD])
    assert assessment.reason == "before_certificate"
    assert assessment.reference == CARD[0]


def test_less_than_a_day_before_a_certificate_start_is_tolerated() -> None:
    now = CARD[0] - timedelta(hours=20)
    assert assess_clock(now, [CARD]).wrong is False


def test_an_expired_certificate_does_not_make_the_clock_wrong() -> None:
    now = CARD[1] + timedelta(days=400)
    assert assess_clock(now, [CARD]).wrong is False


def test_naive_dates_are_taken_as_utc() -> None:
    naive_card = (datetime(2025, 1, 15), datetime(2028, 1, 31))
    assessment = assess_clock(datetime(2024, 6, 1), [naive_card])
    assert assessment.wrong is True
    assert assessment.now.tzinfo is not None
    assert assessment.reference == CARD[0]
