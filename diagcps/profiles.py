"""Finding virtual card profiles by name: the built-in ones live in the repository's
``fixtures/cards``; ``DIAGCPS_PROFILES`` may name another folder; a path is taken as it is."""

from __future__ import annotations

import os
from pathlib import Path

from cardsim.virtual import VirtualCard

REPOSITORY_PROFILES = Path(__file__).resolve().parent.parent / "fixtures" / "cards"


def profile_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("DIAGCPS_PROFILES"):
        dirs.append(Path(os.environ["DIAGCPS_PROFILES"]))
    dirs.append(REPOSITORY_PROFILES)
    return dirs


def find_profile(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".json" and path.exists():
        return path
    for folder in profile_dirs():
        candidate = folder / f"{name}.json"
        if candidate.exists():
            return candidate
    known = sorted(p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.json"))
    raise FileNotFoundError(f"no card profile named {name!r}; known: {', '.join(known) or '-'}")


def load_profile(name: str) -> VirtualCard:
    return VirtualCard.from_file(find_profile(name))
