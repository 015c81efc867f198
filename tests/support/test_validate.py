"""The bounded schema reader says what the reference ``jsonschema`` says, on valid reports and on
thousands of broken ones, and refuses a schema keyword it does not implement."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest
from fleet_support import make_report

from diagcps.report import validate
from diagcps.report.model import load_schema
from diagcps.report.validate import SchemaError, schema_error

REPLACEMENTS: list[Any] = [None, True, False, 0, -1, 2.5, 3.0, "", "x", "OK", "CPS3",
                           "2026-13-99", "AB12", [], [1], {}, {"a": 1}]


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_leaves(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_leaves(value, (*path, index)))
    return found


def _mutated(report: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(report)
    path = rng.choice(_leaves(doc)[1:])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(REPLACEMENTS))
    return doc


@pytest.mark.parametrize("profile", ["cps3-healthy", "vitale", "cps3-expired", "cps4-blocked",
                                     "cps3-contactless", "foreign-cps-like"])
def test_same_verdict_as_jsonschema_on_valid_and_broken_reports(profile: str) -> None:
    reference = jsonschema.Draft202012Validator(load_schema())
    report = make_report(profile, redacted=profile == "vitale")
    assert schema_error(report) is None and reference.is_valid(report)
    rng = random.Random(profile)
    invalid = 0
    for _ in range(400):
        doc = _mutated(report, rng)
        mine = schema_error(doc)
        assert (mine is None) == reference.is_valid(doc), (mine, list(reference.iter_errors(doc)))
        invalid += mine is not None
    assert invalid > 100  # the mutations do break reports


def test_the_error_names_the_place_in_one_line() -> None:
    report = make_report("cps3-pin-blocked")
    report["readers"][0]["card"]["pin"]["tries_left"] = True
    message = schema_error(report)
    assert message is not None and "\n" not in message
    assert "readers[0].card.pin.tries_left" in message and "integer" in message


@pytest.mark.parametrize(("version", "words"), [
    ("2", "newer diagcps"), ("99.1", "newer diagcps"), ("0", "unknown report schema version"),
    ("v1", "unknown report schema version"), ("1" * 30, "unknown report schema version"),
])
def test_schema_versions_other_than_those_shipped_are_named(version: str, words: str) -> None:
    report = make_report("cps3-healthy")
    report["schema_version"] = version
    message = schema_error(report)
    assert message is not None and words in message


def test_every_shipped_schema_compiles() -> None:
    files = validate._schema_files()
    assert "1" in files
    for name in files.values():
        validate._validator(name)


@pytest.mark.parametrize("keyword", [{"uniqueItems": True}, {"if": {}}, {"patternProperties": {}},
                                     {"$ref": "https://example.invalid/x.json"},
                                     {"type": "float"}])
def test_an_unknown_schema_keyword_fails_loudly(keyword: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"a": keyword}}
    with pytest.raises(SchemaError):
        validate._Compiler(schema).compile(schema)


@pytest.mark.parametrize(("schema", "value", "valid"), [
    ({"type": "integer"}, True, False), ({"type": "integer"}, 2.0, True),
    ({"type": "integer"}, 2.5, False), ({"type": "number"}, False, False),
    ({"const": 1}, True, False), ({"enum": [1, "a"]}, 1.0, True),
    ({"enum": ["a", None]}, None, True),
    ({"minimum": 0}, -0.5, False),
    ({"additionalProperties": False, "properties": {"a": {}}}, {"b": 1}, False),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1, False),
])
def test_json_rules_for_numbers_booleans_and_digits(schema: dict[str, Any], value: Any,
                                                    valid: bool) -> None:
    mine = validate._Compiler(schema).compile(schema)(value) is None
    assert mine == valid == jsonschema.Draft202012Validator(schema).is_valid(value)


def test_patterns_follow_ecmascript_digits_are_ascii() -> None:
    """JSON Schema patterns are ECMA-262, where \\d is 0-9 only (Python's re would also take
    other scripts' digits, as jsonschema does)."""
    check = validate._Compiler({"pattern": "^\\d+$"}).compile({"pattern": "^\\d+$"})
    assert check("0123") is None and check("١٢") is not None


def test_nan_and_infinity_are_not_json(tmp_path) -> None:
    path = tmp_path / "nan.json"
    report = make_report("cps3-healthy")
    path.write_text(json.dumps(report).replace('"duration_ms": 0', '"duration_ms": Infinity', 1))
    with pytest.raises(validate.ReportError, match="not valid JSON"):
        validate.read_report(path)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_profile_report_is_taken_by_both_readers(lang: str) -> None:
    """What the tool writes today (partial verdicts, both-language summaries) is a report for
    the schema reader of ``show``/``summary`` and for the views' shape check alike."""
    from fleet_support import ROOT

    from diagcps.report.load import check_report

    for path in sorted((ROOT / "cardsim" / "profiles").glob("*.json")):
        report = make_report(path.stem, lang=lang)
        assert schema_error(report) is None, path.stem
        check_report(report)
    # A verdict on a run that left checks out is "partial": a report all the same.
    report["verdicts"]["workstation"]["status"] = "partial"
    assert schema_error(report) is None
    check_report(report)


def test_summaries_must_be_text_in_the_two_languages() -> None:
    report = make_report("cps3-healthy")
    for bad in ({"fr": 1}, {"de": "x"}, "both", []):
        doc = copy.deepcopy(report)
        doc["checks"][0]["summaries"] = bad
        assert schema_error(doc) is not None, bad
