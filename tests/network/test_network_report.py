"""The network family without a network: offline runs, skipped reasons, schema compatibility.

Nothing here opens a socket towards anything: ``--offline`` sends nothing, an unsupported proxy
fails before any name is resolved, and a replay never probes.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from diagcps.checks.context import CheckContext
from diagcps.checks.selection import select_checks
from diagcps.cli import main
from diagcps.network.checks import network_proxy
from diagcps.network.endpoints import Endpoint, NetworkSettings
from diagcps.network.family import start_probe
from diagcps.network.probe import probe_all
from diagcps.report.model import SCHEMA_REVISION, load_schema

OLD_SCHEMA = Path(__file__).resolve().parent / "fixtures" / "report-schema-v1-revision-0.json"


def _check(*args: str) -> dict:
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       "--lang", "en", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_offline_report_says_the_family_was_skipped_and_validates_old_and_new() -> None:
    report = _check("--offline")
    assert report["schema_version"] == "1" and report["schema_revision"] == SCHEMA_REVISION
    jsonschema.validate(report, load_schema())
    jsonschema.validate(report, json.loads(OLD_SCHEMA.read_text()))
    assert report["network"]["skipped"] == "offline"
    assert report["network"]["endpoints"] == []
    verdict = report["verdicts"]["network"]
    assert (verdict["status"], verdict["code"], verdict["summary"]) == (
        "skipped", None, "Not checked (offline mode: nothing was sent on the network).")
    network = [c for c in report["checks"] if c["id"].startswith("network.")]
    assert [c["id"] for c in network] == ["network.proxy", "network.dns", "network.connection",
                                         "network.tls"]
    assert all(c["status"] == "skipped" and "nothing was sent" in c["summary"] for c in network)


def test_offline_comes_from_the_environment_too() -> None:
    # The suite itself runs with DIAGCPS_OFFLINE=1 (tests/conftest.py): a plain check is offline.
    assert _check()["network"]["skipped"] == "offline"


def test_only_a_limited_run_needs_revision_2_and_the_schema_says_so() -> None:
    """Revision 2's verdict status ``partial`` is the one addition an older strict reader
    rejects; it appears only when check ids or --skip limit the run, and the schema says so."""
    old = json.loads(OLD_SCHEMA.read_text())
    whole = _check("--offline")
    jsonschema.validate(whole, old)
    result = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                       "--offline", "card.pin"])
    assert result.exit_code == 4, result.output
    limited = json.loads(result.stdout)
    jsonschema.validate(limited, load_schema())
    assert limited["verdicts"]["card"]["status"] == "partial"
    rejected = {e.message for e in jsonschema.Draft202012Validator(old).iter_errors(limited)}
    assert rejected == {"'partial' is not one of ['ok', 'warning', 'fail', 'error', 'skipped']"}
    described = load_schema()["properties"]["schema_revision"]["description"]
    assert "2:" in described and "'partial'" in described


def test_old_schema_readers_reject_what_they_always_rejected() -> None:
    report = _check("--offline")
    report["schema_version"] = "2"
    try:
        jsonschema.validate(report, json.loads(OLD_SCHEMA.read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("the old schema accepted schema_version 2")


def test_every_network_field_of_the_schema_is_described() -> None:
    network = load_schema()["properties"]["network"]
    assert network.get("description")

    def walk(node: dict, path: str) -> list[str]:
        missing = []
        for name, child in node.get("properties", {}).items():
            if "description" not in child:
                missing.append(f"{path}.{name}")
            missing += walk(child, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            missing += walk(node["items"], path + "[]")
        return missing

    assert walk(network, "network") == []


def test_an_unsupported_proxy_fails_before_anything_is_resolved() -> None:
    settings = NetworkSettings(endpoints=(Endpoint("never.resolved.test"),), time_limit_s=1.0,
                               env={"https_proxy": "socks5://proxy.test:1080"})
    outcome = probe_all(settings)
    [endpoint] = outcome.endpoints
    assert endpoint.outcome == "proxy_failed" and endpoint.addresses == []
    assert "socks5://" in (endpoint.error or "")
    context = CheckContext()
    context.facts["network"] = outcome
    result = network_proxy(context)
    assert result.code == "PROXY_FAILED"
    assert result.summary.en == ("This computer's proxy setting (socks5://) cannot be used: "
                                 "never.resolved.test was not contacted.")


def test_replay_and_unrequested_runs_never_probe() -> None:
    specs = select_checks()
    settings = NetworkSettings(endpoints=(Endpoint("never.resolved.test"),))
    assert start_probe(settings, specs, "replay").wait().skipped == "replay"
    card_only = [s for s in specs if s.id.startswith("card.")]
    assert start_probe(settings, card_only, "virtual").wait().skipped == "not_requested"
    assert start_probe(None, specs, "virtual").wait().skipped == "not_requested"
