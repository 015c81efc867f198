"""Code tables, DICO-FR.GIP, check digits and national identifiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagcps.cps.codes import (
    G15,
    CodeTables,
    adeli_ok,
    default_dictionary_paths,
    load_dictionary,
    luhn_check_digit,
    luhn_ok,
    parse_dictionary,
    rpps_ok,
    split_national_id,
)

DICO_LINES = [
    "G15\t10\t\t\t22\tMédecin (dictionnaire)",
    "R01\tSM26\t\t\t31\tQualifié en Médecine Générale",
    "G03\t31\t\t\t8\tMonsieur",
    "G08\t8\t\t\t4\tRPPS        ",
    "# a comment line the parser must skip",
    "G15\t\t\t\t3\tnothing",  # no code: skipped
    "R01\tSM53\t\t\t5\tDiabétologie et plus",  # declared length shorter: label cut
]


@pytest.fixture
def dictionary(tmp_path: Path) -> Path:
    path = tmp_path / "DICO-FR.GIP"
    path.write_bytes("\r\n".join(DICO_LINES).encode("iso-8859-1"))
    return path


def test_built_in_tables() -> None:
    tables = CodeTables()
    assert tables.label("G01", "80") == "Carte de professionnel de santé (test)"
    assert tables.label("G02", "01") == "CPF"
    assert tables.label("G03", "23") == "Mademoiselle"
    assert tables.label("G08", "0") == "ADELI"
    assert tables.label("G15", "91") == "Orthophoniste"
    assert tables.label("G16", "50") == "Sage-Femme"
    assert tables.label("G15", "99") is None
    assert tables.label("R01", "SM26") is None  # not carried: too long
    assert tables.label("G15", None) is None
    assert len(G15) == 29


def test_dictionary_is_parsed_as_iso_8859_1(dictionary: Path) -> None:
    tables = load_dictionary(dictionary)
    assert tables["R01"]["SM26"] == "Qualifié en Médecine Générale"
    assert tables["G08"]["8"] == "RPPS"
    assert tables["R01"]["SM53"] == "Diabé"
    assert "" not in tables["G15"]


def test_dictionary_labels_win_and_built_ins_fill_the_gaps(dictionary: Path) -> None:
    tables = CodeTables.load(dictionary)
    assert tables.source == dictionary
    assert tables.label("G15", "10") == "Médecin (dictionnaire)"
    assert tables.label("R01", "SM26") == "Qualifié en Médecine Générale"
    assert tables.label("G15", "91") == "Orthophoniste"


def test_numeric_codes_match_with_or_without_leading_zeros() -> None:
    tables = CodeTables(parse_dictionary("G02\t1\t\t\t3\tCPF\n"))
    assert tables.label("G02", "01") == "CPF"


def test_a_missing_or_unreadable_dictionary_falls_back_to_built_ins(tmp_path: Path) -> None:
    tables = CodeTables.load(tmp_path / "absent.GIP")
    assert tables.source is None and tables.label("G03", "31") == "Monsieur"
    assert load_dictionary(tmp_path) == {}


def test_parse_tolerates_garbage() -> None:
    assert parse_dictionary(b"\x00\xff\n\t\t\t\n") == {}


@pytest.mark.parametrize(("platform", "environ", "expected"), [
    ("linux", {}, "/etc/opt/santesocial/CPS/DICO-FR.GIP"),
    ("darwin", {}, "/Library/Preferences/DICO-FR.GIP"),
    ("win32", {"ALLUSERSPROFILE": "C:/ProgramData"}, "C:/ProgramData/santesocial/cps/DICO-FR.GIP"),
])
def test_default_dictionary_places(platform: str, environ: dict[str, str], expected: str) -> None:
    assert default_dictionary_paths(platform, environ) == [Path(expected)]


def test_luhn() -> None:
    assert luhn_check_digit("802500000199213845") == 0  # the public trace's EF.SN
    assert luhn_ok("8025000001992138450")
    assert not luhn_ok("8025000001992138451")
    assert not luhn_ok("12a4") and not luhn_ok("7")
    with pytest.raises(ValueError):
        luhn_check_digit("12a")


@pytest.mark.parametrize("number", ["99700075122", "99700366240", "99700735741"])
def test_published_rpps_test_numbers_pass(number: str) -> None:
    assert rpps_ok(number)


@pytest.mark.parametrize("number", ["99700075123", "9970007512", "997000751220", "9970007512X"])
def test_bad_rpps_numbers_fail(number: str) -> None:
    assert not rpps_ok(number)


@pytest.mark.parametrize("number", ["991086265", "991038431", "991023763", "991091976"])
def test_published_adeli_test_numbers_pass(number: str) -> None:
    assert adeli_ok(number) is True


def test_adeli_oddities() -> None:
    assert adeli_ok("991086266") is False
    assert adeli_ok("2A1086265") is None  # Corsica: no known rule over letters
    assert adeli_ok("99108626") is False


def test_split_national_identifiers() -> None:
    rpps = split_national_id("899700075122")
    assert (rpps.id_type, rpps.id_type_label, rpps.number, rpps.check_digit_ok,
            rpps.check_confirmed) == ("8", "RPPS", "99700075122", True, True)
    adeli = split_national_id("0991086265")
    assert (adeli.id_type_label, adeli.number, adeli.check_digit_ok, adeli.check_confirmed) == (
        "ADELI", "991086265", True, False)
    student = split_national_id("9123456")
    assert student.id_type == "9" and student.check_digit_ok is None
    empty = split_national_id("  ")
    assert empty.id_type is None and empty.number is None
