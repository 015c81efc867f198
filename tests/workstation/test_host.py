from __future__ import annotations

import importlib.metadata
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from diagcps.workstation import host as host_module
from diagcps.workstation.commands import run_command
from diagcps.workstation.host import (
    HostInfo,
    collect_host,
    pcsc_version,
    read_os_release,
    support_status,
    windows_version,
)

ROCKY_OS_RELEASE = """\
# comment line
NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
"""


def write(root: Path, absolute: str, text: str = "") -> Path:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class FakeRunner:
    """Answers commands by their program name and records what was asked."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> str | None:
        self.calls.append(list(args))
        return self.answers.get(Path(args[0]).name)


def test_os_release_values_are_unquoted_and_comments_ignored(tmp_path: Path) -> None:
    write(tmp_path, "/etc/os-release", ROCKY_OS_RELEASE)
    values = read_os_release(tmp_path)
    assert values["PRETTY_NAME"] == "Rocky Linux 9.3 (Blue Onyx)"
    assert values["ID_LIKE"] == "rhel centos fedora"
    assert "# comment line" not in values


def test_os_release_falls_back_to_usr_lib(tmp_path: Path) -> None:
    write(tmp_path, "/usr/lib/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert read_os_release(tmp_path)["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"


def test_missing_os_release_gives_no_values(tmp_path: Path) -> None:
    assert read_os_release(tmp_path) == {}


def test_linux_host_reads_pretty_name_and_pcscd_version(tmp_path: Path) -> None:
    write(tmp_path, "/etc/os-release", ROCKY_OS_RELEASE)
    write(tmp_path, "/usr/sbin/pcscd")
    run = FakeRunner({"pcscd": "pcsc-lite version 1.9.9.\nCopyright (C) 1999-2002 ...\n"})
    info = collect_host("Linux", tmp_path, run=run)
    assert info.os == "Linux"
    assert info.os_version == "Rocky Linux 9.3 (Blue Onyx)"
    assert info.distro_id == "rocky"
    assert info.distro_like == ("rhel", "centos", "fedora")
    assert info.distro_version_id == "9.3"
    assert info.pcsc == "pcsc-lite 1.9.9"
    assert run.calls == [[str(tmp_path / "usr/sbin/pcscd"), "--version"]]


def test_pcsc_version_falls_back_to_the_library_package(tmp_path: Path) -> None:
    run = FakeRunner({"dpkg-query": "1.9.9-2"})
    assert pcsc_version(tmp_path, run) == "libpcsclite1 1.9.9-2"
    assert run.calls[0] == ["dpkg-query", "-W", "-f", "${Version}", "libpcsclite1"]


def test_pcsc_version_uses_rpm_where_there_is_no_dpkg(tmp_path: Path) -> None:
    run = FakeRunner({"rpm": "1.9.4"})
    assert pcsc_version(tmp_path, run) == "pcsc-lite-libs 1.9.4"


def test_pcsc_version_is_none_when_nothing_answers(tmp_path: Path) -> None:
    write(tmp_path, "/usr/sbin/pcscd")
    run = FakeRunner({"pcscd": "unexpected output"})
    assert pcsc_version(tmp_path, run) is None
    # pcscd did not say its version: the package managers were asked next.
    assert [Path(c[0]).name for c in run.calls] == ["pcscd", "dpkg-query", "rpm"]


def test_fake_root_never_runs_real_commands(tmp_path: Path, mocker) -> None:
    write(tmp_path, "/etc/os-release", ROCKY_OS_RELEASE)
    write(tmp_path, "/usr/sbin/pcscd")
    spawn = mocker.patch("diagcps.workstation.commands.subprocess.run")
    info = collect_host("Linux", tmp_path)
    spawn.assert_not_called()
    assert info.pcsc is None
    assert info.os_version == "Rocky Linux 9.3 (Blue Onyx)"


def test_run_command_tolerates_absent_program(mocker) -> None:
    mocker.patch("subprocess.run", side_effect=FileNotFoundError("pcscd"))
    assert run_command(["pcscd", "--version"]) is None


def test_run_command_is_bounded_in_time(mocker) -> None:
    spawn = mocker.patch("subprocess.run", side_effect=subprocess.TimeoutExpired("rpm", 3))
    assert run_command(["rpm", "-q", "x"], timeout=0.5) is None
    assert spawn.call_args.kwargs["timeout"] == 0.5


def test_run_command_ignores_failed_commands(mocker) -> None:
    mocker.patch(
        "subprocess.run",
        return_value=subprocess.CompletedProcess(["rpm"], 1, "package x is not installed", ""),
    )
    assert run_command(["rpm", "-q", "x"]) is None


def test_run_command_returns_output(mocker) -> None:
    mocker.patch(
        "subprocess.run", return_value=subprocess.CompletedProcess(["x"], 0, "", "on stderr\n")
    )
    assert run_command(["x"]) == "on stderr\n"


def test_macos_version_comes_from_mac_ver(mocker) -> None:
    mocker.patch.object(host_module.platform, "mac_ver", return_value=("14.4.1", ("", "", ""), ""))
    mocker.patch.object(host_module.platform, "machine", return_value="arm64")
    info = collect_host("Darwin", Path("/nonexistent"))
    assert info.os_version == "macOS 14.4.1"
    assert info.arch == "arm64"
    assert info.pcsc is None


def test_windows_11_is_told_apart_by_its_build(mocker) -> None:
    mocker.patch.object(host_module.platform, "release", return_value="10")
    mocker.patch.object(host_module.platform, "version", return_value="10.0.22631")
    info = collect_host("Windows", Path("/nonexistent"))
    assert info.os_version == "Windows 11 (10.0.22631)"


@pytest.mark.parametrize(
    ("release", "version", "expected"),
    [
        ("10", "10.0.19045", "Windows 10 (10.0.19045)"),
        ("10", "10.0.22000", "Windows 11 (10.0.22000)"),
        ("2019Server", "10.0.17763", "Windows Server 2019 (10.0.17763)"),
        ("post2012ServerR2", "10.0.14393", "Windows Server 2016 (10.0.14393)"),
        ("8.1", "6.3.9600", "Windows 8.1 (6.3.9600)"),
    ],
)
def test_windows_version_names(release: str, version: str, expected: str) -> None:
    assert windows_version(release, version) == expected


def test_pyscard_version_is_read_without_importing_pyscard(mocker) -> None:
    lookup = mocker.patch.object(host_module.importlib.metadata, "version", return_value="2.3.1")
    assert host_module.pyscard_version() == "2.3.1"
    lookup.assert_called_once_with("pyscard")


def test_missing_pyscard_is_none(mocker) -> None:
    mocker.patch.object(
        host_module.importlib.metadata,
        "version",
        side_effect=importlib.metadata.PackageNotFoundError("pyscard"),
    )
    assert host_module.pyscard_version() is None


def _host(os: str, os_version: str | None, **linux: object) -> HostInfo:
    return HostInfo(os, os_version, "x86_64", "3.11.7", None, None, **linux)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (_host("Windows", "Windows 10 (10.0.19045)"), "supported"),
        (_host("Windows", "Windows 11 (10.0.22631)"), "supported"),
        (_host("Windows", "Windows Server 2019 (10.0.17763)"), "supported"),
        (_host("Windows", "Windows Server 2022 (10.0.20348)"), "unsupported"),
        (_host("Windows", "Windows 8.1 (6.3.9600)"), "unsupported"),
        (_host("Darwin", "macOS 12.7"), "supported"),
        (_host("Darwin", "macOS 14.4.1"), "supported"),
        (_host("Darwin", "macOS 15.0"), "unsupported"),
        (_host("Darwin", None), "unknown"),
        (_host("Linux", "RHEL 9.3", distro_id="rhel", distro_version_id="9.3"), "supported"),
        (_host("Linux", "RHEL 6", distro_id="rhel", distro_version_id="6.10"), "unsupported"),
        (
            _host("Linux", "Rocky", distro_id="rocky", distro_like=("rhel",),
                  distro_version_id="9.3"),
            "rhel_compatible",
        ),
        (_host("Linux", "Debian 12", distro_id="debian", distro_version_id="12"), "unsupported"),
        (_host("FreeBSD", "14.0"), "unsupported"),
    ],
)
def test_support_follows_the_cryptolib_list(info: HostInfo, expected: str) -> None:
    assert support_status(info) == expected


def test_host_info_is_json_ready() -> None:
    info = _host("Linux", "Rocky", distro_like=("rhel", "fedora"))
    data = info.to_dict()
    assert data["distro_like"] == ["rhel", "fedora"]
    assert set(data) >= {"os", "os_version", "arch", "python", "pyscard", "pcsc"}
