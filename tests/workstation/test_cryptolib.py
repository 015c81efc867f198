from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from diagcps.workstation.cryptolib import (
    find_cryptolib,
    meets,
    normalise_version,
    parse_adm_version,
    parse_traces,
    version_tuple,
)


def write(root: Path, absolute: str, text: str = "") -> Path:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def registry_of(values: dict[tuple[str, str], str]):
    calls: list[tuple[str, str]] = []

    def read(key: str, name: str) -> str | None:
        calls.append((key, name))
        return values.get((key, name))

    read.calls = calls  # type: ignore[attr-defined]
    return read


class FakeRunner:
    def __init__(self, output: str | None) -> None:
        self.output = output
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> str | None:
        self.calls.append(list(args))
        return self.output


def linux_install(root: Path, adm: str = "050202") -> None:
    write(root, "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "ELF")
    link = root / "usr/lib64/libcps3_pkcs11_lux.so"
    link.parent.mkdir(parents=True)
    # The package links with absolute targets; a relative one keeps the fake root self-contained.
    link.symlink_to(os.path.relpath(root / "opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so",
                                    link.parent))
    write(root, "/opt/santesocial/CPS/bin/cpgeslux", "ELF")
    write(root, "/var/opt/santesocial/commun/adm/155.adm", adm)
    write(root, "/var/opt/santesocial/commun/adm/174.adm", "030100")


# --- version markers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("050202", "5.2.2"),
        ("050202\n", "5.2.2"),
        ("030100", "3.1.0"),
        ("[ADM]\r\nVersion=050006\r\nDate=20240625\r\n", "5.0.6"),
        ("Cryptolib CPS 5.2.4", "5.2.4"),
        ("", None),
        ("no version here", None),
        ("20240625", None),  # a date, not a version marker
    ],
)
def test_adm_version_markers_are_parsed_tolerantly(text: str, expected: str | None) -> None:
    assert parse_adm_version(text) == expected


def test_versions_compare_numerically() -> None:
    assert version_tuple("5.2.2") == (5, 2, 2)
    assert version_tuple("5.02.02") == (5, 2, 2)
    assert version_tuple(None) is None
    assert normalise_version("CryptolibCPS-5.2.1-1.x86_64") == "5.2.1"
    assert meets("5.2.2", (5, 2)) is True
    assert meets("5.2", (5, 2, 2)) is False
    assert meets("5.10.0", (5, 2)) is True  # not a string comparison
    assert meets("5.1.9", (5, 2)) is False
    assert meets(None, (5, 2)) is None


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ("traces \n{\n\tactive = true;\n\tdebug = 10;\n}", True),
        ("Traces {\n  active = false;\n}\n", False),
        ("Sign_Hash\n{\n\tactive = true;\n}\n", False),  # another block's "active"
        ("", False),
    ],
)
def test_traces_setting_is_read_from_its_block(conf: str, expected: bool) -> None:
    assert parse_traces(conf) is expected


# --- Linux ----------------------------------------------------------------------------------


def test_linux_install_is_found_with_version_and_links(tmp_path: Path) -> None:
    linux_install(tmp_path)
    write(tmp_path, "/etc/opt/santesocial/CPS/cps3_pkcs11.conf", "traces {\n active = true;\n}\n")
    info = find_cryptolib("Linux", tmp_path, run=FakeRunner("9.9.9"))
    assert info.installed is True
    assert info.library_path == "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"
    assert "/usr/lib64/libcps3_pkcs11_lux.so" in info.libraries
    assert info.version == "5.2.2"
    assert info.version_source == "155.adm"
    assert info.pkcs11_version == "3.1.0"
    assert info.card_manager_path == "/opt/santesocial/CPS/bin/cpgeslux"
    assert info.traces_enabled is True
    assert info.obsolete_libraries == []


def test_linux_without_cryptolib(tmp_path: Path) -> None:
    run = FakeRunner("5.2.2")
    info = find_cryptolib("Linux", tmp_path, run=run)
    assert info.installed is False
    assert info.library_path is None
    assert info.version is None
    assert info.traces_enabled is None  # no configuration to read
    assert run.calls == []  # no package manager asked about a library that is not there


def test_dangling_link_is_not_an_install(tmp_path: Path) -> None:
    link = tmp_path / "usr/lib64/libcps3_pkcs11_lux.so"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
    info = find_cryptolib("Linux", tmp_path)
    assert info.installed is False
    assert info.libraries == ["/usr/lib64/libcps3_pkcs11_lux.so"]


def test_linux_version_falls_back_to_rpm(tmp_path: Path) -> None:
    write(tmp_path, "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "ELF")
    run = FakeRunner("5.2.1")
    info = find_cryptolib("Linux", tmp_path, run=run)
    assert info.version == "5.2.1"
    assert info.version_source == "rpm"
    assert run.calls == [["rpm", "-q", "--qf", "%{VERSION}", "CryptolibCPS"]]


def test_rpm_that_does_not_know_the_package_gives_no_version(tmp_path: Path) -> None:
    write(tmp_path, "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "ELF")
    run = FakeRunner("package CryptolibCPS is not installed")
    info = find_cryptolib("Linux", tmp_path, run=run)
    assert info.installed is True
    assert info.version is None
    assert info.version_source is None


def test_fake_root_never_runs_rpm(tmp_path: Path, mocker) -> None:
    write(tmp_path, "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so", "ELF")
    spawn = mocker.patch("diagcps.workstation.commands.subprocess.run")
    info = find_cryptolib("Linux", tmp_path)
    spawn.assert_not_called()
    assert info.version is None


def test_galss_era_libraries_are_reported_obsolete(tmp_path: Path) -> None:
    linux_install(tmp_path)
    write(tmp_path, "/usr/local/galss/libcps_pkcs11_lux.so", "ELF")
    write(tmp_path, "/usr/local/galss/galss.ini", "[CONFIG]")
    info = find_cryptolib("Linux", tmp_path)
    assert info.obsolete_libraries == ["/usr/local/galss/libcps_pkcs11_lux.so"]


# --- macOS ----------------------------------------------------------------------------------


def test_macos_install_with_adm_version(tmp_path: Path) -> None:
    write(tmp_path, "/usr/local/lib/libcps3_pkcs11_osx.dylib", "Mach-O")
    (tmp_path / "Applications/cpgesosx.app").mkdir(parents=True)
    write(tmp_path, "/Library/Application Support/santesocial/commun/adm/155.adm", "050201")
    write(tmp_path, "/Library/Preferences/santesocial/CPS/cps3_pkcs11.conf",
          "traces\n{\n\tactive = false;\n}\n")
    info = find_cryptolib("Darwin", tmp_path)
    assert info.installed is True
    assert info.library_path == "/usr/local/lib/libcps3_pkcs11_osx.dylib"
    assert info.card_manager_path == "/Applications/cpgesosx.app"
    assert (info.version, info.version_source) == ("5.2.1", "155.adm")
    assert info.traces_enabled is False


def test_macos_version_from_package_receipts(tmp_path: Path) -> None:
    write(tmp_path, "/usr/local/lib/libcps3_pkcs11_osx.dylib", "Mach-O")
    (tmp_path / "Library/Receipts/CryptolibCPS-5.0.43.pkg").mkdir(parents=True)
    (tmp_path / "Library/Receipts/CryptolibCPS-5.2.2.pkg").mkdir(parents=True)
    (tmp_path / "Library/Receipts/TokendCPS.pkg").mkdir(parents=True)
    info = find_cryptolib("Darwin", tmp_path)
    assert (info.version, info.version_source) == ("5.2.2", "receipt")


def test_macos_cps2ter_libraries_are_obsolete(tmp_path: Path) -> None:
    write(tmp_path, "/usr/lib/libcps_pkcs11_osx.dylib", "Mach-O")
    info = find_cryptolib("Darwin", tmp_path)
    assert info.installed is False
    assert info.obsolete_libraries == ["/usr/lib/libcps_pkcs11_osx.dylib"]


# --- Windows --------------------------------------------------------------------------------

WINDOWS_ENV = {"SystemRoot": r"C:\Windows", "ProgramFiles": r"C:\Program Files"}


def test_windows_install_with_registry_version(tmp_path: Path) -> None:
    write(tmp_path, "/Windows/System32/cps3_pkcs11_w64.dll", "MZ")
    write(tmp_path, "/Windows/SysWOW64/cps3_pkcs11_w32.dll", "MZ")
    write(tmp_path, "/Program Files/santesocial/CPS/cpgesw64.exe", "MZ")
    registry = registry_of({
        (r"HKLM\SOFTWARE\ASIP\Cryptolib CPS", "Version"): "5.2.2",
        (r"HKCU\Software\ASIP Sante\PKCS11", "Traces"): "1",
    })
    info = find_cryptolib("Windows", tmp_path, registry, WINDOWS_ENV)
    assert info.installed is True
    assert info.library_path == r"C:\Windows\System32\cps3_pkcs11_w64.dll"
    assert info.libraries == [
        r"C:\Windows\System32\cps3_pkcs11_w64.dll",
        r"C:\Windows\SysWOW64\cps3_pkcs11_w32.dll",
    ]
    assert info.card_manager_path == r"C:\Program Files\santesocial\CPS\cpgesw64.exe"
    assert (info.version, info.version_source) == ("5.2.2", "registry")
    assert info.traces_enabled is True


def test_windows_system_root_comes_from_the_environment(tmp_path: Path) -> None:
    write(tmp_path, "/WINNT/System32/cps3_pkcs11_w32.dll", "MZ")
    info = find_cryptolib("Windows", tmp_path, None, {"SYSTEMROOT": r"D:\WINNT"})
    assert info.installed is True
    assert info.library_path == r"D:\WINNT\System32\cps3_pkcs11_w32.dll"


def test_windows_32_bit_installer_key_is_read_too(tmp_path: Path) -> None:
    write(tmp_path, "/Windows/SysWOW64/cps3_pkcs11_w32.dll", "MZ")
    registry = registry_of({
        (r"HKLM\SOFTWARE\WOW6432Node\ASIP\Cryptolib CPS", "Version"): "5.1.0",
        (r"HKCU\Software\ASIP Sante\PKCS11", "Traces"): "0x00000000",
    })
    info = find_cryptolib("Windows", tmp_path, registry, WINDOWS_ENV)
    assert info.version == "5.1.0"
    assert info.traces_enabled is False


def test_windows_without_registry_reader_cannot_know_version(tmp_path: Path) -> None:
    write(tmp_path, "/Windows/System32/cps3_pkcs11_w64.dll", "MZ")
    info = find_cryptolib("Windows", tmp_path, None, WINDOWS_ENV)
    assert info.installed is True
    assert info.version is None
    assert info.traces_enabled is None


def test_windows_without_cryptolib(tmp_path: Path) -> None:
    registry = registry_of({})
    info = find_cryptolib("Windows", tmp_path, registry, WINDOWS_ENV)
    assert info.installed is False
    assert info.version is None
    assert info.traces_enabled is False  # traces not set anywhere: off
    assert (r"HKLM\SOFTWARE\ASIP\Cryptolib CPS", "Version") in registry.calls


def test_unknown_system_has_no_cryptolib(tmp_path: Path) -> None:
    linux_install(tmp_path)
    assert find_cryptolib("FreeBSD", tmp_path).installed is False
