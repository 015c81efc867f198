"""Firefox profiles and Chromium's ``~/.pki/nssdb`` as NSS's own tools make them (``certutil``,
``modutil`` of Debian's libnss3-tools): what diagcps says each browser will load.

Modules are added with ``modutil -rawadd``, which writes the module entry without loading the
library: the databases name the libraries where the diagnosed machine has them, and nothing is
loaded on the machine running the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nss_support import nss_database

from diagcps.checks.base import Status
from diagcps.checks.browser_checks import workstation_chromium
from diagcps.checks.context import CheckContext
from diagcps.checks.workstation_checks import workstation_firefox
from diagcps.workstation.nssdb import find_chromium, read_modules

CPS = ("Module CPS", "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
OPENSC = ("OpenSC", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
HOME = "/home/user"


def machine(tmp_path: Path, *, cryptolib: bool = True) -> Path:
    if cryptolib:
        library = tmp_path / CPS[1].lstrip("/")
        library.parent.mkdir(parents=True)
        library.write_bytes(b"\x7fELF")
    return tmp_path


def ctx(root: Path) -> CheckContext:
    return CheckContext(system="Linux", root=root, env={"HOME": HOME})


def firefox_profile(root: Path, name: str, *modules: tuple[str, str]) -> Path:
    (root / "usr/lib/firefox").mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/firefox/firefox").write_bytes(b"\x7fELF")
    profiles = root / HOME.lstrip("/") / ".mozilla/firefox"
    database = nss_database(profiles / name, *modules)
    with (profiles / "profiles.ini").open("a") as ini:
        ini.write(f"[Profile{len(list(profiles.glob('*/pkcs11.txt'))) - 1}]\nName={name}\n"
                  f"IsRelative=1\nPath={name}\n\n")
    return database


def test_the_module_list_of_a_real_nss_database_is_read(tmp_path: Path) -> None:
    database = nss_database(tmp_path / "db", CPS, OPENSC)
    modules = read_modules(database)
    assert [(m.name, m.library, m.kind) for m in modules or []] == [
        (*CPS, "cps"), (*OPENSC, "opensc")]
    assert read_modules(tmp_path / "no-db") is None


@pytest.mark.parametrize(
    ("modules", "status", "code"),
    [((CPS,), Status.OK, None),
     ((OPENSC,), Status.WARNING, "FIREFOX_MODULE_MISSING"),
     ((CPS, OPENSC), Status.WARNING, "COMPETING_MODULES"),
     ((), Status.WARNING, "FIREFOX_MODULE_MISSING")],
    ids=["cryptolib", "opensc", "both", "none"])
def test_firefox_profile_says_what_firefox_will_load(tmp_path: Path, modules: tuple,
                                                     status: Status, code: str | None) -> None:
    root = machine(tmp_path)
    firefox_profile(root, "abcd.default-release", *modules)
    result = workstation_firefox(ctx(root))
    assert (result.status, result.code) == (status, code), result.summary.en
    loaded = [(m["name"], m["library"]) for m in result.details["profile_modules"]]
    assert loaded == list(modules)
    assert all(m["profile"] == f"{HOME}/.mozilla/firefox/abcd.default-release"
               for m in result.details["profile_modules"])


def test_each_firefox_profile_is_reported_on_its_own(tmp_path: Path) -> None:
    root = machine(tmp_path)
    firefox_profile(root, "work", CPS)
    firefox_profile(root, "home", OPENSC)
    result = workstation_firefox(ctx(root))
    by_profile = {m["profile"].rsplit("/", 1)[1]: m["kind"]
                  for m in result.details["profile_modules"]}
    assert by_profile == {"work": "cps", "home": "opensc"}


@pytest.mark.parametrize(
    ("modules", "status", "code"),
    [((CPS,), Status.OK, None),
     ((OPENSC,), Status.WARNING, "CHROMIUM_MODULE_MISSING"),
     ((CPS, OPENSC), Status.WARNING, "COMPETING_MODULES"),
     ((), Status.WARNING, "CHROMIUM_MODULE_MISSING")],
    ids=["cryptolib", "opensc", "both", "none"])
def test_chromium_loads_what_the_shared_nssdb_declares(tmp_path: Path, modules: tuple,
                                                       status: Status, code: str | None) -> None:
    root = machine(tmp_path)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/chromium").write_bytes(b"\x7fELF")
    nss_database(root / HOME.lstrip("/") / ".pki/nssdb", *modules)
    result = workstation_chromium(ctx(root))
    assert (result.status, result.code) == (status, code), result.summary.en
    assert result.details["nssdb"] == f"{HOME}/.pki/nssdb"
    assert [(m["name"], m["library"]) for m in result.details["modules"]] == list(modules)


def test_chromium_without_its_nssdb_yet_and_without_chromium(tmp_path: Path) -> None:
    root = machine(tmp_path)
    assert workstation_chromium(ctx(root)).status is Status.OK  # not installed
    (root / "opt/google/chrome").mkdir(parents=True)
    (root / "opt/google/chrome/chrome").write_bytes(b"\x7fELF")
    info = find_chromium(root, {"HOME": HOME})
    assert info.installed and not info.nssdb_exists
    assert workstation_chromium(ctx(root)).code == "CHROMIUM_MODULE_MISSING"
