"""Running a read-only system command with a bound on time, tolerating its absence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

#: Runs a command and returns its standard output, or None when it could not give one.
CommandRunner = Callable[[Sequence[str]], "str | None"]

# Package managers answer in well under a second; a hung one must not hang the diagnosis.
DEFAULT_TIMEOUT = 3.0


def run_command(args: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """Standard output of ``args``, or None if the program is absent, fails or takes too long."""
    try:
        done = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    # Some tools print their version on stderr.
    return done.stdout or done.stderr
