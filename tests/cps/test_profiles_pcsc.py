"""Every card profile read through the real PC/SC stack: pyscard, libpcsclite, a private pcscd
and the vpcd reader driver, with the virtual card served over vpcd's socket (tests/conftest.py).

The reading must be the same as through a DirectTransport, and just as harmless: same commands,
counters and verification untouched, no reset or power-off (SCARD_LEAVE_CARD).
"""

from __future__ import annotations

from typing import Any

import pytest
from cps_support import NO_DICTIONARY, NOW, assert_read_only, load_card, profile_names, read_direct

from diagcps.cps import read_card

pytestmark = pytest.mark.pcsc

READER = "Virtual PCD 00 00"


@pytest.mark.parametrize("name", profile_names())
def test_profile_through_pcscd(pcsc_stack: Any, name: str) -> None:
    from diagcps.pcsc import PcscTransport

    card = load_card(name)
    before = card.pin_counters()
    pcsc_stack.serve(card)
    assert pcsc_stack.reader(0) == READER
    transport = PcscTransport.connect(READER, timeout_s=5.0)
    try:
        reading = read_card(transport, now=NOW, dictionary=NO_DICTIONARY)
    finally:
        transport.close()
    after = card.pin_counters()
    assert_read_only(card, idle_power_off_allowed=True)
    apdus = [entry.at for entry in card.log if entry.kind == "apdu"]
    cycled_before = any(entry.kind == "power_off" and (not apdus or entry.at < apdus[0])
                        for entry in card.log)
    # The same card gives the same facts and APDU count as without PC/SC. When pcscd powered
    # the card down between insertion and our connection, a verification made "before" is gone,
    # as it would be on a real card: compare with a card that went through the same cycle.
    reference = load_card(name)
    if cycled_before:
        reference.power_off()
        reference.power_on()
    assert reading == read_direct(reference)
    if any(entry.kind == "power_off" for entry in card.log):
        # pcscd's idle power-off ends any verification; the counters must be untouched.
        assert {ref: c[:2] for ref, c in after.items()} == {ref: c[:2] for ref, c in
                                                          before.items()}
    else:
        assert after == before
