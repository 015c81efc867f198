"""Firefox and the PKCS#11 modules it will load for the card.

Firefox reads module manifests (``pkcs11-modules/*.json``) and each profile's ``pkcs11.txt``.
On Linux the Cryptolib installs the ``cps3.json`` manifest, so its absence is a real finding;
on macOS and Windows it registers the module in other ways this tool cannot see, so a module not
found there is reported as unknown (None), never as missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from diagcps.workstation.nssdb import NssModule, read_modules
from diagcps.workstation.paths import env_get, exists, shown, under, windows_path, windows_shown

LINUX_MANIFEST_DIRS = (
    "/usr/lib/mozilla/pkcs11-modules",
    "/usr/lib64/mozilla/pkcs11-modules",
    "/usr/share/mozilla/pkcs11-modules",
)
LINUX_NATIVE_FIREFOX = (
    "/usr/lib/firefox/firefox",
    "/usr/lib64/firefox/firefox",
    "/usr/lib/firefox-esr/firefox-esr",
    "/opt/firefox/firefox",
)
# /snap on Debian-like systems, /var/lib/snapd/snap where / must stay read-only (Fedora, Arch).
LINUX_SNAP = ("/snap/firefox", "/var/lib/snapd/snap/firefox")
LINUX_FLATPAK = "/var/lib/flatpak/app/org.mozilla.firefox"
FLATPAK_APP = "org.mozilla.firefox"

MACOS_APPS = ("/Applications/Firefox.app",)
MACOS_MANIFEST_DIR = "/Library/Application Support/Mozilla/PKCS11Modules"

CPS_MARKERS = ("cps3_pkcs11", "cps3.json")
OPENSC_MARKERS = ("opensc",)


@dataclass
class FirefoxInfo:
    installed: bool
    #: "snap" or "flatpak" when such a sandboxed Firefox is installed, else None.
    sandboxed: str | None = None
    #: A Firefox that is not sandboxed is installed too (or instead).
    native_installed: bool = False
    #: None when it cannot be known on this system.
    cps_module_registered: bool | None = None
    opensc_module_registered: bool | None = None
    manifests: list[str] = field(default_factory=list)
    #: Profiles' pkcs11.txt files that were read.
    profiles_checked: list[str] = field(default_factory=list)
    #: What each profile's NSS database makes Firefox load: {profile, name, library, kind}.
    profile_modules: list[dict[str, str]] = field(default_factory=list)
    install_paths: list[str] = field(default_factory=list)


@dataclass
class _Modules:
    cps: bool = False
    opensc: bool = False
    manifests: list[Path] = field(default_factory=list)
    profiles: list[Path] = field(default_factory=list)
    loaded: list[tuple[Path, NssModule]] = field(default_factory=list)


def _classify(text: str, modules: _Modules) -> None:
    lowered = text.lower()
    if any(marker in lowered for marker in CPS_MARKERS):
        modules.cps = True
    if any(marker in lowered for marker in OPENSC_MARKERS):
        modules.opensc = True


def _scan_manifests(folders: Iterable[Path], modules: _Modules) -> None:
    for folder in folders:
        try:
            paths = sorted(folder.glob("*.json"))
        except OSError:
            continue
        for path in paths:
            modules.manifests.append(path)
            # The file name alone (cps3.json, opensc.json, onepin-opensc-pkcs11.json) usually
            # says which module it is; the "path" field says it for sure.
            _classify(path.name, modules)
            try:
                library = json.loads(path.read_text(encoding="utf-8")).get("path", "")
            except (OSError, ValueError, AttributeError):
                continue
            _classify(str(library), modules)


def _scan_profiles(profile_roots: Iterable[Path], modules: _Modules) -> None:
    for profiles in profile_roots:
        try:
            files = sorted(profiles.glob("*/pkcs11.txt"))
        except OSError:
            continue
        for path in files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            modules.profiles.append(path)
            for line in text.splitlines():
                if line.strip().lower().startswith("library="):
                    _classify(line, modules)
            for module in read_modules(path.parent) or []:
                modules.loaded.append((path.parent, module))


def _home(root: Path, env: Mapping[str, str], system: str) -> Path | None:
    if system == "Windows":
        return None
    home = env_get(env, "HOME")
    return under(root, home) if home else None


def find_firefox(
    system: str, root: Path = Path("/"), env: Mapping[str, str] | None = None
) -> FirefoxInfo:
    """Which Firefox is installed and which card modules it is set to load."""
    env = env if env is not None else {}
    if system == "Linux":
        return _find_linux(root, env)
    if system == "Darwin":
        return _find_macos(root, env)
    if system == "Windows":
        return _find_windows(root, env)
    return FirefoxInfo(installed=False)


def _info(
    show: Callable[[Path], str], installs: list[Path], modules: _Modules, knowable: bool
) -> FirefoxInfo:
    """Modules found are facts everywhere; modules not found are facts only where ``knowable``."""
    return FirefoxInfo(
        installed=bool(installs),
        cps_module_registered=True if modules.cps else (False if knowable else None),
        opensc_module_registered=True if modules.opensc else (False if knowable else None),
        manifests=[show(p) for p in modules.manifests],
        profiles_checked=[show(p) for p in modules.profiles],
        profile_modules=[{"profile": show(profile), "name": m.name, "library": m.library,
                          "kind": m.kind or "other"} for profile, m in modules.loaded],
        install_paths=[show(p) for p in installs],
    )


def _find_linux(root: Path, env: Mapping[str, str]) -> FirefoxInfo:
    home = _home(root, env, "Linux")
    native = [under(root, p) for p in LINUX_NATIVE_FIREFOX if exists(under(root, p))]
    snap = [under(root, p) for p in LINUX_SNAP if exists(under(root, p))]
    flatpak_dirs = [under(root, LINUX_FLATPAK)]
    if home is not None:
        flatpak_dirs.append(home / ".local/share/flatpak/app" / FLATPAK_APP)
    flatpak = [p for p in flatpak_dirs if exists(p)]

    modules = _Modules()
    manifest_dirs = [under(root, d) for d in LINUX_MANIFEST_DIRS]
    profile_roots: list[Path] = []
    if home is not None:
        manifest_dirs.append(home / ".mozilla/pkcs11-modules")
        profile_roots += [
            home / ".mozilla/firefox",
            home / "snap/firefox/common/.mozilla/firefox",
            home / ".var/app" / FLATPAK_APP / ".mozilla/firefox",
        ]
    _scan_manifests(manifest_dirs, modules)
    _scan_profiles(profile_roots, modules)

    info = _info(lambda p: shown(root, p, "Linux"), native + snap + flatpak, modules, True)
    info.native_installed = bool(native)
    info.sandboxed = "snap" if snap else ("flatpak" if flatpak else None)
    return info


def _find_macos(root: Path, env: Mapping[str, str]) -> FirefoxInfo:
    home = _home(root, env, "Darwin")
    apps = [under(root, p) for p in MACOS_APPS]
    manifest_dirs = [under(root, MACOS_MANIFEST_DIR)]
    profile_roots: list[Path] = []
    if home is not None:
        apps.append(home / "Applications/Firefox.app")
        manifest_dirs.append(home / "Library/Application Support/Mozilla/PKCS11Modules")
        profile_roots.append(home / "Library/Application Support/Firefox/Profiles")
    installs = [p for p in apps if exists(p)]
    modules = _Modules()
    _scan_manifests(manifest_dirs, modules)
    _scan_profiles(profile_roots, modules)
    info = _info(lambda p: shown(root, p, "Darwin"), installs, modules, knowable=False)
    info.native_installed = bool(installs)
    return info


def _find_windows(root: Path, env: Mapping[str, str]) -> FirefoxInfo:
    program_dirs = [
        env_get(env, name) for name in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432")
    ]
    candidates = {
        windows_path(root, d) / "Mozilla Firefox" / "firefox.exe"
        for d in (*program_dirs, r"C:\Program Files", r"C:\Program Files (x86)")
        if d
    }
    installs = sorted(p for p in candidates if p.is_file())
    modules = _Modules()
    appdata = env_get(env, "APPDATA")
    if appdata:
        profiles = windows_path(root, appdata) / "Mozilla" / "Firefox" / "Profiles"
        _scan_profiles([profiles], modules)
    info = _info(lambda p: windows_shown(root, p, env), installs, modules, knowable=False)
    info.native_installed = bool(installs)
    return info
