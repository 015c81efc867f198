"""The middleware probe's child process: load one PKCS#11 module and say what it sees.

Run as ``python -m diagcps.workstation.pkcs11_child MODULE``, only by
:mod:`diagcps.workstation.pkcs11_probe`, which bounds it in time: a module can hang (the
Cryptolib waits for ever on a mute card), crash or abort, and none of that may reach diagcps.

Read only, by construction: ``C_Initialize``, ``C_GetInfo``, ``C_GetSlotList``,
``C_GetSlotInfo`` and ``C_GetTokenInfo``, nothing else. No session, no login, no PIN.

Each step is announced on stdout before it starts (one ``diagcps-probe`` JSON line), so that a
probe killed on its time-out still says where the module hung. The module may write to stdout
itself: lines without the prefix are not ours.
"""

from __future__ import annotations

import ctypes
import json
import sys
from typing import Any

PREFIX = "diagcps-probe "


def emit(kind: str, **data: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps({"kind": kind, **data}) + "\n")
    sys.stdout.flush()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def _version(value: Any) -> str | None:
    try:
        major, minor = value
    except (TypeError, ValueError):
        return None
    return f"{int(major)}.{int(minor)}"


def probe(module: str) -> dict[str, Any]:
    emit("stage", stage="load")
    try:
        # The loader's own message (wrong architecture, missing dependency) comes from here.
        ctypes.CDLL(module)
    except OSError as exc:
        return {"loaded": False, "stage": "load", "error": str(exc)}
    emit("stage", stage="initialize")
    import pkcs11
    from pkcs11.constants import SlotFlag, TokenFlag

    try:
        lib = pkcs11.lib(module)  # C_GetFunctionList, C_Initialize, C_GetInfo
    except Exception as exc:  # the module's error, whatever the binding calls it
        return {"loaded": True, "stage": "initialize", "error": f"{type(exc).__name__}: {exc}"}
    result: dict[str, Any] = {
        "loaded": True,
        "library_description": _text(lib.library_description),
        "library_version": _version(lib.library_version),
        "manufacturer": _text(lib.manufacturer_id),
        "cryptoki_version": _version(lib.cryptoki_version),
        "slots": [],
    }
    emit("stage", stage="slots")
    try:
        slots = lib.get_slots(token_present=False)  # C_GetSlotList, C_GetSlotInfo
    except Exception as exc:
        result.update(stage="slots", error=f"{type(exc).__name__}: {exc}")
        return result
    for slot in slots:
        entry: dict[str, Any] = {
            "description": _text(slot.slot_description),
            "token_present": bool(slot.flags & SlotFlag.TOKEN_PRESENT),
            "token": None,
        }
        result["slots"].append(entry)
        if not entry["token_present"]:
            continue
        emit("stage", stage="token", slot=entry["description"])
        try:
            token = slot.get_token()  # C_GetTokenInfo
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            continue
        flags = token.flags
        entry["token"] = {
            "label": _text(token.label),
            "serial": _text(token.serial),
            "model": _text(token.model),
            "manufacturer": _text(token.manufacturer_id),
            "pin_locked": bool(flags & TokenFlag.USER_PIN_LOCKED),
            "pin_count_low": bool(flags & TokenFlag.USER_PIN_COUNT_LOW),
            "pin_final_try": bool(flags & TokenFlag.USER_PIN_FINAL_TRY),
        }
    result["stage"] = "done"
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: pkcs11_child MODULE\n")
        return 2
    emit("result", result=probe(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
