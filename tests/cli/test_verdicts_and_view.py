"""What the verdicts claim and what the screen shows, through the command line, in both languages.

* A verdict is positive only when every check it rests on ran and passed: a run with check ids
  or ``--skip`` says "diagnostic partiel (N vérifications sur M)", what was not examined and what
  a skipped prerequisite removed; the JSON says ``complete: false`` with the missing checks;
  exit code 4 when nothing failed in such a run.
* A replay is judged at the date it was recorded and shows the user's recorded computer.
* The view: remedies in the order that unblocks the user, notes for information never make a
  verdict ATTENTION, French plurals, the e-CPS panel only when it can help, the identifier in
  full on the user's own screen, the card type named, the unblock code's state with a blocked
  PIN, the facts support asks first. Golden views in fixtures/views (fr and en).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from diagcps import messages, remedies
from diagcps.checks.base import CheckResult, CheckSpec, Status
from diagcps.checks.registry import RunResult
from diagcps.cli import main
from diagcps.report import verdicts
from diagcps.report.model import load_schema
from diagcps.report.terminal import render, todo_lines
from diagcps.text import Text

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "fixtures" / "views"
NOW = "2026-11-28T09:00:00"
SCHEMA = load_schema()
LANGS = ["fr", "en"]


def check_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["check", "--json", "--now", NOW, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    return result.exit_code, report


def subprocess_json(*args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run([sys.executable, "-m", "diagcps", *args, "--json", "--now", NOW],
                          capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(done.stdout)
    jsonschema.validate(report, SCHEMA)
    return done.returncode, report, done.stderr


# --- verdicts never claim more than was checked ---------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_skipping_the_pin_check_of_a_blocked_card_is_no_clean_bill(lang: str) -> None:
    code, report = check_json("--virtual-card", "cps3-pin-blocked", "--skip", "card.pin",
                              "--lang", lang)
    card = report["verdicts"]["card"]
    assert card["status"] == "partial" and code == 4
    assert card["complete"] is False and card["missing"] == ["card.pin"]
    assert (card["checks_run"], card["checks_total"]) == (11, 12)
    lead = ("Diagnostic partiel (11 vérifications sur 12)" if lang == "fr"
            else "Partial diagnosis (11 checks of 12)")
    assert card["summary"].startswith(lead)
    assert ("Code porteur" if lang == "fr" else "PIN") in card["summary"]
    assert "opérationnelle" not in card["summary"] and "works" not in card["summary"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_single_card_check_says_neither_card_nor_workstation_is_fine(lang: str) -> None:
    code, report, _ = subprocess_json("check", "--virtual-card", "cps3-expired", "card.pin",
                                      "--lang", lang)
    card, station = report["verdicts"]["card"], report["verdicts"]["workstation"]
    assert code == 4
    assert card["status"] == "partial" and "card.validity" in card["missing"]
    assert station["status"] == "partial" and "workstation.cryptolib" in station["missing"]
    assert ("3 vérifications sur 12" if lang == "fr" else "3 checks of 12") in card["summary"]
    for verdict in (card, station):
        assert verdict["summary"] not in (messages.msg("verdict.card.ok", lang),
                                          messages.msg("verdict.workstation.ok", lang))


@pytest.mark.parametrize("lang", LANGS)
def test_a_skipped_prerequisite_says_what_it_removed(lang: str) -> None:
    code, report = check_json("--virtual-card", "cps3-healthy", "--skip", "card.detected",
                              "--lang", lang)
    pin = next(c for c in report["checks"] if c["id"] == "card.pin")
    assert pin["status"] == "skipped" and pin["details"]["excluded"] is True
    assert "card.detected" in pin["summary"]
    card = report["verdicts"]["card"]
    assert card["status"] == "partial" and code == 4
    removed = ("L’exclusion de card.detected a retiré 10 vérifications" if lang == "fr"
               else "Leaving out card.detected removed 10 checks")
    assert removed in card["summary"]


def test_a_failure_stays_a_failure_in_a_partial_run_and_says_it_is_partial() -> None:
    code, report = check_json("--virtual-card", "cps3-pin-blocked", "card.pin")
    card = report["verdicts"]["card"]
    assert (card["status"], card["code"], code) == ("fail", "PIN_BLOCKED", 1)
    assert "(diagnostic partiel : 3 vérifications sur 12)" in card["summary"]


def test_a_whole_run_is_complete() -> None:
    code, report = check_json("--virtual-card", "cps3-healthy")
    assert report["verdicts"]["card"]["complete"] is True
    assert report["verdicts"]["card"]["status"] == "ok"
    assert code in (0, 1)  # the workstation is this machine's: its own findings may fail


def _run(check_id: str, status: Status, code: str | None = None) -> RunResult:
    spec = CheckSpec(check_id, Text(check_id, check_id), lambda _ctx: None)
    return RunResult(spec, CheckResult(status, Text(f"fr {check_id}", f"en {check_id}"), code),
                     0.0)


def test_notes_for_information_never_make_a_verdict_attention() -> None:
    station = [_run("host.os", Status.WARNING, "OS_UNSUPPORTED"),
               _run("pcsc.service", Status.OK), _run("workstation.cryptolib", Status.OK)]
    judged = verdicts.judge_workstation(None, station)
    assert judged.status == "ok" and judged.code is None


@pytest.mark.parametrize(("count", "fr", "en"), [
    (1, "avec une remarque.", "with a remark."), (2, "avec 2 remarques.", "with 2 remarks.")])
def test_remarks_are_counted_with_the_right_plural(count: int, fr: str, en: str) -> None:
    card = [_run("card.test_card", Status.WARNING, "TEST_CARD"),
            _run("card.contactless", Status.WARNING, "CONTACTLESS")][:count]
    judged = verdicts.judge_card(None, card)
    assert fr in judged.text.fr and en in judged.text.en


# --- the network question ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_offline_leaves_the_network_question_out_and_the_other_verdicts_whole(lang: str) -> None:
    code, report = check_json("--virtual-card", "cps3-healthy", "--offline", "--lang", lang)
    card, station, network = (report["verdicts"][k] for k in ("card", "workstation", "network"))
    assert (card["status"], card["complete"]) == ("ok", True)
    assert station["complete"] is True and station["status"] != "partial"
    assert (network["status"], network["skipped_because"]) == ("skipped", "offline")
    assert network["label"] == messages.msg("verdict.label.network", lang)
    assert network["summary"] == messages.msg("verdict.network.offline", lang)
    assert code == 0  # going offline is no partial run


def _network_run(check_id: str, status: Status, code: str | None = None) -> RunResult:
    run = _run(check_id, status, code)
    if status is Status.SKIPPED:
        run.result.details = {}  # skipped by the check itself ("no network"), not left out
    return run


def test_no_network_at_all_is_one_calm_network_finding_and_never_touches_the_card() -> None:
    card = [_run("card.present", Status.OK), _run("card.pin", Status.OK)]
    cut_off = [_network_run("network.proxy", Status.OK),
               _network_run("network.dns", Status.SKIPPED),
               _network_run("network.connection", Status.WARNING, "NETWORK_OFFLINE"),
               _network_run("network.tls", Status.SKIPPED)]
    assert verdicts.judge_card(None, card + cut_off) == verdicts.judge_card(None, card)
    judged = verdicts.judge_network(None, card + cut_off)
    assert (judged.status, judged.code) == ("warning", "NETWORK_OFFLINE")
    assert judged.text.en == "en network.connection"  # the finding itself, no "partial"


def test_every_reason_a_verdict_may_not_be_asked_has_its_words() -> None:
    for spec in verdicts.VERDICTS:
        reasons = ["not_selected", *spec.not_for]
        if spec.not_asked is not None:
            reasons += ["offline", "not_requested"]
        for reason in reasons:
            for lang in LANGS:
                assert messages.msg(f"verdict.{spec.key}.{reason}", lang)


# --- replay reproduces the recording ----------------------------------------------------------

def test_a_replay_is_judged_at_its_recording_date_and_keeps_the_users_computer(
        tmp_path: Path) -> None:
    transcript = tmp_path / "session.json"
    recorded = "2027-12-01T10:00:00"  # six weeks before the card's end: "expires soon"
    live = CliRunner().invoke(main, ["check", "--virtual-card", "cps3-healthy", "--json",
                                     "--now", recorded, "--record", str(transcript)])
    live_report = json.loads(live.stdout)
    assert transcript_host(transcript) == {k: v for k, v in live_report["host"].items()
                                           if k != "origin"}
    replay = CliRunner().invoke(main, ["replay", str(transcript), "--json"])
    replayed = json.loads(replay.stdout)
    jsonschema.validate(replayed, SCHEMA)
    assert replayed["verdicts"]["card"] == live_report["verdicts"]["card"]
    assert replayed["verdicts"]["card"]["code"] == "CARD_EXPIRES_SOON"
    assert replayed["generated_at"] == "2027-12-01T10:00:00Z"
    assert replayed["replay"] == {"recorded_at": "2027-12-01T10:00:00Z", "judged_at": "recorded"}
    assert replayed["host"]["origin"] == "recorded"
    assert replayed["host"]["os"] == live_report["host"]["os"]
    assert replay.exit_code == live.exit_code or replay.exit_code == 0
    # "--now" alone: what would it say today (the card's end is then judged afresh).
    today = CliRunner().invoke(main, ["replay", str(transcript), "--now", "--json"])
    judged_today = json.loads(today.stdout)
    assert judged_today["replay"]["judged_at"] == "given"
    assert judged_today["generated_at"] != replayed["generated_at"]


def transcript_host(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())["host"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_replay_without_recorded_facts_marks_the_support_computer(lang: str) -> None:
    transcript = ROOT / "fixtures" / "transcripts" / "cps3-healthy.json"
    result = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"}).invoke(
        main, ["replay", str(transcript), "--now", NOW, "--lang", lang])
    words = ("ordinateur du support, pas celui de l’utilisateur" if lang == "fr"
             else "the support computer, not the user’s")
    assert words in " ".join(result.output.split())


# --- the user's own screen --------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_the_holder_sees_their_identifier_in_full_and_only_the_file_is_redacted(
        tmp_path: Path, lang: str) -> None:
    out = tmp_path / "report.json"
    result = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"}).invoke(
        main, ["check", "--virtual-card", "cps3-healthy", "--now", NOW, "--redact",
               "--lang", lang, "--output", str(out)])
    assert "899700075122" in result.output  # typed in the e-CPS app: it must be whole
    assert "899700075122" not in out.read_text()
    # The file carries a pseudonym of the same shape, drawn for this run: not the real number,
    # nor its last digits.
    national_id = json.loads(out.read_text())["readers"][0]["card"]["holder"]["national_id"]
    assert len(national_id) == 12 and national_id.isdigit() and national_id[0] == "8"
    assert not national_id.endswith("5122")
    assert national_id not in result.output


def test_the_english_view_has_no_french_leftovers() -> None:
    result = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"}).invoke(
        main, ["check", "--virtual-card", "cps3-healthy", "--now", NOW, "--redact",
               "--lang", "en"])
    assert "[nom masqué]" not in result.output
    assert "Médecin" not in result.output and "Physician" in result.output


def test_os_specific_steps_are_those_of_the_running_system() -> None:
    linux = remedies.remedy_text("PCSC_SERVICE_DOWN", "fr", "Linux")
    windows = remedies.remedy_text("PCSC_SERVICE_DOWN", "en", "Windows")
    assert "systemctl" in linux and "Windows" not in linux
    assert "Smart Card" in windows and "systemctl" not in windows
    assert "Sous Linux" in remedies.remedy_text("PCSC_SERVICE_DOWN", "fr", None)


def test_remedies_come_in_the_order_that_unblocks_the_user() -> None:
    report = {"checks": [
        {"id": "host.os", "status": "warning", "code": "OS_UNSUPPORTED", "remedy": "os"},
        {"id": "workstation.cryptolib", "status": "warning", "code": "CRYPTOLIB_MISSING",
         "remedy": "cryptolib"},
        {"id": "card.pin", "status": "warning", "code": "PIN_LAST_TRY", "remedy": "pin"},
        {"id": "card.validity", "status": "fail", "code": "CARD_EXPIRED", "remedy": "expired"},
    ]}
    assert [code for code, _ in todo_lines(report)] == [
        "CARD_EXPIRED", "PIN_LAST_TRY", "CRYPTOLIB_MISSING", "OS_UNSUPPORTED"]


def test_a_very_long_name_does_not_hide_the_identifier() -> None:
    from diagcps.checks.card_checks import _shortened

    name = "DE LA " + "TRES-LONGUE-FAMILLE-" * 8 + " MARIE"
    summary = f"{_shortened(name)} — Médecin, identifiant 899700075122."
    report = _report_with_summary(summary)
    text = _render(report, width=60)
    assert "899700075122" in text.replace("\n", "").replace("│", "").replace(" ", "")
    assert "Médecin" in text and len(_shortened(name)) <= 48


def _report_with_summary(summary: str) -> dict[str, Any]:
    return {"lang": "fr", "verdicts": {}, "host": {}, "readers": [], "help": {},
            "checks": [{"id": "card.identity", "title": "Identification du porteur",
                        "status": "ok", "code": None, "summary": summary, "remedy": None}]}


def _render(report: dict[str, Any], width: int = 80) -> str:
    buffer = StringIO()
    render(report, Console(file=buffer, width=width, color_system=None, highlight=False))
    return buffer.getvalue()


# --- golden views -------------------------------------------------------------------------------

#: The machine's own facts are replaced by fixed ones: the view must not depend on the computer
#: the tests run on. The note for information (OS_UNSUPPORTED) shows where notes go.
FIXED_HOST = {"os": "Linux", "os_version": "Debian GNU/Linux 12 (bookworm)", "arch": "x86_64",
              "python": "3.11", "pyscard": "2.3", "pcsc": "pcsc-lite 1.9.9",
              "cryptolib": "5.2.2", "cryptolib_installed": True, "origin": "this_computer"}


def _golden_report(profile: str, lang: str) -> dict[str, Any]:
    _code, report = check_json("--virtual-card", profile, "--lang", lang)
    report["host"] = FIXED_HOST
    report["checks"] = [c for c in report["checks"]
                        if c["id"].split(".")[0] not in ("host", "workstation")]
    note = remedies.remedy_text("OS_UNSUPPORTED", lang)
    report["checks"].insert(0, {
        "id": "host.os", "title": "Système d’exploitation" if lang == "fr" else "Operating system",
        "status": "warning", "code": "OS_UNSUPPORTED", "remedy": note,
        "summary": "Debian GNU/Linux 12 (bookworm)"})
    report["verdicts"]["workstation"] = {
        "status": "ok", "code": None, "label": messages.msg("verdict.label.workstation", lang),
        "summary": messages.msg("verdict.workstation.ok", lang), "complete": True}
    return report


GOLDEN_PROFILES = ["cps3-healthy", "cps3-pin-blocked", "cps3-pin-1-left",
                   "cps3-definitively-blocked", "cps3-expired", "cpf"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("profile", GOLDEN_PROFILES)
def test_view_matches_its_golden_file(profile: str, lang: str) -> None:
    text = _render(_golden_report(profile, lang))
    golden = VIEWS / f"{profile}.{lang}.txt"
    if os.environ.get("DIAGCPS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def _golden(profile: str, lang: str) -> str:
    return " ".join((VIEWS / f"{profile}.{lang}.txt").read_text().replace("│", " ").split())


@pytest.mark.parametrize("lang", LANGS)
def test_golden_views_hold_the_points_a_professional_acts_on(lang: str) -> None:
    fr = lang == "fr"
    last_try = _golden("cps3-pin-1-left", lang)
    assert last_try.index("[PIN_LAST_TRY]") < last_try.index("[OS_UNSUPPORTED]")
    assert ("ATTENTION Poste" not in last_try) and ("WARNING Workstation" not in last_try)
    assert ("i INFO" in last_try)
    for hopeless in ("cps3-definitively-blocked", "cps3-expired"):
        assert messages.msg("view.ecps", lang) not in _golden(hopeless, lang)
    healthy = _golden("cps3-healthy", lang)
    assert messages.msg("view.ecps", lang) in healthy
    for fact in ("view.system", "view.reader", "view.cryptolib"):
        assert messages.msg(fact, lang) in healthy
    assert "5.2.2" in healthy and "Virtual card 00" in healthy
    blocked = _golden("cps3-pin-blocked", lang)
    assert ("le code de déblocage reste utilisable (10 essais restants sur 10)" if fr
            else "the unblock code can still be used (10 tries left of 10)") in blocked
    assert "wallet.esw.esante.gouv.fr" not in blocked  # "with your card" cannot work now
    cpf = _golden("cpf", lang)
    assert ("Carte CPF — en formation" if fr else "CPF card — in training") in cpf
    assert "— ," not in cpf


@pytest.mark.parametrize("lang", LANGS)
def test_record_then_replay_as_a_user_and_support_run_them(tmp_path: Path, lang: str) -> None:
    transcript = tmp_path / "session.json"
    recorded = "2027-12-01T10:00:00"
    live = subprocess.run([sys.executable, "-m", "diagcps", "check", "--virtual-card",
                           "cps3-healthy", "--json", "--now", recorded, "--lang", lang,
                           "--record", str(transcript), "--redact"],
                          capture_output=True, text=True, timeout=60, check=False)
    replay = subprocess.run([sys.executable, "-m", "diagcps", "replay", str(transcript),
                             "--lang", lang],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})
    verdict = json.loads(live.stdout)["verdicts"]["card"]
    shown = " ".join(replay.stdout.replace("│", " ").split())
    assert verdict["code"] == "CARD_EXPIRES_SOON"
    assert " ".join(verdict["summary"].split()) in shown  # the same words, not "has expired"
    assert ("enregistrés chez l’utilisateur le 01/12/2027" if lang == "fr"
            else "recorded on the user’s computer on 2027-12-01") in shown
    assert ("Diagnostic établi à la date de l’enregistrement (01/12/2027)" if lang == "fr"
            else "Diagnosis made at the date of the recording (2027-12-01)") in shown


@pytest.mark.parametrize(("profile", "panel", "with_card"), [
    ("cps3-healthy", True, True), ("cps3-pin-blocked", True, False),
    ("cps3-update-incident", True, False), ("cps3-definitively-blocked", False, False),
    ("cps3-expired", False, False), ("cps3-test-card", False, False), ("vitale", False, False)])
@pytest.mark.parametrize("lang", LANGS)
def test_the_ecps_panel_appears_only_when_its_advice_can_work(profile: str, panel: bool,
                                                             with_card: bool, lang: str) -> None:
    _code, report = check_json("--virtual-card", profile, "--lang", lang)
    ecps = report["help"]["ecps"]
    assert bool(ecps) is panel
    assert any("wallet.esw.esante.gouv.fr" in line for line in ecps) is with_card


LONG_NAME = "DE LA TRES-LONGUE-FAMILLE-DURAND-ESSAI-MARTIN-DUPONT-LEROY-BERNARD-PETIT"


def _long_name_profile(tmp_path: Path) -> Path:
    """The healthy CPS3 whose CPS_INFO_PS carries a 72-character practice name."""
    from apdu.tlv import encode, parse

    doc = json.loads((ROOT / "cardsim" / "profiles" / "cps3-healthy.json").read_text())
    for entry in doc["files"]:
        raw = bytes.fromhex(entry.get("data", ""))
        if raw[:1] == b"\xED":
            body = b"".join(encode(c.tag, LONG_NAME.encode("latin-1") if c.tag == 0x84
                                   else c.value) for c in parse(parse(raw)[0].value))
            new = encode(0xED, body)
            entry["data"] = (new + b"\x00" * max(0, len(raw) - len(new))).hex().upper()
    path = tmp_path / "long-name.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("lang", LANGS)
def test_a_very_long_holder_name_leaves_profession_and_identifier_in_view(
        tmp_path: Path, lang: str) -> None:
    profile = _long_name_profile(tmp_path)
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-m", "diagcps", "check", "--virtual-card",
                           str(profile), "--now", NOW, "--lang", lang],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(
        main, ["check", "--virtual-card", str(profile), "--now", NOW, "--lang", lang])
    for output in (done.stdout, runner.output):
        lines = output.splitlines()
        start = next(i for i, line in enumerate(lines)
                     if ("Identification du porteur" if lang == "fr" else "Holder identification")
                     in line)
        cell = " ".join(line.split("│")[2].strip() for line in lines[start + 1:start + 4])
        assert "899700075122" in cell
        assert ("Médecin" if lang == "fr" else "Physician") in cell
        assert "…" in cell and LONG_NAME not in cell  # cut, not pushing the rest out
        assert max(len(line) for line in lines) <= 80
    report = json.loads(CliRunner().invoke(main, ["check", "--virtual-card", str(profile),
                                                  "--now", NOW, "--json"]).stdout)
    assert report["readers"][0]["card"]["holder"]["practice_name"] == LONG_NAME  # file: whole
