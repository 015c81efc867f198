"""PIN and unblock-code states: the rules, the GET DATA answer, the empty VERIFY."""

from __future__ import annotations

import pytest
from cps_support import ATR_CPS4, replay

from apdu.errors import TlvError
from apdu.transport import T0Transport
from diagcps.cps.pin import (
    decode_pin_counters,
    empty_verify_command,
    get_data_command,
    pin_state,
    read_counters,
    unblock_state,
    verify_status,
)
from diagcps.cps.session import UnexpectedStatus

TRACE_ANSWER = "7016BF810112A0109A01039B0103A1088C06F3000013FF00"


@pytest.mark.parametrize(("left", "maximum", "uses", "state"), [
    (3, 3, None, "ok"),
    (2, 3, None, "low"),
    (1, 3, None, "last_try"),
    (0, 3, None, "blocked"),
    (3, 3, 0, "blocked"),  # usage remaining 0 counts as blocked (the Cryptolib once missed it)
    (2, 2, None, "ok"),  # two of two is not "low"
    (2, None, None, "low"),  # maximum unknown (empty VERIFY): the CPS PIN has 3 tries
    (5, 10, None, "ok"),
    (None, None, None, "unknown"),
])
def test_pin_state_rules(left: int | None, maximum: int | None, uses: int | None,
                         state: str) -> None:
    assert pin_state(left, maximum, uses) == state


@pytest.mark.parametrize(("left", "uses", "state"), [
    (10, None, "ok"), (1, None, "ok"), (0, None, "blocked"), (10, 0, "blocked"),
    (None, 3, "ok"), (None, None, "unknown"),
])
def test_unblock_state_rules(left: int | None, uses: int | None, state: str) -> None:
    assert unblock_state(left, uses) == state


def test_the_command_forms_are_the_public_trace_s() -> None:
    assert get_data_command(1).hex() == "00CB3FFF0A4D087006BF810102A080"
    assert empty_verify_command(1).hex() == "01200001"
    assert not empty_verify_command(0x81).data


def test_decode_the_public_trace_answer() -> None:
    counters = decode_pin_counters(bytes.fromhex(TRACE_ANSWER), 1)
    assert (counters.tries_max, counters.tries_left, counters.uses_left) == (3, 3, None)


@pytest.mark.parametrize(("body", "expected"), [
    ("9B0102", (None, 2, None)),  # 9A missing
    ("9A0103", (3, None, None)),  # 9B missing but... no counter left: see below
    ("9A010A9B010A9C010A9D0105", (10, 10, 5)),  # 9C ignored, 9D one byte
    ("9A010A9B01009D020100", (10, 0, 256)),  # 9D two bytes
    ("9A01039B01039C02FFFF", (3, 3, None)),  # 9C of any shape is ignored
])
def test_decode_tolerates_missing_and_variable_counters(body: str,
                                                        expected: tuple[int | None, ...]) -> None:
    a0 = f"A0{len(body) // 2:02X}{body}"
    bf = f"BF8101{len(a0) // 2:02X}{a0}"
    data = bytes.fromhex(f"70{len(bf) // 2:02X}{bf}")
    if expected[1] is None and expected[2] is None:
        with pytest.raises(TlvError):
            decode_pin_counters(data, 1)
        return
    counters = decode_pin_counters(data, 1)
    assert (counters.tries_max, counters.tries_left, counters.uses_left) == expected


def test_decode_accepts_a_template_without_the_70_wrapper() -> None:
    counters = decode_pin_counters(bytes.fromhex("BF810108A0069A01039B0101"), 1)
    assert counters.tries_left == 1


@pytest.mark.parametrize("raw", ["", "9000", "7003BF8101", "70 02 A1 00".replace(" ", "")])
def test_decode_rejects_answers_without_counters(raw: str) -> None:
    with pytest.raises(TlvError):
        decode_pin_counters(bytes.fromhex(raw), 1)


def test_get_data_selects_the_mf_only_when_the_card_asks_for_it() -> None:
    card = replay([
        ("00CB3FFF0A4D087006BF810102A080", "6A88"),
        ("00A4090C023F00", "9000"),
    ])
    # The replay gives its last answer again: make the second GET DATA succeed.
    card._answers[bytes.fromhex("00CB3FFF0A4D087006BF810102A080")].append(bytes.fromhex("6118"))
    card._answers[bytes.fromhex("00C0000018")].append(bytes.fromhex(TRACE_ANSWER + "9000"))
    status = read_counters(T0Transport(card), 1)
    assert status.state == "ok" and status.tries_left == 3 and status.source == "get_data"
    assert [c.hex().upper() for c in card.sent] == [
        "00CB3FFF0A4D087006BF810102A080", "00A4090C023F00", "00CB3FFF0A4D087006BF810102A080",
        "00C0000018"]


def test_get_data_for_the_unblock_code_selects_the_mf_first_when_told() -> None:
    answer = "7012BF81020EA00C9A010A9B01059C010A9D01009000"
    card = replay([("00A4090C023F00", "9000"), ("00CB3FFF0A4D087006BF810202A080", "6114"),
                   ("00C0000014", answer)])
    status = read_counters(T0Transport(card), 2, unblock=True, select_mf=True)
    assert status.state == "blocked" and status.uses_left == 0 and status.reference == 2


def test_get_data_refused_is_an_unexpected_status() -> None:
    card = replay([("00CB3FFF0A4D087006BF810102A080", "6982")])
    with pytest.raises(UnexpectedStatus) as error:
        read_counters(T0Transport(card), 1)
    assert error.value.sw == 0x6982


@pytest.mark.parametrize(("sw", "state", "left"), [
    ("63C3", "ok", 3), ("63C2", "low", 2), ("63C1", "last_try", 1), ("63C0", "blocked", 0),
    ("6983", "blocked", 0), ("9000", "verified", None),
])
def test_empty_verify_answers(sw: str, state: str, left: int | None) -> None:
    card = replay([("01200001", sw)], ATR_CPS4)
    status = verify_status(card, 1)
    assert (status.state, status.tries_left, status.source, status.sw) == (state, left, "verify",
                                                                           sw)


def test_empty_verify_after_6985_runs_the_chipdoc_recovery_then_asks_again() -> None:
    card = replay([
        ("01200001", "6985"),
        ("01A4040C07A0000001510000", "9000"),
        ("00A4040C088025000001FF0002", "9000"),
        ("01A4040C088025000001FF0100", "9000"),
    ], ATR_CPS4)
    card._answers[bytes.fromhex("01200001")].append(bytes.fromhex("63C2"))
    status = verify_status(card, 1)
    assert status.state == "low"
    assert [c.hex().upper() for c in card.sent] == ["01200001", "01A4040C07A0000001510000",
                                            "00A4040C088025000001FF0002",
                                            "01A4040C088025000001FF0100", "01200001"]


def test_empty_verify_for_the_unblock_code_is_never_verified() -> None:
    card = replay([("01200002", "9000")], ATR_CPS4)
    assert verify_status(card, 2, unblock=True).state == "ok"


def test_empty_verify_with_an_unknown_answer_is_unexpected() -> None:
    card = replay([("01200001", "6A88")], ATR_CPS4)
    with pytest.raises(UnexpectedStatus):
        verify_status(card, 1)
