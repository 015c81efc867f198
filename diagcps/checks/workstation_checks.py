"""Checks of the workstation around the card: OS, Cryptolib CPS, Firefox, clock.

Each check reads facts from diagcps.workstation and shares them through ``ctx.facts`` ("host",
"cryptolib", "firefox") so later checks and the report do not look twice. Card checks put the
card generations seen ("generations") and certificate validity dates ("certificate_dates") there.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from diagcps.checks.base import CheckResult, Status, finding, ok
from diagcps.checks.registry import check
from diagcps.network.checks import clock_skew_finding
from diagcps.workstation.browsers import FirefoxInfo, find_firefox
from diagcps.workstation.clock import assess_clock
from diagcps.workstation.cryptolib import CryptolibInfo, find_cryptolib, meets
from diagcps.workstation.host import HostInfo, collect_host, support_status
from diagcps.workstation.winregistry import default_registry

# CPS4 cards need Cryptolib 5.2; 5.2.2 fixes a CPS4 defect; CPS3 needs the 5.x line at least.
CPS4_MINIMUM = (5, 2)
CPS4_RECOMMENDED = (5, 2, 2)
CPS3_MINIMUM = (5, 0)

_OS_NAMES = {"Darwin": "macOS"}


def _host(ctx: Any) -> HostInfo:
    host = ctx.facts.get("host")
    if not isinstance(host, HostInfo):
        host = collect_host(ctx.system, ctx.root)
        ctx.facts["host"] = host
    return host


@check("host.os", "Système d’exploitation", "Operating system")
def host_os(ctx: Any) -> CheckResult:
    host = _host(ctx)
    support = support_status(host)
    details = {**host.to_dict(), "support": support}
    name = host.os_version or _OS_NAMES.get(host.os, host.os)
    if support == "supported":
        return ok(
            f"Système : {name} ({host.arch}), pris en charge par la Cryptolib CPS.",
            f"System: {name} ({host.arch}), supported by the Cryptolib CPS.",
            **details,
        )
    if support == "unknown":
        return ok(
            f"Système : {host.os} ({host.arch}) ; sa version n’a pas pu être lue.",
            f"System: {host.os} ({host.arch}); its version could not be read.",
            **details,
        )
    if support == "rhel_compatible":
        return finding(
            Status.WARNING,
            "OS_UNSUPPORTED",
            f"Pour information : {name} est dérivé de Red Hat Enterprise Linux et devrait "
            "fonctionner, mais ne figure pas dans la liste des systèmes pris en charge par la "
            "Cryptolib CPS.",
            f"For information: {name} is derived from Red Hat Enterprise Linux and should work, "
            "but is not on the Cryptolib CPS's list of supported systems.",
            **details,
        )
    return finding(
        Status.WARNING,
        "OS_UNSUPPORTED",
        f"Pour information : {name} ne figure pas dans la liste des systèmes pris en charge par "
        "la Cryptolib CPS.",
        f"For information: {name} is not on the Cryptolib CPS's list of supported systems.",
        **details,
    )


def _cryptolib(ctx: Any) -> CryptolibInfo:
    info = ctx.facts.get("cryptolib")
    if not isinstance(info, CryptolibInfo):
        registry = ctx.registry or default_registry(ctx.system)
        info = find_cryptolib(ctx.system, ctx.root, registry, ctx.env)
        ctx.facts["cryptolib"] = info
    return info


#: What the Cryptolib checks found, looked for once per run (other check modules use it too).
cryptolib_facts = _cryptolib


@check("workstation.cryptolib", "Cryptolib CPS", "Cryptolib CPS")
def workstation_cryptolib(ctx: Any) -> CheckResult:
    info = _cryptolib(ctx)
    generations = set(ctx.facts.get("generations") or ())
    details = asdict(info)
    details["card_generations"] = sorted(generations)
    version = info.version
    shown = version or "?"

    if not info.installed:
        # Not a failure: the card itself may work, and this tool does not need the Cryptolib.
        return finding(
            Status.WARNING,
            "CRYPTOLIB_MISSING",
            "La Cryptolib CPS n’est pas installée : les navigateurs et les logiciels "
            "professionnels ne pourront pas utiliser la carte.",
            "The Cryptolib CPS is not installed: browsers and professional software will not "
            "be able to use the card.",
            **details,
        )
    if "CPS4" in generations and meets(version, CPS4_MINIMUM) is False:
        return finding(
            Status.FAIL,
            "CPS4_OLD_MIDDLEWARE",
            f"La Cryptolib CPS installée ({shown}) est trop ancienne pour la CPS4 insérée : "
            "il faut la version 5.2 ou plus récente.",
            f"The installed Cryptolib CPS ({shown}) is too old for the CPS4 card inserted: "
            "version 5.2 or later is needed.",
            **details,
        )
    if generations & {"CPS3", "CPS3-CL"} and meets(version, CPS3_MINIMUM) is False:
        return finding(
            Status.FAIL,
            "CRYPTOLIB_OLD",
            f"La Cryptolib CPS installée ({shown}) est trop ancienne pour la CPS3 insérée.",
            f"The installed Cryptolib CPS ({shown}) is too old for the CPS3 card inserted.",
            **details,
        )
    if meets(version, CPS4_MINIMUM) is False:
        return finding(
            Status.WARNING,
            "CRYPTOLIB_OLD",
            f"La Cryptolib CPS installée ({shown}) ne gère pas les CPS4 : votre prochaine carte "
            "en sera peut-être une, installez la version 5.2.x.",
            f"The installed Cryptolib CPS ({shown}) does not handle CPS4 cards: your next card "
            "may be one, install version 5.2.x.",
            **details,
        )
    if "CPS4" in generations and meets(version, CPS4_RECOMMENDED) is False:
        return finding(
            Status.WARNING,
            "CRYPTOLIB_OLD",
            f"La Cryptolib CPS {shown} gère la CPS4, mais la version 5.2.2 ou plus récente "
            "corrige un défaut touchant ces cartes : une mise à jour est conseillée.",
            f"Cryptolib CPS {shown} handles CPS4 cards, but version 5.2.2 or later fixes a "
            "defect affecting them: an update is advised.",
            **details,
        )
    if info.obsolete_libraries:
        return finding(
            Status.WARNING,
            "OBSOLETE_MIDDLEWARE",
            "D’anciennes bibliothèques CPS (époque CPS2ter) sont encore présentes : "
            + ", ".join(info.obsolete_libraries),
            "Old CPS libraries (CPS2ter era) are still present: "
            + ", ".join(info.obsolete_libraries),
            **details,
        )
    if version is None:
        return ok(
            f"La Cryptolib CPS est installée ({info.library_path}) ; sa version n’a pas pu "
            "être lue.",
            f"The Cryptolib CPS is installed ({info.library_path}); its version could not be "
            "read.",
            **details,
        )
    return ok(
        f"Cryptolib CPS {version} installée ({info.library_path}).",
        f"Cryptolib CPS {version} installed ({info.library_path}).",
        **details,
    )


def _firefox(ctx: Any) -> FirefoxInfo:
    info = ctx.facts.get("firefox")
    if not isinstance(info, FirefoxInfo):
        info = find_firefox(ctx.system, ctx.root, ctx.env)
        ctx.facts["firefox"] = info
    return info


#: What the Firefox check found, looked for once per run (the middleware probe uses it too).
firefox_facts = _firefox


@check("workstation.firefox", "Firefox et le module CPS", "Firefox and the CPS module")
def workstation_firefox(ctx: Any) -> CheckResult:
    firefox = _firefox(ctx)
    cryptolib = _cryptolib(ctx)
    details = asdict(firefox)
    details["cryptolib_installed"] = cryptolib.installed

    if not firefox.installed:
        return ok(
            "Firefox n’est pas installé : rien à vérifier de ce côté.",
            "Firefox is not installed: nothing to check there.",
            **details,
        )
    if firefox.sandboxed and not firefox.native_installed:
        kind = firefox.sandboxed.capitalize()
        return finding(
            Status.WARNING,
            "FIREFOX_SANDBOXED",
            f"Firefox est installé en version isolée ({kind}) : il ne peut pas utiliser la "
            "carte CPS.",
            f"Firefox is installed as a sandboxed package ({kind}): it cannot use the CPS card.",
            **details,
        )
    if cryptolib.installed and firefox.cps_module_registered is False:
        return finding(
            Status.WARNING,
            "FIREFOX_MODULE_MISSING",
            "Firefox ne connaît pas le module CPS de la Cryptolib : il ne pourra pas utiliser "
            "la carte.",
            "Firefox does not know the Cryptolib's CPS module: it will not be able to use the "
            "card.",
            **details,
        )
    if firefox.cps_module_registered and firefox.opensc_module_registered:
        return finding(
            Status.WARNING,
            "COMPETING_MODULES",
            "Firefox connaît à la fois le module OpenSC et celui de la Cryptolib CPS : les deux "
            "peuvent répondre pour la carte.",
            "Firefox knows both the OpenSC module and the Cryptolib CPS one: both may answer "
            "for the card.",
            **details,
        )
    if firefox.sandboxed:
        kind = firefox.sandboxed.capitalize()
        return finding(
            Status.WARNING,
            "FIREFOX_SANDBOXED",
            f"Un Firefox isolé ({kind}) est installé à côté du Firefox classique : seul ce "
            "dernier peut utiliser la carte CPS.",
            f"A sandboxed Firefox ({kind}) is installed beside the regular one: only the "
            "regular one can use the CPS card.",
            **details,
        )
    if firefox.cps_module_registered:
        return ok(
            "Firefox est installé et connaît le module CPS.",
            "Firefox is installed and knows the CPS module.",
            **details,
        )
    if firefox.cps_module_registered is None:
        return ok(
            "Firefox est installé ; sur ce système, l’outil ne peut pas vérifier si le module "
            "CPS y est déclaré.",
            "Firefox is installed; on this system the tool cannot tell whether the CPS module "
            "is declared in it.",
            **details,
        )
    return ok(
        "Firefox est installé ; le module CPS n’y est pas déclaré, faute de Cryptolib CPS.",
        "Firefox is installed; the CPS module is not declared in it, as the Cryptolib CPS is "
        "missing.",
        **details,
    )


def _day(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y")


@check("workstation.clock", "Date et heure de l’ordinateur", "Computer date and time")
def workstation_clock(ctx: Any) -> CheckResult:
    dates = list(ctx.facts.get("certificate_dates", []))
    assessment = assess_clock(ctx.now, dates)
    details: dict[str, Any] = {
        "now": assessment.now.isoformat(),
        "reason": assessment.reason,
        "reference": assessment.reference.isoformat() if assessment.reference else None,
        "certificates_compared": len(dates),
    }
    now_fr = _day(assessment.now)
    skew = clock_skew_finding(ctx.facts)  # the servers' Date, from the network family
    if not assessment.wrong and skew is not None:
        skew.details.update(details)
        return skew
    if not assessment.wrong:
        return ok(
            f"La date de l’ordinateur ({now_fr}) est plausible.",
            f"The computer's date ({assessment.now:%Y-%m-%d}) is plausible.",
            **details,
        )
    reference = assessment.reference or assessment.now
    if assessment.reason == "after_2040":
        fr = f"La date de l’ordinateur ({now_fr}) est trop loin dans le futur."
        en = f"The computer's date ({assessment.now:%Y-%m-%d}) is too far in the future."
    elif assessment.reason == "before_root_ca":
        fr = (
            f"La date de l’ordinateur ({now_fr}) est antérieure à la création de l’autorité de "
            f"certification des cartes CPS ({_day(reference)})."
        )
        en = (
            f"The computer's date ({assessment.now:%Y-%m-%d}) is earlier than the CPS "
            f"certificate authority itself ({reference:%Y-%m-%d})."
        )
    else:
        fr = (
            f"La date de l’ordinateur ({now_fr}) est antérieure au début de validité d’un "
            f"certificat de la carte ({_day(reference)})."
        )
        en = (
            f"The computer's date ({assessment.now:%Y-%m-%d}) is earlier than the start of a "
            f"card certificate's validity ({reference:%Y-%m-%d})."
        )
    return finding(Status.FAIL, "CLOCK_WRONG", fr, en, **details)
