"""Turning the absolute paths of the install guides into paths under an injectable root."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PureWindowsPath


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
