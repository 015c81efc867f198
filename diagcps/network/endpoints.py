"""The public endpoints the network family probes, in one place, and the settings of a run.

The list is overridable (``DIAGCPS_NETWORK_ENDPOINTS``) for a test bed and for endpoints the
service may add later; the trust stores are overridable too (see :mod:`diagcps.network.trust`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from diagcps.network.trust import TrustStores

#: Total time the family may take, every endpoint in parallel (seconds).
DEFAULT_TIME_LIMIT_S = 3.0

ENDPOINTS_ENV = "DIAGCPS_NETWORK_ENDPOINTS"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int = 443
    #: The public page the one ``HEAD`` request asks for.
    path: str = "/"
    #: What the endpoint is, for people (fr, en).
    role_fr: str = ""
    role_en: str = ""

    @property
    def label(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"


#: Public pages of Pro Santé Connect (login and e-CPS wallet, its OpenID Connect server, realm
#: ``esante-wallet``) and of Santé.fr (the professional form), as published by the services.
DEFAULT_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("wallet.esw.esante.gouv.fr", 443, "/",
             "connexion Pro Santé Connect et e-CPS", "Pro Santé Connect login and e-CPS"),
    Endpoint("auth.esw.esante.gouv.fr", 443, "/",
             "serveur d’authentification Pro Santé Connect", "Pro Santé Connect OpenID server"),
    Endpoint("sante.fr", 443, "/", "Santé.fr", "Santé.fr"),
)


def parse_endpoints(text: str) -> tuple[Endpoint, ...]:
    """``host[:port][/path]`` entries separated by commas or spaces; bad entries are ignored."""
    found = []
    for raw in text.replace(",", " ").split():
        hostport, slash, path = raw.partition("/")
        host, _, port = hostport.partition(":")
        if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
            continue
        found.append(Endpoint(host.lower(), int(port) if port else 443, "/" + path if slash
                              else "/", host, host))
    return tuple(found)


@dataclass
class NetworkSettings:
    """What one run of the family needs; everything here is injectable for tests."""

    offline: bool = False
    endpoints: tuple[Endpoint, ...] = DEFAULT_ENDPOINTS
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    stores: TrustStores = field(default_factory=TrustStores)
    #: The environment proxy variables are read from.
    env: Mapping[str, str] = field(default_factory=dict)
    #: "Linux", "Darwin" or "Windows": which system proxy settings to read.
    system: str = "Linux"
    #: Windows registry reader ``(key, value) -> str | None`` (None off Windows).
    registry: Callable[[str, str], str | None] | None = None
    #: Runs a read-only command (scutil, gsettings) and returns its output, or None.
    run: Callable[..., str | None] | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str], *, offline: bool = False,
                         time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> NetworkSettings:
        import platform

        from diagcps.workstation.commands import run_command
        from diagcps.workstation.winregistry import default_registry

        system = platform.system()
        endpoints = parse_endpoints(env.get(ENDPOINTS_ENV, "")) or DEFAULT_ENDPOINTS
        return cls(offline=offline, endpoints=endpoints, time_limit_s=time_limit_s,
                   stores=TrustStores.from_environment(env), env=dict(env), system=system,
                   registry=default_registry(system), run=run_command)
