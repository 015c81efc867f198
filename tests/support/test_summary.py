"""``diagcps summary``: a fleet of reports made by the tool on the virtual profiles, with hostile
files among them. Golden outputs in tests/support/golden/summary (``DIAGCPS_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from fleet_support import FLEET, ROOT, make_fleet, make_report, write_report

from diagcps.cli import main
from diagcps.report.fleet import reader_model, summarise
from diagcps.report.fleet_view import csv_cell
from diagcps.report.model import load_schema
from diagcps.safe_text import printable

GOLDEN = Path(__file__).parent / "golden" / "summary"
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _hostile(folder: Path) -> None:
    """Files no summary may stumble on, next to the real reports."""
    folder.mkdir(parents=True)
    (folder / "invalid.json").write_text('{"schema_version": "1",', encoding="utf-8")
    (folder / "wrong-schema.json").write_text(json.dumps(
        {"schema_version": "1", "tool": {"name": "diagcps"}, "checks": "all fine"}),
        encoding="utf-8")
    (folder / "other-tool.json").write_text('{"name": "not ours"}', encoding="utf-8")
    with open(folder / "huge.json", "wb") as handle:
        handle.truncate(40 * 1024 * 1024)
    (folder / "deep.json").write_bytes(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    (folder / "latin1.json").write_bytes(b'{"host": "\xe9"}')
    (folder / "loop.json").symlink_to("loop.json")
    (folder / "back.json").symlink_to("..", target_is_directory=True)
    (folder / "cycle").symlink_to("..", target_is_directory=True)
    os.mkfifo(folder / "pipe.json")
    (folder / "notes.txt").write_text("not a report, not read", encoding="utf-8")
    deep = folder
    for _ in range(20):
        deep = deep / "d"
    deep.mkdir(parents=True)
    bom = make_report("cps3-pin-2-left", station=FLEET["PC-ACCUEIL-01"][1])
    (folder / "PC-BOM-07.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(bom, ensure_ascii=False).encode())


def _injection(folder: Path) -> None:
    """Reports whose host names a spreadsheet would run as formulas."""
    report = make_report("cps3-healthy")
    for name in ("=HYPERLINK(1)", "+33", "-2", "@SUM(1)"):
        write_report(report, folder / f"{name}.json")
    masked = make_report("cps4-blocked", redacted=True)
    masked["host"]["name"] = "PC-****-08"  # a masked host name: grouped as it is written
    write_report(masked, folder / "masked-a.json")
    masked["generated_at"] = "2026-11-28T10:00:00Z"
    write_report(masked, folder / "masked-b.json")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("share")
    make_fleet(base / "fleet")
    _hostile(base / "fleet" / "hostile")
    _injection(base / "fleet" / "injection")
    return base


def _run(fleet: Path, *args: str) -> Any:
    cwd = os.getcwd()
    os.chdir(fleet)  # relative paths, so the golden outputs do not depend on the temp folder
    try:
        return CliRunner(env=ENV).invoke(main, ["summary", "fleet", *args])
    finally:
        os.chdir(cwd)


def _golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("DIAGCPS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="")
    assert text == golden.read_bytes().decode("utf-8")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_summary_table_matches_its_golden_output(fleet: Path, lang: str) -> None:
    result = _run(fleet, "--lang", lang)
    assert result.exit_code == 0, result.output
    _golden(f"table.{lang}.txt", result.stdout)


def test_summary_csv_matches_its_golden_output_and_is_a_clean_table(fleet: Path) -> None:
    result = _run(fleet, "--csv")
    assert result.exit_code == 0, result.output
    _golden("summary.csv", result.stdout)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert all(len(row) == len(rows[0]) for row in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)
    hosts = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(1)" in hosts and "'+33" in hosts and "'-2" in hosts
    assert len(hosts) == len(set(hosts))
    # The files left aside are said on stderr, one line each, in the tool's way (French here).
    lines = result.stderr.splitlines()
    assert any(line.startswith("diagcps : fleet/hostile/invalid.json : not valid JSON")
               for line in lines)
    assert all(line.startswith("diagcps : fleet/") for line in lines)
    english = _run(fleet, "--csv", "--lang", "en")
    assert english.stdout == result.stdout
    assert "diagcps: fleet/hostile/invalid.json: not valid JSON" in english.stderr


def test_summary_json_matches_its_golden_output(fleet: Path) -> None:
    result = _run(fleet, "--json")
    assert result.exit_code == 0, result.output
    _golden("summary.json", result.stdout)
    summary = json.loads(result.stdout)
    reasons = {s["path"].split("/")[-1]: s["reason"] for s in summary["skipped"]}
    assert "not valid JSON" in reasons["invalid.json"]
    assert "does not follow the report schema" in reasons["wrong-schema.json"]
    assert "not a diagcps report" in reasons["other-tool.json"]
    assert "too large" in reasons["huge.json"]
    assert "nested too deep" in reasons["deep.json"]
    assert "not UTF-8" in reasons["latin1.json"]
    assert "cannot open" in reasons["loop.json"]
    assert "link to a folder" in reasons["back.json"]
    assert "not a regular file" in reasons["pipe.json"]
    assert "levels deep" in reasons["d"]
    assert "notes.txt" not in reasons and "cycle" not in reasons


def test_latest_report_per_host_and_failures_first(fleet: Path) -> None:
    summary = summarise([str(fleet / "fleet")])
    rows = {w.host: w for w in summary.workstations}
    assert rows["PC-CARDIO-02"].card == "fail"  # the 28th's blocked card, not the 20th's
    assert rows["PC-CARDIO-02"].date == "2026-11-28T09:00:00Z"
    assert summary.reports_read == len(summary.workstations) + 2  # the older report, masked-a
    ranks = [w.rank[0] for w in summary.workstations]
    assert ranks == sorted(ranks)
    assert summary.workstations[0].card == "fail" or summary.workstations[0].workstation == "fail"
    assert rows["PC-BOM-07"].findings == ("PIN_LOW",)
    assert rows["PC-****-08"].date == "2026-11-28T10:00:00Z" and rows["PC-****-08"].redacted
    assert rows["PC-RH-06"].redacted
    findings = {code: (count, host) for code, count, host in summary.findings}
    assert findings["PIN_BLOCKED"] == (2, "PC-****-08")
    assert dict(summary.cryptolib_versions)["none"] == 1
    assert dict(summary.readers)["Gemalto PC Twin Reader"] == 1


def test_an_unreadable_report_is_listed_and_the_rest_read(tmp_path: Path, mocker) -> None:
    good = write_report(make_report("cps3-healthy"), tmp_path / "PC-A.json")
    secret = write_report(make_report("cps3-healthy"), tmp_path / "PC-B.json")
    secret.chmod(0)
    if os.geteuid() == 0:
        real_open = os.open

        def refusing(target: Any, *args: Any, **kwargs: Any) -> int:
            if os.fspath(target) == str(secret):
                raise PermissionError(13, "Permission denied")
            return real_open(target, *args, **kwargs)
        mocker.patch("diagcps.report.validate.os.open", refusing)
    summary = summarise([str(tmp_path)])
    assert [w.host for w in summary.workstations] == ["PC-A"]
    assert summary.skipped[0].reason == "cannot open: Permission denied"
    assert good.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unlistable_folder_is_listed(tmp_path: Path, mocker) -> None:
    write_report(make_report("cps3-healthy"), tmp_path / "ok" / "PC-A.json")
    (tmp_path / "closed").mkdir()
    real_scandir = os.scandir

    def refusing(path: Any) -> Any:
        if os.fspath(path).endswith("closed"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)
    mocker.patch("diagcps.report.fleet.os.scandir", refusing)
    summary = summarise([str(tmp_path)])
    assert [w.host for w in summary.workstations] == ["PC-A"]
    assert summary.skipped[0].reason == "cannot list the folder: Permission denied"


def test_nothing_readable_is_exit_2_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("nope", encoding="utf-8")
    result = CliRunner().invoke(main, ["summary", str(tmp_path / "x.json"), str(tmp_path / "y"),
                                       "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "diagcps: no valid report found"
    assert "Traceback" not in result.output


def test_control_characters_in_reports_and_names_never_reach_the_output(tmp_path: Path) -> None:
    report = make_report("cps3-healthy")
    evil = "\x1b]8;;https://x.invalid\x07\u202eEVIL\x9b2J"
    report["host"]["os_version"] = "Windows" + evil
    report["readers"][0]["name"] = "Reader" + evil + " 0"
    write_report(report, tmp_path / f"PC{evil}.json")
    for args in ([], ["--csv"], ["--json"]):
        result = CliRunner().invoke(main, ["summary", str(tmp_path), *args])
        assert result.exit_code == 0
        assert result.stdout == printable(result.stdout, lines=True)
        assert "EVIL" in result.stdout


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+33 1", "'+33 1"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("PC-01", "PC-01"), (None, ""), ("", ""),
])
def test_csv_cells_are_never_formulas(value: str | None, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(("name", "model"), [
    ("Gemalto PC Twin Reader (645D94C3) 00 00", "Gemalto PC Twin Reader"),
    ("OMNIKEY 3x21 0", "OMNIKEY 3x21"),
    ("Identiv uTrust 2700 R Smart Card Reader", "Identiv uTrust 2700 R Smart Card Reader"),
    ("Virtual card 00", "Virtual card"),
])
def test_reader_models_drop_the_slot_numbers_and_serial(name: str, model: str) -> None:
    assert reader_model(name) == model


def test_the_bench_generates_reports_valid_against_the_schema(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import fleet_bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    made = [make_report(p, lang=lang, redacted=r) for p, lang, r in
            (("cps3-healthy", "fr", False), ("vitale", "en", True), ("cps4-blocked", "fr", False))]
    hosts = fleet_bench.generate(tmp_path, 40, made)
    schema = load_schema()
    files = [p for p in tmp_path.rglob("*.json") if p.parent.name != "hostile"]
    assert len(files) == 40
    for path in files:
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)
    summary = summarise([str(tmp_path)])
    assert summary.reports_read == 40 and len(summary.workstations) == hosts
    assert len(summary.skipped) == 5
