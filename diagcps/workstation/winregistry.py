"""Reading one value from the Windows registry, through an injectable reader.

A reader is ``registry(key, value_name) -> str | None`` with keys written the usual way,
``HKLM\\SOFTWARE\\ASIP\\Cryptolib CPS``. Tests pass a dict lookup; on Windows the default below
uses ``winreg``, imported lazily because the module only exists there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

RegistryReader = Callable[[str, str], "str | None"]

_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
}


def read_windows_registry(key: str, value_name: str) -> str | None:
    """The value as text (numbers in decimal), or None when the key or value does not exist."""
    import winreg  # only on Windows

    hive_name, _, subkey = key.partition("\\")
    hive = getattr(winreg, _HIVES.get(hive_name.upper(), ""), None)
    if hive is None:
        return None
    try:
        with winreg.OpenKey(hive, subkey) as handle:
            value, _kind = winreg.QueryValueEx(handle, value_name)
    except OSError:
        return None
    return None if value is None else str(value)


def default_registry(system: str) -> RegistryReader | None:
    """The real registry when actually running on Windows, else None (nothing to read)."""
    if system == "Windows" and sys.platform == "win32":
        return read_windows_registry
    return None
