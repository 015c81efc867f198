"""Is the ANS Cryptolib CPS (the cards' PKCS#11 middleware) installed, and which version?

Paths and version markers are those of the Cryptolib CPS 5.2 packages (TROUBLESHOOTING.md
section 4). Only files and the registry are read; ``rpm`` is asked only about the real machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from diagcps.workstation.commands import CommandRunner, run_command
from diagcps.workstation.paths import (
    env_get,
    exists,
    is_file_under,
    shown,
    under,
    windows_dir,
    windows_path,
    windows_shown,
)
from diagcps.workstation.winregistry import RegistryReader

# --- where the 5.2 packages put things -------------------------------------------------------

LINUX_LIBRARY = "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"
# The RPM links the library into the system library folders, where browsers look for it.
LINUX_LIBRARY_LINKS = ("/usr/lib64/libcps3_pkcs11_lux.so", "/usr/lib/libcps3_pkcs11_lux.so")
LINUX_CARD_MANAGER = "/opt/santesocial/CPS/bin/cpgeslux"
LINUX_ADM_DIR = "/var/opt/santesocial/commun/adm"
LINUX_CONF = "/etc/opt/santesocial/CPS/cps3_pkcs11.conf"
# CPS2ter-era installs (GALSS channel) left their libraries here.
LINUX_GALSS_DIR = "/usr/local/galss"
# ...but the 5.2.2 package itself installs its code-table library there (its payload, and the
# link /usr/lib64/libcptablux.so): that one is current, not a leftover. Its pre-install script
# moves the CPS2ter files (libcps_pkcs11_lux.so, libcpslux.so, libsscaslux.so, …) to a backup.
LINUX_GALSS_CURRENT = ("libcptablux.so",)

# /usr/local/lib since OS X 10.11 (System Integrity Protection); /usr/lib before.
MACOS_LIBRARIES = ("/usr/local/lib/libcps3_pkcs11_osx.dylib", "/usr/lib/libcps3_pkcs11_osx.dylib")
MACOS_CARD_MANAGER = "/Applications/cpgesosx.app"
MACOS_ADM_DIR = "/Library/Application Support/santesocial/commun/adm"
MACOS_RECEIPTS_DIR = "/Library/Receipts"
# Modern macOS Installer keeps its receipt here, named after the package identifier (the 5.2.1
# package's PackageInfo: fr.asipsante.pkg.cryptolibCPS).
MACOS_RECEIPT = "/var/db/receipts/fr.asipsante.pkg.cryptolibCPS.plist"
MACOS_CONF = "/Library/Preferences/santesocial/CPS/cps3_pkcs11.conf"
# CPS2ter libraries, as listed by the ANS macOS uninstaller.
MACOS_OBSOLETE = (
    "/usr/lib/libcps_pkcs11_osx.dylib",
    "/usr/lib/libcps_pkcs11_pcsc_osx.dylib",
    "/usr/local/lib/libcps_pkcs11_osx.dylib",
    "/usr/local/lib/libcps_pkcs11_pcsc_osx.dylib",
)

WINDOWS_LIBRARIES = (
    ("System32", "cps3_pkcs11_w64.dll"),
    ("SysWOW64", "cps3_pkcs11_w32.dll"),  # 32-bit library on 64-bit Windows
    ("System32", "cps3_pkcs11_w32.dll"),  # 32-bit Windows
)
WINDOWS_CARD_MANAGERS = ("cpgesw64.exe", "cpgesw32.exe")
WINDOWS_VERSION_KEYS = (
    r"HKLM\SOFTWARE\ASIP\Cryptolib CPS",
    r"HKLM\SOFTWARE\WOW6432Node\ASIP\Cryptolib CPS",  # 32-bit installer on 64-bit Windows
)
# Where activation_traces.reg (and its HKLM variants) switch the traces on.
WINDOWS_TRACES_KEYS = (r"HKCU\Software\ASIP Sante\PKCS11", r"HKLM\SOFTWARE\ASIP Sante\PKCS11")

# 155.adm is written by the installer (the Cryptolib's own version), 174.adm by the PKCS#11
# library (its component version).
ADM_INSTALLER = "155.adm"
ADM_PKCS11 = "174.adm"


@dataclass
class CryptolibInfo:
    installed: bool
    library_path: str | None = None
    version: str | None = None
    #: Where the version came from: "155.adm", "rpm", "registry", "receipt", or None.
    version_source: str | None = None
    card_manager_path: str | None = None
    obsolete_libraries: list[str] = field(default_factory=list)
    #: None when the configuration could not be read.
    traces_enabled: bool | None = None
    #: Version of the PKCS#11 library itself (174.adm), e.g. "3.1.0".
    pkcs11_version: str | None = None
    #: Every Cryptolib library file or link found (links in /usr/lib64, both DLL flavours, …).
    libraries: list[str] = field(default_factory=list)


# --- versions ----------------------------------------------------------------------------------

_ADM_SIX_DIGITS = re.compile(r"(?<!\d)(\d\d)(\d\d)(\d\d)(?!\d)")
_DOTTED = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?")


def parse_adm_version(text: str) -> str | None:
    """``050202`` -> "5.2.2". The files may hold other text: take the first six-digit group."""
    match = _ADM_SIX_DIGITS.search(text)
    if match:
        return ".".join(str(int(part)) for part in match.groups())
    return normalise_version(text)


def normalise_version(text: str | None) -> str | None:
    """"5.02.02", "v5.2.2-1" -> "5.2.2"; None when no dotted version is in the text."""
    match = _DOTTED.search(text or "")
    if not match:
        return None
    return ".".join(str(int(part)) for part in match.groups() if part is not None)


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    """"5.2.2" -> (5, 2, 2); None when there is no version to compare."""
    normal = normalise_version(version)
    if normal is None:
        return None
    return tuple(int(part) for part in normal.split("."))


def meets(version: str | None, minimum: tuple[int, ...]) -> bool | None:
    """Whether ``version`` is at least ``minimum``; None when the version is unknown."""
    parts = version_tuple(version)
    if parts is None:
        return None
    width = max(len(parts), len(minimum))
    return parts + (0,) * (width - len(parts)) >= minimum + (0,) * (width - len(minimum))


def _read_text(path: Path) -> str | None:
    try:
        # .adm and .conf files come from Windows-minded tools: Latin-1 never fails to decode.
        return path.read_text(encoding="latin-1")
    except OSError:
        return None


def _adm_version(adm_dir: Path, name: str) -> str | None:
    text = _read_text(adm_dir / name)
    return parse_adm_version(text) if text is not None else None


_TRACES_BLOCK = re.compile(r"\btraces\s*\{(?P<body>[^}]*)\}", re.IGNORECASE)
_ACTIVE = re.compile(r"\bactive\s*=\s*\"?(?P<value>\w+)", re.IGNORECASE)


def parse_traces(conf_text: str) -> bool:
    """``traces { active = true; }`` in cps3_pkcs11.conf (scconf syntax); absent means off."""
    block = _TRACES_BLOCK.search(conf_text)
    if not block:
        return False
    active = _ACTIVE.search(block.group("body"))
    return bool(active) and active.group("value").lower() in {"true", "yes", "on", "1"}


def _traces_from_conf(path: Path) -> bool | None:
    text = _read_text(path)
    return parse_traces(text) if text is not None else None


# --- the code tables ---------------------------------------------------------------------------

DICTIONARY_NAME = "DICO-FR.GIP"


def installed_dictionary(system: str, root: Path = Path("/"),
                         env: Mapping[str, str] | None = None) -> Path:
    """Where the Cryptolib puts its code tables (``DICO-FR.GIP``) on the diagnosed machine.

    Always a path under ``root``: the card reading's labels then come from the machine being
    diagnosed (a test root in tests), never from the one the tests run on.
    """
    env = env if env is not None else {}
    if system == "Windows":
        base = env_get(env, "ALLUSERSPROFILE") or env_get(env, "PROGRAMDATA") \
            or r"C:\ProgramData"
        # The MSI specification (v3.3.4, annex A) installs it in %SANTESOCIAL%\CPS\coffre and
        # in %WINDIR%; older installs kept it in santesocial\cps.
        candidates = [windows_path(root, base) / "santesocial" / "cps" / DICTIONARY_NAME,
                      windows_path(root, base) / "santesocial" / "CPS" / "coffre"
                      / DICTIONARY_NAME,
                      windows_dir(root, env) / DICTIONARY_NAME]
        return next((c for c in candidates if c.is_file()), candidates[0])
    if system == "Darwin":
        return under(root, "/Library/Preferences") / DICTIONARY_NAME
    return under(root, "/etc/opt/santesocial/CPS") / DICTIONARY_NAME


# --- per system --------------------------------------------------------------------------------


def find_cryptolib(
    system: str,
    root: Path = Path("/"),
    registry: RegistryReader | None = None,
    env: Mapping[str, str] | None = None,
    run: CommandRunner | None = None,
) -> CryptolibInfo:
    """What of the Cryptolib CPS is on this machine.

    ``run`` defaults to running real commands only when ``root`` is the real ``/``: a command
    describes the real machine, never a fake file system.
    """
    if run is None and root == Path("/"):
        run = run_command
    env = env if env is not None else {}
    if system == "Linux":
        return _find_linux(root, run)
    if system == "Darwin":
        return _find_macos(root)
    if system == "Windows":
        return _find_windows(root, registry, env)
    return CryptolibInfo(installed=False)


def _find_linux(root: Path, run: CommandRunner | None) -> CryptolibInfo:
    info = _libraries_found(root, "Linux", (LINUX_LIBRARY, *LINUX_LIBRARY_LINKS),
                            LINUX_CARD_MANAGER)
    adm_dir = under(root, LINUX_ADM_DIR)
    info.version = _adm_version(adm_dir, ADM_INSTALLER)
    if info.version:
        info.version_source = ADM_INSTALLER
    elif run is not None and info.installed:
        output = run(["rpm", "-q", "--qf", "%{VERSION}", "CryptolibCPS"])
        if output and "not installed" not in output:
            info.version = normalise_version(output)
            info.version_source = "rpm" if info.version else None
    info.pkcs11_version = _adm_version(adm_dir, ADM_PKCS11)
    info.traces_enabled = _traces_from_conf(under(root, LINUX_CONF))
    info.obsolete_libraries = _galss_libraries(root)
    return info


def _libraries_found(root: Path, system: str, library_paths: Iterable[str],
                     card_manager: str) -> CryptolibInfo:
    """Which of the PKCS#11 library paths exist, and the card manager."""
    libraries = [p for p in (under(root, q) for q in library_paths) if exists(p)]
    # A link whose target was removed does not count as installed; links are followed on the
    # diagnosed machine (under ``root``), never on the one running the tool.
    usable = [p for p in libraries if is_file_under(root, p)]
    info = CryptolibInfo(
        installed=bool(usable),
        library_path=shown(root, usable[0], system) if usable else None,
        libraries=[shown(root, p, system) for p in libraries],
    )
    manager = under(root, card_manager)
    if exists(manager):
        info.card_manager_path = shown(root, manager, system)
    return info


def _galss_libraries(root: Path) -> list[str]:
    galss = under(root, LINUX_GALSS_DIR)
    if not galss.is_dir():
        return []
    found = []
    try:
        for path in sorted(galss.rglob("*")):
            if path.name in LINUX_GALSS_CURRENT:
                continue
            if ".so" in path.name and (path.is_file() or path.is_symlink()):
                found.append(shown(root, path, "Linux"))
    except OSError:
        pass
    return found


_RECEIPT = re.compile(r"^CryptolibCPS-(?P<version>.+)\.pkg$", re.IGNORECASE)


def _find_macos(root: Path) -> CryptolibInfo:
    info = _libraries_found(root, "Darwin", MACOS_LIBRARIES, MACOS_CARD_MANAGER)
    adm_dir = under(root, MACOS_ADM_DIR)
    info.version = _adm_version(adm_dir, ADM_INSTALLER)
    if info.version:
        info.version_source = ADM_INSTALLER
    else:
        info.version = (_plist_receipt_version(under(root, MACOS_RECEIPT))
                        or _receipt_version(under(root, MACOS_RECEIPTS_DIR)))
        info.version_source = "receipt" if info.version else None
    info.pkcs11_version = _adm_version(adm_dir, ADM_PKCS11)
    info.traces_enabled = _traces_from_conf(under(root, MACOS_CONF))
    info.obsolete_libraries = [
        shown(root, under(root, p), "Darwin") for p in MACOS_OBSOLETE if exists(under(root, p))
    ]
    return info


def _plist_receipt_version(path: Path) -> str | None:
    """``PackageVersion`` of an Installer receipt (binary or XML property list)."""
    import plistlib

    try:
        with path.open("rb") as handle:
            data = plistlib.load(handle)
    except (OSError, ValueError, plistlib.InvalidFileException):
        return None
    return normalise_version(str(data.get("PackageVersion"))) if isinstance(data, dict) \
        else None


def _receipt_version(receipts: Path) -> str | None:
    """Highest version among ``CryptolibCPS-<version>.pkg`` package receipts."""
    try:
        names = [p.name for p in receipts.iterdir()]
    except OSError:
        return None
    versions = []
    for name in names:
        match = _RECEIPT.match(name)
        parsed = normalise_version(match.group("version")) if match else None
        if parsed:
            versions.append(parsed)
    return max(versions, key=lambda v: version_tuple(v) or (), default=None)


def _find_windows(
    root: Path, registry: RegistryReader | None, env: Mapping[str, str]
) -> CryptolibInfo:
    windows = windows_dir(root, env)
    libraries = [windows / folder / dll for folder, dll in WINDOWS_LIBRARIES]
    found = [p for p in libraries if p.is_file()]
    info = CryptolibInfo(
        installed=bool(found),
        library_path=windows_shown(root, found[0], env) if found else None,
        libraries=[windows_shown(root, p, env) for p in found],
    )
    manager = _windows_card_manager(root, windows, env)
    if manager is not None:
        info.card_manager_path = windows_shown(root, manager, env)
    if registry is not None:
        for key in WINDOWS_VERSION_KEYS:
            version = normalise_version(registry(key, "Version"))
            if version:
                info.version, info.version_source = version, "registry"
                break
        info.traces_enabled = _windows_traces(registry)
    return info


def _windows_card_manager(root: Path, windows: Path, env: Mapping[str, str]) -> Path | None:
    folders = [windows / "System32", windows / "SysWOW64"]
    for name in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"):
        value = env_get(env, name)
        if value:
            folders.append(windows_path(root, value) / "santesocial")
    folders.append(windows_path(root, r"C:\Program Files\santesocial"))
    folders.append(windows_path(root, r"C:\Program Files (x86)\santesocial"))
    for folder in folders:
        for name in WINDOWS_CARD_MANAGERS:
            direct = folder / name
            if direct.is_file():
                return direct
        if folder.name == "santesocial" and folder.is_dir():
            # The installer's sub-folder layout has changed across versions: search below it.
            for name in WINDOWS_CARD_MANAGERS:
                match = next(iter(sorted(folder.rglob(name))), None)
                if match is not None:
                    return match
    return None


def _windows_traces(registry: RegistryReader) -> bool:
    for key in WINDOWS_TRACES_KEYS:
        raw = registry(key, "Traces")
        if raw is None:
            continue
        try:
            return int(str(raw).strip(), 0) != 0
        except ValueError:
            return str(raw).strip().lower() in {"true", "yes", "on"}
    # Not set anywhere: the library's default is no traces.
    return False
