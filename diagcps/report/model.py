"""The report: a diagnosis turned into the JSON document of schema version 1, with the verdicts
first (does the card work? is this workstation compatible? can it reach Pro Santé Connect?)."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timezone
from importlib import resources
from typing import Any

from diagcps import remedies
from diagcps._version import __version__
from diagcps.checks.base import Status
from diagcps.checks.registry import RunResult
from diagcps.diagnosis import Diagnosis
from diagcps.network.report import network_section
from diagcps.report import verdicts
from diagcps.report.redact import MASKED, mask_accounts

SCHEMA_VERSION = "1"
#: Additions to version 1 (the schema's ``schema_revision`` says what each one adds). A whole run
#: still validates against revision 0; only a run limited by check ids or ``--skip`` gives the
#: verdict status ``partial`` of revision 2.
SCHEMA_REVISION = 2


def load_schema() -> dict[str, Any]:
    text = resources.files("diagcps.report").joinpath("schema-v1.json").read_text("utf-8")
    return json.loads(text)


def build_report(diagnosis: Diagnosis, *, lang: str = "fr", redacted: bool = False,
                 host: dict[str, Any] | None = None) -> dict[str, Any]:
    results = diagnosis.results
    redacted = redacted or diagnosis.redacted
    worst = max((r.result.status.severity for r in results), default=0)
    status = {0: "ok", 1: "warning", 2: "fail", 3: "error"}[worst]
    # Remedies speak of the system the card was used on: the user's, in a replay.
    system = (getattr(diagnosis, "recorded_host", None) or {}).get("os") or platform.system()
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "schema_revision": SCHEMA_REVISION,
        "tool": {"name": "diagcps", "version": __version__},
        "generated_at": diagnosis.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": status,
        "lang": lang,
        "redacted": redacted,
        "verdicts": _verdicts(diagnosis, lang),
        "source": {"kind": diagnosis.source_kind, "detail": diagnosis.source_detail},
        "run_id": diagnosis.run_id,
        "host": host or _host(diagnosis),
        "readers": [_reader(diagnosis, r) for r in diagnosis.readers],
        "checks": [_check(r, lang, system) for r in results],
        "help": {"ecps": _ecps(diagnosis, lang), "support": _support(results, lang)},
        "network": network_section(diagnosis.network),
    }
    if diagnosis.source_run_id:
        # The run that recorded the replayed transcript: its report has this run_id.
        report["source"]["run_id"] = diagnosis.source_run_id
    if diagnosis.source_kind == "replay":
        recorded_at = getattr(diagnosis, "recorded_at", None)
        report["replay"] = {
            "recorded_at": recorded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if recorded_at else None,
            # "recorded": judged at the recording's date (the default); "given": --now;
            # "unrecorded": the transcript does not say when it was recorded (judged today).
            "judged_at": "unrecorded" if recorded_at is None
            else "recorded" if recorded_at == diagnosis.now else "given",
        }
    if redacted:
        # The card's values are pseudonyms already (the reading was pseudonymised before the
        # checks ran, field by field): what is left are the user's paths and login name.
        report = mask_accounts(report)
    return report


# --- verdicts --------------------------------------------------------------------------------
# diagcps.report.verdicts judges them; these names stay for the callers that use them.

# --- parts -----------------------------------------------------------------------------------

def _check(run: RunResult, lang: str, system: str | None = None) -> dict[str, Any]:
    result = run.result
    summary = result.summary.get(lang)
    details = _jsonable(result.details)
    return {
        "id": run.spec.id,
        "title": run.spec.title.get(lang),
        "status": result.status.value,
        "code": result.code,
        "summary": summary,
        # Both languages, so that a report can be shown in the other one (``diagcps show``).
        "summaries": {"fr": result.summary.fr, "en": result.summary.en},
        "remedy": remedies.remedy_text(result.code, lang, system) if result.code
        and result.status is not Status.OK else None,
        "details": details,
        "duration_ms": round(run.duration_ms, 3),
    }


def _verdicts(diagnosis: Diagnosis, lang: str) -> dict[str, Any]:
    """The verdicts in ``lang``, each with its summary in both languages (``summaries``)."""
    made = {other: verdicts.verdicts(diagnosis, other) for other in ("fr", "en")}
    chosen = made["en" if lang == "en" else "fr"]
    for key, verdict in chosen.items():
        verdict["summaries"] = {other: made[other][key]["summary"] for other in made}
    return chosen


def _reader(diagnosis: Diagnosis, reader: Any) -> dict[str, Any]:
    outcome = diagnosis.outcomes.get(reader.name)
    card = None
    if outcome is not None and outcome.reading is not None:
        card = card_json(outcome.reading, redacted=diagnosis.redacted)
    return {
        "name": reader.name,
        "state": reader.state,
        "atr": reader.atr.hex().upper() if reader.atr else None,
        "diagnosed": reader.name == diagnosis.diagnosed,
        "card": card,
    }


def _cryptolib_knows(atr: bytes | None) -> bool | None:
    from diagcps.cps.cryptolib_atr import cryptolib_knows_atr

    return cryptolib_knows_atr(atr) if atr else None


def card_json(reading: Any, *, redacted: bool = False) -> dict[str, Any]:
    holder = reading.holder
    card = {
        "generation": reading.generation,
        "recognised": bool(reading.recognised),
        "detection": reading.detection if reading.detection in
        ("cps", "wrong_card", "unknown", "unreadable") else "unread",
        "cryptolib_atr_known": _cryptolib_knows(reading.atr),
        "kind": reading.kind,
        "test_card": reading.test_card,
        "serial": reading.serial,
        "card_number": reading.card_number,
        "issued": _date(reading.issued),
        "expires": _date(reading.expires),
        "update_incident": reading.update_incident,
        "pin": _pin(reading.pin),
        "unblock": _pin(reading.unblock),
        "holder": None if holder is None else {
            "national_id": holder.national_id,
            "id_type": holder.id_type,
            "id_type_label": holder.id_type_label,
            "id_number": holder.id_number,
            "id_check_digit_ok": holder.id_check_digit_ok,
            "civility": holder.civility,
            "practice_name": holder.practice_name,
            "first_name": holder.first_name,
            "profession_code": holder.profession_code,
            "profession": holder.profession,
            "specialty_code": holder.specialty_code,
            "training_profession_code": getattr(holder, "training_profession_code", None),
            "training_profession": getattr(holder, "training_profession", None),
        },
        "certificates": [{
            "role": c.role if c.role in ("authentication", "signature", "technical")
            else "unknown",
            "label": c.label,
            "subject": c.subject,
            "issuer": c.issuer,
            "serial_number": c.serial_number,
            "not_before": _datetime(c.not_before),
            "not_after": _datetime(c.not_after),
            "key": c.key,
            "state": c.state,
        } for c in reading.certificates],
        "apdu_count": reading.apdu_count,
        "problems": [{"code": p.code, "step": p.step, "message": p.message, "sw": p.sw}
                     for p in reading.problems],
    }
    if redacted and card["holder"] is not None and holder.national_id:
        # The number is a pseudonym whose check digit is wrong on purpose: not judged.
        card["holder"]["id_check_digit"] = MASKED
    return card


def _pin(pin: Any) -> dict[str, Any]:
    state = pin.state if pin is not None else "unknown"
    return {
        "state": state,
        "tries_left": getattr(pin, "tries_left", None),
        "tries_max": getattr(pin, "tries_max", None),
        "uses_left": getattr(pin, "uses_left", None),
    }


def _host(diagnosis: Diagnosis) -> dict[str, Any]:
    """The facts of the computer the card was used on: the user's, recorded in the transcript,
    when a replay has them; else this computer's, said to be so."""
    recorded = getattr(diagnosis, "recorded_host", None)
    if recorded:
        return {**recorded, "origin": "recorded"}
    host = _host_from_results(diagnosis.results)
    for run in diagnosis.results:
        if run.spec.id == "workstation.cryptolib":
            host["cryptolib"] = run.result.details.get("version")
            host["cryptolib_installed"] = run.result.details.get("installed")
    host["origin"] = "replaying_computer" if diagnosis.source_kind == "replay" else "this_computer"
    return host


def _host_from_results(results: list[RunResult]) -> dict[str, Any]:
    import platform
    import sys

    for run in results:
        if run.spec.id == "host.os":
            d = run.result.details
            return {
                "os": str(d.get("os") or platform.system()),
                "os_version": d.get("os_version"),
                "arch": d.get("arch") or platform.machine(),
                "python": str(d.get("python") or platform.python_version()),
                "pyscard": d.get("pyscard"),
                "pcsc": d.get("pcsc"),
            }
    return {"os": platform.system(), "os_version": platform.release() or None,
            "arch": platform.machine() or None,
            "python": ".".join(map(str, sys.version_info[:3])), "pyscard": None, "pcsc": None}


def _ecps(diagnosis: Diagnosis, lang: str) -> list[str]:
    reading = diagnosis.reading
    holder = getattr(reading, "holder", None)
    if holder is None or not getattr(reading, "recognised", False) or diagnosis.redacted:
        return []  # a pseudonymous number must never be typed anywhere
    if not verdicts.ecps_can_work(diagnosis.results):
        return []
    return remedies.ecps_help(holder.profession_code, holder.national_id, lang,
                              with_card=verdicts.card_usable_for_ecps(diagnosis.results))


def _support(results: list[RunResult], lang: str) -> list[str]:
    lines = []
    for run in results:
        remedy = remedies.remedy_for(run.result.code) if run.result.code else None
        if remedy is not None and remedy.channel and run.result.status in (Status.FAIL,
                                                                           Status.WARNING):
            channel = remedies.SUPPORT_CHANNELS.get(remedy.channel)
            line = channel.get(lang) if channel else None
            if line and line not in lines:
                lines.append(line)
    return lines


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _datetime(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex().upper()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
