"""The report: a diagnosis turned into the JSON document of schema version 1, with the two
verdicts first (does the card work? is this workstation compatible?)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timezone
from importlib import resources
from typing import Any

from diagcps import remedies
from diagcps._version import __version__
from diagcps.checks.base import Status, Text
from diagcps.checks.registry import RunResult
from diagcps.diagnosis import Diagnosis
from diagcps.network.report import network_section, network_verdict
from diagcps.report.redact import MASKED, mask_accounts

SCHEMA_VERSION = "1"
#: Additions to version 1 that its readers may ignore (1: the ``network`` section and verdict).
SCHEMA_REVISION = 1
CARD_GROUPS = ("card",)
WORKSTATION_GROUPS = ("host", "pcsc", "reader", "workstation")


def load_schema() -> dict[str, Any]:
    text = resources.files("diagcps.report").joinpath("schema-v1.json").read_text("utf-8")
    return json.loads(text)


def build_report(diagnosis: Diagnosis, *, lang: str = "fr", redacted: bool = False,
                 host: dict[str, Any] | None = None) -> dict[str, Any]:
    results = diagnosis.results
    redacted = redacted or diagnosis.redacted
    worst = max((r.result.status.severity for r in results), default=0)
    status = {0: "ok", 1: "warning", 2: "fail", 3: "error"}[worst]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "schema_revision": SCHEMA_REVISION,
        "tool": {"name": "diagcps", "version": __version__},
        "generated_at": diagnosis.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": status,
        "lang": lang,
        "redacted": redacted,
        "verdicts": {
            "card": card_verdict(diagnosis, lang),
            "workstation": workstation_verdict(diagnosis, lang),
            "network": network_verdict(results, diagnosis.network, lang),
        },
        "source": {"kind": diagnosis.source_kind, "detail": diagnosis.source_detail},
        "run_id": diagnosis.run_id,
        "host": host or _host_from_results(results),
        "readers": [_reader(diagnosis, r) for r in diagnosis.readers],
        "checks": [_check(r, lang) for r in results],
        "help": {"ecps": _ecps(diagnosis, lang), "support": _support(results, lang)},
        "network": network_section(diagnosis.network),
    }
    if diagnosis.source_run_id:
        # The run that recorded the replayed transcript: its report has this run_id.
        report["source"]["run_id"] = diagnosis.source_run_id
    if redacted:
        # The card's values are pseudonyms already (the reading was pseudonymised before the
        # checks ran, field by field): what is left are the user's paths and login name.
        report = mask_accounts(report)
    return report


# --- verdicts --------------------------------------------------------------------------------

def _group(results: list[RunResult], groups: tuple[str, ...]) -> list[RunResult]:
    return [r for r in results if r.spec.id.split(".")[0] in groups]


def _worst(results: list[RunResult]) -> RunResult | None:
    """The finding a verdict speaks of: the most severe; among equals, the first in reading
    order, except that the host's informational remarks yield to anything more specific."""
    ranked = [r for r in results if r.result.status not in (Status.OK, Status.SKIPPED)]
    return max(ranked, key=lambda r: (r.result.status.severity, r.spec.id != "host.os",
                                      -ranked.index(r)), default=None)


_NOT_CHECKED_LEAD = Text("Carte non vérifiée.", "Card not checked.")


def card_verdict(diagnosis: Diagnosis, lang: str) -> dict[str, Any]:
    results = diagnosis.results
    card = _group(results, CARD_GROUPS)
    if not card:
        return _verdict("skipped", None, _NOT_CHECKED_LEAD, lang)
    blocker = _worst([r for r in results if r.spec.id in ("pcsc.service", "reader.present",
                                                          "reader.selection")])
    if blocker is not None and blocker.result.status is Status.FAIL:
        return _verdict("fail", blocker.result.code, _joined(_NOT_CHECKED_LEAD, blocker), lang)
    worst = _worst(card)
    if worst is None:
        return _verdict("ok", None, Text("Votre carte CPS est opérationnelle.",
                                         "Your CPS card works."), lang)
    status, code = worst.result.status.value, worst.result.code
    if status == "error":
        return _verdict("error", None, _tool_error(worst), lang)
    if status == "warning":
        lead = Text("Votre carte CPS fonctionne, avec une remarque.",
                    "Your CPS card works, with a remark.")
        return _verdict("warning", code, _joined(lead, worst), lang)
    if code in _NOT_CHECKED:
        # The card was not shown to fail: the link to it broke. Say so, not "does not work".
        return _verdict(status, code, _joined(_NOT_CHECKED_LEAD, worst), lang)
    headline = _CARD_HEADLINES.get(code or "") or _joined(
        Text("Votre carte CPS ne fonctionne pas.", "Your CPS card does not work."), worst)
    return _verdict(status, code, headline, lang)


#: Failures of the link to the card (TROUBLESHOOTING.md section 3), not of the card itself.
_NOT_CHECKED = frozenset({"CARD_REMOVED", "CARD_RESET", "PCSC_TIMEOUT", "CARD_IN_USE",
                          "PCSC_SERVICE_STOPPED", "NO_READER", "PCSC_ERROR"})

_CARD_HEADLINES = {
    "PIN_BLOCKED": Text("Votre carte CPS est bloquée (code porteur bloqué).",
                        "Your CPS card is blocked (PIN blocked)."),
    "CARD_DEFINITIVELY_BLOCKED": Text("Votre carte CPS est définitivement bloquée.",
                                      "Your CPS card is definitively blocked."),
    "CARD_EXPIRED": Text("Votre carte CPS a expiré.", "Your CPS card has expired."),
    "WRONG_CARD": Text("La carte insérée n'est pas une carte CPS.",
                       "The card inserted is not a CPS card."),
    "CARD_UNKNOWN": Text("La carte insérée n'est pas une carte CPS de l'ANS.",
                         "The card inserted is not an ANS CPS card."),
    "CARD_ABSENT": Text("Aucune carte CPS n'est insérée.", "No CPS card is inserted."),
    "CARD_UPDATE_INCIDENT": Text("Votre carte CPS est inutilisable : actualisation à refaire.",
                                 "Your CPS card cannot be used: its update must be redone."),
}


def workstation_verdict(diagnosis: Diagnosis, lang: str) -> dict[str, Any]:
    station = _group(diagnosis.results, WORKSTATION_GROUPS)
    if diagnosis.source_kind == "replay":
        return _verdict("skipped", None,
                        Text("Poste non vérifié (analyse d'un enregistrement).",
                             "Workstation not checked (replaying a recording)."), lang)
    worst = _worst(station)
    if worst is None:
        return _verdict("ok", None, Text("Ce poste est compatible avec les cartes CPS.",
                                         "This workstation is compatible with CPS cards."), lang)
    if worst.result.status is Status.ERROR:
        return _verdict("error", None, _tool_error(worst), lang)
    if worst.result.status is Status.WARNING:
        lead = Text("Ce poste peut lire la carte, avec une remarque.",
                    "This workstation can read the card, with a remark.")
        return _verdict("warning", worst.result.code, _joined(lead, worst), lang)
    lead = Text("Ce poste n'est pas prêt.", "This workstation is not ready.")
    return _verdict(worst.result.status.value, worst.result.code, _joined(lead, worst), lang)


def _tool_error(run: RunResult) -> Text:
    return Text(f"Diagnostic incomplet : l'outil a échoué sur « {run.spec.title.fr} » "
                "(détails dans le rapport).",
                f"Incomplete diagnosis: the tool failed on “{run.spec.title.en}” "
                "(details in the report).")


def _verdict(status: str, code: str | None, text: Text, lang: str) -> dict[str, Any]:
    return {"status": status, "code": code, "summary": text.get(lang)}


def _joined(lead: Text, run: RunResult) -> Text:
    """A verdict's headline followed by the finding it rests on."""
    summary = run.result.summary
    return Text(f"{lead.fr} {summary.fr}", f"{lead.en} {summary.en}")


# --- parts -----------------------------------------------------------------------------------

def _check(run: RunResult, lang: str) -> dict[str, Any]:
    result = run.result
    summary = result.summary.get(lang)
    details = _jsonable(result.details)
    return {
        "id": run.spec.id,
        "title": run.spec.title.get(lang),
        "status": result.status.value,
        "code": result.code,
        "summary": summary,
        "remedy": remedies.remedy_text(result.code, lang) if result.code
        and result.status is not Status.OK else None,
        "details": details,
        "duration_ms": round(run.duration_ms, 3),
    }


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
    return remedies.ecps_help(holder.profession_code, holder.national_id, lang)


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
