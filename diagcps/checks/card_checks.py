"""Checks on the diagnosed card, from the one reading of it (``ctx.facts["reading"]``).

The order follows the decision flow of the support desk: is there a card, is it a CPS, is it
blocked, is it valid, then the details.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from diagcps import messages
from diagcps.checks.base import CheckResult, Status, Text, finding, ok
from diagcps.checks.registry import check

SOON = timedelta(days=60)

#: Reading problems that mean the card or the link went away, in the order they matter.
#: PCSC_ERROR last: a PC/SC failure nothing more precise could be said of still cut the reading.
_LINK_PROBLEMS = ("CARD_REMOVED", "PCSC_SERVICE_STOPPED", "CARD_RESET", "PCSC_TIMEOUT",
                  "CARD_IN_USE", "CARD_MUTE", "NO_READER", "PCSC_ERROR")


def _reading(ctx: Any) -> Any:
    return ctx.facts.get("reading")


@check("card.present", "Carte dans un lecteur", "Card in a reader",
       needs=("reader.present", "reader.selection"))
def card_present(ctx: Any) -> CheckResult:
    facts = ctx.facts
    outcome = facts.get("outcomes", {}).get(facts.get("diagnosed") or "")
    if outcome is not None and outcome.open_error:
        code = outcome.open_error
        texts = {
            "CARD_IN_USE": ("Un autre programme utilise la carte en exclusivité.",
                            "Another program holds the card exclusively."),
            "CARD_MUTE": ("La carte ne répond pas (carte muette).",
                          "The card does not answer (mute card)."),
            "CARD_ABSENT": ("La carte a été retirée avant l'analyse.",
                            "The card was removed before the diagnosis."),
        }
        fr, en = texts.get(code, _LINK_TEXT.get(code, ("La carte n'a pas pu être ouverte.",
                                                       "The card could not be opened.")))
        return finding(Status.FAIL, code, fr, en, reader=outcome.reader,
                       error=outcome.open_message)
    readers = facts.get("readers") or []
    states = {r.state for r in readers}
    if outcome is None:
        diagnosed = facts.get("diagnosed")
        state = next((r.state for r in readers if r.name == diagnosed), None)
        if state == "mute" or (state is None and "mute" in states):
            return finding(Status.FAIL, "CARD_MUTE", "La carte ne répond pas (carte muette).",
                           "The card does not answer (mute card).")
        if state == "in_use":
            return finding(Status.FAIL, "CARD_IN_USE",
                           "Un autre programme utilise la carte en exclusivité.",
                           "Another program holds the card exclusively.")
        return finding(Status.FAIL, "CARD_ABSENT", "Aucune carte n'est insérée.",
                       "No card is inserted.")
    return ok(f"Carte présente dans « {outcome.reader} ».",
              f"Card present in “{outcome.reader}”.", reader=outcome.reader)


@check("card.detected", "Carte CPS reconnue", "CPS card recognised", needs=("card.present",))
def card_detected(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    if reading is None:
        outcome = ctx.facts.get("outcomes", {}).get(ctx.facts.get("diagnosed") or "")
        if getattr(outcome, "crashed", None):
            # Exit code 3 and the report still written, as for a check that crashes.
            return CheckResult(Status.ERROR,
                               Text("Erreur interne de l'outil pendant la lecture de la carte.",
                                    "Internal error of the tool while reading the card."),
                               None, {"exception": outcome.crashed})
        return finding(Status.FAIL, "CARD_READ_ERROR", "La carte n'a pas pu être lue.",
                       "The card could not be read.")
    atr = reading.atr.hex().upper()
    if reading.detection == "wrong_card":
        label = reading.wrong_card_label or "?"
        return finding(Status.FAIL, "WRONG_CARD",
                       f"Ce n'est pas une carte CPS ({label}).",
                       f"This is not a CPS card ({label}).", atr=atr, card=label)
    if reading.detection == "unknown" or not reading.recognised:
        link = _link_problem(reading)
        if link is not None:
            return _problem_result(link)
        if reading.detection == "unreadable":
            # A CPS4 ATR whose ChipDoc will not open: a card fault, not a foreign card.
            return finding(Status.FAIL, "CPS4_UNREADABLE",
                           "Carte CPS4 illisible : son application ChipDoc ne répond pas.",
                           "Unreadable CPS4 card: its ChipDoc application does not answer.",
                           atr=atr)
        return finding(Status.FAIL, "CARD_UNKNOWN",
                       "Carte non reconnue : ce n'est pas une carte de l'ANS.",
                       "Unknown card: not a card issued by ANS.", atr=atr)
    return ok(f"Carte {reading.generation} reconnue, n° de série {reading.serial}.",
              f"{reading.generation} card recognised, serial number {reading.serial}.",
              generation=reading.generation, serial=reading.serial, atr=atr)


@check("card.pin", "Code porteur", "PIN", needs=("card.detected",))
def card_pin(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    pin, unblock = reading.pin, reading.unblock
    details = {"state": pin.state, "tries_left": pin.tries_left, "tries_max": pin.tries_max}
    if pin.state == "blocked":
        if unblock.state == "blocked":
            return finding(Status.FAIL, "CARD_DEFINITIVELY_BLOCKED",
                           "Carte définitivement bloquée : code porteur et code de déblocage "
                           "épuisés.",
                           "Card definitively blocked: PIN and unblock code both exhausted.",
                           **details)
        # Whether the unblock code can still be used is the first thing the holder needs.
        if unblock.state in ("ok", "low", "last_try") and unblock.tries_left is not None:
            said = messages.text("pin.blocked_unblock_ok", count=unblock.tries_left,
                                 max=unblock.tries_max if unblock.tries_max is not None else "?")
        else:
            said = messages.text("pin.blocked_unblock_unknown")
        return finding(Status.FAIL, "PIN_BLOCKED", said.fr, said.en, **details,
                       unblock_state=unblock.state, unblock_tries_left=unblock.tries_left)
    if pin.state == "last_try":
        return finding(Status.WARNING, "PIN_LAST_TRY",
                       "Il ne reste qu'un seul essai du code porteur.",
                       "Only one PIN try is left.", **details)
    if pin.state == "low":
        said = messages.text("pin.low", count=pin.tries_left, max=pin.tries_max)
        return finding(Status.WARNING, "PIN_LOW", said.fr, said.en, **details)
    if pin.state == "verified":
        return finding(Status.OK, "PIN_VERIFIED",
                       "Le code porteur a déjà été saisi par un autre programme.",
                       "The PIN was already entered by another program.", **details)
    if pin.state == "absent":
        return ok("Mode sans contact : pas de code porteur.", "Contactless mode: no PIN.",
                  **details)
    if pin.state == "unknown":
        link = _link_problem(reading)
        if link is not None:
            return _problem_result(link)
        return finding(Status.WARNING, "PIN_UNKNOWN",
                       "L'état du code porteur n'a pas pu être lu.",
                       "The PIN state could not be read.", **details)
    left = f"{pin.tries_left}/{pin.tries_max}" if pin.tries_left is not None else "?"
    return ok(f"Code porteur non bloqué ({left} essais).", f"PIN not blocked ({left} tries).",
              **details)


@check("card.unblock", "Code de déblocage", "Unblock code", needs=("card.detected",))
def card_unblock(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    unblock = reading.unblock
    details = {"state": unblock.state, "tries_left": unblock.tries_left,
               "tries_max": unblock.tries_max, "uses_left": unblock.uses_left}
    if unblock.state == "blocked":
        if reading.pin.state == "blocked":
            return finding(Status.FAIL, "CARD_DEFINITIVELY_BLOCKED",
                           "Le code de déblocage est épuisé : la carte doit être remplacée.",
                           "The unblock code is exhausted: the card must be replaced.",
                           **details)
        return finding(Status.WARNING, "CARD_DEFINITIVELY_BLOCKED",
                       "Le code de déblocage est épuisé : au prochain blocage du code porteur, "
                       "la carte devra être remplacée.",
                       "The unblock code is exhausted: if the PIN gets blocked again, the card "
                       "will have to be replaced.", **details)
    if unblock.state in ("absent",):
        return ok("Mode sans contact : pas de code de déblocage.",
                  "Contactless mode: no unblock code.", **details)
    if unblock.state == "unknown":
        return ok("État du code de déblocage non lu.", "Unblock code state not read.",
                  **details)
    return ok("Code de déblocage disponible.", "Unblock code available.", **details)


@check("card.identity", "Identification du porteur", "Holder identification",
       needs=("card.detected",))
def card_identity(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    holder = reading.holder
    if holder is None or not holder.national_id:
        return finding(Status.WARNING, "CARD_IDENTITY_UNREADABLE",
                       "Les données d'identification du porteur n'ont pas pu être lues.",
                       "The holder's identification data could not be read.",
                       problems=[p.code for p in reading.problems])
    details = {"national_id": holder.national_id, "id_type_label": holder.id_type_label,
               "profession": holder.profession}
    if holder.id_check_digit_ok is False:
        if not holder.id_check_confirmed:
            return finding(Status.WARNING, "ADELI_CHECK_DIGIT",
                           f"Identifiant {holder.national_id} : la clé ADELI ne se vérifie pas "
                           "(information).",
                           f"Identifier {holder.national_id}: the ADELI key does not check "
                           "(for information).", **details)
        return finding(Status.WARNING, "CARD_IDENTITY_UNREADABLE",
                       f"Identifiant {holder.national_id} : la clé de contrôle est fausse.",
                       f"Identifier {holder.national_id}: the check digit is wrong.", **details)
    summary = {lang: messages.msg("identity.summary", lang, name=_name(holder, lang),
                                  national_id=holder.national_id,
                                  what=_what(reading, holder, lang))
               for lang in ("fr", "en")}
    return ok(summary["fr"], summary["en"], **details, card_kind=reading.kind)


#: A holder name longer than this is cut (with "…"): the identifier and profession that follow
#: must stay in view.
_NAME_MAX = 48


def _shortened(name: str) -> str:
    return name if len(name) <= _NAME_MAX else name[:_NAME_MAX - 1].rstrip() + "…"


def _name(holder: Any, lang: str) -> str:
    """The name as the card shows it (civility, practice name, first name), the civility in
    ``lang``, cut when very long."""
    name = holder.display_name or holder.practice_name or ""
    civility = holder.civility
    if lang == "en" and civility and name.startswith(civility + " "):
        english = messages.table("civility_en").get(holder.civility_code or "")
        if english:
            name = english + name[len(civility):]
    return _shortened(name)


def _what(reading: Any, holder: Any, lang: str) -> str:
    """The holder's profession, in ``lang``, and the card type when it is not a plain CPS (a CPF
    has no profession of its own: it is the card of someone in training)."""
    def named(code: str | None, label: str | None) -> str | None:
        if lang == "en" and code:
            return messages.table("profession_en").get(code) or label
        return label or code

    profession = named(holder.profession_code, holder.profession)
    training = named(getattr(holder, "training_profession_code", None),
                     getattr(holder, "training_profession", None))
    kind = reading.kind
    parts = []
    if kind and kind != "CPS":
        parts.append(messages.label("card_kind_short", kind, lang) or kind)
    if profession:
        parts.append(profession)
    elif training:
        parts.append(messages.msg("identity.training", lang, profession=training))
    elif kind == "CPF":
        parts.append(messages.msg("identity.training_unknown", lang))
    return ", ".join(parts) or messages.msg("view.unknown", lang)


@check("card.validity", "Validité de la carte", "Card validity", needs=("card.detected",))
def card_validity(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    today: date = ctx.now.date()
    expires, issued = reading.expires, reading.issued
    details = {"issued": _iso(issued), "expires": _iso(expires)}
    if expires is None:
        return finding(Status.WARNING, "CARD_IDENTITY_UNREADABLE",
                       "La date de fin de validité de la carte n'a pas pu être lue.",
                       "The card's end of validity could not be read.", **details)
    if expires < today:
        return finding(Status.FAIL, "CARD_EXPIRED",
                       f"La carte a expiré le {_fr_date(expires)}.",
                       f"The card expired on {expires.isoformat()}.", **details)
    if issued is not None and issued > today:
        return finding(Status.WARNING, "CARD_NOT_YET_VALID",
                       f"La carte n'est valable qu'à partir du {_fr_date(issued)}.",
                       f"The card is valid only from {issued.isoformat()}.", **details)
    if expires - today <= SOON:
        return finding(Status.WARNING, "CARD_EXPIRES_SOON",
                       f"La carte expire bientôt, le {_fr_date(expires)}.",
                       f"The card expires soon, on {expires.isoformat()}.", **details)
    return ok(f"Carte valable jusqu'au {_fr_date(expires)}.",
              f"Card valid until {expires.isoformat()}.", **details)


@check("card.update", "Actualisation de la carte", "Card update", needs=("card.detected",))
def card_update(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    if reading.update_incident:
        return finding(Status.FAIL, "CARD_UPDATE_INCIDENT",
                       "Une actualisation de la carte a été interrompue : la carte est "
                       "inutilisable en l'état.",
                       "A card update was interrupted: the card cannot be used as it is.",
                       actua=getattr(reading, "actua", None))
    if reading.update_incident is None:
        return ok("Journal d'actualisation non lu.", "Update journal not read.")
    return ok("Aucun incident d'actualisation.", "No update incident.")


@check("card.certificates", "Certificats de la carte", "Card certificates",
       needs=("card.detected",))
def card_certificates(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    certs = reading.certificates
    listing = [{"role": c.role, "state": c.state, "not_after": _iso(c.not_after)} for c in certs]
    if not certs:
        link = _link_problem(reading)
        if link is not None:
            return _problem_result(link)
        return finding(Status.WARNING, "CARD_READ_ERROR",
                       "Aucun certificat n'a pu être lu sur la carte.",
                       "No certificate could be read from the card.")
    expired = [c for c in certs if c.state == "expired"]
    if expired:
        return finding(Status.FAIL, "CARD_EXPIRED",
                       _plural(expired, "Certificat expiré", "Certificats expirés") + " : "
                       + _roles_fr(expired) + ".",
                       _plural(expired, "Certificate expired", "Certificates expired") + ": "
                       + _roles_en(expired) + ".", certificates=listing)
    not_yet = [c for c in certs if c.state == "not_yet_valid"]
    if not_yet:
        return finding(Status.WARNING, "CARD_NOT_YET_VALID",
                       "Un certificat n'est pas encore valable (vérifiez l'horloge du poste).",
                       "A certificate is not valid yet (check the computer's clock).",
                       certificates=listing)
    soon = [c for c in certs if c.state == "expires_soon"]
    if soon:
        return finding(Status.WARNING, "CARD_EXPIRES_SOON",
                       _plural(soon, "Certificat qui expire", "Certificats qui expirent")
                       + " dans moins de 60 jours : " + _roles_fr(soon) + ".",
                       _plural(soon, "Certificate expiring", "Certificates expiring")
                       + " within 60 days: " + _roles_en(soon) + ".",
                       certificates=listing)
    return ok(_plural(certs, "Certificat valable", "Certificats valables") + " : "
              + _roles_fr(certs) + ".",
              _plural(certs, "Valid certificate", "Valid certificates") + ": "
              + _roles_en(certs) + ".", certificates=listing)


@check("card.cryptolib_atr", "Carte reconnue par la Cryptolib CPS",
       "Card recognised by the Cryptolib CPS", needs=("card.detected",))
def card_cryptolib_atr(ctx: Any) -> CheckResult:
    """The Cryptolib matches ATRs byte for byte: a CPS it does not list fails in every browser."""
    from diagcps.cps.cryptolib_atr import CRYPTOLIB_VERSION, cryptolib_knows_atr

    reading = _reading(ctx)
    atr = reading.atr.hex().upper()
    if cryptolib_knows_atr(reading.atr):
        return ok(f"La Cryptolib CPS {CRYPTOLIB_VERSION} reconnaît l'ATR de cette carte.",
                  f"The Cryptolib CPS {CRYPTOLIB_VERSION} recognises this card's ATR.",
                  atr=atr, cryptolib=CRYPTOLIB_VERSION)
    return finding(Status.FAIL, "CARD_ATR_UNKNOWN_TO_CRYPTOLIB",
                   f"La Cryptolib CPS {CRYPTOLIB_VERSION} ne reconnaît pas l'ATR de cette carte : "
                   "elle ne fonctionnera pas dans les navigateurs.",
                   f"The Cryptolib CPS {CRYPTOLIB_VERSION} does not recognise this card's ATR: "
                   "it will not work in browsers.", atr=atr, cryptolib=CRYPTOLIB_VERSION)


@check("card.test_card", "Carte de test", "Test card", needs=("card.detected",))
def card_test(ctx: Any) -> CheckResult:
    if _reading(ctx).test_card:
        return finding(Status.WARNING, "TEST_CARD",
                       "C'est une carte de test : elle ne fonctionne pas sur les services réels.",
                       "This is a test card: it does not work with production services.")
    return ok("Carte de production.", "Production card.")


@check("card.contactless", "Mode de lecture", "Reading mode", needs=("card.detected",))
def card_contactless(ctx: Any) -> CheckResult:
    if _reading(ctx).contactless:
        return finding(Status.WARNING, "CONTACTLESS",
                       "Carte lue sans contact : pas de code porteur, seul le certificat "
                       "technique est disponible.",
                       "Card read contactless: no PIN, only the technical certificate.")
    return ok("Carte lue par contact.", "Card read through its contacts.")


@check("card.read", "Lecture complète de la carte", "Complete card reading",
       needs=("card.detected",))
def card_read(ctx: Any) -> CheckResult:
    reading = _reading(ctx)
    if reading is None:
        return ok("Pas de carte lue.", "No card read.")
    problems = [{"code": p.code, "step": p.step, "message": p.message, "sw": p.sw}
                for p in reading.problems]
    outcome = ctx.facts.get("outcomes", {}).get(ctx.facts.get("diagnosed") or "")
    retried = {"retried_after": outcome.retried_after} if getattr(
        outcome, "retried_after", None) else {}
    link = _link_problem(reading)
    if link is not None:
        result = _problem_result(link)
        result.details["problems"] = problems
        result.details.update(retried)
        return result
    if any(p.code == "REPLAY_MISSING" for p in reading.problems):
        return finding(Status.WARNING, "REPLAY_MISSING",
                       "L'enregistrement ne contient pas toutes les réponses de la carte.",
                       "The recording does not hold every answer of the card.",
                       problems=problems, apdu_count=reading.apdu_count, **retried)
    if problems:
        return finding(Status.WARNING, "CARD_READ_ERROR",
                       "La carte a donné des réponses inattendues ; le diagnostic est partiel.",
                       "The card gave unexpected answers; the diagnosis is partial.",
                       problems=problems, apdu_count=reading.apdu_count, **retried)
    return ok(f"Carte lue en {reading.apdu_count} échanges.",
              f"Card read in {reading.apdu_count} exchanges.", apdu_count=reading.apdu_count,
              **retried)


_ROLE_NAMES = {"authentication": ("authentification", "authentication"),
               "signature": ("signature", "signature"),
               "technical": ("technique", "technical")}


def _plural(items: list[Any], one: str, several: str) -> str:
    return one if len(items) == 1 else several


def _roles(certs: list[Any], index: int, joiner: str) -> str:
    """The certificates named by role, each with its end date."""
    names = [f"{_ROLE_NAMES.get(c.role, (c.label, c.label))[index]} "
             f"({_fr_date(c.not_after.date()) if index == 0 else c.not_after.date().isoformat()})"
             for c in certs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + joiner + names[-1]


def _roles_fr(certs: list[Any]) -> str:
    return _roles(certs, 0, " et ")


def _roles_en(certs: list[Any]) -> str:
    return _roles(certs, 1, " and ")


# --- helpers -----------------------------------------------------------------------------------

def _link_problem(reading: Any) -> Any | None:
    for code in _LINK_PROBLEMS:
        for problem in reading.problems:
            if problem.code == code:
                return problem
    return None


_LINK_TEXT = {
    "CARD_REMOVED": ("La carte a été retirée pendant l'analyse.",
                     "The card was removed during the diagnosis."),
    "PCSC_SERVICE_STOPPED": ("Le service carte à puce s'est arrêté pendant l'analyse.",
                             "The smart-card service stopped during the diagnosis."),
    "CARD_RESET": ("Un autre programme a réinitialisé la carte pendant l'analyse.",
                   "Another program reset the card during the diagnosis."),
    "PCSC_TIMEOUT": ("La carte ou le lecteur n'a pas répondu à temps.",
                     "The card or the reader did not answer in time."),
    "CARD_IN_USE": ("Un autre programme utilise la carte en exclusivité.",
                    "Another program holds the card exclusively."),
    "CARD_MUTE": ("La carte ne répond pas (carte muette).",
                  "The card does not answer (mute card)."),
    "NO_READER": ("Le lecteur a disparu pendant l'analyse.",
                  "The reader went away during the diagnosis."),
    "PCSC_ERROR": ("Une erreur du service carte à puce a interrompu la lecture de la carte.",
                   "A smart-card service error cut the reading of the card short."),
}


def _problem_result(problem: Any) -> CheckResult:
    fr, en = _LINK_TEXT[problem.code]
    return finding(Status.FAIL, problem.code, fr, en, step=problem.step, error=problem.message)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _fr_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")
