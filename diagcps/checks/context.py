"""What a check may look at: the system it runs on, injectable so tests can fake it."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from diagcps.workstation.paths import system_root


@dataclass
class CheckContext:
    #: "Linux", "Darwin" or "Windows", as platform.system() says it.
    system: str = field(default_factory=platform.system)
    #: File-system root the checks look under ("/" for real, ``$DIAGCPS_ROOT`` or a tmp dir in
    #: tests).
    root: Path = field(default_factory=system_root)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    #: Timezone-aware UTC time of the run.
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    #: Windows registry reader ``(key, value_name) -> str | None``; None when not on Windows.
    registry: Callable[[str, str], str | None] | None = None
    #: Facts shared between checks (host, cryptolib, generations, certificate_dates, …).
    facts: dict[str, Any] = field(default_factory=dict)
    lang: str = "fr"
