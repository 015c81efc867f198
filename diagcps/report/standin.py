"""Stand-ins for the card's certificates in a redacted transcript.

A certificate identifies its holder several times over: its serial number and public key are in
the public ANS directory, and the CA's signature lets anyone confirm a guessed identity. Replacing
a few names inside it is not enough, so a redacted transcript carries a *stand-in* instead: a
certificate of the same structure (the same subject attributes in the same order, with
pseudonymous values; the same issuer, validity dates, signature algorithm and extensions), but a
fresh key of the same type and size, a random serial number, and a signature by a throwaway key.
Replay then judges it exactly as the real one (dates, role, key type), and it proves nothing.

The stand-in has the *same length* as the original in DER, because the card's answers are read
chunk by chunk to that length: a different length would change the commands replay must find.
The length is matched with the serial number's length (1 to 20 bytes) and, if needed, a filler
extension (non-critical, OID ``2.25.0``, content zeros).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable
from datetime import timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

#: Subject attributes that say nothing of the holder (the country; the profession, which the
#: report shows anyway): kept as they are. Every other attribute value is pseudonymised.
KEPT_ATTRIBUTES = frozenset({NameOID.COUNTRY_NAME, NameOID.TITLE})

FILLER_OID = x509.ObjectIdentifier("2.25.0")
MAX_SERIAL_BYTES = 20


class NoStandin(Exception):
    """A stand-in of the same structure and length could not be made (unusual certificate)."""


def make_standin(der: bytes, pseudonymise: Callable[[x509.ObjectIdentifier, str], str]) -> bytes:
    """A stand-in for the DER certificate ``der``, of exactly ``len(der)`` bytes.

    ``pseudonymise(oid, value)`` gives the pseudonym of a subject attribute value (the run's
    :class:`~diagcps.report.redact.Pseudonyms`, so that the subject agrees with the identity
    files). Raises :class:`NoStandin`.
    """
    try:
        original = x509.load_der_x509_certificate(der)
        subject = _subject(original.subject, pseudonymise)
        key, signer, algorithm = _keys(original)
        extensions = _extensions(original, key.public_key())
    except NoStandin:
        raise
    except Exception as exc:
        raise NoStandin(f"{type(exc).__name__}: {exc}") from exc
    serial_len = max(1, min(MAX_SERIAL_BYTES, (original.serial_number.bit_length() + 8) // 8))
    filler: int | None = None
    for _ in range(48):
        built = _build(original, subject, key, signer, algorithm, extensions, serial_len, filler)
        diff = len(der) - len(built)
        if diff == 0:
            return built
        if filler is None and 1 <= serial_len + diff <= MAX_SERIAL_BYTES:
            serial_len += diff
        elif filler is None and diff > 0:
            filler, serial_len = 0, 1
        elif filler is not None and filler + diff >= 0:
            filler += diff
            if diff in (-1, 1) and serial_len < MAX_SERIAL_BYTES:
                serial_len += 1  # a length header crossing a boundary: move the other way too
                filler -= 1
        else:
            raise NoStandin(f"stand-in is {-diff} bytes longer than the certificate")
    raise NoStandin("stand-in length did not settle")


def _subject(name: x509.Name,
             pseudonymise: Callable[[x509.ObjectIdentifier, str], str]) -> x509.Name:
    rdns = []
    for rdn in name.rdns:
        attributes = []
        for attribute in rdn:
            value = attribute.value
            if attribute.oid not in KEPT_ATTRIBUTES and isinstance(value, str):
                value = pseudonymise(attribute.oid, value)
            attributes.append(x509.NameAttribute(attribute.oid, value, _type=attribute._type))
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def _keys(original: x509.Certificate) -> tuple[object, object, hashes.HashAlgorithm | None]:
    """A fresh subject key like the original's, and a throwaway signing key like the CA's."""
    public = original.public_key()
    algorithm = original.signature_hash_algorithm
    if isinstance(public, rsa.RSAPublicKey):
        key: object = rsa.generate_private_key(65537, public.key_size)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key = ec.generate_private_key(public.curve)
    elif isinstance(public, ed25519.Ed25519PublicKey):
        key = ed25519.Ed25519PrivateKey.generate()
    elif isinstance(public, ed448.Ed448PublicKey):
        key = ed448.Ed448PrivateKey.generate()
    else:
        raise NoStandin(f"key type {type(public).__name__} not reproduced")
    oid = original.signature_algorithm_oid._name.lower()
    if "rsa" in oid:
        signer: object = rsa.generate_private_key(65537, len(original.signature) * 8)
    elif "ecdsa" in oid:
        size = algorithm.digest_size if algorithm is not None else 32
        curve = {32: ec.SECP256R1(), 48: ec.SECP384R1(), 64: ec.SECP521R1()}.get(size,
                                                                             ec.SECP256R1())
        signer = ec.generate_private_key(curve)
    elif "ed25519" in oid:
        signer, algorithm = ed25519.Ed25519PrivateKey.generate(), None
    else:
        raise NoStandin(f"signature algorithm {oid} not reproduced")
    return key, signer, algorithm


#: Extensions about the CA and the certificate's use, never about its holder: copied byte for
#: byte (their exact encoding keeps the stand-in's structure).
COPIED_EXTENSIONS = frozenset({
    ExtensionOID.KEY_USAGE, ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS, ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.FRESHEST_CRL, ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.ISSUER_ALTERNATIVE_NAME, ExtensionOID.INHIBIT_ANY_POLICY,
    ExtensionOID.POLICY_MAPPINGS,
})


def _extensions(original: x509.Certificate, public: object) -> list[x509.Extension]:
    """The original's extensions: those about the CA copied as they are; the subject key
    identifier recomputed for the fresh key; the alternative names pseudonymised; any other
    (subject directory attributes, private ones) emptied, same length."""
    out = []
    for ext in original.extensions:
        value = ext.value
        if ext.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            value = x509.SubjectKeyIdentifier.from_public_key(public)  # type: ignore[arg-type]
        elif ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
            value = x509.SubjectAlternativeName([_general_name(n) for n in value])
        elif ext.oid in COPIED_EXTENSIONS and not isinstance(value, x509.UnrecognizedExtension):
            # Failing that, cryptography re-encodes it: same meaning, length matched below.
            with contextlib.suppress(AttributeError, NotImplementedError, ValueError):
                value = x509.UnrecognizedExtension(ext.oid, value.public_bytes())
        else:
            raw = value.value if isinstance(value, x509.UnrecognizedExtension) else \
                _raw_extension(original, ext.oid)
            value = x509.UnrecognizedExtension(ext.oid, _octets(len(raw)))
        out.append(x509.Extension(ext.oid, ext.critical, value))
    return out


def _raw_extension(original: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes:
    try:
        return original.extensions.get_extension_for_oid(oid).value.public_bytes()
    except (AttributeError, NotImplementedError, ValueError):
        return b"\x04\x00"


def _general_name(name: x509.GeneralName) -> x509.GeneralName:
    if isinstance(name, (x509.RFC822Name, x509.DNSName, x509.UniformResourceIdentifier)):
        value = name.value
        fake = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") if c.isalnum() else c
                       for c in value)
        return type(name)(fake)
    # Other forms (otherName...): a same-kind value carrying nothing.
    return x509.RFC822Name("x@x.invalid")


def _octets(total: int) -> bytes:
    """A DER OCTET STRING of exactly ``total`` bytes, zeros inside (total >= 2)."""
    if total < 2:
        return b"\x04\x00"[:total]
    for header in (2, 3, 4):
        content = total - header
        if content < 0:
            break
        encoded = _der_length(content)
        if 1 + len(encoded) == header:
            return b"\x04" + encoded + bytes(content)
    return b"\x04\x00" + bytes(max(0, total - 2))


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _build(original: x509.Certificate, subject: x509.Name, key: object, signer: object,
           algorithm: hashes.HashAlgorithm | None, extensions: list[x509.Extension],
           serial_len: int, filler: int | None) -> bytes:
    serial = int.from_bytes(bytes([secrets.randbelow(0x7F) + 1])
                            + secrets.token_bytes(serial_len - 1), "big")
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(original.issuer)
               .public_key(key.public_key())  # type: ignore[attr-defined]
               .serial_number(serial)
               .not_valid_before(original.not_valid_before_utc.astimezone(timezone.utc))
               .not_valid_after(original.not_valid_after_utc.astimezone(timezone.utc)))
    for ext in extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    if filler is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(FILLER_OID, _filler(filler)), critical=False)
    cert = builder.sign(signer, algorithm)  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.DER)


def _filler(size: int) -> bytes:
    return b"\x04" + _der_length(size) + bytes(size)


def key_identifiers(der: bytes) -> list[bytes]:
    """The 20-byte values by which PKCS#15 directories may name this certificate or its key:
    the SHA-1 of the certificate, of its SubjectPublicKeyInfo, of the key bits, of an RSA
    modulus, and the subject key identifier."""
    cert = x509.load_der_x509_certificate(der)
    found = [hashlib.sha1(der).digest()]
    try:
        public = cert.public_key()
        spki = public.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        found.append(hashlib.sha1(spki).digest())
        found.append(hashlib.sha1(_bit_string_content(spki)).digest())
        if isinstance(public, rsa.RSAPublicKey):
            modulus = public.public_numbers().n
            found.append(hashlib.sha1(modulus.to_bytes((modulus.bit_length() + 7) // 8,
                                                       "big")).digest())
    except Exception:
        pass
    with contextlib.suppress(x509.ExtensionNotFound):
        found.append(cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest)
    return found


def _bit_string_content(spki: bytes) -> bytes:
    """The subjectPublicKey bits of a DER SubjectPublicKeyInfo (after its AlgorithmIdentifier)."""
    pos = 1
    pos += 1 + (spki[pos] & 0x7F if spki[pos] & 0x80 else 0)
    # AlgorithmIdentifier
    alg_len_byte = spki[pos + 1]
    if alg_len_byte & 0x80:
        n = alg_len_byte & 0x7F
        alg_len = int.from_bytes(spki[pos + 2 : pos + 2 + n], "big")
        pos += 2 + n + alg_len
    else:
        pos += 2 + alg_len_byte
    first = spki[pos + 1]
    if first & 0x80:
        n = first & 0x7F
        start = pos + 2 + n + 1
    else:
        start = pos + 2 + 1
    return spki[start:]
