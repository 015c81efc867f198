from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from diagcps.checks.base import CheckResult, Status
from diagcps.checks.context import CheckContext
from diagcps.checks.registry import REGISTRY, run_checks
from diagcps.checks.workstation_checks import (
    host_os,
    workstation_clock,
    workstation_cryptolib,
    workstation_firefox,
)
from diagcps.remedies import ALL_CODES
from diagcps.workstation.host import HostInfo

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
IDS = ("host.os", "workstation.cryptolib", "workstation.firefox", "workstation.clock")


def write(root: Path, absolute: str, text: str = "") -> Path:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def linux_ctx(root: Path, **facts: object) -> CheckContext:
    return CheckContext(
        system="Linux", root=root, env={"HOME": "/home/alice"}, now=NOW, facts=dict(facts)
    )


def cryptolib(root: Path, adm: str | None = "050202") -> None:
    write(root, "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "ELF")
    if adm is not None:
        write(root, "/var/opt/santesocial/commun/adm/155.adm", adm)


def host(os_name: str, version: str, **linux: object) -> HostInfo:
    return HostInfo(os_name, version, "x86_64", "3.11.7", "2.3.1", None, **linux)  # type: ignore[arg-type]


def assert_reportable(result: CheckResult) -> None:
    """Every result must fit the JSON report and name only catalogued finding codes."""
    json.dumps(result.details)
    assert result.summary.fr and result.summary.en
    assert result.summary.fr != result.summary.en
    assert result.code is None or result.code in ALL_CODES


# --- registration and context ---------------------------------------------------------------


def test_checks_are_registered_under_stable_ids() -> None:
    for check_id in IDS:
        assert check_id in REGISTRY
        assert REGISTRY[check_id].title.fr and REGISTRY[check_id].title.en
    assert REGISTRY["workstation.clock"].func is workstation_clock


def test_context_defaults_describe_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = CheckContext()
    # In tests the default root is the empty one conftest sets: never the machine's own files.
    assert ctx.root == Path(os.environ["DIAGCPS_ROOT"]) != Path("/")
    monkeypatch.delenv("DIAGCPS_ROOT")
    ctx = CheckContext()
    assert ctx.system == platform.system()
    assert ctx.root == Path("/")
    assert ctx.env is os.environ
    assert ctx.now.tzinfo is not None
    assert abs(datetime.now(UTC) - ctx.now) < timedelta(minutes=1)
    assert ctx.registry is None
    assert ctx.lang == "fr"
    other = CheckContext()
    ctx.facts["x"] = 1
    assert other.facts == {}


def test_all_checks_run_without_error_on_an_empty_machine(tmp_path: Path) -> None:
    ctx = linux_ctx(tmp_path)
    results = run_checks([REGISTRY[i] for i in IDS], ctx)
    assert [r.spec.id for r in results] == list(IDS)
    for run in results:
        assert run.result.status is not Status.ERROR, run.result.details
        assert_reportable(run.result)


# --- host.os --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "info",
    [
        host("Linux", "Red Hat Enterprise Linux 9.3 (Plow)", distro_id="rhel",
             distro_version_id="9.3"),
        host("Windows", "Windows 11 (10.0.22631)"),
        host("Darwin", "macOS 13.6"),
    ],
)
def test_supported_systems_are_ok(tmp_path: Path, info: HostInfo) -> None:
    result = host_os(linux_ctx(tmp_path, host=info))
    assert result.status is Status.OK
    assert result.code is None
    assert result.details["os_version"] == info.os_version
    assert result.details["support"] == "supported"
    assert_reportable(result)


def test_other_linux_is_an_informational_warning(tmp_path: Path) -> None:
    info = host("Linux", "Debian GNU/Linux 12 (bookworm)", distro_id="debian",
                distro_version_id="12")
    result = host_os(linux_ctx(tmp_path, host=info))
    assert result.status is Status.WARNING
    assert result.code == "OS_UNSUPPORTED"
    assert "Debian GNU/Linux 12" in result.summary.fr
    assert result.summary.fr.startswith("Pour information")
    assert_reportable(result)


def test_rhel_rebuild_is_said_to_be_derived_from_rhel(tmp_path: Path) -> None:
    info = host("Linux", "Rocky Linux 9.3", distro_id="rocky", distro_like=("rhel",),
                distro_version_id="9.3")
    result = host_os(linux_ctx(tmp_path, host=info))
    assert result.status is Status.WARNING
    assert result.code == "OS_UNSUPPORTED"
    assert "Red Hat" in result.summary.fr
    assert result.details["distro_like"] == ["rhel"]


def test_macos_15_is_outside_the_list(tmp_path: Path) -> None:
    result = host_os(linux_ctx(tmp_path, host=host("Darwin", "macOS 15.1")))
    assert result.code == "OS_UNSUPPORTED"


def test_host_is_collected_from_the_file_system_and_shared(tmp_path: Path) -> None:
    write(tmp_path, "/etc/os-release", 'PRETTY_NAME="Fedora Linux 40"\nID=fedora\nVERSION_ID=40\n')
    ctx = linux_ctx(tmp_path)
    result = host_os(ctx)
    assert result.details["os_version"] == "Fedora Linux 40"
    assert result.code == "OS_UNSUPPORTED"
    assert isinstance(ctx.facts["host"], HostInfo)


# --- workstation.cryptolib ------------------------------------------------------------------


def test_missing_cryptolib_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    result = workstation_cryptolib(linux_ctx(tmp_path))
    assert result.status is Status.WARNING
    assert result.code == "CRYPTOLIB_MISSING"
    assert result.details["installed"] is False
    assert_reportable(result)


def test_current_cryptolib_is_ok(tmp_path: Path) -> None:
    cryptolib(tmp_path, "050202")
    ctx = linux_ctx(tmp_path, generations=["CPS4"])
    result = workstation_cryptolib(ctx)
    assert result.status is Status.OK
    assert "5.2.2" in result.summary.fr and "installée" in result.summary.fr
    assert result.details["version"] == "5.2.2"
    assert result.details["card_generations"] == ["CPS4"]
    assert ctx.facts["cryptolib"].installed is True
    assert_reportable(result)


def test_cps4_with_old_cryptolib_fails(tmp_path: Path) -> None:
    cryptolib(tmp_path, "050100")
    result = workstation_cryptolib(linux_ctx(tmp_path, generations=["CPS4"]))
    assert result.status is Status.FAIL
    assert result.code == "CPS4_OLD_MIDDLEWARE"
    assert "5.1.0" in result.summary.fr and "CPS4" in result.summary.fr
    assert_reportable(result)


def test_cps4_with_early_5_2_is_advised_to_update(tmp_path: Path) -> None:
    cryptolib(tmp_path, "050200")
    result = workstation_cryptolib(linux_ctx(tmp_path, generations={"CPS4"}))
    assert result.status is Status.WARNING
    assert result.code == "CRYPTOLIB_OLD"
    assert "5.2.2" in result.summary.fr


def test_old_cryptolib_without_cps4_is_a_warning(tmp_path: Path) -> None:
    cryptolib(tmp_path, "050006")
    result = workstation_cryptolib(linux_ctx(tmp_path, generations=["CPS3"]))
    assert result.status is Status.WARNING
    assert result.code == "CRYPTOLIB_OLD"


def test_cps3_with_pre_5_cryptolib_fails(tmp_path: Path) -> None:
    cryptolib(tmp_path, "040012")
    result = workstation_cryptolib(linux_ctx(tmp_path, generations=["CPS3"]))
    assert result.status is Status.FAIL
    assert result.code == "CRYPTOLIB_OLD"


def test_unknown_version_is_not_guessed(tmp_path: Path) -> None:
    cryptolib(tmp_path, adm=None)
    result = workstation_cryptolib(linux_ctx(tmp_path, generations=["CPS4"]))
    assert result.status is Status.OK
    assert result.details["version"] is None
    assert "n’a pas pu être lue" in result.summary.fr


def test_galss_leftovers_are_an_obsolete_middleware_warning(tmp_path: Path) -> None:
    cryptolib(tmp_path)
    write(tmp_path, "/usr/local/galss/libcps_pkcs11_lux.so", "ELF")
    result = workstation_cryptolib(linux_ctx(tmp_path))
    assert result.status is Status.WARNING
    assert result.code == "OBSOLETE_MIDDLEWARE"
    assert "/usr/local/galss/libcps_pkcs11_lux.so" in result.summary.fr
    assert result.details["obsolete_libraries"] == ["/usr/local/galss/libcps_pkcs11_lux.so"]


def test_windows_version_is_read_through_the_context_registry(tmp_path: Path) -> None:
    write(tmp_path, "/Windows/System32/cps3_pkcs11_w64.dll", "MZ")
    values = {(r"HKLM\SOFTWARE\ASIP\Cryptolib CPS", "Version"): "5.1.2"}
    ctx = CheckContext(
        system="Windows",
        root=tmp_path,
        env={"SystemRoot": r"C:\Windows"},
        now=NOW,
        registry=lambda key, name: values.get((key, name)),
        facts={"generations": ["CPS4"]},
    )
    result = workstation_cryptolib(ctx)
    assert result.code == "CPS4_OLD_MIDDLEWARE"
    assert result.details["version_source"] == "registry"
    assert result.details["library_path"] == r"C:\Windows\System32\cps3_pkcs11_w64.dll"


# --- workstation.firefox --------------------------------------------------------------------


def firefox(root: Path) -> None:
    write(root, "/usr/lib/firefox/firefox", "ELF")


def cps_manifest(root: Path, name: str = "cps3", library: str = "libcps3_pkcs11_lux.so") -> None:
    write(root, f"/usr/lib/mozilla/pkcs11-modules/{name}.json",
          json.dumps({"name": name, "type": "pkcs11", "path": f"/usr/lib64/{library}"}))


def test_no_firefox_is_nothing_to_report(tmp_path: Path) -> None:
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.OK
    assert result.details["installed"] is False


def test_sandboxed_firefox_alone_is_reported(tmp_path: Path) -> None:
    (tmp_path / "snap/firefox").mkdir(parents=True)
    cryptolib(tmp_path)
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.WARNING
    assert result.code == "FIREFOX_SANDBOXED"
    assert "Snap" in result.summary.fr
    assert_reportable(result)


def test_firefox_without_the_cps_manifest_misses_the_module(tmp_path: Path) -> None:
    firefox(tmp_path)
    cryptolib(tmp_path)
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.WARNING
    assert result.code == "FIREFOX_MODULE_MISSING"
    assert result.details["cryptolib_installed"] is True


def test_module_missing_is_not_reported_without_the_cryptolib(tmp_path: Path) -> None:
    # CRYPTOLIB_MISSING already says it; Firefox cannot declare a module that is not there.
    firefox(tmp_path)
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.OK
    assert result.code is None


def test_firefox_with_cps_manifest_is_ok(tmp_path: Path) -> None:
    firefox(tmp_path)
    cryptolib(tmp_path)
    cps_manifest(tmp_path)
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.OK
    assert result.details["cps_module_registered"] is True


def test_opensc_beside_the_cryptolib_is_competing(tmp_path: Path) -> None:
    firefox(tmp_path)
    cryptolib(tmp_path)
    cps_manifest(tmp_path)
    cps_manifest(tmp_path, "opensc", "opensc-pkcs11.so")
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.status is Status.WARNING
    assert result.code == "COMPETING_MODULES"
    assert "OpenSC" in result.summary.fr


def test_sandboxed_beside_regular_firefox_is_still_mentioned(tmp_path: Path) -> None:
    firefox(tmp_path)
    (tmp_path / "var/lib/flatpak/app/org.mozilla.firefox").mkdir(parents=True)
    cryptolib(tmp_path)
    cps_manifest(tmp_path)
    result = workstation_firefox(linux_ctx(tmp_path))
    assert result.code == "FIREFOX_SANDBOXED"
    assert "Flatpak" in result.summary.fr and "classique" in result.summary.fr


def test_macos_registration_that_cannot_be_seen_is_not_a_finding(tmp_path: Path) -> None:
    (tmp_path / "Applications/Firefox.app").mkdir(parents=True)
    write(tmp_path, "/usr/local/lib/libcps3_pkcs11_osx.dylib", "Mach-O")
    ctx = CheckContext(system="Darwin", root=tmp_path, env={"HOME": "/Users/a"}, now=NOW)
    result = workstation_firefox(ctx)
    assert result.status is Status.OK
    assert result.details["cps_module_registered"] is None
    assert "ne peut pas vérifier" in result.summary.fr


def test_firefox_check_reuses_the_cryptolib_fact(tmp_path: Path) -> None:
    firefox(tmp_path)
    ctx = linux_ctx(tmp_path)
    workstation_cryptolib(ctx)
    cryptolib(tmp_path)  # installed after the first look: the shared fact wins
    result = workstation_firefox(ctx)
    assert result.details["cryptolib_installed"] is False


# --- workstation.clock ----------------------------------------------------------------------


def test_plausible_clock_is_ok(tmp_path: Path) -> None:
    result = workstation_clock(linux_ctx(tmp_path))
    assert result.status is Status.OK
    assert "28/11/2026" in result.summary.fr
    assert result.details["certificates_compared"] == 0
    assert_reportable(result)


def test_clock_in_2010_is_wrong(tmp_path: Path) -> None:
    ctx = linux_ctx(tmp_path)
    ctx.now = datetime(2010, 1, 1, tzinfo=UTC)
    result = workstation_clock(ctx)
    assert result.status is Status.FAIL
    assert result.code == "CLOCK_WRONG"
    assert result.details["reason"] == "before_root_ca"
    assert "25/06/2013" in result.summary.fr
    assert_reportable(result)


def test_clock_before_the_card_certificates_is_wrong(tmp_path: Path) -> None:
    dates = [(datetime(2027, 1, 15, tzinfo=UTC), datetime(2030, 1, 15, tzinfo=UTC))]
    result = workstation_clock(linux_ctx(tmp_path, certificate_dates=dates))
    assert result.code == "CLOCK_WRONG"
    assert result.details["reason"] == "before_certificate"
    assert result.details["certificates_compared"] == 1
    assert "15/01/2027" in result.summary.fr
    assert "2027-01-15" in result.summary.en


def test_clock_far_in_the_future_is_wrong(tmp_path: Path) -> None:
    ctx = linux_ctx(tmp_path)
    ctx.now = datetime(2045, 1, 1, tzinfo=UTC)
    result = workstation_clock(ctx)
    assert result.code == "CLOCK_WRONG"
    assert result.details["reason"] == "after_2040"
