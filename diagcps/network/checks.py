"""The network checks: proxy, names, connections, TLS. The clock skew feeds workstation.clock.

Each check reads the one probe of the run (``ctx.facts["network"]``, a
:class:`~diagcps.network.probe.NetworkOutcome` gathered during the card reading) and speaks only
of the endpoints that reached its step: an endpoint whose name did not resolve is reported by
``network.dns`` and nowhere else. With no network at all, ``network.connection`` says so once,
calmly, and the other checks are "not checked".
"""

from __future__ import annotations

from typing import Any

from diagcps.checks.base import CheckResult, Status, Text, finding, ok
from diagcps.checks.registry import check
from diagcps.network.probe import CLOCK_SKEW_LIMIT_S, EndpointResult, NetworkOutcome

_SKIPPED = {
    "offline": Text("Non vérifié : mode hors ligne (--offline), rien n’a été envoyé.",
                    "Not checked: offline mode (--offline), nothing was sent."),
    "replay": Text("Non vérifié (analyse d’un enregistrement).",
                   "Not checked (replaying a recording)."),
    "not_requested": Text("Non vérifié.", "Not checked."),
}
_NO_NETWORK = Text("Non vérifié : pas de connexion réseau.", "Not checked: no network connection.")


def _outcome(ctx: Any) -> NetworkOutcome:
    outcome = ctx.facts.get("network")
    if not isinstance(outcome, NetworkOutcome):
        return NetworkOutcome("not_requested")
    if outcome.skipped == "error":
        raise RuntimeError(f"the network probe crashed: {outcome.error}")
    return outcome


def _skipped(text: Text, **details: Any) -> CheckResult:
    return CheckResult(Status.SKIPPED, text, None, details)


def _hosts(results: list[EndpointResult]) -> str:
    return ", ".join(r.endpoint.label for r in results)


def _skip_reason(outcome: NetworkOutcome, *, needs_network: bool = False) -> CheckResult | None:
    """Why this check has nothing to judge: the family did not run, or (for the checks that
    need one) there is no network at all, which ``network.connection`` alone reports."""
    if outcome.skipped:
        return _skipped(_SKIPPED.get(outcome.skipped, _SKIPPED["not_requested"]),
                        reason=outcome.skipped)
    if needs_network and outcome.no_network:
        return _skipped(_NO_NETWORK)
    return None


@check("network.proxy", "Proxy vers Internet", "Proxy to the internet")
def network_proxy(ctx: Any) -> CheckResult:
    outcome = _outcome(ctx)
    skipped = _skip_reason(outcome)
    if skipped:
        return skipped
    proxy = outcome.proxy
    details = {"source": proxy.source, "proxy": proxy.https.url if proxy.https else None,
               "bypass": proxy.bypass, "pac_url": proxy.pac_url}
    # With no network at all, a proxy that cannot be reached is no finding of its own.
    failing = [] if outcome.no_network else [
        r for r in outcome.endpoints if r.outcome == "proxy_failed"]
    if failing and proxy.https is None:
        what = proxy.unsupported or "?"
        return finding(
            Status.FAIL, "PROXY_FAILED",
            f"Le réglage de proxy de cet ordinateur ({what}) n’est pas utilisable : "
            f"{_hosts(failing)} n’a pas été contacté.",
            f"This computer's proxy setting ({what}) cannot be used: {_hosts(failing)} was "
            "not contacted.", **details)
    if failing:
        address = proxy.https.url if proxy.https else "?"
        why = failing[0].error or ""
        return finding(
            Status.FAIL, "PROXY_FAILED",
            f"Le proxy {address} ne permet pas d’atteindre {_hosts(failing)} ({why}).",
            f"The proxy {address} does not let this computer reach {_hosts(failing)} ({why}).",
            **details)
    pac_fr = (f" Un script de configuration automatique (PAC) est déclaré, {proxy.pac_url} : "
              "il n’est pas exécuté par l’outil." if proxy.pac_url else "")
    pac_en = (f" An auto-configuration script (PAC) is set, {proxy.pac_url}: the tool does "
              "not run it." if proxy.pac_url else "")
    if proxy.https is None:
        return ok("Connexion directe : aucun proxy n’est configuré." + pac_fr,
                  "Direct connection: no proxy is configured." + pac_en, **details)
    source = {"environment": "variables d’environnement", "windows": "paramètres Internet de "
              "Windows", "macos": "réglages réseau de macOS", "gnome": "paramètres de GNOME"}
    return ok(f"Proxy {proxy.https.url} (réglé dans les {source.get(proxy.source, proxy.source)})"
              "." + pac_fr,
              f"Proxy {proxy.https.url} (set in the {proxy.source} settings)." + pac_en,
              **details)


@check("network.dns", "Résolution des noms des serveurs", "Name resolution of the servers")
def network_dns(ctx: Any) -> CheckResult:
    outcome = _outcome(ctx)
    skipped = _skip_reason(outcome, needs_network=True)
    if skipped:
        return skipped
    failing = [r for r in outcome.endpoints if r.outcome == "dns_failed"]
    details = {"failed": [r.endpoint.label for r in failing]}
    if failing:
        return finding(
            Status.FAIL, "DNS_FAILED",
            f"L’ordinateur ne trouve pas l’adresse de {_hosts(failing)} ({failing[0].error}).",
            f"The computer cannot find the address of {_hosts(failing)} ({failing[0].error}).",
            **details)
    if outcome.endpoints and all(r.proxy for r in outcome.endpoints):
        return ok("Les noms des serveurs sont laissés au proxy, qui les résout lui-même.",
                  "The servers' names are left to the proxy, which resolves them itself.",
                  **details)
    return ok("Les adresses des serveurs sont trouvées.", "The servers' addresses are found.",
              **details)


@check("network.connection", "Connexion aux serveurs de Pro Santé Connect",
       "Connection to the Pro Santé Connect servers")
def network_connection(ctx: Any) -> CheckResult:
    outcome = _outcome(ctx)
    skipped = _skip_reason(outcome)
    if skipped:
        return skipped
    details = {"duration_ms": round(outcome.duration_ms, 1),
               "time_limit_s": outcome.time_limit_s}
    if outcome.no_network:
        return finding(
            Status.WARNING, "NETWORK_OFFLINE",
            "Cet ordinateur n’est pas connecté à un réseau : l’accès à Pro Santé Connect n’a "
            "pas pu être vérifié. Le diagnostic de la carte n’en dépend pas.",
            "This computer is not connected to a network: access to Pro Santé Connect could "
            "not be checked. The card's diagnosis does not depend on it.", **details)
    blocked = [r for r in outcome.endpoints if r.outcome in ("timeout", "refused", "unreachable")]
    reached = [r for r in outcome.endpoints if r.stage in ("tls", "http", "done")
               and r.outcome not in ("timeout",)]
    if blocked and not reached and outcome.proxy.https is None and all(
            r.outcome != "dns_failed" for r in outcome.endpoints):
        pac_fr = (f" Le script de proxy {outcome.proxy.pac_url} n’a pas été exécuté." if
                  outcome.proxy.pac_url else "")
        pac_en = (f" The proxy script {outcome.proxy.pac_url} was not run." if
                  outcome.proxy.pac_url else "")
        return finding(
            Status.FAIL, "PROXY_REQUIRED",
            f"Aucun des serveurs ne répond en connexion directe ({_hosts(blocked)}) alors que "
            "leurs adresses sont trouvées : ce réseau exige probablement un proxy." + pac_fr,
            f"None of the servers answers a direct connection ({_hosts(blocked)}) although "
            "their addresses are found: this network probably requires a proxy." + pac_en,
            **details)
    timeouts = [r for r in blocked if r.outcome == "timeout"]
    refused = [r for r in blocked if r.outcome != "timeout"]
    if timeouts:
        return finding(
            Status.FAIL, "CONNECT_TIMEOUT",
            f"{_hosts(timeouts)} ne répond pas dans le temps imparti "
            f"({outcome.time_limit_s:g} s) : {timeouts[0].error}.",
            f"{_hosts(timeouts)} does not answer within the time limit "
            f"({outcome.time_limit_s:g} s): {timeouts[0].error}.", **details)
    if refused:
        return finding(
            Status.FAIL, "CONNECT_REFUSED",
            f"La connexion à {_hosts(refused)} est refusée : {refused[0].error}.",
            f"The connection to {_hosts(refused)} is refused: {refused[0].error}.", **details)
    if not reached:
        return _skipped(Text("Non vérifié : aucun serveur n’a pu être contacté.",
                             "Not checked: no server could be contacted."), **details)
    direct = [r for r in reached if not r.proxy]
    proxied = [r for r in reached if r.proxy]
    fr, en = [], []
    if proxied:
        fr.append(f"par le proxy {proxied[0].proxy} avec {_hosts(proxied)}")
        en.append(f"through the proxy {proxied[0].proxy} to {_hosts(proxied)}")
    if direct:
        fr.append(f"en direct avec {_hosts(direct)}")
        en.append(f"directly to {_hosts(direct)}")
    return ok(f"Connexion établie {' ; '.join(fr)}.", f"Connected {'; '.join(en)}.", **details)


@check("network.tls", "Connexion sécurisée (TLS) et certificats des serveurs",
       "Secure connection (TLS) and the servers' certificates")
def network_tls(ctx: Any) -> CheckResult:
    outcome = _outcome(ctx)
    skipped = _skip_reason(outcome, needs_network=True)
    if skipped:
        return skipped
    tried = [r for r in outcome.endpoints if r.tls is not None
             and r.outcome in ("ok", "intercepted", "cert_invalid", "untrusted_by_system",
                               "tls_failed")]
    if not tried:
        return _skipped(Text("Non vérifié : aucun serveur n’a pu être contacté.",
                             "Not checked: no server could be contacted."))
    intercepted = [r for r in tried if r.outcome == "intercepted"]
    if intercepted:
        issuer = intercepted[0].tls.chain_root or intercepted[0].tls.leaf_issuer or "?"
        return finding(
            Status.FAIL, "TLS_INTERCEPTED",
            f"La connexion sécurisée vers {_hosts(intercepted)} est interceptée : le "
            f"certificat présenté est émis par « {issuer} », une autorité installée sur ce "
            "poste mais inconnue des autorités publiques (inspection TLS d’un proxy ou d’un "
            "antivirus). La connexion par carte CPS ne passe pas à travers une telle "
            "inspection.",
            f"The secure connection to {_hosts(intercepted)} is intercepted: the certificate "
            f"presented is issued by “{issuer}”, an authority installed on this computer but "
            "unknown to the public authorities (TLS inspection by a proxy or an antivirus). "
            "CPS card login does not work through such inspection.",
            issuer=issuer, hosts=[r.endpoint.label for r in intercepted])
    invalid = [r for r in tried if r.outcome in ("cert_invalid", "untrusted_by_system")]
    if invalid:
        first = invalid[0]
        why = first.tls.system_error or first.tls.mozilla_error or "?"
        skew = outcome.clock_skew_s
        clock = skew is not None and abs(skew) > CLOCK_SKEW_LIMIT_S and (
            "expired" in why or "not yet valid" in why)
        extra_fr = " L’horloge de l’ordinateur est décalée : corrigez-la d’abord." if clock else ""
        extra_en = " The computer's clock is off: correct it first." if clock else ""
        return finding(
            Status.FAIL, "CERT_INVALID",
            f"Le certificat présenté par {_hosts(invalid)} n’est pas valide ({why}).{extra_fr}",
            f"The certificate presented by {_hosts(invalid)} is not valid ({why}).{extra_en}",
            reason=why, issuer=first.tls.leaf_issuer, subject=first.tls.leaf_subject,
            hosts=[r.endpoint.label for r in invalid])
    failed = [r for r in tried if r.outcome == "tls_failed"]
    if failed:
        return finding(
            Status.FAIL, "TLS_FAILED",
            f"La connexion sécurisée avec {_hosts(failed)} échoue ({failed[0].error}).",
            f"The secure connection with {_hosts(failed)} fails ({failed[0].error}).",
            hosts=[r.endpoint.label for r in failed])
    versions = sorted({r.tls.version for r in tried if r.tls and r.tls.version})
    return ok(f"Connexion sécurisée vérifiée ({', '.join(versions)}) : les certificats sont "
              "reconnus par ce poste et par les autorités publiques.",
              f"Secure connection verified ({', '.join(versions)}): the certificates are "
              "trusted by this computer and by the public authorities.", versions=versions)


def clock_skew_finding(facts: dict[str, Any]) -> CheckResult | None:
    """For workstation.clock: the local clock against the servers' ``Date``, when measured."""
    outcome = facts.get("network")
    skew = outcome.clock_skew_s if isinstance(outcome, NetworkOutcome) else None
    if skew is None or abs(skew) <= CLOCK_SKEW_LIMIT_S:
        return None
    minutes = round(abs(skew) / 60)
    ahead_fr, ahead_en = ("en avance", "ahead") if skew > 0 else ("en retard", "behind")
    return finding(
        Status.WARNING, "CLOCK_SKEW",
        f"L’horloge de l’ordinateur est {ahead_fr} d’environ {minutes} minutes sur celle des "
        "serveurs de Pro Santé Connect.",
        f"The computer's clock is about {minutes} minutes {ahead_en} of the Pro Santé Connect "
        "servers' clock.",
        server_skew_s=skew, limit_s=CLOCK_SKEW_LIMIT_S)
