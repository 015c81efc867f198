"""Knowledge of the CPS card family (docs/CPS-CARD.md).

Talks only to an :class:`apdu.Transport`, returns dataclasses, never prints and never decides
severity: that is the checks' job. The entry point is :func:`read_card`.
"""

from diagcps.cps.model import (
    ActuaStatus,
    CardReading,
    Certificate,
    Holder,
    PinStatus,
    ReadProblem,
)
from diagcps.cps.reader import read_card
from diagcps.cps.session import CardFiles, open_card_session

__all__ = [
    "ActuaStatus",
    "CardFiles",
    "CardReading",
    "Certificate",
    "Holder",
    "PinStatus",
    "ReadProblem",
    "open_card_session",
    "read_card",
]
