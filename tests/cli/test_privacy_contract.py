"""The privacy contract of README.md ("What a redacted file keeps and hides"), field by field, on
every card profile of the repository, plus a CPE card (``FINESS/index`` identifier) whose holder
is called INES (the name inside "FINESS").

For each profile, ``check --redact --output --record`` is compared with the plain run:

* every field the contract keeps is equal; every field it hides is a pseudonym of the same shape
  (same length, same separators) that differs from the real value;
* no real value (serial, card number, identifier, names, certificate serials and subjects) is
  anywhere in the report's text or in the transcript's bytes (Latin-1, UTF-8 and BCD);
* nothing of the real certificates survives in the transcript: not the DER, not the public key,
  not the CA's signature, not the key identifiers;
* the transcript replays to the same card as the report says, flagged redacted, with the run id
  of the report, the identifier's check "masked" and no e-CPS instruction;
* two runs draw different pseudonyms (they are not a function of the real value).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from apdu.transcript import Transcript
from diagcps.cli import main
from diagcps.report.model import load_schema

NOW = "2026-11-28T09:00:00"
REPOSITORY_PROFILES = Path(__file__).resolve().parents[2] / "cardsim" / "profiles"
PROFILES = sorted(p.stem for p in REPOSITORY_PROFILES.glob("*.json"))

CARD_KEPT = ("generation", "recognised", "detection", "kind", "test_card", "issued", "expires",
             "update_incident", "pin", "unblock", "apdu_count")
CARD_PSEUDONYMS = ("serial", "card_number")
HOLDER_KEPT = ("id_type", "id_type_label", "civility", "profession_code", "profession",
               "specialty_code")
HOLDER_PSEUDONYMS = ("national_id", "id_number", "practice_name", "first_name")
CERTIFICATE_KEPT = ("role", "label", "issuer", "not_before", "not_after", "key", "state")


def _json(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, [*args, "--json", "--now", NOW])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def _same_shape(fake: str, real: str) -> bool:
    if len(fake) != len(real):
        return False
    for a, b in zip(fake, real, strict=True):
        if b.isdigit() != a.isdigit() or (not b.isalnum() and a != b):
            return False
    return True


def _certificates(profile: Path) -> list[bytes]:
    doc = json.loads(profile.read_text())
    found = []
    for item in doc.get("files", []):
        data = bytes.fromhex(item.get("data", ""))
        if data[:2] == b"\x30\x82":
            der = data[: 4 + int.from_bytes(data[2:4], "big")]
            try:
                x509.load_der_x509_certificate(der)
            except ValueError:
                continue
            found.append(der)
    return found


def _secrets(card: dict[str, Any] | None) -> list[str]:
    """Every personal value of a plain report's card, as text."""
    if card is None:
        return []
    values = [card["serial"], card["card_number"]]
    holder = card["holder"] or {}
    values += [holder.get(k) for k in HOLDER_PSEUDONYMS]
    for cert in card["certificates"]:
        if len(cert["serial_number"] or "") >= 8:  # shorter ones match any hex by chance
            values.append(cert["serial_number"])
        for part in (cert["subject"] or "").replace("+", ",").split(","):
            key, _, value = part.partition("=")
            if key not in ("C", "title", "2.5.4.12"):
                values.append(value)
    return [v for v in values if v and len(v) >= 3]


def _encodings(value: str) -> list[bytes]:
    out = {value.encode("utf-8")}
    with contextlib.suppress(UnicodeEncodeError):
        out.add(value.encode("iso-8859-1"))
    if value.isdigit():
        out.add(bytes.fromhex(value + "F" * (len(value) % 2)))
        if len(value) % 2 == 0:
            out.add(bytes.fromhex(value))
    return list(out)


def _certificate_marks(der: bytes) -> list[bytes]:
    """Pieces that identify a real certificate: itself, its key, its signature, its ids."""
    from diagcps.report.standin import key_identifiers

    cert = x509.load_der_x509_certificate(der)
    marks = [der, cert.signature[:16], cert.signature[-16:], *key_identifiers(der)]
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        modulus = key.public_numbers().n.to_bytes(key.key_size // 8, "big")
        marks += [modulus[:16], modulus[-16:]]
    serial = cert.serial_number
    if serial.bit_length() >= 32:
        marks.append(serial.to_bytes((serial.bit_length() + 7) // 8, "big"))
    return marks


def _answers(path: Path) -> list[bytes]:
    transcript = Transcript.load(path)
    datas = [e.response[:-2] for e in transcript.exchanges]
    return [*datas, b"".join(datas)]  # a value may be cut across two READ BINARY answers


def _enforce(profile_arg: str, profile_file: Path, tmp_path: Path) -> dict[str, Any]:
    _, plain = _json(["check", "--virtual-card", profile_arg])
    report_path, transcript_path = tmp_path / "rapport.json", tmp_path / "session.json"
    _, redacted = _json(["check", "--virtual-card", profile_arg, "--redact",
                         "--output", str(report_path), "--record", str(transcript_path)])
    assert json.loads(report_path.read_text()) == redacted
    import jsonschema

    jsonschema.validate(redacted, load_schema())
    assert redacted["redacted"] is True
    assert redacted["help"]["ecps"] == []
    real, fake = plain["readers"][0]["card"], redacted["readers"][0]["card"]

    # The report, field by field.
    assert (real is None) == (fake is None)
    if real is not None:
        for key in CARD_KEPT:
            assert fake[key] == real[key], key
        for key in CARD_PSEUDONYMS:
            if real[key] is None:
                assert fake[key] is None
            else:
                assert fake[key] != real[key] and _same_shape(fake[key], real[key]), key
        if real["holder"] is not None:
            for key in HOLDER_KEPT:
                assert fake["holder"][key] == real["holder"][key], key
            for key in HOLDER_PSEUDONYMS:
                r, f = real["holder"][key], fake["holder"][key]
                if r is None:
                    assert f is None, key
                else:
                    assert f != r and _same_shape(f, r), (key, f, r)
            if real["holder"]["national_id"]:
                assert fake["holder"]["national_id"][0] == real["holder"]["national_id"][0]
                assert fake["holder"]["id_check_digit"] == "masked"
                assert fake["holder"]["id_check_digit_ok"] is None
        assert len(fake["certificates"]) == len(real["certificates"])
        for r_cert, f_cert in zip(real["certificates"], fake["certificates"], strict=True):
            for key in CERTIFICATE_KEPT:
                assert f_cert[key] == r_cert[key], key
            assert f_cert["serial_number"] != r_cert["serial_number"]
            assert f_cert["subject"] != r_cert["subject"]

    # Nothing real anywhere in the report's text.
    text = json.dumps(redacted, ensure_ascii=False)
    for secret in _secrets(real):
        if secret.isdigit():  # digits: anywhere, a serial inside a longer number too
            assert secret not in text, secret
        else:  # as a word: the name INES is not in "FINESS" (which the report keeps intact)
            assert not re.search(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", text), secret

    # Nothing real in the transcript's bytes; nothing of the real certificates.
    answers = _answers(transcript_path)
    for secret in _secrets(real):
        for encoded in _encodings(secret):
            if len(encoded) >= 3:
                assert not any(encoded in a for a in answers), (secret, encoded)
    for der in _certificates(profile_file):
        for mark in _certificate_marks(der):
            assert not any(mark in a for a in answers), mark.hex()

    # The transcript replays as the redacted report says, and names its run.
    transcript = Transcript.load(transcript_path)
    assert transcript.provenance.redacted is True
    assert transcript.provenance.run_id == redacted["run_id"]
    _, replayed = _json(["replay", str(transcript_path)])
    jsonschema.validate(replayed, load_schema())
    assert replayed["redacted"] is True
    assert replayed["source"]["run_id"] == redacted["run_id"]
    assert replayed["help"]["ecps"] == []
    assert replayed["readers"][0]["card"] == fake
    statuses = {c["id"]: c["status"] for c in plain["checks"] if c["id"].startswith("card.")}
    again = {c["id"]: c["status"] for c in replayed["checks"] if c["id"].startswith("card.")}
    for check_id, status in statuses.items():
        if check_id != "card.identity":  # a wrong check digit on the card is masked too
            assert again[check_id] == status, check_id
    return redacted


@pytest.mark.parametrize("profile", PROFILES)
def test_the_privacy_contract_holds_for_every_profile(tmp_path: Path, profile: str) -> None:
    _enforce(profile, REPOSITORY_PROFILES / f"{profile}.json", tmp_path)


def test_pseudonyms_are_drawn_again_for_each_run(tmp_path: Path) -> None:
    first = _json(["check", "--virtual-card", "cps3-healthy", "--redact"])[1]
    second = _json(["check", "--virtual-card", "cps3-healthy", "--redact"])[1]
    a, b = first["readers"][0]["card"], second["readers"][0]["card"]
    assert first["run_id"] != second["run_id"]
    assert a["serial"] != b["serial"]
    assert a["holder"]["national_id"] != b["holder"]["national_id"]
    assert a["holder"]["practice_name"] != b["holder"]["practice_name"]


# --- a CPE card of a holder called INES --------------------------------------------------------

def _tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80
    return bytes([tag, len(value)]) + value


def _children(data: bytes) -> list[tuple[int, bytes]]:
    body = data[2 : 2 + data[1]]
    out, pos = [], 0
    while pos < len(body):
        tag, length = body[pos], body[pos + 1]
        out.append((tag, body[pos + 2 : pos + 2 + length]))
        pos += 2 + length
    return out


def _rebuilt(data: bytes, changes: dict[int, bytes]) -> str:
    container = data[0]
    body = b"".join(_tlv(t, changes.get(t, v)) for t, v in _children(data))
    out = _tlv(container, body)
    return (out + bytes(len(data) - len(out))).hex().upper()


def _cpe_profile(tmp_path: Path) -> Path:
    """cps3-healthy turned into a CPE (card type 02, identifier ``3`` + FINESS + ``/`` + index)
    of a holder whose first name is INES: the changes are made here, the profile file stays."""
    doc = json.loads((REPOSITORY_PROFILES / "cps3-healthy.json").read_text())
    for item in doc["files"]:
        data = bytes.fromhex(item.get("data", ""))
        if item["path"].count("/") != 2:  # 3F00/D003 is EF.SN, not CPS_INFO_PS
            continue
        if item["path"].endswith("D003"):
            item["data"] = _rebuilt(data, {0x80: b"\x02\x00", 0x81: b"3751234567/0012"})
        elif item["path"].endswith("D002"):
            item["data"] = _rebuilt(data, {0x83: b"INES\xffMARIE", 0x84: b"INES"})
    path = tmp_path / "cpe-ines.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_cpe_identifier_is_hidden_whole_and_text_around_a_name_is_left_alone(
        tmp_path: Path) -> None:
    profile = _cpe_profile(tmp_path)
    _, plain = _json(["check", "--virtual-card", str(profile)])
    holder = plain["readers"][0]["card"]["holder"]
    assert holder["national_id"] == "3751234567/0012" and holder["first_name"] == "INES"
    assert plain["readers"][0]["card"]["kind"] == "CPE"
    redacted = _enforce(str(profile), profile, tmp_path)
    fake = redacted["readers"][0]["card"]["holder"]
    assert fake["national_id"][0] == "3" and fake["national_id"][10] == "/"
    assert fake["id_type_label"] == holder["id_type_label"]  # "FINESS / registre", unmangled
    text = json.dumps(redacted, ensure_ascii=False)
    for real in ("751234567", "3751234567/0012", "INES ", " INES"):
        assert real not in text
    transcript = (tmp_path / "session.json").read_bytes()
    assert b"751234567".hex().upper().encode() not in transcript
    assert hashlib.sha256(transcript).hexdigest()  # written and readable


def test_the_view_of_a_redacted_report_says_its_values_are_pseudonyms(tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    _, report = _json(["check", "--virtual-card", "cps3-healthy", "--redact", "--record",
                       str(transcript)])
    shown = CliRunner().invoke(main, ["replay", str(transcript), "--now", NOW]).stdout
    assert "pseudonymes" in shown and report["run_id"] in shown.replace("\n", "")
    plain = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--now", NOW])
    assert "pseudonymes" not in plain.stdout
