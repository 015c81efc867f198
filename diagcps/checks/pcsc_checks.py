"""Checks on the PC/SC service and the readers, from the facts the diagnosis gathered."""

from __future__ import annotations

from typing import Any

from diagcps.checks.base import CheckResult, Status, finding, ok
from diagcps.checks.registry import check

_SERVICE_TEXT = {
    "PCSC_SERVICE_DOWN": ("Le service carte à puce (PC/SC) ne répond pas.",
                          "The smart-card service (PC/SC) is not running."),
    "PCSC_SERVICE_STOPPED": ("Le service carte à puce (PC/SC) s'est arrêté pendant l'analyse.",
                             "The smart-card service (PC/SC) stopped during the diagnosis."),
    "PCSC_LIBRARY_MISSING": ("La bibliothèque PC/SC est introuvable sur ce poste.",
                             "No PC/SC library could be loaded on this computer."),
    "PCSC_TIMEOUT": ("Le service carte à puce n'a pas répondu à temps.",
                     "The smart-card service did not answer in time."),
}


@check("pcsc.service", "Service carte à puce (PC/SC)", "Smart-card service (PC/SC)")
def pcsc_service(ctx: Any) -> CheckResult:
    facts = ctx.facts
    code = facts.get("pcsc_error")
    if code in _SERVICE_TEXT:
        fr, en = _SERVICE_TEXT[code]
        return finding(Status.FAIL, code, fr, en, error=facts.get("pcsc_message"))
    if code == "NO_READER":  # pyscard reports an empty reader list as an error on some systems
        return ok("Le service carte à puce répond.", "The smart-card service answers.")
    if code:
        return finding(Status.FAIL, code, "Le service carte à puce a renvoyé une erreur.",
                       "The smart-card service returned an error.",
                       error=facts.get("pcsc_message"))
    stopped = _stopped_during_use(facts.get("outcomes") or {})
    if stopped is not None:
        fr, en = _SERVICE_TEXT["PCSC_SERVICE_STOPPED"]
        return finding(Status.FAIL, "PCSC_SERVICE_STOPPED", fr, en, reader=stopped[0],
                       error=stopped[1])
    if facts.get("source_kind") == "replay":
        return ok("Analyse d'un enregistrement : pas de service PC/SC utilisé.",
                  "Replaying a recording: no PC/SC service used.")
    return ok("Le service carte à puce répond.", "The smart-card service answers.")


@check("reader.present", "Lecteur de cartes", "Card reader", needs=("pcsc.service",))
def reader_present(ctx: Any) -> CheckResult:
    readers = ctx.facts.get("readers") or []
    names = [r.name for r in readers]
    if not readers:
        return finding(Status.FAIL, "NO_READER", "Aucun lecteur de cartes n'est détecté.",
                       "No card reader is detected.")
    with_card = [r.name for r in readers if r.state == "present"]
    if len(with_card) > 1:
        diagnosed = ctx.facts.get("diagnosed")
        return finding(Status.OK, "SEVERAL_READERS",
                       f"{len(with_card)} lecteurs contiennent une carte ; "
                       f"carte analysée : {diagnosed}.",
                       f"{len(with_card)} readers hold a card; card diagnosed: {diagnosed}.",
                       readers=names, diagnosed=diagnosed)
    plural_fr = "lecteur détecté" if len(readers) == 1 else "lecteurs détectés"
    plural_en = "reader detected" if len(readers) == 1 else "readers detected"
    return ok(f"{len(readers)} {plural_fr}.", f"{len(readers)} {plural_en}.", readers=names)


@check("reader.selection", "Choix du lecteur", "Reader selection", needs=("reader.present",))
def reader_selection(ctx: Any) -> CheckResult:
    wanted = ctx.facts.get("reader_filter")
    error = ctx.facts.get("selection_error")
    if not wanted:
        return ok("Tous les lecteurs sont examinés.", "All readers are examined.")
    if error == "READER_NOT_FOUND":
        return finding(Status.FAIL, error, f"Aucun lecteur ne correspond à « {wanted} ».",
                       f"No reader matches “{wanted}”.", filter=wanted)
    if error == "READER_AMBIGUOUS":
        return finding(Status.FAIL, error, f"Plusieurs lecteurs correspondent à « {wanted} ».",
                       f"Several readers match “{wanted}”.", filter=wanted)
    return ok(f"Lecteur choisi : {ctx.facts.get('diagnosed') or wanted}.",
              f"Reader chosen: {ctx.facts.get('diagnosed') or wanted}.", filter=wanted)


def _stopped_during_use(outcomes: dict[str, Any]) -> tuple[str, str | None] | None:
    """``(reader, message)`` when the service listed the readers, then went away while a card
    was opened or read: not the card's fault but the service's (checks run after the reading)."""
    for outcome in outcomes.values():
        if outcome.open_error in ("PCSC_SERVICE_STOPPED", "PCSC_SERVICE_DOWN"):
            return outcome.reader, outcome.open_message
        for problem in getattr(outcome.reading, "problems", None) or ():
            if problem.code == "PCSC_SERVICE_STOPPED":
                return outcome.reader, problem.message
    return None
