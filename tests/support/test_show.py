"""``diagcps show``: a received report shown as its user saw it, in either language.

The reports are made by the tool itself on the golden profiles (fixtures/reports) for a pinned
workstation (fleet_support); the golden views are in tests/support/golden/show (rewrite them with
``DIAGCPS_UPDATE_GOLDEN=1``). On this machine's own workstation, the view ``show`` gives of a
``check --json`` report is compared with the view ``check`` printed, character for character.
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fleet_support import GOLDEN_PROFILES, ROOT, Station, make_report, write_report
from golden_reports import normalised
from rich.console import Console

from diagcps.cli import main
from diagcps.report.show import prepare, render
from diagcps.safe_text import printable

GOLDEN = Path(__file__).parent / "golden" / "show"
REPORTS = ROOT / "fixtures" / "reports"
PROFILES = sorted(p.stem for p in (ROOT / "cardsim" / "profiles").glob("*.json"))
#: The golden reports were made with the CLI's virtual reader.
STATION = Station(reader="Virtual card 00")
NOW = "2026-11-28T09:00:00"
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "LANG": "fr_FR.UTF-8"}


def view_text(report: dict[str, Any], lang: str | None = None) -> str:
    out = io.StringIO()
    render(report, Console(file=out, width=100, color_system=None, highlight=False,
                           force_terminal=False, legacy_windows=False), lang)
    return out.getvalue()


@pytest.mark.parametrize("profile", GOLDEN_PROFILES)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_shown_reports_are_the_golden_reports_on_a_pinned_workstation(profile: str,
                                                                          lang: str) -> None:
    report = normalised(make_report(profile, lang=lang, station=STATION))
    golden = json.loads((REPORTS / f"{profile}.{lang}.json").read_text())
    # The overall status sums up the workstation checks too, so it is the machine's.
    report.pop("status"), golden.pop("status")
    assert report == golden


@pytest.mark.parametrize("profile", GOLDEN_PROFILES)
@pytest.mark.parametrize("made_in", ["fr", "en"])
@pytest.mark.parametrize("shown_in", ["fr", "en"])
def test_show_matches_its_golden_view(profile: str, made_in: str, shown_in: str,
                                      tmp_path: Path) -> None:
    path = write_report(make_report(profile, lang=made_in, station=STATION),
                        tmp_path / "report.json")
    result = CliRunner(env=ENV).invoke(main, ["show", str(path), "--lang", shown_in])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"{profile}.{made_in}-shown-{shown_in}.txt"
    if os.environ.get("DIAGCPS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("profile", GOLDEN_PROFILES)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_show_reproduces_the_check_view_on_this_machine(profile: str, lang: str,
                                                        tmp_path: Path) -> None:
    runner = CliRunner(env=ENV)
    common = ["check", "--virtual-card", profile, "--now", NOW, "--lang", lang]
    seen = runner.invoke(main, common)
    path = tmp_path / "rapport.json"
    made = runner.invoke(main, [*common, "--json", "--output", str(path)])
    assert made.exit_code == seen.exit_code
    for shown_in in ("fr", "en"):
        other = "en" if lang == "fr" else "fr"
        shown = runner.invoke(main, ["show", str(path), "--lang", shown_in])
        assert shown.exit_code == 0, shown.output
        if shown_in == lang:
            assert shown.stdout == seen.stdout
        else:
            # The other language: the other language's own view, except the texts it says it
            # left as written (they are counted on the last line).
            theirs = runner.invoke(main, [*common[:-1], other]).stdout
            if prepare(json.loads(path.read_text()), shown_in).untranslated == 0:
                assert shown.stdout == theirs
            else:
                assert shown.stdout != theirs


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("source", "target"), [("fr", "en"), ("en", "fr")])
@pytest.mark.parametrize("redacted", [False, True])
def test_every_translated_text_is_what_the_tool_says_in_that_language(
        profile: str, source: str, target: str, redacted: bool) -> None:
    made = make_report(profile, lang=source, redacted=redacted)
    truth = make_report(profile, lang=target, redacted=redacted)
    view = prepare(made, target)
    shown = view.report
    assert shown["lang"] == target
    left = 0
    pairs = [(shown["verdicts"][k]["summary"], truth["verdicts"][k]["summary"],
              made["verdicts"][k]["summary"]) for k in ("card", "workstation")]
    for mine, theirs, original in zip(shown["checks"], truth["checks"], made["checks"],
                                      strict=True):
        assert mine["title"] == theirs["title"]
        assert mine["remedy"] == theirs["remedy"]
        assert mine["status"] == theirs["status"] and mine["code"] == theirs["code"]
        pairs.append((mine["summary"], theirs["summary"], original["summary"]))
    for got, want, original in pairs:
        if got != want:
            assert got == original, f"wrong translation: {got!r} for {want!r}"
            left += 1
    for key in ("ecps", "support"):
        assert shown["help"].get(key) == truth["help"].get(key)
    assert view.untranslated == left
    assert (view.note is None) == (left == 0)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("source", "target"), [("fr", "en"), ("en", "fr")])
def test_a_report_from_before_both_languages_translates_only_what_the_catalogue_explains(
        profile: str, source: str, target: str) -> None:
    """Without ``summaries`` the sentences are matched against the catalogue: a text is either
    exactly what the tool says in the other language, or left as written and counted."""
    made = make_report(profile, lang=source)
    truth = make_report(profile, lang=target)
    for item in [*made["verdicts"].values(), *made["checks"]]:
        item.pop("summaries")
    view = prepare(made, target)
    pairs = [(view.report["verdicts"][k]["summary"], truth["verdicts"][k]["summary"],
              made["verdicts"][k]["summary"]) for k in truth["verdicts"]]
    pairs += [(mine["summary"], theirs["summary"], original["summary"]) for mine, theirs, original
              in zip(view.report["checks"], truth["checks"], made["checks"], strict=True)]
    left = translated = 0
    for got, want, original in pairs:
        if got == want and want != original:
            translated += 1
        elif got != want:
            assert got == original, f"wrong translation: {got!r} for {want!r}"
            left += 1
    assert view.untranslated == left
    # The workstation verdict is made of the catalogue's sentences and check titles only.
    assert view.report["verdicts"]["workstation"]["summary"] == \
        truth["verdicts"]["workstation"]["summary"]
    assert translated >= 1


def test_a_report_with_both_languages_translates_every_text() -> None:
    for profile in GOLDEN_PROFILES:
        for source, target in (("fr", "en"), ("en", "fr")):
            view = prepare(make_report(profile, lang=source), target)
            assert view.untranslated == 0 and view.note is None, (profile, source)


def test_summaries_that_disagree_with_the_summary_are_not_trusted() -> None:
    """An edited report whose summary no longer says what ``summaries`` says in its language:
    the other language from ``summaries`` could say something else, so it is not used."""
    report = make_report("cps3-pin-blocked", lang="fr")
    pin = next(c for c in report["checks"] if c["id"] == "card.pin")
    pin["summary"] = "Le code porteur va très bien."
    view = prepare(report, "en")
    shown = next(c for c in view.report["checks"] if c["id"] == "card.pin")
    assert shown["summary"] == "Le code porteur va très bien."
    assert view.untranslated == 1 and view.note is not None


def test_most_sentences_translate() -> None:
    """The translation is not an empty promise: on the golden profiles, almost all texts."""
    total = left = 0
    for profile in GOLDEN_PROFILES:
        report = make_report(profile, lang="fr")
        total += len(report["checks"]) + 2
        left += prepare(report, "en").untranslated
    assert left / total < 0.2, (left, total)


HOSTILE = ("\x1b[2J\x1b]8;;https://evil.invalid\x07CLIQUEZ ICI\x1b]8;;\x07"
           "\x9b31m\x9d52;c;ZXZpbA==\x07\u202egnp.exe\u2066\u200f\x00\x7f")


def _poisoned(report: dict[str, Any]) -> dict[str, Any]:
    report = copy.deepcopy(report)
    report["verdicts"]["card"]["summary"] += HOSTILE
    for check in report["checks"]:
        check["summary"] += HOSTILE
        check["title"] = HOSTILE + check["title"]
        if check["remedy"]:
            check["remedy"] += HOSTILE
    report["help"]["ecps"] = [line + HOSTILE for line in report["help"]["ecps"]]
    report["readers"][0]["name"] += HOSTILE
    return report


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_control_or_bidi_character_reaches_the_screen(lang: str, tmp_path: Path) -> None:
    report = _poisoned(make_report("cps3-pin-blocked", lang="fr"))
    text = view_text(report, lang)
    assert text == printable(text, lines=True)
    assert "CLIQUEZ ICI" in text  # the words stay, the controls go
    path = write_report(report, tmp_path / "poisoned.json")
    result = CliRunner(env=ENV).invoke(main, ["show", str(path), "--lang", lang])
    assert result.exit_code == 0
    assert result.stdout == printable(result.stdout, lines=True)
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout


def test_a_hostile_file_name_is_printed_clean(tmp_path: Path) -> None:
    path = tmp_path / "x\x1b[2J\u202e.json"
    path.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_a_report_from_before_verdicts_titles_and_help_still_shows(tmp_path: Path) -> None:
    report = make_report("cps3-pin-blocked", lang="fr")
    for key in ("verdicts", "help", "source"):
        report.pop(key)
    for check in report["checks"]:
        check.pop("title")
    path = write_report(report, tmp_path / "old.json")
    for lang, word, title in (("fr", "ÉCHEC", "Code porteur"), ("en", "FAILED", "PIN")):
        result = CliRunner(env=ENV).invoke(main, ["show", str(path), "--lang", lang])
        assert result.exit_code == 0, result.output
        head = result.stdout.split("┏")[0]
        assert word in head and ("Le code porteur est bloqué" in head
                                 or "The PIN is blocked" in head)
        assert title in result.stdout


def test_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    report = make_report("cps3-healthy", lang="fr")
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(report).encode())
    result = CliRunner(env=ENV).invoke(main, ["show", str(path), "--lang", "fr"])
    assert result.exit_code == 0 and "Votre carte CPS est opérationnelle" in result.stdout


def _hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words its one-line refusal must contain)."""
    good = make_report("cps3-healthy", lang="fr")
    files: dict[str, tuple[Path, str]] = {}

    def put(name: str, data: bytes, words: str) -> None:
        path = folder / name
        path.write_bytes(data)
        files[name] = (path, words)

    put("invalid.json", b'{"schema_version": "1",', "not valid JSON")
    put("array.json", b"[1, 2]", "not a JSON object")
    put("other-tool.json", b'{"tool": {"name": "x"}, "schema_version": "1"}',
        "not a diagcps report")
    wrong = copy.deepcopy(good)
    wrong["checks"][0]["status"] = "splendid"
    put("wrong-schema.json", json.dumps(wrong).encode(), "checks[0].status")
    newer = copy.deepcopy(good)
    newer["schema_version"] = "7"
    put("newer.json", json.dumps(newer).encode(), "newer diagcps")
    put("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deep")
    deep_inside = copy.deepcopy(good)
    node: dict[str, Any] = deep_inside["checks"][0]["details"]
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    put("deep-inside.json", json.dumps(deep_inside).encode(), "nested more than")
    put("latin1.json", json.dumps(good, ensure_ascii=False).encode("latin-1", "replace"),
        "not UTF-8")
    put("nan.json", json.dumps(good).replace('"duration_ms": 0', '"duration_ms": NaN',
                                             1).encode(), "not valid JSON")
    huge = folder / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: costs nothing, must not be read
    files["huge.json"] = (huge, "too large")
    loop = folder / "loop.json"
    loop.symlink_to(loop)
    files["loop.json"] = (loop, "cannot open")
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    files["fifo.json"] = (fifo, "not a regular file")
    (folder / "folder.json").mkdir()
    files["folder.json"] = (folder / "folder.json", "not a regular file")
    files["missing.json"] = (folder / "missing.json", "cannot open")
    return files


def test_hostile_files_get_one_line_and_exit_2(tmp_path: Path) -> None:
    for name, (path, words) in _hostile_files(tmp_path).items():
        result = CliRunner().invoke(main, ["show", str(path), "--lang", "en"])
        assert result.exit_code == 2, (name, result.output)
        assert result.stdout == "", name
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and words in lines[0], (name, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_report_gets_one_line(tmp_path: Path, mocker) -> None:
    path = write_report(make_report("cps3-healthy"), tmp_path / "secret.json")
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads any file: the refusal of the kernel is staged at the open call instead.
        real_open = os.open

        def refusing(target: Any, *args: Any, **kwargs: Any) -> int:
            if os.fspath(target) == str(path):
                raise PermissionError(13, "Permission denied")
            return real_open(target, *args, **kwargs)
        mocker.patch("diagcps.report.validate.os.open", refusing)
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("cannot open: Permission denied")


def test_a_report_the_view_cannot_take_gets_one_line_and_no_half_view(tmp_path: Path,
                                                                     mocker) -> None:
    """A later view may read a field an older valid report lacks: staged by a view that stops
    half-way on a missing key, after printing its first panel."""
    from diagcps.report import terminal

    real = terminal.render

    def half_way(report: dict[str, Any], console: Console, **kwargs: Any) -> None:
        console.print("first panel")
        raise KeyError("complete")
    mocker.patch.object(terminal, "render", half_way)
    path = write_report(make_report("cps3-healthy"), tmp_path / "r.json")
    result = CliRunner().invoke(main, ["show", str(path), "--lang", "en"])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "cannot be shown" in result.stderr
    assert result.stderr.startswith("diagcps: ")
    result = CliRunner().invoke(main, ["show", str(path), "--lang", "fr"])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "ne peut pas être affiché" in result.stderr
    assert result.stderr.startswith("diagcps : ")
    assert terminal.render is not real


def test_a_report_of_many_long_unknown_texts_shows_in_bounded_time() -> None:
    """Without ``summaries``, thousands of long texts near the catalogue's sentences: the work
    of matching them is bounded, what is not translated is counted, nothing is lost."""
    import time

    report = make_report("cps3-healthy", lang="fr")
    check = report["checks"][0]
    report["checks"] = []
    for index in range(2000):
        report["checks"].append({**check, "summaries": None,
                                 "summary": "Non examiné : a. " * 100 + f"{index}."})
    for item in [*report["verdicts"].values(), *report["checks"]]:
        item.pop("summaries", None)
    baseline_start = time.perf_counter()
    prepare(report, "fr")
    baseline = time.perf_counter() - baseline_start
    start = time.perf_counter()
    view = prepare(report, "en")
    took = time.perf_counter() - start
    assert view.untranslated >= 2000
    assert [c["summary"] for c in view.report["checks"]] == [c["summary"]
                                                             for c in report["checks"]]
    # Against showing it in its own language, measured in the same run.
    assert took < 50 * baseline + 5, (took, baseline)
