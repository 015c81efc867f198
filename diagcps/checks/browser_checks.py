"""Chromium and Google Chrome on Linux: they load the PKCS#11 modules of the shared NSS database
``~/.pki/nssdb``, where the Cryptolib's packages register nothing (Firefox is
``workstation.firefox``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from diagcps.checks.base import CheckResult, Status, finding, ok
from diagcps.checks.registry import check
from diagcps.checks.workstation_checks import cryptolib_facts
from diagcps.text import Text
from diagcps.workstation.nssdb import find_chromium


@check("workstation.chromium", "Chromium / Chrome et le module CPS",
       "Chromium / Chrome and the CPS module")
def workstation_chromium(ctx: Any) -> CheckResult:
    if ctx.system != "Linux":
        return CheckResult(Status.SKIPPED,
                           Text("Non vérifié : hors Linux, Chrome passe par le magasin de "
                                "certificats du système.",
                                "Not checked: outside Linux, Chrome goes through the system's "
                                "certificate store."), None, {})
    info = find_chromium(ctx.root, ctx.env)
    cryptolib = cryptolib_facts(ctx)
    details = asdict(info)
    if not info.installed:
        return ok("Chromium et Google Chrome ne sont pas installés : rien à vérifier de ce côté.",
                  "Chromium and Google Chrome are not installed: nothing to check there.",
                  **details)
    if info.cps_module_registered and info.opensc_module_registered:
        return finding(
            Status.WARNING, "COMPETING_MODULES",
            f"La base NSS de Chromium / Chrome ({info.nssdb}) déclare à la fois le module "
            "OpenSC et celui de la Cryptolib CPS : les deux peuvent répondre pour la carte.",
            f"Chromium / Chrome's NSS database ({info.nssdb}) declares both the OpenSC module "
            "and the Cryptolib CPS one: both may answer for the card.", **details)
    if info.cps_module_registered:
        return ok(f"Chromium / Chrome charge le module CPS (base NSS {info.nssdb}).",
                  f"Chromium / Chrome loads the CPS module (NSS database {info.nssdb}).",
                  **details)
    if cryptolib.installed:
        return finding(
            Status.WARNING, "CHROMIUM_MODULE_MISSING",
            f"Chromium / Chrome ne charge pas le module CPS : il n’est pas déclaré dans sa base "
            f"NSS ({info.nssdb}).",
            f"Chromium / Chrome does not load the CPS module: it is not declared in its NSS "
            f"database ({info.nssdb}).", **details)
    return ok("Chromium / Chrome est installé ; le module CPS n’y est pas déclaré, faute de "
              "Cryptolib CPS.",
              "Chromium / Chrome is installed; the CPS module is not declared in it, as the "
              "Cryptolib CPS is missing.", **details)
