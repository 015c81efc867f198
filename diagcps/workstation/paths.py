"""Turning the absolute paths of the install guides into paths under an injectable root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath


def under(root: Path, absolute: str) -> Path:
    """``/opt/x`` seen from ``root`` (``root`` is ``/`` on a real machine, a tmp dir in tests)."""
    return root / absolute.lstrip("/")


def windows_path(root: Path, path: str) -> Path:
    """A Windows path such as ``C:\\Windows`` mapped under ``root`` (the drive is dropped)."""
    parts = PureWindowsPath(path).parts
    if parts and PureWindowsPath(path).anchor:
        parts = parts[1:]
    return root.joinpath(*parts)


def windows_dir(root: Path, env: Mapping[str, str]) -> Path:
    """The Windows directory (``%SystemRoot%``), case-insensitively looked up in ``env``."""
    value = env_get(env, "SystemRoot") or env_get(env, "windir") or r"C:\Windows"
    return windows_path(root, value)


def env_get(env: Mapping[str, str], name: str) -> str | None:
    """Environment lookup that ignores case, as Windows does."""
    if name in env:
        return env[name]
    lowered = name.lower()
    for key, value in env.items():
        if key.lower() == lowered:
            return value
    return None


def exists(path: Path) -> bool:
    """True for a file, a directory or a link, even a dangling one (an install left traces)."""
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return False


def shown(root: Path, path: Path, system: str) -> str:
    """How ``path`` looks on the diagnosed machine, whatever ``root`` it was found under."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return str(path)
    if system == "Windows":
        return str(PureWindowsPath("C:\\", *relative.parts))
    return "/" + relative.as_posix()


_WINDOWS_DIR_VARIABLES = ("SystemRoot", "windir", "ProgramFiles", "ProgramFiles(x86)",
                          "ProgramW6432", "APPDATA", "LOCALAPPDATA")


def windows_shown(root: Path, path: Path, env: Mapping[str, str]) -> str:
    """Like :func:`shown` on Windows, keeping the drive of the environment folder it lies in."""
    for name in _WINDOWS_DIR_VARIABLES:
        value = env_get(env, name)
        if not value:
            continue
        try:
            relative = path.relative_to(windows_path(root, value))
        except ValueError:
            continue
        return str(PureWindowsPath(value, *relative.parts))
    return shown(root, path, "Windows")


#: Environment variable naming the file-system root the workstation checks look under: ``/`` on
#: a real machine; tests point it at a tree of their own so that no test reads the machine's
#: Cryptolib, ``DICO-FR.GIP``, browser profiles or registry.
ROOT_VARIABLE = "DIAGCPS_ROOT"


def system_root(env: Mapping[str, str] | None = None) -> Path:
    """The root to diagnose: ``$DIAGCPS_ROOT`` when set, else ``/``."""
    env = os.environ if env is None else env
    value = env.get(ROOT_VARIABLE)
    return Path(value) if value else Path("/")


#: As the kernel does: past this many links in one path, it is a loop.
_MAX_LINKS = 40


def resolve_under(root: Path, path: Path) -> Path | None:
    """Where ``path`` leads on the diagnosed machine, following its links there.

    Packages link with absolute targets (``/usr/lib64/x.so -> /opt/…/x.so``): under a test root
    such a target is taken under ``root``, never on the machine running the tool. None for a
    link loop or a path outside ``root``. The result may not exist (a dangling link).
    """
    try:
        pending = list(path.relative_to(root).parts)
    except ValueError:
        return None
    current = root
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        try:
            target = os.readlink(candidate) if candidate.is_symlink() else None
        except OSError:
            target = None
        if target is None:
            current = candidate
            continue
        hops += 1
        if hops > _MAX_LINKS:
            return None
        target_path = PurePosixPath(target)
        if target_path.is_absolute():
            current = root
            pending = [*target_path.parts[1:], *pending]
        else:
            pending = [*target_path.parts, *pending]
    return current


def is_file_under(root: Path, path: Path) -> bool:
    """``path`` is, or links (within ``root``) to, a regular file."""
    resolved = resolve_under(root, path)
    try:
        return resolved is not None and resolved.is_file()
    except OSError:
        return False
