"""Certificates: roles by label, decoding with cryptography, states against a fixed clock."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from diagcps.cps.certificates import (
    CertificateError,
    certificate_role,
    certificate_state,
    decode_certificate,
)
from diagcps.cps.session import der_total_length

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
UTC = timezone.utc


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, not_before: datetime,
              not_after: datetime, serial: int = 0x1234ABCD) -> bytes:
    subject = x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, "Médecin")]),
        x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.COMMON_NAME, "899700075122"),
            x509.NameAttribute(NameOID.SURNAME, "DURAND-ESSAI"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "CLAIRE"),
        ]),
    ])
    issuer = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "AC IGC-SANTE FORT PERSONNES")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize(("label", "role"), [
    ("Certificat d'Authentification CPS", "authentication"),
    ("Certificat de Signature CPS", "signature"),
    ("Certificat Technique CPS", "technical"),
    ("CPS_CA", "other"),
])
def test_roles_come_from_the_label(label: str, role: str) -> None:
    assert certificate_role(label) == role


@pytest.mark.parametrize(("not_before", "not_after", "state"), [
    (NOW - timedelta(days=365), NOW + timedelta(days=365), "valid"),
    (NOW - timedelta(days=365), NOW + timedelta(days=61), "valid"),
    (NOW - timedelta(days=365), NOW + timedelta(days=60), "expires_soon"),
    (NOW - timedelta(days=365), NOW + timedelta(seconds=1), "expires_soon"),
    (NOW - timedelta(days=365), NOW - timedelta(seconds=1), "expired"),
    (NOW + timedelta(days=1), NOW + timedelta(days=365), "not_yet_valid"),
])
def test_states_against_a_fixed_clock(not_before: datetime, not_after: datetime,
                                      state: str) -> None:
    assert certificate_state(not_before, not_after, NOW) == state


def test_a_naive_clock_is_taken_as_utc() -> None:
    assert certificate_state(NOW - timedelta(days=1), NOW + timedelta(days=100),
                             NOW.replace(tzinfo=None)) == "valid"


def test_decode_a_cps_shaped_certificate(rsa_key: rsa.RSAPrivateKey) -> None:
    der = make_cert(rsa_key, datetime(2025, 1, 15, tzinfo=UTC), datetime(2028, 1, 14, tzinfo=UTC))
    cert = decode_certificate(der, label="Certificat d'Authentification CPS",
                              path="3F00/0001/C001", now=NOW)
    assert cert.role == "authentication" and cert.state == "valid"
    assert cert.key == "RSA 2048"
    assert cert.serial_number == "1234ABCD"
    assert cert.sha256 == hashlib.sha256(der).hexdigest().upper()
    assert cert.not_after == datetime(2028, 1, 14, tzinfo=UTC)
    # RFC 4514 writes the last RDN first: the multi-valued one, with short attribute names.
    first_rdn, title, country = cert.subject.split(",")
    assert set(first_rdn.split("+")) == {"CN=899700075122", "SN=DURAND-ESSAI", "GN=CLAIRE"}
    assert (title, country) == ("title=Médecin", "C=FR")
    assert cert.issuer == "CN=AC IGC-SANTE FORT PERSONNES,C=FR"
    assert cert.subject_common_name == "899700075122"
    assert der_total_length(der[:4]) == len(der)


def test_an_expired_certificate(rsa_key: rsa.RSAPrivateKey) -> None:
    der = make_cert(rsa_key, datetime(2011, 3, 1, tzinfo=UTC), datetime(2014, 2, 28, tzinfo=UTC))
    assert decode_certificate(der, label="Certificat de Signature CPS", path="x",
                              now=NOW).state == "expired"


def test_other_key_types_are_described() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = make_cert(key, NOW - timedelta(days=1), NOW + timedelta(days=400))
    assert decode_certificate(der, label="x", path="x", now=NOW).key == "EC secp256r1"


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01\x00", b"\x00" * 100])
def test_garbage_is_a_certificate_error(der: bytes) -> None:
    with pytest.raises(CertificateError):
        decode_certificate(der, label="x", path="3F00/0001/C001", now=NOW)
