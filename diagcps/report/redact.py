"""Masking personal data in a report: holder names, national identifier, card serial and number.

Identifiers keep their last four characters (enough for support to match a ticket to a card);
names are replaced whole. Every occurrence of a value is replaced the same way, wherever it
appears, so that a redacted report stays consistent with itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KEEP = 4
NAME_MASK = "[nom masqué]"


def mask(value: str, keep: int = KEEP) -> str:
    """``"810001234567"`` -> ``"********4567"``; values of ``keep`` characters or fewer vanish."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def personal_values(readings: Iterable[Any]) -> dict[str, str]:
    """Map each personal value found in the readings to its masked form."""
    values: dict[str, str] = {}
    for reading in readings:
        for ident in (reading.serial, reading.card_number, getattr(reading, "pan", None)):
            if ident:
                values[str(ident)] = mask(str(ident))
        holder = reading.holder
        if holder is None:
            continue
        for ident in (holder.national_id, holder.id_number):
            if ident:
                values[ident] = mask(ident)
        for name in [*holder_names(holder), holder.display_name]:
            if name and len(name.strip()) > 1:
                values[name] = NAME_MASK
    return values


def holder_names(holder: Any) -> list[str]:
    """Every name the card gives its holder (the display name is built from them)."""
    names = [holder.practice_name, holder.first_name, holder.birth_name, holder.usage_name,
             *holder.first_names]
    return [name for name in names if name]


def redact_values(doc: Any, values: dict[str, str]) -> Any:
    """Return ``doc`` with every occurrence of each key of ``values`` replaced, longest first."""
    ordered = sorted(values.items(), key=lambda kv: len(kv[0]), reverse=True)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            for original, masked in ordered:
                if original in node:
                    node = node.replace(original, masked)
            return node
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(doc)
