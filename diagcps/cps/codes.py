"""ANS code tables (nomenclature DICO-FR.GIP), national identifiers and their check digits.

The built-in tables hold the codes of docs/CPS-CARD.md 5.3. When the Cryptolib installed
its ``DICO-FR.GIP``, its labels are preferred (it also carries R01, the RPPS specialties, which are
too many to carry here).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# --- built-in tables (DICO-FR.GIP v02.18) ------------------------------------------------------

#: G01, card category. 80/82/83 are the test versions of 00/02/03.
G01 = {
    "00": "Carte de professionnel de santé",
    "02": "Module de sécurité",
    "03": "Certificat logiciel",
    "80": "Carte de professionnel de santé (test)",
    "82": "Module de sécurité (test)",
    "83": "Certificat logiciel (test)",
}
TEST_CATEGORIES = frozenset({"80", "82", "83"})

#: G02, card type (same chip, holder category).
G02 = {"00": "CPS", "01": "CPF", "02": "CPE/CDE", "03": "CPA/CDA"}
#: The short kind the report shows for each card type.
KIND_BY_CARD_TYPE = {"00": "CPS", "01": "CPF", "02": "CPE", "03": "CPA"}

#: G03, civility.
G03 = {"22": "Madame", "23": "Mademoiselle", "31": "Monsieur"}

#: G08, person identifier type (first character of the national identifier).
G08 = {
    "0": "ADELI",
    "1": "ADELI (identifiant de cabinet / registre)",
    "2": "DRASS",
    "3": "FINESS / registre",
    "4": "SIREN / registre",
    "5": "SIRET / registre",
    "6": "RPPS (identifiant de cabinet / registre)",
    "8": "RPPS",
    "9": "Numéro d'étudiant",
    "10": "Adresse MSSanté",
}

#: G15, profession.
G15 = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-Lunetier",
    "31": "Assistant dentaire",
    "32": "Physicien médical",
    "35": "Aide-soignant",
    "36": "Ambulancier",
    "37": "Auxiliaire de puériculture",
    "38": "Préparateur en pharmacie hospitalière",
    "39": "Préparateur en pharmacie (officine)",
    "40": "Chirurgien-Dentiste",
    "50": "Sage-Femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute",
    "80": "Pédicure-Podologue",
    "81": "Orthoprothésiste",
    "82": "Podo-Orthésiste",
    "83": "Orthopédiste-Orthésiste",
    "84": "Oculariste",
    "85": "Epithésiste",
    "86": "Technicien de labo médical",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
    "98": "Manipulateur ERM",
}

#: G16, profession in training (CPF).
G16 = {"10": "Médecin", "21": "Pharmacien", "40": "Chirurgien-Dentiste", "50": "Sage-Femme"}

BUILT_IN: dict[str, Mapping[str, str]] = {
    "G01": G01, "G02": G02, "G03": G03, "G08": G08, "G15": G15, "G16": G16,
}

DICTIONARY_NAME = "DICO-FR.GIP"


# --- DICO-FR.GIP ---------------------------------------------------------------------------------


def default_dictionary_paths(platform: str | None = None,
                             environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where the Cryptolib installs DICO-FR.GIP on this kind of system."""
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    if platform.startswith("win"):
        base = environ.get("ALLUSERSPROFILE") or environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return [Path(base) / "santesocial" / "cps" / DICTIONARY_NAME]
    if platform == "darwin":
        return [Path("/Library/Preferences") / DICTIONARY_NAME]
    return [Path("/etc/opt/santesocial/CPS") / DICTIONARY_NAME]


def parse_dictionary(raw: bytes | str) -> dict[str, dict[str, str]]:
    """Parse DICO-FR.GIP: ISO-8859-1 text, one entry a line, tab-separated fields
    ``table, code, (empty), (empty), label length, label``.

    Lines that do not have that shape are skipped: the file belongs to another program and a
    newer version may add lines we do not know.
    """
    text = raw.decode("iso-8859-1") if isinstance(raw, bytes) else raw
    tables: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 6:
            continue
        table, code = fields[0].strip().upper(), fields[1].strip()
        label = "\t".join(fields[5:]).strip()
        declared = fields[4].strip()
        if is_digits(declared) and 0 < int(declared) < len(label):
            label = label[: int(declared)].rstrip()
        if not table or not code or not label:
            continue
        tables.setdefault(table, {})[code] = label
    return tables


def load_dictionary(path: Path) -> dict[str, dict[str, str]]:
    """The tables of the DICO-FR.GIP at ``path``; empty when it cannot be read."""
    try:
        return parse_dictionary(Path(path).read_bytes())
    except OSError:
        return {}


class CodeTables:
    """Code -> label, from DICO-FR.GIP when installed, else from the built-in tables."""

    def __init__(self, dictionary: Mapping[str, Mapping[str, str]] | None = None,
                 source: Path | None = None) -> None:
        self.dictionary = dict(dictionary or {})
        self.source = source

    @classmethod
    def load(cls, path: Path | None = None) -> CodeTables:
        """Tables with the dictionary at ``path``, or at the system's default place if any."""
        candidates = [Path(path)] if path is not None else default_dictionary_paths()
        for candidate in candidates:
            if candidate.is_file():
                tables = load_dictionary(candidate)
                if tables:
                    return cls(tables, candidate)
        return cls()

    def label(self, table: str, code: str | None) -> str | None:
        if code is None:
            return None
        table = table.upper()
        for source in (self.dictionary.get(table), BUILT_IN.get(table)):
            if not source:
                continue
            if code in source:
                return source[code]
            # The dictionary may write numeric codes with or without leading zeros.
            if is_digits(code):
                for key, value in source.items():
                    if is_digits(key) and int(key) == int(code) and len(key) <= 3:
                        return value
        return None


# --- check digits and national identifiers -----------------------------------------------------


def is_digits(text: str) -> bool:
    """Only the ASCII digits 0-9: ``str.isdigit`` also accepts ``²`` or ``٣``, which ``int``
    then refuses (card text is ISO-8859-1, where ``²`` is byte B2)."""
    return text.isascii() and text.isdigit()


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that completes ``digits`` (ISO/IEC 7812-1 annex B)."""
    if not is_digits(digits):
        raise ValueError(f"not all digits: {digits!r}")
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: every second digit from the right, check digit excluded
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def luhn_ok(number: str) -> bool:
    """Whether the last digit of ``number`` is the Luhn check digit of the others."""
    if len(number) < 2 or not is_digits(number):
        return False
    return luhn_check_digit(number[:-1]) == int(number[-1])


RPPS_LENGTH = 11
ADELI_LENGTH = 9
ID_TYPE_ADELI = "0"
ID_TYPE_RPPS = "8"


def rpps_ok(number: str) -> bool:
    """RPPS: 11 digits, the last a Luhn check digit (holds for every published test number)."""
    return len(number) == RPPS_LENGTH and luhn_ok(number)


def adeli_ok(number: str) -> bool | None:
    """ADELI: 9 characters; the published test numbers pass Luhn but the rule is unconfirmed.

    ``None`` when the number cannot be checked (Corsican départements ``2A``/``2B``).
    """
    if len(number) != ADELI_LENGTH:
        return False
    if not is_digits(number):
        return None
    return luhn_ok(number)


@dataclass(frozen=True)
class NationalId:
    raw: str
    id_type: str | None
    id_type_label: str | None
    number: str | None
    #: ``None`` when the type has no known check rule.
    check_digit_ok: bool | None
    #: ``True`` when the rule is confirmed (RPPS), ``False`` when only likely (ADELI).
    check_confirmed: bool


def split_national_id(raw: str, tables: CodeTables | None = None) -> NationalId:
    """``"899700075122"`` -> type ``8`` (RPPS), number ``99700075122``, check digit ok."""
    tables = tables or CodeTables()
    text = raw.strip()
    if not text:
        return NationalId(raw, None, None, None, None, False)
    id_type, number = text[0], text[1:]
    label = tables.label("G08", id_type)
    if id_type == ID_TYPE_RPPS:
        return NationalId(raw, id_type, label, number, rpps_ok(number), True)
    if id_type == ID_TYPE_ADELI:
        return NationalId(raw, id_type, label, number, adeli_ok(number), False)
    return NationalId(raw, id_type, label, number, None, False)
