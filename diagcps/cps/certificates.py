"""The card's public certificates, decoded with ``cryptography`` (no hand-written X.509 parser).

Roles are told apart by the CDF label: object IDs do not reliably say which is which
(CPS-CARD.md 7). The subject's first RDN is multi-valued (``CN=<8+RPPS>+SN=...+GN=...``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from apdu.errors import ApduError
from diagcps.cps.model import (
    CERT_EXPIRED,
    CERT_EXPIRES_SOON,
    CERT_NOT_YET_VALID,
    CERT_VALID,
    ROLE_AUTHENTICATION,
    ROLE_OTHER,
    ROLE_SIGNATURE,
    ROLE_TECHNICAL,
    Certificate,
)

#: A certificate that ends within this is reported "expires_soon" (the renewal window).
EXPIRES_SOON = timedelta(days=60)

#: Short names for the attributes of CPS subjects, which RFC 4514 leaves as dotted OIDs.
_ATTRIBUTE_NAMES = {NameOID.SURNAME: "SN", NameOID.GIVEN_NAME: "GN", NameOID.TITLE: "title",
                    NameOID.SERIAL_NUMBER: "serialNumber"}


class CertificateError(ApduError):
    """The card's certificate file does not hold a decodable X.509 certificate."""


def certificate_role(label: str) -> str:
    """``Certificat d'Authentification CPS`` / ``de Signature`` / ``Technique`` -> role."""
    lowered = label.lower()
    if "authentification" in lowered or "authentication" in lowered:
        return ROLE_AUTHENTICATION
    if "signature" in lowered:
        return ROLE_SIGNATURE
    if "technique" in lowered or "technical" in lowered:
        return ROLE_TECHNICAL
    return ROLE_OTHER


def as_utc(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def certificate_state(not_before: datetime, not_after: datetime, now: datetime) -> str:
    now, not_before, not_after = as_utc(now), as_utc(not_before), as_utc(not_after)
    if now < not_before:
        return CERT_NOT_YET_VALID
    if now > not_after:
        return CERT_EXPIRED
    if not_after - now <= EXPIRES_SOON:
        return CERT_EXPIRES_SOON
    return CERT_VALID


def key_description(certificate: x509.Certificate) -> str | None:
    """``RSA 2048``...; None when the key cannot be decoded (unknown algorithm, damaged key):
    the rest of the certificate, its dates above all, is still worth reporting."""
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return type(key).__name__.replace("PublicKey", "")
    return type(key).__name__


def decode_certificate(der: bytes, *, label: str, path: str, now: datetime) -> Certificate:
    """Decode one DER certificate; raises :class:`CertificateError` when it is not one."""
    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string(_ATTRIBUTE_NAMES)
        issuer = cert.issuer.rfc4514_string(_ATTRIBUTE_NAMES)
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
        common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(common_names[0].value) if common_names else None
        key = key_description(cert)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        # cryptography has several unrelated exception types for bad DER: each seen by fuzzing.
        raise CertificateError(f"{path}: not a readable X.509 certificate ({exc})") from exc
    serial = cert.serial_number
    return Certificate(
        role=certificate_role(label),
        label=label,
        path=path,
        subject=subject,
        issuer=issuer,
        serial_number=f"{serial:X}" if serial >= 0 else f"-{-serial:X}",
        not_before=not_before,
        not_after=not_after,
        key=key,
        state=certificate_state(not_before, not_after, now),
        sha256=hashlib.sha256(der).hexdigest().upper(),
        subject_common_name=common_name,
    )
