"""``diagcps`` as a separate process, the way a terminal starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def _default_sigint() -> None:
    # A shell starting a job in the background (CI runners, `cmd &`) makes it ignore SIGINT, and
    # children inherit that: the tool under test must get Ctrl-C as a terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_tool(*args: str) -> subprocess.Popen[str]:
    """``python -m diagcps ARGS`` with pipes for stdout and stderr and SIGINT as a terminal
    delivers it."""
    return subprocess.Popen([sys.executable, "-m", "diagcps", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            preexec_fn=_default_sigint)
