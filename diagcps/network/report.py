"""The network part of the report: the ``network`` section and its short block in the terminal
view (the verdict itself is judged in diagcps/report/verdicts.py). Fields are described in
schema-v1.json."""

from __future__ import annotations

from typing import Any

from diagcps.network.probe import NetworkOutcome


def network_section(outcome: NetworkOutcome | None) -> dict[str, Any]:
    outcome = outcome or NetworkOutcome("not_requested")
    proxy = outcome.proxy
    return {
        "checked": outcome.skipped is None,
        "skipped": outcome.skipped,
        "time_limit_s": outcome.time_limit_s,
        "duration_ms": round(outcome.duration_ms, 1),
        "has_route": outcome.has_route,
        "clock_skew_s": outcome.clock_skew_s,
        "trust_stores": outcome.stores or None,
        "proxy": {"source": proxy.source, "url": proxy.https.url if proxy.https else None,
                  "bypass": list(proxy.bypass), "pac_url": proxy.pac_url,
                  "unsupported": proxy.unsupported},
        "endpoints": [_endpoint(r) for r in outcome.endpoints],
    }


def _endpoint(result: Any) -> dict[str, Any]:
    tls = result.tls
    return {
        "host": result.endpoint.host,
        "port": result.endpoint.port,
        "path": result.endpoint.path,
        "via_proxy": result.proxy,
        "addresses": list(result.addresses),
        "stage": result.stage,
        "outcome": result.outcome,
        "error": result.error,
        "tls": None if tls is None else {
            "version": tls.version,
            "system_store_valid": tls.system_valid,
            "system_store_error": tls.system_error,
            "mozilla_valid": tls.mozilla_valid,
            "mozilla_error": tls.mozilla_error,
            "leaf_subject": tls.leaf_subject,
            "leaf_issuer": tls.leaf_issuer,
            "chain_root": tls.chain_root,
            "chain_length": tls.chain_length,
        },
        "http_status": result.http_status,
        "server_date": result.server_date,
        "clock_skew_s": result.clock_skew_s,
        "duration_ms": round(result.duration_ms, 1),
    }


def network_lines(report: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """The short network block of the terminal view: (status, line) per endpoint."""
    from diagcps import messages

    section = report.get("network") or {}
    lines = []
    for endpoint in section.get("endpoints") or []:
        label = endpoint["host"] if endpoint["port"] == 443 else \
            f"{endpoint['host']}:{endpoint['port']}"
        via = (messages.msg("network_line.via", lang, proxy=endpoint["via_proxy"])
               if endpoint["via_proxy"] else messages.msg("network_line.direct", lang))
        outcome = messages.label("network_outcome", endpoint["outcome"], lang,
                                 default=endpoint["outcome"])
        status = "ok" if endpoint["outcome"] == "ok" else "fail"
        lines.append((status, f"{label} — {via}, {outcome}, {endpoint['duration_ms']:.0f} ms"))
    return lines
