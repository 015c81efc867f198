"""Redaction that cannot be undone: pseudonyms drawn at random for one run.

A pseudonym is never a function of the real value (a hash of a 12-digit identifier is reversed
by trying them all): each is drawn with :mod:`secrets` the first time a value is met, and kept
only in memory, in one :class:`Pseudonyms` per run, so that the same value gets the same pseudonym
everywhere in that run -- in the report and in the transcript, which then replays -- and a new one
in the next run. The mapping is never written anywhere.

Redaction works on fields, never on substrings of text: the card's reading is replaced by a
pseudonymous copy (:func:`pseudonymise_reading`) *before* the checks speak of it, so every
summary, detail and verdict is built from pseudonyms, and the transcript is redacted field by
field in the card's own files (:mod:`diagcps.report.transcript_redact`).

Pseudonyms keep the shape of the value (length, digits stay digits, separators stay), so layouts
and lengths stay right. National identifiers are recognisably fake: their check digit is made
wrong on purpose, and a report of a redacted card says the check is ``"masked"``.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from diagcps.cps.codes import ID_TYPE_ADELI, ID_TYPE_RPPS, is_digits, luhn_ok

#: The word a report uses for a check digit it cannot judge because the number is a pseudonym.
MASKED = "masked"


def new_run_id() -> str:
    """An identifier for one run, named in its report and its transcript (no meaning of its own:
    drawn at random, it says nothing of the machine, the user or the time)."""
    return secrets.token_hex(6)


@dataclass
class Pseudonyms:
    """The pseudonyms of one run: drawn at random, consistent within the run, never saved."""

    run_id: str = field(default_factory=new_run_id)
    _memo: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    #: SHA-256 (upper-case hex) of a real certificate -> DER of its stand-in.
    standins: dict[str, bytes] = field(default_factory=dict, repr=False)
    #: Real byte strings -> their stand-ins (certificate key identifiers in PKCS#15 directories).
    key_ids: dict[bytes, bytes] = field(default_factory=dict, repr=False)

    def _draw(self, kind: str, real: str, make: Any) -> str:
        key = (kind, real)
        if key not in self._memo:
            for _ in range(16):  # a pseudonym equal to the real value would hide nothing
                fake = make(real)
                if fake != real or not real:
                    break
            self._memo[key] = fake
        return self._memo[key]

    def digits(self, real: str) -> str:
        """Card serial, card number: random digits of the same length (and separators kept)."""
        return self._draw("digits", real, _shape)

    def name(self, real: str) -> str:
        """A name: random capital letters of the same length; spaces, hyphens, apostrophes kept."""
        return self._draw("name", real, _shape)

    def national_id(self, real: str) -> str:
        """RPPS ``8…``, ADELI ``0…``, CPE/CPA ``3FINESS/index``...: the type (first character) and
        the separators are kept, every other character drawn; where a check digit exists it is
        made wrong on purpose, so that the number can never be someone's real one."""
        return self._draw("national_id", real, _fake_national_id)

    def known(self) -> Mapping[tuple[str, str], str]:
        """What was pseudonymised so far (for checks in tests; never written)."""
        return dict(self._memo)


def _shape(real: str) -> str:
    out = []
    for char in real:
        if char.isascii() and char.isdigit():
            out.append(secrets.choice(string.digits))
        elif char.isalpha():
            letter = secrets.choice(string.ascii_uppercase)
            out.append(letter.lower() if char.islower() else letter)
        else:
            out.append(char)
    return "".join(out)


def _fake_national_id(real: str) -> str:
    if not real:
        return real
    fake = real[0] + _shape(real[1:])
    number = fake[1:]
    if fake[0] in (ID_TYPE_RPPS, ID_TYPE_ADELI) and is_digits(number) and len(number) >= 2:
        while luhn_ok(number):  # one digit in ten passes: move the last one until it fails
            number = number[:-1] + str((int(number[-1]) + 1) % 10)
        fake = fake[0] + number
    return fake


# --- the reading, field by field ---------------------------------------------------------------

def pseudonymise_reading(reading: Any, pseudonyms: Pseudonyms, now: datetime) -> Any:
    """A copy of a :class:`~diagcps.cps.model.CardReading` with every personal field replaced:
    serial, card number, the holder's names and national identifier, the certificates (by their
    stand-ins when the transcript redaction made them, else by masked copies)."""
    changes: dict[str, Any] = {}
    if reading.serial:
        changes["serial"] = pseudonyms.digits(reading.serial)
        if reading.pan and reading.pan.endswith(reading.serial):
            changes["pan"] = reading.pan[: len(reading.pan) - len(reading.serial)] \
                + changes["serial"]
    if reading.pan and "pan" not in changes:
        changes["pan"] = pseudonyms.digits(reading.pan)
    if reading.card_number:
        changes["card_number"] = pseudonyms.digits(reading.card_number)
    if reading.holder is not None:
        changes["holder"] = pseudonymise_holder(reading.holder, pseudonyms)
    changes["certificates"] = [_certificate(c, pseudonyms, now) for c in reading.certificates]
    return replace(reading, **changes)


def pseudonymise_holder(holder: Any, pseudonyms: Pseudonyms) -> Any:
    def name(value: str | None) -> str | None:
        return pseudonyms.name(value) if value else value

    changes: dict[str, Any] = {
        "birth_name": name(holder.birth_name),
        "usage_name": name(holder.usage_name),
        "first_names": [pseudonyms.name(n) for n in holder.first_names],
        "first_name": name(holder.first_name),
        "practice_name": name(holder.practice_name),
    }
    if holder.national_id:
        fake = pseudonyms.national_id(holder.national_id)
        changes["national_id"] = fake
        if holder.id_number is not None:
            changes["id_number"] = fake[len(fake) - len(holder.id_number):]
    changes = {**changes, **masked_check(holder)}
    surname = changes["practice_name"] or changes["usage_name"] or changes["birth_name"]
    parts = [p for p in (holder.civility, surname, changes["first_name"]) if p]
    changes["display_name"] = " ".join(parts) if surname else None
    return replace(holder, **changes)


def masked_check(holder: Any) -> dict[str, Any]:
    """The check digit of a pseudonymous identifier is wrong on purpose: not judged."""
    return {"id_check_digit_ok": None} if holder.national_id else {}


def mask_replayed_reading(reading: Any) -> Any:
    """A reading replayed from a redacted transcript: its identifiers are pseudonyms already;
    only their check digit must not be judged."""
    if reading is None or reading.holder is None:
        return reading
    return replace(reading, holder=replace(reading.holder, **masked_check(reading.holder)))


def _certificate(cert: Any, pseudonyms: Pseudonyms, now: datetime) -> Any:
    standin = pseudonyms.standins.get(cert.sha256)
    if standin is not None:
        from diagcps.cps.certificates import CertificateError, decode_certificate

        try:
            fake = decode_certificate(standin, label=cert.label, path=cert.path, now=now)
        except CertificateError:
            fake = None
        if fake is not None:
            return replace(fake, state=cert.state)
    # No stand-in (a certificate outside the recorded exchanges): nothing of it is kept but its
    # role, label, issuer, dates, key type and state.
    serial = secrets.token_hex(len(cert.serial_number) // 2 + 1).upper()[: len(cert.serial_number)]
    return replace(cert, subject="[masqué]", serial_number=serial,
                   sha256=secrets.token_hex(32).upper(), subject_common_name=None)


# --- the rest of a report: paths under the home folder, the login name -------------------------

def account_words(env: Mapping[str, str] | None = None) -> list[str]:
    """The login names and home folders of the user running the tool (and of the one behind
    ``sudo``), longest first: they are masked in the paths of a redacted report."""
    env = os.environ if env is None else env
    words: set[str] = set()
    for var in ("USER", "LOGNAME", "USERNAME", "SUDO_USER"):
        if env.get(var) and env[var] != "root":
            words.add(env[var])
    try:
        import getpass

        login = getpass.getuser()
        if login and login != "root":
            words.add(login)
    except Exception:
        pass
    return sorted(words, key=len, reverse=True)


#: Folders whose next component is a user's own folder, on every system diagcps runs on.
_HOME_PARENTS = re.compile(
    r"(?P<lead>(?:^|(?<=[\s'\"(=:,;]))(?:[A-Za-z]:)?[\\/](?:home|Users|Documents and Settings"
    r"|var[\\/]home|export[\\/]home)[\\/])(?P<user>[^\\/\s'\"),;]+)",
    re.IGNORECASE,
)


def mask_paths(text: str, logins: Iterable[str] = ()) -> str:
    """``/home/claire/.mozilla`` -> ``/home/[utilisateur]/.mozilla``; the same for
    ``C:\\Users\\Claire.Durand\\…`` and ``/Users/…``; a login name standing as a whole path
    component elsewhere too. Text that is not a path component is left alone."""
    text = _HOME_PARENTS.sub(lambda m: m.group("lead") + USER_MASK, text)
    for login in logins:
        text = re.sub(r"(?<=[\\/])" + re.escape(login) + r"(?=[\\/]|$|[\s'\"),;])", USER_MASK,
                      text)
    return text


USER_MASK = "[utilisateur]"


def mask_accounts(doc: Any, logins: Iterable[str] | None = None) -> Any:
    """``doc`` (a report) with :func:`mask_paths` applied to every string."""
    words = list(account_words() if logins is None else logins)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return mask_paths(node, words)
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(doc)


def holder_names(holder: Any) -> list[str]:
    """Every name the card gives its holder (the display name is built from them)."""
    names = [holder.practice_name, holder.first_name, holder.birth_name, holder.usage_name,
             *holder.first_names]
    return [name for name in names if name]
