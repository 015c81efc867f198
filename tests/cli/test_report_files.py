"""Report files from outside (a ticket's rapport.json): bounded, checked, shown without any
control character (diagcps.report.load, then the terminal view)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from diagcps.report.load import MAX_REPORT_BYTES, ReportError, load_report
from diagcps.report.terminal import render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "reports" / "cps3-pin-blocked.fr.json"
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\u2028\u2029]")


def _report(**changes: Any) -> dict[str, Any]:
    doc = json.loads(GOLDEN.read_text())
    doc.setdefault("verdicts", {}).setdefault("workstation", {
        "status": "skipped", "code": None, "summary": "-"})
    doc.update(changes)
    return doc


def _shown(doc: dict[str, Any]) -> str:
    buffer = io.StringIO()
    render(doc, Console(file=buffer, width=90, color_system=None, highlight=False))
    return buffer.getvalue()


def _load(tmp_path: Path, content: bytes) -> dict[str, Any]:
    path = tmp_path / "rapport.json"
    path.write_bytes(content)
    return load_report(path)


def test_a_real_report_loads_and_shows(tmp_path: Path) -> None:
    doc = _load(tmp_path, json.dumps(_report()).encode())
    assert "Diagnostic CPS" in _shown(doc)


@pytest.mark.parametrize(("what", "content"), [
    ("too large", b" " * (MAX_REPORT_BYTES + 1)),
    ("too deep", b"[" * 50_000 + b"]" * 50_000),
    ("a list", b"[]"),
    ("schema 2", json.dumps(_report(schema_version="2")).encode()),
    ("lang xx", json.dumps(_report(lang="xx")).encode()),
    ("checks an object", json.dumps(_report(checks={})).encode()),
    ("a check without code", json.dumps(_report(checks=[{"id": "x", "status": "ok",
                                                         "summary": "s"}])).encode()),
    ("a summary not text", json.dumps(_report(checks=[{"id": "x", "status": "ok", "code": None,
                                                       "summary": 3}])).encode()),
    ("help lines not text", json.dumps(_report(help={"ecps": [1]})).encode()),
    ("not UTF-8", b"\xff\xfe{}"),
])
def test_a_bad_report_is_refused_in_one_line(tmp_path: Path, what: str, content: bytes) -> None:
    with pytest.raises(ReportError) as caught:
        _load(tmp_path, content)
    assert "\n" not in str(caught.value), what


_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(summary=_texts, title=_texts, remedy=_texts, ecps=st.lists(_texts, max_size=3),
       verdict=_texts)
def test_whatever_text_a_report_holds_no_control_character_is_shown(
        tmp_path: Path, summary: str, title: str, remedy: str, ecps: list[str],
        verdict: str) -> None:
    doc = _report()
    doc["checks"][0].update(summary=summary, title=title, remedy=remedy or None)
    doc["verdicts"]["card"]["summary"] = verdict
    doc["help"] = {"ecps": ecps, "support": []}
    loaded = _load(tmp_path, json.dumps(doc).encode())
    shown = _shown(loaded)
    assert not UNSAFE.search(shown), repr(shown)
