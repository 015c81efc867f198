"""Install detection proven on the official Cryptolib packages: the Linux RPM 5.2.2 and the macOS
package 5.2.1 extracted into temporary roots with what their scripts do applied
(tests/vendor.py), and Windows from the facts of the MSI functional specification.

These roots are the only machines the tests look at: nothing here reads the machine's own files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vendor import install_linux_rpm, install_macos_pkg

from diagcps.checks.base import Status
from diagcps.checks.context import CheckContext
from diagcps.checks.middleware_checks import workstation_card_manager
from diagcps.checks.workstation_checks import workstation_cryptolib
from diagcps.workstation.card_manager import (
    NCURSES_LINKER_SCRIPT,
    NCURSES_MISSING,
    card_manager_state,
)
from diagcps.workstation.cryptolib import find_cryptolib, installed_dictionary

ROOT = Path(__file__).resolve().parents[2]
#: The first bytes of any 64-bit ELF shared object: enough for the loader-folder search, which
#: only tells an ELF file from a linker script.
ELF_HEAD = b"\x7fELF\x02\x01\x01" + b"\0" * 57
#: What Debian 12's libncurses-dev installs as libncurses.so (a linker script).
NCURSES_LINKER_SCRIPT_TEXT = "INPUT(libncurses.so.6 -ltinfo)\n"


def ctx_for(system: str, root: Path, **facts: object) -> CheckContext:
    return CheckContext(system=system, root=root, env={"HOME": "/home/user"}, facts=dict(facts))


# --- Linux: the RPM ------------------------------------------------------------------------------


@pytest.fixture
def rpm_root(tmp_path: Path) -> Path:
    return install_linux_rpm(tmp_path)


def test_rpm_install_is_found_with_its_version_library_and_card_manager(rpm_root: Path) -> None:
    info = find_cryptolib("Linux", rpm_root)
    assert info.installed
    assert info.version == "5.2.2" and info.version_source == "155.adm"
    assert info.pkcs11_version == "3.1.0"
    assert info.library_path == "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"
    # The package's links (absolute targets) are followed inside the root.
    assert "/usr/lib64/libcps3_pkcs11_lux.so" in info.libraries
    assert info.card_manager_path == "/opt/santesocial/CPS/bin/cpgeslux"
    assert info.traces_enabled is False


def test_the_current_package_gives_no_obsolete_middleware_warning(rpm_root: Path) -> None:
    # The package itself ships /usr/local/galss/libcptablux.so (and links it from /usr/lib64).
    assert (rpm_root / "usr/local/galss/libcptablux.so").is_file()
    info = find_cryptolib("Linux", rpm_root)
    assert info.obsolete_libraries == []
    result = workstation_cryptolib(ctx_for("Linux", rpm_root, generations=["CPS3"]))
    assert (result.status, result.code) == (Status.OK, None), result.summary.en
    assert "5.2.2" in result.summary.fr


def test_genuine_cps2ter_leftovers_are_still_detected_beside_it(rpm_root: Path) -> None:
    # What the pre-install script moves away (performbackup) when it finds it: a CPS2ter install
    # made after, or kept by a failed upgrade.
    for name in ("libcps_pkcs11_lux.so", "libcpslux.so"):
        (rpm_root / "usr/local/galss" / name).write_bytes(ELF_HEAD)
    result = workstation_cryptolib(ctx_for("Linux", rpm_root))
    assert result.code == "OBSOLETE_MIDDLEWARE"
    assert result.details["obsolete_libraries"] == ["/usr/local/galss/libcps_pkcs11_lux.so",
                                                    "/usr/local/galss/libcpslux.so"]


def test_the_scriptlet_effects_are_there(rpm_root: Path) -> None:
    adm = rpm_root / "var/opt/santesocial/commun/adm"
    assert (adm / "155.adm").read_text() == "050202\nINSTALLEUR_CRYPTOLIB_CPS_64B"
    assert (rpm_root / "etc/ld.so.conf.d/Cryptolib.conf").read_text() == "/usr/local/galss\n"


def test_a_link_whose_target_is_missing_under_the_root_is_not_an_install(tmp_path: Path) -> None:
    """Only the /usr/lib64 link, as a half-removed install leaves it: its absolute target is
    looked for under the root, never on the machine running the test."""
    link = tmp_path / "usr/lib64/libcps3_pkcs11_lux.so"
    link.parent.mkdir(parents=True)
    link.symlink_to("/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
    info = find_cryptolib("Linux", tmp_path)
    assert not info.installed
    assert info.libraries == ["/usr/lib64/libcps3_pkcs11_lux.so"]


def test_dictionary_is_the_one_of_the_diagnosed_machine(rpm_root: Path) -> None:
    assert installed_dictionary("Linux", rpm_root) == \
        rpm_root / "etc/opt/santesocial/CPS/DICO-FR.GIP"
    assert installed_dictionary("Linux", rpm_root).is_file()


# --- CPS-Gestion and libncurses.so ---------------------------------------------------------------


def _ncurses6(root: Path) -> Path:
    real = root / "usr/lib/x86_64-linux-gnu/libncurses.so.6.4"
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_bytes(ELF_HEAD)
    (real.parent / "libncurses.so.6").symlink_to("libncurses.so.6.4")
    return real


def test_card_manager_without_libncurses_so_is_reported_with_the_library_to_link(
        rpm_root: Path) -> None:
    """Debian 12 without libncurses-dev: only libncurses.so.6 exists."""
    _ncurses6(rpm_root)
    state = card_manager_state(rpm_root)
    assert state.problem == NCURSES_MISSING
    assert state.real_library == "/usr/lib/x86_64-linux-gnu/libncurses.so.6"
    # The package's Cryptolib.conf puts /usr/local/galss in the loader's folders.
    assert "/usr/local/galss" in state.searched
    result = workstation_card_manager(ctx_for("Linux", rpm_root))
    assert (result.status, result.code) == (Status.WARNING, "CARD_MANAGER_BROKEN")
    assert "libncurses.so" in result.summary.fr


def test_card_manager_with_the_dev_linker_script_is_reported(rpm_root: Path) -> None:
    """Debian 12 with libncurses-dev: libncurses.so is a linker script dlopen cannot load."""
    real = _ncurses6(rpm_root)
    (real.parent / "libncurses.so").write_text(NCURSES_LINKER_SCRIPT_TEXT)
    conf = rpm_root / "etc/ld.so.conf"
    conf.write_text("include /etc/ld.so.conf.d/*.conf\n")
    (rpm_root / "etc/ld.so.conf.d/x86_64-linux-gnu.conf").write_text(
        "/usr/local/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n")
    state = card_manager_state(rpm_root)
    assert state.problem == NCURSES_LINKER_SCRIPT
    assert state.found == "/usr/lib/x86_64-linux-gnu/libncurses.so"


def test_the_documented_fix_makes_the_card_manager_fine(rpm_root: Path) -> None:
    """The remedy: a libncurses.so link to the real library in /usr/local/galss (listed by the
    package's Cryptolib.conf, and read before the system folders)."""
    real = _ncurses6(rpm_root)
    (real.parent / "libncurses.so").write_text(NCURSES_LINKER_SCRIPT_TEXT)
    (rpm_root / "usr/local/galss/libncurses.so").symlink_to(
        "/usr/lib/x86_64-linux-gnu/libncurses.so.6")
    (rpm_root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    assert card_manager_state(rpm_root).problem is None
    result = workstation_card_manager(ctx_for("Linux", rpm_root))
    assert (result.status, result.code) == (Status.OK, None)


# --- macOS: the .pkg -----------------------------------------------------------------------------


def test_macos_package_is_found_with_version_library_and_card_manager(tmp_path: Path) -> None:
    root = install_macos_pkg(tmp_path)
    info = find_cryptolib("Darwin", root)
    assert info.installed
    assert info.version == "5.2.1" and info.version_source == "155.adm"
    assert info.pkcs11_version == "3.1.0"
    assert info.library_path == "/usr/local/lib/libcps3_pkcs11_osx.dylib"
    assert info.card_manager_path == "/Applications/cpgesosx.app"
    assert info.obsolete_libraries == []
    result = workstation_cryptolib(ctx_for("Darwin", root, generations=["CPS3"]))
    assert (result.status, result.code) == (Status.OK, None), result.summary.en
    assert installed_dictionary("Darwin", root).is_file()


def test_macos_receipt_gives_the_version_when_the_adm_files_are_gone(tmp_path: Path) -> None:
    root = install_macos_pkg(tmp_path)
    shutil.rmtree(root / "Library/Application Support/santesocial/commun/adm")
    info = find_cryptolib("Darwin", root)
    assert (info.version, info.version_source) == ("5.2.1", "receipt")


def test_macos_cps2ter_library_is_detected(tmp_path: Path) -> None:
    root = install_macos_pkg(tmp_path, cps2ter_library=True)
    # The postinstall then also writes the "OLD PKCS#11 Module" manifest for it.
    assert (root / "Library/Application Support/Mozilla/PKCS11Modules/cps_2ter_galss.json"
            ).is_file()
    result = workstation_cryptolib(ctx_for("Darwin", root))
    assert result.code == "OBSOLETE_MIDDLEWARE"
    assert result.details["obsolete_libraries"] == ["/usr/local/lib/libcps_pkcs11_osx.dylib"]


# --- Windows: the MSI specification --------------------------------------------------------------

#: Files a 64-bit install leaves, transcribed from PSCC_SpecFonct_msi_cryptolib_240625_v3.3.4.pdf
#: (ANS, June 2024), annex A "Liste des fichiers ajoutés après l'installation", 64-bit column.
WINDOWS_64_FILES = (
    r"C:\Windows\System32\cps3_pkcs11_w64.dll", r"C:\Windows\System32\cps3_csp_w64.dll",
    r"C:\Windows\SysWOW64\cps3_pkcs11_w32.dll", r"C:\Windows\SysWOW64\cps3_csp_w32.dll",
    r"C:\Windows\SysWOW64\cptabw32.dll", r"C:\Windows\cptabw64.dll",
    r"C:\Windows\DICO-FR.GIP",
    r"C:\Program Files\santesocial\CPS\cpgesw64.exe", r"C:\Program Files\santesocial\CPS\ccm.exe",
    r"C:\Program Files (x86)\santesocial\CPS\cpgesw32.exe",
)
#: Annex B "Liste des clés ajoutées", common entries: Version is REG_SZ "xx.yy.zz".
WINDOWS_REGISTRY = {
    (r"HKLM\SOFTWARE\ASIP\Cryptolib CPS", "InstallDir"): r"C:\Program Files\santesocial\CPS" "\\",
    (r"HKLM\SOFTWARE\ASIP\Cryptolib CPS", "Version"): "05.02.02",
}
WINDOWS_ENV = {"SystemRoot": r"C:\Windows", "ProgramFiles": r"C:\Program Files",
               "ProgramFiles(x86)": r"C:\Program Files (x86)",
               "ALLUSERSPROFILE": r"C:\ProgramData"}


def test_windows_msi_install_is_found_from_its_files_and_registry(tmp_path: Path) -> None:
    from diagcps.workstation.paths import windows_path

    for name in WINDOWS_64_FILES:
        path = windows_path(tmp_path, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"MZ")

    def registry(key: str, value: str) -> str | None:
        return WINDOWS_REGISTRY.get((key, value))

    info = find_cryptolib("Windows", tmp_path, registry=registry, env=WINDOWS_ENV)
    assert info.installed
    assert info.library_path == r"C:\Windows\System32\cps3_pkcs11_w64.dll"
    assert r"C:\Windows\SysWOW64\cps3_pkcs11_w32.dll" in info.libraries
    assert (info.version, info.version_source) == ("5.2.2", "registry")
    assert info.card_manager_path == r"C:\Program Files\santesocial\CPS\cpgesw64.exe"
    ctx = CheckContext(system="Windows", root=tmp_path, env=WINDOWS_ENV, registry=registry,
                       facts={"generations": ["CPS4"]})
    result = workstation_cryptolib(ctx)
    assert (result.status, result.code) == (Status.OK, None), result.summary.en
    assert installed_dictionary("Windows", tmp_path, WINDOWS_ENV) == \
        windows_path(tmp_path, r"C:\Windows\DICO-FR.GIP")


# --- the machine's own Cryptolib never reaches a test --------------------------------------------


def test_the_suite_passes_on_a_machine_with_the_real_cryptolib_installed(tmp_path: Path) -> None:
    """The golden reports and the code-table tests, run in a private mount namespace where the
    machine has the real 5.2.2 installed (its DICO-FR.GIP, which changes labels, in
    /etc/opt/santesocial/CPS): they must not see it."""
    from cryptolib_run import ETC_AND_VAR_OPT, launcher_or_skip

    machine = install_linux_rpm(tmp_path / "machine")
    done = subprocess.run(
        [*launcher_or_skip(machine, ETC_AND_VAR_OPT), sys.executable, "-c",
         "import pathlib, sys; "
         "assert pathlib.Path('/etc/opt/santesocial/CPS/DICO-FR.GIP').is_file(); "
         "import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', "
         "'tests/cli/test_check_profiles.py', 'tests/cps/test_cps_codes.py', "
         "'tests/cps/test_cps_identity.py']))"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
        env={k: v for k, v in os.environ.items() if k != "DIAGCPS_ROOT"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def _run_cpgeslux(root: Path, first_dir: Path) -> tuple[int | None, bytes]:
    """The real CPS-Gestion of the RPM, with ``first_dir`` first in its library path; its
    Cryptolib (a NEEDED library) found through a folder of links. None: still running after
    3 s (its ncurses screen is up)."""
    from cryptolib_run import launcher_or_skip

    links = root / "ld"
    links.mkdir(exist_ok=True)
    for name in ("libcps3_pkcs11_lux.so.0", "libcps3_pkcs11_lux.so"):
        (links / name).symlink_to(root / "opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm",
           "LD_LIBRARY_PATH": f"{first_dir}:{links}"}
    try:
        done = subprocess.run([*launcher_or_skip(root),
                               str(root / "opt/santesocial/CPS/bin/cpgeslux")],
                              stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=3,
                              check=False)
    except subprocess.TimeoutExpired as running:
        return None, running.stdout or b""
    return done.returncode, done.stdout + done.stderr


def test_cps_gestion_exits_silently_with_status_0_when_libncurses_so_is_a_linker_script(
        tmp_path: Path) -> None:
    """The measurement behind CARD_MANAGER_BROKEN, on the real cpgeslux: with Debian's linker
    script first in its path it exits at once, silently, with status 0; with the documented fix
    (a libncurses.so link to the real library) it draws its screen."""
    real = next((Path(d) / "libncurses.so.6" for d in ("/lib/x86_64-linux-gnu",
                                                        "/usr/lib/x86_64-linux-gnu", "/lib64",
                                                        "/usr/lib64")
                 if (Path(d) / "libncurses.so.6").is_file()), None)
    if real is None:
        pytest.skip("no libncurses.so.6 to load on this machine")
    root = install_linux_rpm(tmp_path / "root")
    script_dir = tmp_path / "dev"
    script_dir.mkdir()
    (script_dir / "libncurses.so").write_text(NCURSES_LINKER_SCRIPT_TEXT)
    status, output = _run_cpgeslux(root, script_dir)
    assert (status, output) == (0, b"")
    fixed_dir = tmp_path / "fixed"
    fixed_dir.mkdir()
    (fixed_dir / "libncurses.so").symlink_to(real)
    shutil.rmtree(root / "ld")
    status, output = _run_cpgeslux(root, fixed_dir)
    assert status is None and b"\x1b[" in output  # still running, its screen drawn
