"""The PKCS#11 modules an NSS database makes a browser load: Firefox's profiles and, on Linux,
``~/.pki/nssdb``, the shared database Chromium and Google Chrome use.

An NSS "sql:" database lists its modules in ``pkcs11.txt`` (blocks of ``key=value`` lines, one
block per module, NSS's internal module first with an empty ``library=``). Reading that file is
how this module learns what a browser will load: nothing is loaded here, no NSS tool is run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from diagcps.workstation.paths import env_get, exists, shown, under

CPS_MARKERS = ("cps3_pkcs11",)
#: The CPS2ter-era module ("CPS PKCS11 sur GALSS"): obsolete, the 5.2 packages remove it.
CPS2TER_MARKERS = ("libcps_pkcs11_",)
OPENSC_MARKERS = ("opensc",)

#: Where Chromium and Google Chrome are installed by the Debian, Ubuntu, Fedora and Google
#: packages (and the snap, which cannot load the Cryptolib: its sandbox hides /opt).
LINUX_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium",
                  "/opt/google/chrome/chrome", "/usr/bin/google-chrome",
                  "/usr/bin/google-chrome-stable")
LINUX_CHROMIUM_SNAP = ("/snap/chromium",)
SHARED_NSSDB = ".pki/nssdb"


@dataclass
class NssModule:
    name: str
    library: str

    @property
    def kind(self) -> str | None:
        """"cps", "cps2ter", "opensc" or None (another module)."""
        lowered = self.library.lower()
        if any(marker in lowered for marker in CPS_MARKERS):
            return "cps"
        if any(marker in lowered for marker in CPS2TER_MARKERS):
            return "cps2ter"
        if any(marker in lowered for marker in OPENSC_MARKERS):
            return "opensc"
        return None


def read_modules(database: Path) -> list[NssModule] | None:
    """The external modules (not NSS's internal one) of the database in ``database``;
    None when it has no readable ``pkcs11.txt``."""
    try:
        text = (database / "pkcs11.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    modules: list[NssModule] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        values: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() in ("library", "name") \
                    and key.strip().lower() not in values:
                values[key.strip().lower()] = value.strip().strip('"')
        if values.get("library"):
            modules.append(NssModule(values.get("name", ""), values["library"]))
    return modules


@dataclass
class ChromiumInfo:
    installed: bool
    install_paths: list[str] = field(default_factory=list)
    #: The shared NSS database, as a path of the diagnosed machine; None without HOME.
    nssdb: str | None = None
    #: Whether the database exists at all (Chromium creates it at its first start).
    nssdb_exists: bool = False
    modules: list[dict[str, str]] = field(default_factory=list)
    cps_module_registered: bool = False
    opensc_module_registered: bool = False
    snap: bool = False


def find_chromium(root: Path = Path("/"), env: Mapping[str, str] | None = None) -> ChromiumInfo:
    """Chromium / Chrome on Linux and what ``~/.pki/nssdb`` makes them load."""
    env = env if env is not None else {}
    installs = [under(root, p) for p in LINUX_CHROMIUM if exists(under(root, p))]
    snap = [under(root, p) for p in LINUX_CHROMIUM_SNAP if exists(under(root, p))]
    info = ChromiumInfo(installed=bool(installs or snap),
                        install_paths=[shown(root, p, "Linux") for p in installs + snap],
                        snap=bool(snap) and not installs)
    home = env_get(env, "HOME")
    if not home:
        return info
    database = under(root, home) / SHARED_NSSDB
    info.nssdb = shown(root, database, "Linux")
    modules = read_modules(database)
    info.nssdb_exists = modules is not None
    for module in modules or []:
        info.modules.append({"name": module.name, "library": module.library,
                             "kind": module.kind or "other"})
        info.cps_module_registered |= module.kind == "cps"
        info.opensc_module_registered |= module.kind == "opensc"
    return info
