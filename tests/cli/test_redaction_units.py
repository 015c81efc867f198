"""Units of redaction: pseudonyms drawn at random, the shape they keep, the paths they mask."""

from __future__ import annotations

import json
from pathlib import Path

from diagcps.cps.codes import luhn_ok
from diagcps.report.redact import USER_MASK, Pseudonyms, mask_accounts, mask_paths
from diagcps.report.transcript_redact import _files

ROOT = Path(__file__).resolve().parents[2]


def test_a_pseudonym_is_stable_in_a_run_and_drawn_again_in_the_next() -> None:
    first, second = Pseudonyms(), Pseudonyms()
    assert first.digits("99213845") == first.digits("99213845")
    draws = {Pseudonyms().digits("99213845") for _ in range(20)}
    assert len(draws) > 15  # not a function of the value
    assert first.run_id != second.run_id and len(first.run_id) == 12


def test_national_identifiers_keep_their_type_and_fail_their_check_on_purpose() -> None:
    p = Pseudonyms()
    for real in ("899700075122", "810001234567", "0751234568"):
        for _ in range(30):
            fake = Pseudonyms().national_id(real)
            assert fake[0] == real[0] and len(fake) == len(real) and fake != real
            assert not luhn_ok(fake[1:])
    cpe = p.national_id("3751234567/0012")
    assert cpe[0] == "3" and cpe[10] == "/" and cpe[1:10].isdigit() and cpe != "3751234567/0012"


def test_names_keep_their_length_and_separators() -> None:
    fake = Pseudonyms().name("DURAND-ESSAI D'ARC")
    assert len(fake) == 18 and fake[6] == "-" and fake[12] == " " and fake[14] == "'"
    assert fake.replace("-", "").replace(" ", "").replace("'", "").isalpha()


def test_paths_under_a_home_folder_and_login_names_are_masked() -> None:
    cases = {
        "/home/claire/.mozilla/firefox/x.default": f"/home/{USER_MASK}/.mozilla/firefox/x.default",
        "C:\\Users\\Claire.Durand\\AppData\\Roaming": f"C:\\Users\\{USER_MASK}\\AppData\\Roaming",
        "/Users/cdurand/Library/Application Support/Firefox":
            f"/Users/{USER_MASK}/Library/Application Support/Firefox",
        "profil : /srv/comptes/cdurand/firefox": f"profil : /srv/comptes/{USER_MASK}/firefox",
    }
    for path, masked in cases.items():
        assert mask_paths(path, ["cdurand"]) == masked
    # Text that is not a path component is left alone.
    assert mask_paths("FINESS / registre, cdurandx", ["cdurand"]) == "FINESS / registre, cdurandx"
    doc = {"checks": [{"details": {"profiles_checked": ["/home/ines/.mozilla/p"]},
                       "summary": "FINESS"}]}
    assert mask_accounts(doc, ["ines"]) == {
        "checks": [{"details": {"profiles_checked": [f"/home/{USER_MASK}/.mozilla/p"]},
                    "summary": "FINESS"}]}


def test_the_answers_are_put_back_into_the_files_they_were_read_from() -> None:
    from apdu.transcript import Transcript

    transcript = Transcript.load(ROOT / "fixtures" / "transcripts" / "cps3-healthy.json")
    files = _files(transcript.exchanges)
    profile = json.loads((ROOT / "cardsim" / "profiles" / "cps3-healthy.json").read_text())
    on_card = {f["path"]: bytes.fromhex(f.get("data", "")) for f in profile["files"]}
    certificate = bytes(files.images["select:09:3F000001C001"])
    assert on_card["3F00/0001/C001"].startswith(certificate) and len(certificate) > 900
    assert bytes(files.images["sfi:1C"]) == on_card["3F00/D003"][: len(files.images["sfi:1C"])]


def test_a_value_outside_the_known_layouts_is_still_replaced_and_said() -> None:
    from types import SimpleNamespace

    from apdu.transcript import Exchange, Provenance, Transcript
    from diagcps.report.transcript_redact import redact_transcript

    holder = SimpleNamespace(national_id="899700075122", practice_name="DURAND-ESSAI",
                             first_name=None, birth_name=None, usage_name=None, first_names=[])
    reading = SimpleNamespace(serial="99213845", card_number=None, holder=holder)
    # An unknown object (tag 99) of an unknown file that holds the identifier and the name.
    data = b"\x99\x18" + b"899700075122" + b"DURAND-ESSAI"
    transcript = Transcript(b"\x3b\x00", Provenance("test"), [
        Exchange(bytes.fromhex("00A4090C043F00DEAD"), b"\x90\x00"),
        Exchange(bytes.fromhex("00B000001A"), data + b"\x90\x00")])
    pseudonyms = Pseudonyms()
    redacted = redact_transcript(transcript, pseudonyms, [reading])
    answer = redacted.exchanges[1].response
    assert b"899700075122" not in answer and b"DURAND-ESSAI" not in answer
    assert pseudonyms.national_id("899700075122").encode() in answer
    assert len(answer) == len(data) + 2 and answer[-2:] == b"\x90\x00"
    assert any("outside the known layouts" in r for r in redacted.provenance.redactions)
    assert redacted.provenance.redacted and redacted.provenance.run_id == pseudonyms.run_id
