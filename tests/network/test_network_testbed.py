"""The network family against real servers, proxies and failures, in a private network.

Each scenario runs ``tests/network/testbed.py`` in fresh network and mount namespaces
(``unshare --net --mount``, as root): only ``lo`` exists there, so nothing these tests do can
leave the machine, and the endpoints are ``.test`` names in the test bed's own hosts file. Every
finding comes from a real failure: a name the resolver cannot find, a route into nowhere, a
proxy that refuses, an inspecting proxy re-signing with its own CA, a certificate for another
name, a server whose clock is off. The card (the healthy virtual CPS3) must be judged the same
in every one.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from diagcps.report.model import load_schema

HERE = Path(__file__).resolve().parent
TESTBED = HERE / "testbed.py"
OLD_SCHEMA = HERE / "fixtures" / "report-schema-v1-revision-0.json"
#: Short, so that the black-hole scenarios cost little; the default (3 s) is the bench's.
LIMIT_S = 2.0
NETWORK_CODES = {"NETWORK_OFFLINE", "DNS_FAILED", "PROXY_REQUIRED", "PROXY_FAILED",
                 "CONNECT_TIMEOUT", "CONNECT_REFUSED", "TLS_INTERCEPTED", "CERT_INVALID",
                 "TLS_FAILED", "CLOCK_SKEW"}


def _problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a private network namespace"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture(autouse=True)
def _namespaces_available() -> None:
    problem = _problem()
    if problem is None:
        return
    if os.environ.get("CI") or os.environ.get("DIAGCPS_REQUIRE_PCSC") == "1":
        pytest.fail(f"the network test bed cannot run: {problem}", pytrace=False)
    pytest.skip(f"network test bed unavailable: {problem}")


@functools.cache
def bed(scenario: str, *cli: str) -> dict[str, Any]:
    """One scenario's outcome (cached: several tests look at the same run)."""
    args = ["--lang", "en", "--network-time-limit", str(LIMIT_S), *cli]
    done = subprocess.run(["unshare", "--net", "--mount", "--", sys.executable, str(TESTBED),
                           scenario, "--", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    result["report"] = result["runs"][0]["report"]
    return result


def _codes(report: dict[str, Any]) -> dict[str, str | None]:
    return {c["id"]: c["code"] for c in report["checks"]
            if c["id"].startswith("network.") or c["id"] == "workstation.clock"}


def _endpoints(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["host"]: e for e in report["network"]["endpoints"]}


def _network_findings(report: dict[str, Any]) -> set[str]:
    return {code for code in _codes(report).values() if code in NETWORK_CODES}


SCENARIOS = ["healthy", "offline_flag", "no_network", "no_network_with_proxy", "dns_failure",
             "proxy_needed", "via_proxy", "proxy_failing", "proxy_down", "intercepted",
             "bad_certificate", "skewed_clock", "black_hole", "first_address_silent",
             "clock_behind"]


def _run(scenario: str) -> dict[str, Any]:
    return bed(scenario, "--offline") if scenario == "offline_flag" else bed(scenario)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_keeps_the_card_verdict_and_a_valid_report(scenario: str) -> None:
    result = _run(scenario)
    report = result["report"]
    assert report["verdicts"]["card"]["status"] == "ok"
    assert report["verdicts"]["card"]["summary"] == "Your CPS card works."
    jsonschema.validate(report, load_schema())
    # Readers of the schema before the network section still accept the report.
    jsonschema.validate(report, json.loads(OLD_SCHEMA.read_text()))
    network = report["network"]
    assert network["duration_ms"] < network["time_limit_s"] * 1000
    assert network["time_limit_s"] == LIMIT_S or network["skipped"] == "offline"


@pytest.mark.parametrize(("scenario", "code"), [
    ("no_network", "NETWORK_OFFLINE"),
    ("no_network_with_proxy", "NETWORK_OFFLINE"),
    ("dns_failure", "DNS_FAILED"),
    ("proxy_needed", "PROXY_REQUIRED"),
    ("proxy_failing", "PROXY_FAILED"),
    ("proxy_down", "PROXY_FAILED"),
    ("intercepted", "TLS_INTERCEPTED"),
    ("bad_certificate", "CERT_INVALID"),
    ("skewed_clock", "CLOCK_SKEW"),
    ("black_hole", "CONNECT_TIMEOUT"),
])
def test_each_failure_gives_its_own_finding_and_only_it(scenario: str, code: str) -> None:
    report = _run(scenario)["report"]
    assert _network_findings(report) == {code}
    verdict = report["verdicts"]["network"]
    assert verdict["code"] == code
    assert verdict["status"] == ("warning" if code in ("NETWORK_OFFLINE", "CLOCK_SKEW")
                                 else "fail")
    check = next(c for c in report["checks"] if c["code"] == code)
    assert check["remedy"], f"{code} without a remedy"


def test_healthy_endpoints_are_reached_directly_and_validated_twice() -> None:
    result = bed("healthy")
    report = result["report"]
    verdict = report["verdicts"]["network"]
    assert (verdict["status"], verdict["code"], verdict["summary"]) == (
        "ok", None, "Pro Santé Connect can be reached from this workstation.")
    assert _network_findings(report) == set()
    for host, endpoint in _endpoints(report).items():
        assert endpoint["outcome"] == "ok" and endpoint["via_proxy"] is None
        assert endpoint["tls"]["system_store_valid"] and endpoint["tls"]["mozilla_valid"]
        assert endpoint["tls"]["leaf_subject"] == host
        assert endpoint["http_status"] == 200 and abs(endpoint["clock_skew_s"]) < 5
    # Two TLS handshakes per endpoint (system store, Mozilla roots) and nothing more.
    assert result["connections"] == {"wallet.test": 2, "auth.test": 2, "portal.test": 2}


def test_only_one_head_without_cookies_is_sent_per_endpoint() -> None:
    requests = bed("healthy")["requests"]
    assert len(requests) == 3
    for request in requests:
        lines = request.strip().split("\r\n")
        assert lines[0] == "HEAD / HTTP/1.1"
        names = {line.split(":", 1)[0].lower() for line in lines[1:]}
        assert names == {"host", "user-agent", "accept", "connection"}


def test_offline_sends_nothing_and_says_it_was_skipped() -> None:
    result = bed("offline_flag", "--offline")
    report = result["report"]
    # Every listener of the namespace (servers, proxy, DNS) counted zero.
    assert set(result["connections"].values()) == {0}
    assert result["dns_queries"] == 0
    assert report["network"]["skipped"] == "offline" and not report["network"]["checked"]
    assert report["verdicts"]["network"]["status"] == "skipped"
    assert {c["status"] for c in report["checks"] if c["id"].startswith("network.")} == {
        "skipped"}
    # The same bed without --offline: the listeners do see the probe, so zero above means
    # nothing was sent, not that nothing could have been seen.
    online = bed("offline_flag")
    assert online["connections"]["proxy"] == 6  # two handshakes for each of three endpoints
    assert online["dns_queries"] > 0  # unlisted.test, in NO_PROXY, asked the resolver
    assert online["report"]["network"]["checked"]


def test_no_network_is_one_calm_finding_not_a_cascade() -> None:
    report = bed("no_network")["report"]
    statuses = {c["id"]: c["status"] for c in report["checks"] if c["id"].startswith("network.")}
    assert statuses == {"network.proxy": "ok", "network.dns": "skipped",
                        "network.connection": "warning", "network.tls": "skipped"}
    assert report["network"]["has_route"] is False
    assert "does not depend on it" in report["verdicts"]["network"]["summary"]


def test_dns_failure_names_the_host_and_spares_the_others() -> None:
    report = bed("dns_failure")["report"]
    endpoints = _endpoints(report)
    assert endpoints["missing.test"]["outcome"] == "dns_failed"
    assert endpoints["wallet.test"]["outcome"] == endpoints["portal.test"]["outcome"] == "ok"
    assert "missing.test" in report["verdicts"]["network"]["summary"]


def test_proxy_from_the_environment_is_used_except_for_no_proxy_hosts() -> None:
    result = bed("via_proxy")
    report = result["report"]
    endpoints = _endpoints(report)
    assert endpoints["wallet.test"]["via_proxy"] is None  # NO_PROXY=.wallet.test
    assert endpoints["auth.test"]["via_proxy"] == "http://proxy.test:3128"
    assert all(e["outcome"] == "ok" for e in endpoints.values())
    connects = sorted(r.split("\r\n")[0] for r in result["requests"]
                      if r.startswith("CONNECT"))
    assert connects == ["CONNECT auth.test:443 HTTP/1.1"] * 2 + [
        "CONNECT portal.test:443 HTTP/1.1"] * 2
    assert report["network"]["proxy"]["source"] == "environment"


def test_failing_proxy_is_named_with_its_address_and_never_its_password() -> None:
    refusing = bed("proxy_failing")["report"]
    assert "http://proxy.test:3128" in refusing["verdicts"]["network"]["summary"]
    assert "403" in refusing["verdicts"]["network"]["summary"]
    down = bed("proxy_down")["report"]
    assert "http://proxy.test:3199" in down["verdicts"]["network"]["summary"]
    assert "secret" not in json.dumps(down) and "user" not in down["network"]["proxy"]["url"]


def test_interception_names_the_inspecting_authority_and_the_exception_to_ask_for() -> None:
    report = bed("intercepted")["report"]
    tls = next(c for c in report["checks"] if c["id"] == "network.tls")
    assert tls["details"]["issuer"] == "Testbed Inspection Root CA"
    assert "“Testbed Inspection Root CA”" in tls["summary"]
    assert "*.esante.gouv.fr" in tls["remedy"]
    for endpoint in _endpoints(report).values():
        assert endpoint["tls"]["system_store_valid"] is True
        assert endpoint["tls"]["mozilla_valid"] is False


def test_bad_certificate_is_reported_for_its_server_only() -> None:
    report = bed("bad_certificate")["report"]
    endpoints = _endpoints(report)
    assert endpoints["auth.test"]["outcome"] == "cert_invalid"
    assert "mismatch" in endpoints["auth.test"]["tls"]["system_store_error"].lower()
    assert endpoints["wallet.test"]["outcome"] == "ok"


def test_skewed_server_clock_feeds_the_workstation_clock_check() -> None:
    report = bed("skewed_clock")["report"]
    clock = next(c for c in report["checks"] if c["id"] == "workstation.clock")
    assert clock["code"] == "CLOCK_SKEW" and clock["status"] == "warning"
    assert abs(clock["details"]["server_skew_s"] - 7200) < 5
    assert "120 minutes ahead" in clock["summary"]


def test_black_hole_costs_the_time_limit_and_no_more() -> None:
    healthy = bed("healthy")["report"]["network"]["duration_ms"]
    report = bed("black_hole")["report"]
    endpoints = _endpoints(report)
    assert endpoints["auth.test"]["outcome"] == "timeout"
    assert endpoints["wallet.test"]["outcome"] == endpoints["portal.test"]["outcome"] == "ok"
    duration = report["network"]["duration_ms"]
    # It waited (far longer than a healthy run) but stopped at the limit.
    assert duration > 5 * healthy
    assert duration < LIMIT_S * 1000


def test_terminal_shows_the_third_verdict_and_a_short_network_block_at_80_columns() -> None:
    import io

    from rich.console import Console

    from diagcps.report.terminal import render

    for scenario, line in (("healthy", "auth.test — direct, TLS verified"),
                           ("intercepted", "auth.test — via http://inspect.test:3128, TLS "
                                           "intercepted")):
        out = io.StringIO()
        render(bed(scenario)["report"], Console(file=out, width=80, no_color=True,
                                                highlight=False))
        text = out.getvalue()
        lines = text.splitlines()
        assert max(len(x) for x in lines) <= 80
        verdict = next(i for i, x in enumerate(lines) if "Access to Pro Santé Connect:" in x)
        assert verdict < 8  # with the card and workstation verdicts, at the top
        assert line in text


def test_a_silent_first_address_leaves_time_for_the_next() -> None:
    report = bed("first_address_silent")["report"]
    auth = _endpoints(report)["auth.test"]
    assert auth["addresses"] == ["10.66.0.5", "127.0.0.12"]  # the silent one first
    assert auth["outcome"] == "ok"
    assert _network_findings(report) == set()


def test_certificates_refused_because_of_the_clock_say_so() -> None:
    report = bed("clock_behind")["report"]
    assert _network_findings(report) == {"CERT_INVALID", "CLOCK_SKEW"}
    tls = next(c for c in report["checks"] if c["id"] == "network.tls")
    assert "not yet valid" in tls["details"]["reason"]
    assert tls["summary"].endswith("The computer's clock is off: correct it first.")
    clock = next(c for c in report["checks"] if c["id"] == "workstation.clock")
    assert "180 minutes behind" in clock["summary"]
