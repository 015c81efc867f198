"""Every parser of card data and of files fed to the tool, fuzzed directly.

The card is outside the tool's control, and so are the files a user hands it (a transcript from a
support ticket, the Cryptolib's code dictionary). Each parser either gives its result or raises
the project's own error type (an :class:`apdu.errors.ApduError`, which the reading records as a
problem and goes on), never anything else. Inputs are both random bytes and real card files of
the fixtures with a few bytes flipped, cut, inserted or deleted (mutation finds far more than
randomness alone in structured data).

Example counts: a quarter of the hypothesis profile's (500 each in CI, 12,500 with
``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apdu.atr import Atr
from apdu.command import CommandApdu
from apdu.errors import ApduError, TranscriptError
from apdu.response import ResponseApdu
from apdu.tlv import parse
from apdu.transcript import Transcript
from diagcps.cps import pkcs15
from diagcps.cps.actua import decode_actua
from diagcps.cps.certificates import CertificateError, decode_certificate
from diagcps.cps.codes import CodeTables, parse_dictionary, split_national_id
from diagcps.cps.detect import classify_atr, decode_ef_sn
from diagcps.cps.identity import build_holder, decode_id_card, decode_info_ps, decode_name_ps
from diagcps.cps.pin import decode_pin_counters
from diagcps.cps.session import der_total_length, fcp_file_size, records_end

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, tzinfo=timezone.utc)
APP = "3F00/0001"

EXAMPLES = max(settings.default.max_examples // 4, 50)
fuzz = settings(max_examples=EXAMPLES)


def _card_files(*profiles: str) -> dict[str, list[bytes]]:
    """The real content of each file, by its path, across some card profiles."""
    files: dict[str, list[bytes]] = {}
    for profile in profiles:
        doc = json.loads((ROOT / "cardsim" / "profiles" / f"{profile}.json").read_text())
        for item in doc["files"]:
            if item.get("data"):
                data = bytes.fromhex(item["data"])
                if item["path"].upper().rsplit("/", 1)[-1].startswith("C0"):
                    data = data[: der_total_length(data[:6])]  # the file is larger than its DER
                files.setdefault(item["path"].upper(), []).append(data)
    return files


_FILES = _card_files("cps3-healthy", "cps4-healthy", "cps3-update-incident", "cpf",
                     "speech-therapist", "cps3-malformed-identity")
_ATRS = [bytes.fromhex(json.loads(p.read_text())["atr"])
         for p in sorted((ROOT / "cardsim" / "profiles").glob("*.json"))]
_PIN_ANSWERS = [bytes.fromhex("7016BF810112A0109A01039B01039C01039D01FFA1028C00"),
                bytes.fromhex("7012BF81020EA00C9A010A9B010A9D0103")]


def _mutate(seed: bytes, edits: list[tuple[str, int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, position, value, chunk in edits:
        at = position % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] = value
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + 1 + value % 8]
    return bytes(data)


_edits = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]),
                            st.integers(0, 4095), st.integers(0, 255), st.binary(max_size=8)),
                  min_size=1, max_size=4)


def damaged(*seeds: bytes) -> st.SearchStrategy[bytes]:
    """Real data with a few edits, or random bytes."""
    return st.one_of(st.builds(_mutate, st.sampled_from(seeds), _edits),
                     st.binary(max_size=300))


def files(*names: str) -> st.SearchStrategy[bytes]:
    """Damaged copies of the files at these paths (``0001/5031`` is the contact application's
    ODF, ``3F00/D003`` EF.SN)."""
    return damaged(*[data for name in names for path, found in _FILES.items()
                     if path.endswith(name) for data in found])


def only_our_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a parser; an ApduError is an accepted outcome (returned as None)."""
    try:
        return call(*args, **kwargs)
    except ApduError:
        return None


# --- ISO 7816 layer -------------------------------------------------------------------------------

@fuzz
@given(files("0001/5031", "0001/7001", "0001/7005", "0001/7006", "0001/D001", "0001/D003",
             "3F00/2F00"), st.booleans())
def test_tlv_parse_gives_objects_or_a_tlv_error(data: bytes, padding: bool) -> None:
    for tlv in only_our_errors(parse, data, allow_padding=padding) or []:
        assert tlv.tag >= 0


@fuzz
@given(damaged(*_ATRS))
def test_atr_parse_and_classification_never_crash(raw: bytes) -> None:
    only_our_errors(Atr.parse, raw)
    verdict = classify_atr(raw)  # decides whether a card is probed at all: must never raise
    assert verdict.cps_like in (True, False)


@fuzz
@given(st.binary(max_size=300))
def test_apdu_parsers_give_an_apdu_or_a_malformed_apdu_error(raw: bytes) -> None:
    command = only_our_errors(CommandApdu.from_bytes, raw)
    if command is not None:
        assert command.to_bytes() == raw or command.extended or raw[4:5] == b"\x00"
    response = only_our_errors(ResponseApdu.from_bytes, raw)
    assert (response is None) == (len(raw) < 2)


# --- what the card's files hold -------------------------------------------------------------------

@fuzz
@given(files("3F00/D003"))
def test_ef_sn_decoding(data: bytes) -> None:
    only_our_errors(decode_ef_sn, data)


@fuzz
@given(files("3F00/2F00", "/5031", "/5032", "/7001", "/7002", "/7005", "/7006"))
def test_pkcs15_directories(data: bytes) -> None:
    for parser in (pkcs15.parse_ef_dir, pkcs15.parse_aodf,
                   lambda d: pkcs15.parse_odf(d, APP), lambda d: pkcs15.parse_dodf(d, APP),
                   lambda d: pkcs15.parse_cdf(d, APP)):
        result = only_our_errors(parser, data)
        if result is not None:
            found, issues = result
            assert isinstance(found, (list, pkcs15.Odf)) and isinstance(issues, list)
    auth = only_our_errors(pkcs15.parse_aodf, data)
    if auth is not None:
        pkcs15.unblocking_reference(auth[0])


@fuzz
@given(files("0001/D001", "0001/D002", "0001/D003"),
       files("0001/D001", "0001/D002", "0001/D003"), st.booleans())
def test_identity_decoding_and_the_holder_built_from_it(name_data: bytes, info_data: bytes,
                                                        dictionary: bool) -> None:
    only_our_errors(decode_id_card, name_data)
    name = only_our_errors(decode_name_ps, name_data)
    info = only_our_errors(decode_info_ps, info_data)
    tables = CodeTables({"G08": {"8": "RPPS", "0²": "x"}}) if dictionary else CodeTables()
    build_holder(name, info, tables)  # plain data in, plain data out: never raises


@fuzz
@given(st.text(max_size=20))
# Found by fuzzing the card: "²" (ISO-8859-1 B2) passes str.isdigit() but not int().
@example("8" + "²" * 11)
@example("0²2345678")
def test_national_identifiers_of_any_text(raw: str) -> None:
    national = split_national_id(raw)
    assert national.check_digit_ok in (True, False, None)


@fuzz
@given(files("3F00/D010"))
def test_update_journal(data: bytes) -> None:
    status = only_our_errors(decode_actua, data)
    if status is not None:
        assert status.incident in (True, False)


@fuzz
@given(damaged(*_PIN_ANSWERS), st.sampled_from([None, 1, 2, 0x81]))
def test_pin_counters(data: bytes, reference: int | None) -> None:
    only_our_errors(decode_pin_counters, data, reference)


@settings(max_examples=max(EXAMPLES // 2, 25))
@given(files("/C001", "/C002", "/C003"))
def test_certificates(der: bytes) -> None:
    certificate = only_our_errors(decode_certificate, der, label="Certificat d'Authentification",
                                  path="3F00/0001/C001", now=NOW)
    if certificate is not None:
        assert certificate.state in ("valid", "expires_soon", "expired", "not_yet_valid")


@fuzz
@given(files("0001/5031", "0001/7006", "0001/C001", "0001/D001"), st.binary(max_size=8))
def test_read_helpers_that_decide_when_a_file_ends(data: bytes, header: bytes) -> None:
    records_end(data)
    found = der_total_length(header)
    assert found is None or found >= 2
    fcp_file_size(b"\x62" + bytes((len(header),)) + header)
    fcp_file_size(data)


# --- files a user hands the tool ----------------------------------------------------------------

_TRANSCRIPT = json.loads((ROOT / "fixtures" / "transcripts" / "cps3-healthy.json").read_text())

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)


def _damaged_transcript(field: str, value: Any, exchange_field: str | None) -> Any:
    doc = json.loads(json.dumps(_TRANSCRIPT))
    if exchange_field is None:
        doc[field] = value
    else:
        doc["exchanges"][0][exchange_field] = value
    return doc


transcripts = st.one_of(
    json_values,
    st.builds(_damaged_transcript,
              st.sampled_from(["format", "version", "provenance", "atr", "protocol", "reader",
                               "exchanges"]),
              json_values, st.none()),
    st.builds(_damaged_transcript, st.just("exchanges"), json_values,
              st.sampled_from(["command", "response"])),
)


@fuzz
@given(transcripts)
def test_transcript_documents_give_a_transcript_or_a_transcript_error(doc: Any) -> None:
    with contextlib.suppress(TranscriptError):
        Transcript.from_json(doc)


_TRANSCRIPT_TEXT = json.dumps(_TRANSCRIPT, indent=2).encode()


@settings(max_examples=max(EXAMPLES // 5, 20))
@given(damaged(_TRANSCRIPT_TEXT))
def test_transcript_files_give_a_transcript_or_a_transcript_error(tmp_path_factory,
                                                                  raw: bytes) -> None:
    path = tmp_path_factory.mktemp("t") / "transcript.json"
    path.write_bytes(raw)
    with contextlib.suppress(TranscriptError):
        Transcript.load(path)


@settings(max_examples=max(EXAMPLES // 5, 20))
@given(transcripts)
# Found by fuzzing: a reader name that is a list or a number loaded, then broke the report.
@example(_damaged_transcript("reader", [None], None))
@example(_damaged_transcript("reader", 1, None))
def test_a_transcript_that_loads_replays_to_a_valid_report(doc: Any) -> None:
    """What loads must also replay: no crash and a valid report, whatever the fields hold."""
    from diagcps.diagnosis import diagnose
    from diagcps.report.model import build_report, load_schema
    from diagcps.sources import ReplaySource

    try:
        transcript = Transcript.from_json(doc)
    except TranscriptError:
        return
    diagnosis = diagnose(ReplaySource(transcript, "fuzzed.json"), now=NOW,
                         dictionary=Path("/nonexistent/DICO-FR.GIP"))
    report = build_report(diagnosis, lang="en")
    jsonschema.validate(report, load_schema())
    assert all(c["status"] != "error" for c in report["checks"])


@fuzz
@given(st.one_of(st.binary(max_size=400),
                 st.lists(st.lists(st.text(max_size=8), max_size=8).map("\t".join),
                          max_size=6).map("\n".join)),
       st.text(max_size=4))
def test_code_dictionary_files(raw: bytes | str, code: str) -> None:
    """DICO-FR.GIP belongs to the Cryptolib: whatever it holds, its parser does not raise."""
    tables = CodeTables(parse_dictionary(raw))
    for table in ("G02", "G08", "G15", "R01"):
        tables.label(table, code)


def test_the_seeds_are_real_files_the_parsers_accept() -> None:
    """The mutation seeds come from the fixtures: check they are what the parsers expect, so
    that the fuzzing starts from valid data and not from noise."""
    assert pkcs15.parse_odf(_FILES["3F00/0001/5031"][0], APP)[0].paths(pkcs15.ODF_CERTIFICATES)
    assert decode_ef_sn(_FILES["3F00/D003"][0]).ans
    assert decode_name_ps(_FILES["3F00/0001/D002"][0]).issues == []
    assert decode_actua(_FILES["3F00/D010"][0]).present
    assert decode_pin_counters(_PIN_ANSWERS[0], 1).tries_left == 3
    assert decode_certificate(_FILES["3F00/0001/C001"][0], label="x", path="p", now=NOW).key


def test_a_certificate_with_an_unknown_key_algorithm_keeps_its_dates() -> None:
    # Found by fuzzing: cryptography raises UnsupportedAlgorithm (not a ValueError) for it.
    der = _FILES["3F00/0001/C001"][0]
    rsa_encryption = bytes.fromhex("2A864886F70D010101")
    assert rsa_encryption in der
    damaged_der = der.replace(rsa_encryption, rsa_encryption[:-1] + b"\x7f", 1)
    certificate = decode_certificate(damaged_der, label="x", path="p", now=NOW)
    assert certificate.key is None
    assert certificate.not_after is not None and certificate.state


def test_a_certificate_of_an_unknown_x509_version_is_a_certificate_error() -> None:
    # Found by fuzzing: cryptography raises InvalidVersion, which is not a ValueError.
    der = _FILES["3F00/0001/C001"][0]
    version_3 = bytes.fromhex("A003020102")
    assert der[8:13] == version_3  # 30 82 LL LL 30 82 LL LL A0 03 02 01 02: v3
    with pytest.raises(CertificateError):
        decode_certificate(der.replace(version_3, bytes.fromhex("A003020101"), 1), label="x",
                           path="p", now=NOW)
