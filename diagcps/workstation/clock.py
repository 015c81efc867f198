"""Is the system clock plausible? Certificate checks (the card's, TLS) depend on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: Start of "AC RACINE IGC-SANTE FORT", the root above every current CPS certificate: no
#: correct clock can be earlier.
ROOT_CA_NOT_BEFORE = datetime(2013, 6, 25, tzinfo=timezone.utc)
#: Beyond this, the clock is certainly wrong rather than the card old.
LATEST_PLAUSIBLE = datetime(2040, 1, 1, tzinfo=timezone.utc)
#: Certificates are issued a little before the card reaches its holder, and time zones and
#: small drifts are harmless: only a clock more than a day before a start date is "wrong".
TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class ClockAssessment:
    wrong: bool
    #: "before_root_ca", "before_certificate", "after_2040" or None.
    reason: str | None
    now: datetime
    #: The date the clock was compared with when it was found wrong.
    reference: datetime | None = None


def _aware(moment: datetime) -> datetime:
    # Dates parsed from certificates may be naive: X.509 times are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def assess_clock(
    now: datetime, certificate_dates: Iterable[tuple[datetime, datetime]] = ()
) -> ClockAssessment:
    """Compare ``now`` with the root CA's start, 2040, and each (not_before, not_after) pair.

    A clock after a certificate's not_after is not "wrong": the card may simply have expired.
    """
    now = _aware(now)
    if now < ROOT_CA_NOT_BEFORE:
        return ClockAssessment(True, "before_root_ca", now, ROOT_CA_NOT_BEFORE)
    if now >= LATEST_PLAUSIBLE:
        return ClockAssessment(True, "after_2040", now, LATEST_PLAUSIBLE)
    starts = [_aware(not_before) for not_before, _not_after in certificate_dates]
    if starts:
        latest_start = max(starts)
        if now < latest_start - TOLERANCE:
            return ClockAssessment(True, "before_certificate", now, latest_start)
    return ClockAssessment(False, None, now)
