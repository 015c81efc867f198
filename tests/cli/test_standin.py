"""Certificate stand-ins: the same structure, dates, roles and length; nothing of the holder."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from diagcps.report.standin import key_identifiers, make_standin

RPPS = "810001234567"


def _certificate(key: object, ca_key: object, algorithm: hashes.HashAlgorithm) -> bytes:
    subject = x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
        x509.RelativeDistinguishedName([
            x509.NameAttribute(NameOID.GIVEN_NAME, "Hélène"),
            x509.NameAttribute(NameOID.SURNAME, "MARTIN-DUPONT"),
            x509.NameAttribute(NameOID.COMMON_NAME, RPPS)]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.TITLE, "Médecin")]),
    ])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AC TEST")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(0x1234567890ABCDEF1234)
               .not_valid_before(datetime(2025, 1, 15, tzinfo=timezone.utc))
               .not_valid_after(datetime(2028, 1, 14, 23, 59, 59, tzinfo=timezone.utc))
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                            False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.RFC822Name("helene.martin-dupont@example.invalid")]), critical=False)
               .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                   [x509.UniformResourceIdentifier("http://crl.example.invalid/ca.crl")],
                   None, None, None)]), critical=False)
               .add_extension(x509.UnrecognizedExtension(
                   x509.ObjectIdentifier("1.2.250.1.71.9.9"),
                   b"\x0c\x0c" + RPPS.encode()), critical=False))
    return builder.sign(ca_key, algorithm).public_bytes(serialization.Encoding.DER)


def _pseudonym(_oid: x509.ObjectIdentifier, value: str) -> str:
    return "Z" * len(value)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_stand_in_keeps_the_shape_and_drops_the_holder(kind: str) -> None:
    if kind == "rsa":
        key, ca_key = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537,
                                                                                       2048)
        algorithm: hashes.HashAlgorithm = hashes.SHA256()
    else:
        key, ca_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
            ec.SECP384R1())
        algorithm = hashes.SHA384()
    der = _certificate(key, ca_key, algorithm)
    fake_der = make_standin(der, _pseudonym)
    real, fake = x509.load_der_x509_certificate(der), x509.load_der_x509_certificate(fake_der)

    assert len(fake_der) == len(der)
    assert fake.not_valid_before_utc == real.not_valid_before_utc
    assert fake.not_valid_after_utc == real.not_valid_after_utc
    assert fake.issuer == real.issuer
    assert fake.signature_hash_algorithm.name == real.signature_hash_algorithm.name
    assert type(fake.public_key()) is type(real.public_key())
    assert [e.oid for e in fake.extensions] == [e.oid for e in real.extensions]
    assert fake.extensions.get_extension_for_class(x509.KeyUsage).value == \
        real.extensions.get_extension_for_class(x509.KeyUsage).value
    assert [[a.oid for a in rdn] for rdn in fake.subject.rdns] == \
        [[a.oid for a in rdn] for rdn in real.subject.rdns]
    assert fake.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Médecin"

    assert fake.serial_number != real.serial_number
    assert fake.public_key() != real.public_key()
    for piece in (RPPS.encode(), "Hélène".encode(), b"MARTIN-DUPONT", b"helene",
                  real.signature[:16]):
        assert piece not in fake_der
    for identifier in key_identifiers(der):
        assert identifier not in fake_der
    # The stand-in proves nothing: the CA's key does not verify it.
    with pytest.raises(InvalidSignature):
        public = ca_key.public_key()
        if kind == "rsa":
            public.verify(fake.signature, fake.tbs_certificate_bytes, padding.PKCS1v15(),
                          fake.signature_hash_algorithm)
        else:
            public.verify(fake.signature, fake.tbs_certificate_bytes,
                          ec.ECDSA(fake.signature_hash_algorithm))
