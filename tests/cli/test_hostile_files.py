"""Hostile files given to ``replay``: one line and exit 2, in bounded time and memory, and no
control character ever reaching the terminal view.

Replaying what a user sent is the documented support workflow, so a transcript is treated as a
file from outside: anything it holds (the reader's name, the card's names, its certificates) may
be crafted. The corpus below is the cases seen so far; hypothesis adds random documents and
random damage to a real transcript.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from apdu.transcript import MAX_JSON_DEPTH, MAX_TRANSCRIPT_BYTES
from diagcps.cli import main
from diagcps.report.terminal import render

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T09:00:00"
HEALTHY = ROOT / "fixtures" / "transcripts" / "cps3-healthy.json"

#: What must never reach the rendered view: C0 (but the line feed), DEL, C1, bidi controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\u2028\u2029]")


def _doc(**changes: Any) -> dict[str, Any]:
    doc = json.loads(HEALTHY.read_text())
    doc.update(changes)
    return doc


def _replay(path: Path, *extra: str) -> Any:
    return CliRunner().invoke(main, ["replay", str(path), "--now", NOW, *extra])


def _assert_one_line_refusal(result: Any, what: str) -> None:
    assert result.exit_code == 2, (what, result.output)
    assert isinstance(result.exception, SystemExit), (what, result.exception)
    # French by default ("diagcps : "), English with --lang en or an English locale.
    assert result.stderr.startswith(("diagcps : ", "diagcps: ")), (what, result.stderr)
    assert result.stderr.count("\n") == 1, (what, result.stderr)
    assert "Traceback" not in result.output
    assert not UNSAFE.search(result.stderr.rstrip("\n")), (what, result.stderr)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CORPUS: list[tuple[str, bytes]] = [
    ("100,000 nested arrays", _nested(100_000).encode()),
    ("100,000 nested objects", ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()),
    ("nested just past the limit",
     json.dumps(_doc(x=json.loads(_nested(MAX_JSON_DEPTH)))).encode()),
    ("version true", json.dumps(_doc(version=True)).encode()),
    ("version 1.0", json.dumps(_doc(version=1.0)).encode()),
    ("version '1'", json.dumps(_doc(version="1")).encode()),
    ("no exchanges", json.dumps({k: v for k, v in _doc().items() if k != "exchanges"}).encode()),
    ("exchanges null", json.dumps(_doc(exchanges=None)).encode()),
    ("exchanges an object", json.dumps(_doc(exchanges={"command": "00"})).encode()),
    ("too many exchanges", json.dumps(_doc(exchanges=[{"command": "00A40000", "response":
                                                       "9000"}] * 5000)).encode()),
    ("exchange an APDU too long", json.dumps(_doc(exchanges=[{"command": "00" * 70_000,
                                                              "response": "9000"}])).encode()),
    ("atr too long", json.dumps(_doc(atr="3B" * 40)).encode()),
    ("atr a number", json.dumps(_doc(atr=3)).encode()),
    ("redactions not text", json.dumps(_doc(provenance={"source": "x", "redactions": [1]}))
     .encode()),
    ("redacted not a boolean", json.dumps(_doc(provenance={"source": "x", "redacted": "yes"}))
     .encode()),
    ("not UTF-8", b'{"format": "diagcps-transcript", "reader": "\xff\xfe"}'),
    ("a 100,000-digit number", b'{"format": "diagcps-transcript", "version": 1'
     + b"0" * 100_000 + b"}"),
    ("an escape sequence in the format", json.dumps(_doc(format="\x1b[2Jx")).encode()),
    ("a control character in the version", json.dumps(_doc(version="\x1b]52;c;AAAA\x07"))
     .encode()),
    ("JSON that ends early", HEALTHY.read_bytes()[:300]),
    ("empty", b""),
]


@pytest.mark.parametrize(("what", "content"), CORPUS, ids=[c[0] for c in CORPUS])
def test_a_hostile_transcript_gets_one_line_and_exit_2(tmp_path: Path, what: str,
                                                       content: bytes) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    _assert_one_line_refusal(_replay(path, "--json"), what)
    _assert_one_line_refusal(_replay(path), what)


def test_a_transcript_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors add a UTF-8 BOM when they save: the file is still the user's transcript."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + HEALTHY.read_bytes())
    result = _replay(path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["readers"][0]["card"]["serial"] == "99213845"


def _refusal_cost(path: Path) -> tuple[float, int, str, int]:
    """Seconds, peak memory (kB) of a child process replaying ``path``, its stderr and code."""
    code = ("import resource, subprocess, sys, time\n"
            "start = time.perf_counter()\n"
            "done = subprocess.run([sys.executable, '-m', 'diagcps', 'replay', sys.argv[1]],"
            " capture_output=True, text=True)\n"
            "took = time.perf_counter() - start\n"
            "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(took, peak, done.returncode, done.stderr, end='')\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True, timeout=120).stdout.split(" ", 3)
    return float(out[0]), int(out[1]), out[3], int(out[2])


def test_a_200_mb_transcript_is_refused_in_the_time_and_memory_of_a_small_bad_one(
        tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_text('{"format": "diagcps-transcript", "version": 9}')
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # real bytes, not a sparse file: the reader cannot skip
        chunk = json.dumps({"command": "00B00000E7", "response": "00" * 231 + "9000"}).encode()
        handle.write(b'{"format": "diagcps-transcript", "version": 1, "provenance": '
                     b'{"source": "x"}, "exchanges": [')
        while handle.tell() < 200 * 1024 * 1024:
            handle.write(chunk + b", " + chunk + b", " + chunk + b", ")
        handle.write(chunk + b"]}")
    assert huge.stat().st_size > 50 * MAX_TRANSCRIPT_BYTES
    base_time, base_memory, _, _ = _refusal_cost(small)
    took, memory, stderr, code = _refusal_cost(huge)
    assert code == 2
    assert "larger than a transcript can be" in stderr and stderr.count("\n") == 1
    assert took < 3 * base_time + 0.5, (took, base_time)
    assert memory < 1.5 * base_memory, (memory, base_memory)


# --- what a transcript may carry into the view ---------------------------------------------------

#: Text that would take over a terminal: a hidden hyperlink, clear screen, C1 CSI and OSC, a
#: clipboard write, a right-to-left override.
INJECTIONS = [
    "\x1b]8;;https://example.invalid/\x1b\\CLIQUEZ ICI\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[H",
    "\x9b31m\x9d0;title\x9c",
    "\x1b]52;c;ZXZpbA==\x07",
    "exe.\u202egpj",
    "\u2066\u200e\u061c\u2069",
]


def _rendered(report: dict[str, Any], width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False)
    render(report, console, output_path="r\x1b[2J.json")
    return buffer.getvalue()


def _latin1_same_length(text: str, length: int) -> bytes:
    raw = text.encode("latin-1", errors="replace")
    return (raw * (length // max(1, len(raw)) + 1))[:length]


def _hostile_card_transcript(tmp_path: Path, injection: str) -> Path:
    """The healthy transcript with the card's names, national identifier and the reader's name
    replaced by terminal escapes (same byte lengths: the reading is unchanged otherwise)."""
    doc = _doc(reader=f"Lecteur {injection}")
    for real in ("DURAND-ESSAI", "CLAIRE", "899700075122"):
        old = real.encode().hex().upper()
        new = _latin1_same_length(injection, len(real)).hex().upper()
        for exchange in doc["exchanges"]:
            exchange["response"] = exchange["response"].replace(old, new)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("injection", INJECTIONS)
def test_no_control_character_from_a_transcript_reaches_the_view(tmp_path: Path,
                                                                 injection: str) -> None:
    path = _hostile_card_transcript(tmp_path, injection)
    result = _replay(path, "--json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    # JSON stays exact: what the card said is in the report, escaped.
    assert injection.split("\x1b")[0] in json.dumps(report, ensure_ascii=False) \
        or report["readers"][0]["name"].startswith("Lecteur ")
    assert report["readers"][0]["name"] == f"Lecteur {injection}"
    shown = _rendered(report)
    assert not UNSAFE.search(shown), repr(UNSAFE.search(shown))
    # And through the command itself, its real output.
    view = _replay(path)
    assert not UNSAFE.search(view.stdout), repr(view.stdout[:200])
    assert "Lecteur" in view.stdout


def test_a_certificate_with_a_negative_serial_prints_no_warning(tmp_path: Path) -> None:
    """cryptography warns (and will refuse) on a negative serial; the user sees neither."""
    doc = _doc()
    for exchange in doc["exchanges"]:
        if exchange["command"].startswith("00B00000") and exchange["response"].startswith(
                "3082"):
            raw = bytearray.fromhex(exchange["response"])
            raw[15] |= 0x80  # the serial INTEGER's first byte: now negative, same length
            exchange["response"] = raw.hex().upper()
    path = tmp_path / "negative.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "diagcps", "replay", str(path), "--json",
                           "--now", NOW], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.stderr == ""
    assert done.returncode in (0, 1)
    serials = [c["serial_number"] for c in json.loads(done.stdout)["readers"][0]["card"][
        "certificates"]]
    assert any(s.startswith("-") for s in serials) or serials == []


# --- hypothesis: random documents, random damage --------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
_fields = st.sampled_from(["format", "version", "provenance", "atr", "protocol", "reader",
                           "exchanges"])


def _check_outcome(result: Any, what: str) -> None:
    assert "Traceback" not in result.output, (what, result.output)
    if result.exit_code == 2:
        _assert_one_line_refusal(result, what)
    else:
        assert result.exit_code in (0, 1, 3), (what, result.exit_code, result.exception)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                          SystemExit)
        assert not UNSAFE.search(result.stdout), (what, result.stdout[:300])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(document=_json_values)
def test_any_json_document_gets_a_diagnosis_or_one_line(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "any.json"
    path.write_text(json.dumps(document))
    _check_outcome(_replay(path), repr(document)[:80])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_fields, _json_values, min_size=1, max_size=3),
       reader=st.text(max_size=30))
def test_a_damaged_transcript_gets_a_diagnosis_or_one_line(tmp_path: Path,
                                                           changes: dict[str, Any],
                                                           reader: str) -> None:
    doc = _doc(reader=reader)
    doc.update(changes)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(doc))
    _check_outcome(_replay(path), repr(changes)[:80])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_any_reader_name_is_shown_without_control_characters(tmp_path: Path, text: str) -> None:
    path = tmp_path / "reader.json"
    path.write_text(json.dumps(_doc(reader=text)))
    result = _replay(path)
    assert result.exit_code in (0, 1), result.output
    assert not UNSAFE.search(result.stdout)


def test_closed_stdout_ends_quietly_with_the_diagnosis_exit_code() -> None:
    done = subprocess.run(f"{sys.executable} -m diagcps replay {HEALTHY} --json --now {NOW} >&-",
                          shell=True, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("as_json", [True, False])
def test_a_reader_that_stops_early_does_not_change_the_exit_code(as_json: bool) -> None:
    flag = "--json" if as_json else ""
    done = subprocess.run(
        f"{sys.executable} -m diagcps replay {HEALTHY} {flag} --now {NOW} | head -c 1 >/dev/null;"
        " exit ${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
        check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_the_limits_the_readme_states_are_the_code_s() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"{MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MB" in readme
    assert f"{MAX_JSON_DEPTH} levels" in readme


def test_a_file_name_with_escapes_is_shown_without_them(tmp_path: Path) -> None:
    path = tmp_path / "t\x1b[2J\u202e.json"
    path.write_text("{")
    result = _replay(path)
    _assert_one_line_refusal(result, "escape in the file name")


def test_the_readers_listing_shows_hostile_reader_names_without_controls(mocker: Any) -> None:
    from diagcps.sources import PcscSource, ReaderView

    mocker.patch.object(PcscSource, "readers", return_value=[
        ReaderView("Lecteur \x1b]8;;https://example.invalid/\x07ICI\x1b]8;;\x07 \u202e00",
                   "present", bytes.fromhex("3B8F"))])
    shown = CliRunner().invoke(main, ["readers"])
    assert shown.exit_code == 0
    assert "Lecteur" in shown.stdout and not UNSAFE.search(shown.stdout)
    exact = CliRunner().invoke(main, ["readers", "--json"])
    assert json.loads(exact.stdout)["readers"][0]["name"].startswith("Lecteur \x1b]8;;")
