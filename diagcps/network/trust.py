"""The two trust stores a presented chain is validated against.

The system's store is what the browsers on this workstation trust: a company that inspects TLS
installs its own root there. The Mozilla roots (``certifi``) are the public web's. A chain that
only the first accepts was re-signed on the way: TLS interception.

Both locations are injectable: ``DIAGCPS_SYSTEM_CA`` (a PEM file or a hashed directory standing
in for the system store) and ``DIAGCPS_MOZILLA_CA`` (a PEM file standing in for certifi's).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

SYSTEM_CA_ENV = "DIAGCPS_SYSTEM_CA"
MOZILLA_CA_ENV = "DIAGCPS_MOZILLA_CA"


@dataclass(frozen=True)
class TrustStores:
    #: None: the platform's own store (through truststore: Windows, macOS, Linux's bundle).
    system_ca: str | None = None
    #: None: the Mozilla roots shipped by certifi.
    mozilla_ca: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> TrustStores:
        return cls(env.get(SYSTEM_CA_ENV) or None, env.get(MOZILLA_CA_ENV) or None)

    def system_context(self) -> ssl.SSLContext:
        if self.system_ca:
            return _context_from(self.system_ca)
        try:
            import truststore
        except ImportError:  # without it, OpenSSL's default paths are the system store
            return ssl.create_default_context()
        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    def mozilla_context(self) -> ssl.SSLContext:
        if self.mozilla_ca:
            return _context_from(self.mozilla_ca)
        import certifi

        return ssl.create_default_context(cafile=certifi.where())

    def describe(self) -> dict[str, str]:
        return {"system": self.system_ca or "platform", "mozilla": self.mozilla_ca or "certifi"}


def _context_from(location: str) -> ssl.SSLContext:
    # An empty context (no default paths): only what the location holds is trusted.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if os.path.isdir(location):
        context.load_verify_locations(capath=location)
    else:
        context.load_verify_locations(cafile=location)
    return context


def unverified_context() -> ssl.SSLContext:
    """For reading the chain and the ``Date`` of a server whose chain failed validation."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
