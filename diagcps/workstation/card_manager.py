"""Can the Cryptolib's card manager (CPS-Gestion) start on this machine?

Measured on the 5.2.2 RPM: ``cpgeslux`` loads ncurses at run time with ``dlopen("libncurses.so")``,
the unversioned name. Debian and Ubuntu ship that name only in ``libncurses-dev``, and there as a
linker script (``INPUT(libncurses.so.6 -ltinfo)``), which ``dlopen`` cannot load: CPS-Gestion then
exits at once, silently, with status 0. So the card manager being present says nothing about it
working; this module looks for a loadable ``libncurses.so`` where the dynamic loader would.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from diagcps.workstation.paths import resolve_under, shown, under

#: The name cpgeslux asks the loader for (strings of the 5.2.2 binary).
NCURSES_NAME = "libncurses.so"
#: The loader's trusted folders, then the multiarch ones of Debian-like systems.
DEFAULT_LIBRARY_DIRS = (
    "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
)
LD_SO_CONF = "/etc/ld.so.conf"

NCURSES_MISSING = "ncurses_missing"
NCURSES_LINKER_SCRIPT = "ncurses_linker_script"

_ELF = b"\x7fELF"


@dataclass
class CardManagerState:
    #: None when the card manager can load ncurses; else NCURSES_MISSING / NCURSES_LINKER_SCRIPT.
    problem: str | None
    #: The ``libncurses.so`` the loader would find (a linker script when that is the problem).
    found: str | None = None
    #: A real ncurses library to link ``libncurses.so`` to, when one is installed.
    real_library: str | None = None
    #: Folders searched, as paths of the diagnosed machine.
    searched: tuple[str, ...] = ()


def library_dirs(root: Path) -> list[str]:
    """The loader's folders: ``/etc/ld.so.conf`` and its includes, then the default ones."""
    found: list[str] = []
    if under(root, LD_SO_CONF).is_file():
        _read_conf(root, LD_SO_CONF, found, depth=0)
    else:
        # Every distribution's ld.so.conf is "include /etc/ld.so.conf.d/*.conf".
        for match in sorted(glob.glob(str(under(root, "/etc/ld.so.conf.d")) + "/*.conf")):
            _read_conf(root, "/" + str(Path(match).relative_to(root)), found, depth=1)
    for folder in DEFAULT_LIBRARY_DIRS:
        if folder not in found:
            found.append(folder)
    return found


def _read_conf(root: Path, conf: str, found: list[str], depth: int) -> None:
    if depth > 4:  # includes that include themselves
        return
    try:
        text = under(root, conf).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include"):
            pattern = line.split(None, 1)[1] if " " in line or "\t" in line else ""
            if not pattern.startswith("/"):
                pattern = str(Path(conf).parent / pattern)
            for match in sorted(glob.glob(str(under(root, pattern)))):
                _read_conf(root, "/" + str(Path(match).relative_to(root)), found, depth + 1)
        elif line.startswith("/") and line not in found:
            found.append(line)


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4)
    except OSError:
        return b""


def card_manager_state(root: Path) -> CardManagerState:
    """Whether ``dlopen("libncurses.so")`` can succeed on the machine under ``root``."""
    folders = library_dirs(root)
    real = _real_ncurses(root, folders)
    for folder in folders:
        candidate = under(root, folder) / NCURSES_NAME
        resolved = resolve_under(root, candidate)
        if resolved is None or not resolved.is_file():
            continue
        # The loader takes the first one it finds and does not look further if it cannot load
        # it: a linker script ahead of nothing else is as bad as no file.
        problem = None if _head(resolved) == _ELF else NCURSES_LINKER_SCRIPT
        return CardManagerState(problem, shown(root, candidate, "Linux"), real, tuple(folders))
    return CardManagerState(NCURSES_MISSING, None, real, tuple(folders))


def _real_ncurses(root: Path, folders: list[str]) -> str | None:
    """An installed ncurses shared library (``libncurses.so.6``, ``.5``): what to link to."""
    for version in ("libncurses.so.6", "libncurses.so.5"):
        for folder in folders:
            versioned = under(root, folder) / version
            target = resolve_under(root, versioned)
            if target is not None and target.is_file() and _head(target) == _ELF:
                return shown(root, versioned, "Linux")
    return None
