"""Fuzzed card answers: a virtual card that may answer anything at any step of the diagnosis.

Each example takes a card profile and a plan of lies: at chosen APDUs the answer is replaced by a
random status word, garbage or truncated data, a broken TLV, oversized data, a 0- or 1-byte
answer, or the answer to the previous command; from a chosen APDU on the card may answer
``61xx`` or ``6Cxx`` (or any status) for ever; the ATR itself may be damaged. The diagnosis runs
in process (``diagnose(VirtualSource(...))``, the same code as ``diagcps check`` with the PC/SC
layer replaced by a direct transport) and must:

* never let an exception escape, nor end a check in ``error`` (the registry's safety net would
  hide a crash of the reading as an ``error`` check: that is a bug too);
* give a report valid against the schema, with exit code 0 or 1;
* end within :data:`MAX_APDUS` APDUs (no endless GET RESPONSE, Le correction or reselect loop);
* send the card only read-only commands (VERIFY without data), and leave its PIN counters as
  they were.

Example counts come from the hypothesis profile (tests/conftest.py): 2,000 in CI (``ci``,
derandomized), 50,000 with ``HYPOTHESIS_PROFILE=long``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import currently_in_test_context, example, given, note, settings
from hypothesis import strategies as st

from apdu.cardmodel import DirectTransport
from cardsim.faults import RewritingCard
from cardsim.virtual import VirtualCard
from diagcps.cli import exit_code
from diagcps.diagnosis import MAX_APDUS_PER_CARD as MAX_APDUS
from diagcps.diagnosis import diagnose
from diagcps.report.model import build_report, load_schema
from diagcps.sources import VirtualSource

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ["cps3-healthy", "cps4-healthy", "cps3-contactless", "cps3-pin-blocked", "cpf",
            "cps3-cps2ter-selected", "cps4-lost-selection", "cps3-update-incident",
            "cps4-t0-healthy"]
NOW = datetime(2026, 11, 28, 9, tzinfo=timezone.utc)
NO_DICTIONARY = Path("/nonexistent/DICO-FR.GIP")
#: The workstation checks look at this machine, not at the card: left out to keep examples fast.
SKIP = ("host.os", "workstation.cryptolib", "workstation.firefox", "workstation.clock")
ALLOWED_INS = {0xA4, 0xB0, 0xC0, 0xCA, 0xCB, 0x20}
HOST = {"os": "Linux", "os_version": None, "arch": None, "python": "3", "pyscard": None,
        "pcsc": None}

_VALIDATOR = jsonschema.validators.validator_for(load_schema())(load_schema())
_CARDS = {name: (ROOT / "cardsim" / "profiles" / f"{name}.json").read_text() for name in PROFILES}

# --- strategies ----------------------------------------------------------------------------------

#: Status words the tool gives meaning to, then any at all.
_INTERESTING_SW = [0x9000, 0x6100, 0x6101, 0x6118, 0x61FF, 0x6C00, 0x6C01, 0x6CE7, 0x6282,
                   0x6700, 0x6982, 0x6983, 0x6985, 0x6986, 0x6A82, 0x6A86, 0x6A88, 0x6B00,
                   0x6D00, 0x6E00, 0x63C0, 0x63C1, 0x63C2, 0x63C3, 0x63CF, 0x6F00, 0x9404]
status_words = st.one_of(st.sampled_from(_INTERESTING_SW), st.integers(0, 0xFFFF))

#: A TLV whose length says one thing and whose value says another, possibly nested.
broken_tlv = st.builds(
    lambda tag, length, body, wrap: (bytes((0x30, len(body) + 2)) if wrap else b"")
    + bytes((tag, length)) + body,
    st.sampled_from([0x30, 0x04, 0x0C, 0x5A, 0x62, 0x70, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xA1,
                     0xA5, 0xA8, 0xBF, 0x1F, 0x00, 0xFF]),
    st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xFF]),
    st.binary(max_size=24), st.booleans())

payloads = st.one_of(st.binary(max_size=40), st.binary(min_size=230, max_size=600), broken_tlv)

mutations = st.one_of(
    st.tuples(st.just("sw"), status_words),                # a status word alone
    st.tuples(st.just("data"), payloads, status_words),    # anything, with any status
    st.tuples(st.just("truncate"), st.integers(0, 64)),    # the real data cut short
    st.tuples(st.just("flip"), st.integers(0, 255), st.integers(0, 255)),  # one byte changed
    st.tuples(st.just("extend"), payloads),                # the real data, then more
    st.tuples(st.just("previous")),                        # the answer to another command
    st.tuples(st.just("short"), st.binary(max_size=1)),    # not even a status word
)

atrs = st.one_of(*[st.none()] * 6, st.binary(max_size=34),
                 st.tuples(st.integers(0, 33), st.integers(0, 255)))

plans = st.fixed_dictionaries({
    "profile": st.sampled_from(PROFILES),
    "at": st.dictionaries(st.integers(1, 48), mutations, max_size=6),
    "sticky": st.one_of(st.none(), st.none(), st.tuples(st.integers(1, 48), status_words)),
    "atr": atrs,
    "flood": st.none(),
})

#: From APDU ``flood`` on, every SELECT succeeds and every READ BINARY gives a full chunk of
#: well-formed directory records naming ever new files: without a cap the reading never ends.
flooding_plans = plans.flatmap(lambda plan: st.integers(1, 40).map(
    lambda start: {**plan, "flood": start}))

#: An ODF record pointing at a 2-byte relative path (CPS-CARD.md: ``A8 06 30 04 04 02 FID``).
_ODF_HEAD = bytes.fromhex("A80630040402")


def flood(offset: int, le: int) -> bytes:
    """``le`` bytes of endless, ever different ODF records, as if read from ``offset``."""
    out = bytearray()
    for position in range(offset, offset + le):
        slot, within = divmod(position, 8)
        record = _ODF_HEAD + (0x5000 + slot % 0x1000).to_bytes(2, "big")
        out.append(record[within])
    return bytes(out)


class FuzzedCard(RewritingCard):
    """A virtual card whose answers follow a plan of lies (and whose ATR may be damaged)."""

    def __init__(self, inner: VirtualCard, plan: dict[str, Any]) -> None:
        super().__init__(inner, self._lie)
        self.plan = plan
        self._previous = b"\x90\x00"
        atr = plan["atr"]
        if isinstance(atr, tuple):
            position, value = atr
            raw = bytearray(inner.atr)
            raw[position % len(raw)] = value
            atr = bytes(raw)
        self._atr = inner.atr if atr is None else atr

    @property
    def atr(self) -> bytes:
        return self._atr

    def _lie(self, index: int, command: bytes, answer: bytes) -> bytes:
        start = self.plan["flood"]
        if start is not None and index >= start and len(command) >= 4:
            if command[1] == 0xA4:
                return b"\x90\x00"
            if command[1] == 0xB0 and len(command) == 5:
                offset = (command[2] & 0x7F) << 8 | command[3]
                return flood(offset, command[4] or 256) + b"\x90\x00"
        told = self._rewrite(index, answer)
        self._previous = answer
        return told

    def _rewrite(self, index: int, answer: bytes) -> bytes:
        data, sw = answer[:-2], answer[-2:]
        sticky = self.plan["sticky"]
        if sticky is not None and index >= sticky[0]:
            return sticky[1].to_bytes(2, "big")
        mutation = self.plan["at"].get(index)
        if mutation is None:
            return answer
        kind = mutation[0]
        if kind == "sw":
            return mutation[1].to_bytes(2, "big")
        if kind == "data":
            return mutation[1] + mutation[2].to_bytes(2, "big")
        if kind == "truncate":
            return data[: mutation[1]] + sw
        if kind == "flip" and data:
            raw = bytearray(data)
            raw[mutation[1] % len(raw)] = mutation[2]
            return bytes(raw) + sw
        if kind == "extend":
            return data + mutation[1] + sw
        if kind == "previous":
            return self._previous
        if kind == "short":
            return mutation[1]
        return answer


def _diagnose(card: FuzzedCard) -> dict[str, Any]:
    diagnosis = diagnose(VirtualSource({"Fuzzed reader 00": card}), skip=SKIP, now=NOW,
                         dictionary=NO_DICTIONARY)
    return build_report(diagnosis, lang="en", host=HOST)


def _assert_calm_bounded_read_only(plan: dict[str, Any]) -> tuple[FuzzedCard, dict[str, Any]]:
    virtual = VirtualCard(json.loads(_CARDS[plan["profile"]]))
    counters = virtual.pin_counters()
    card = FuzzedCard(virtual, plan)

    report = _diagnose(card)

    if currently_in_test_context():
        note(f"APDUs: {card.count}; checks: "
             f"{[(c['id'], c['status'], c['code']) for c in report['checks']]}")
    _VALIDATOR.validate(report)
    assert [c["id"] for c in report["checks"] if c["status"] == "error"] == []
    # 4: nothing failed, but the workstation checks are left out (SKIP), so not a whole run.
    assert exit_code(report) in (1, 4)
    assert card.count <= MAX_APDUS
    for raw in card.commands():
        assert raw[1] in ALLOWED_INS, raw.hex()
        if raw[1] == 0x20:
            assert len(raw) == 4, f"VERIFY with data: {raw.hex()}"
    assert virtual.pin_counters() == counters
    if virtual.quirks.get("basic_channel") == "cps2ter" and plan.get("atr") is None:
        # CPS4: whatever the card answers, nothing but the recovery on the basic channel.
        basic = {raw.hex().upper() for raw in card.commands() if raw[0] & 0x03 == 0}
        assert basic <= {"00A4040C088025000001FF0002"}, basic
    return card, report


def _plan(profile: str, at: dict[int, tuple[Any, ...]]) -> dict[str, Any]:
    return {"profile": profile, "at": at, "sticky": None, "atr": None, "flood": None}


@given(plans)
# Found by fuzzing, kept as regressions: a certificate whose key algorithm OID is damaged made
# ``cryptography`` raise UnsupportedAlgorithm out of the reading; 6C00 answered to the empty
# VERIFY made the T=0 layer resend it with an Le.
@example(_plan("cps3-cps2ter-selected", {35: ("flip", 54, 0)}))
@example(_plan("cps4-lost-selection", {16: ("sw", 0x6C00)}))
def test_any_card_answer_gives_a_calm_bounded_read_only_diagnosis(plan: dict[str, Any]) -> None:
    _assert_calm_bounded_read_only(plan)


@settings(max_examples=max(settings.default.max_examples // 40, 10))
@given(flooding_plans)
def test_a_card_that_never_stops_giving_plausible_data_is_cut_at_the_cap(
        plan: dict[str, Any]) -> None:
    card, report = _assert_calm_bounded_read_only(plan)
    if card.count == MAX_APDUS:
        problems = report["readers"][0]["card"]["problems"]
        assert any("more than" in p["message"] for p in problems), problems
        assert next(c for c in report["checks"] if c["id"] == "card.read")["status"] != "ok"


def test_a_crash_of_the_reading_is_a_tool_error_in_the_report_not_a_traceback(
        mocker) -> None:
    """The safety net behind the fuzzing: should read_card ever raise (a bug), the run goes on,
    the card is released, and the report says "error" (exit code 3) instead of dying."""
    virtual = VirtualCard(json.loads(_CARDS["cps3-healthy"]))
    closed = mocker.spy(DirectTransport, "close")
    mocker.patch("diagcps.cps.reader.read_card", side_effect=RuntimeError("a bug"))
    report = _diagnose(FuzzedCard(virtual, {"at": {}, "sticky": None, "atr": None,
                                            "flood": None, "profile": "cps3-healthy"}))
    _VALIDATOR.validate(report)
    detected = next(c for c in report["checks"] if c["id"] == "card.detected")
    assert detected["status"] == "error"
    assert detected["details"]["exception"] == "RuntimeError: a bug"
    assert exit_code(report) == 3
    assert closed.call_count == 1


def test_a_reading_that_would_never_end_stops_at_the_cap_and_says_so() -> None:
    card, report = _assert_calm_bounded_read_only(
        {**_plan("cps3-healthy", {}), "flood": 5})
    assert card.count == MAX_APDUS
    read = next(c for c in report["checks"] if c["id"] == "card.read")
    assert read["status"] == "warning" and read["code"] == "CARD_READ_ERROR"
    assert any(f"more than {MAX_APDUS} commands" in p["message"]
               for p in read["details"]["problems"])


def test_the_apdu_limit_counts_what_it_carries_and_refuses_the_next() -> None:
    from apdu.command import CommandApdu
    from apdu.errors import TooManyApdus, TransportError
    from apdu.transport import ApduLimit

    virtual = VirtualCard(json.loads(_CARDS["cps3-healthy"]))
    limited = ApduLimit(DirectTransport(virtual), 2)
    select_mf = CommandApdu(0x00, 0xA4, 0x09, 0x0C, b"\x3f\x00")
    limited.transmit(select_mf)
    limited.transmit(select_mf)
    with pytest.raises(TooManyApdus) as caught:
        limited.transmit(select_mf)
    assert isinstance(caught.value, TransportError)  # the reading stops and records it
    assert len(virtual.commands()) == 2 and limited.atr == virtual.atr
