"""A private pcscd with a vpcd reader, for tests, benchmarks and demos.

pcscd's socket path (``/run/pcscd/pcscd.comm``) is compiled in and a second daemon refuses to start
beside a running one, so a test run cannot simply start "another" pcscd. When we are root and
``unshare`` exists, the daemon runs in a private mount namespace in which a private temporary
directory is bind-mounted onto ``/run/pcscd``: the daemon creates its socket there, the system's
pcscd (if any) is untouched, and clients in *our* namespace reach the socket through the temporary
directory, named by ``PCSCLITE_CSOCK_NAME`` (libpcsclite clients honour it; the daemon does not).
libpcsclite reads that variable once, at the first ``SCardEstablishContext`` of a process, and keeps
it: set it before the first context (or use :attr:`PrivatePcscd.env` for a subprocess).

The network namespace is shared on purpose: the vpcd driver listens on TCP and the bridge
(:mod:`cardsim.vpcd`) in the test process must reach it. Each daemon gets a free port pair
(vpcd uses ``port`` for reader ``... 00 00`` and ``port + 1`` for ``... 00 01``).

Without root or ``unshare`` the daemon falls back to the system socket path, and only when no pcscd
answers there.

Measured on Debian 12 (pcsc-lite 1.9.9), root, idle machine: ``start()`` + :meth:`wait_ready`
takes about 15 to 25 ms (socket and both vpcd ports ready); ``stop()`` about 2 ms. A card
inserted through the bridge is seen at pcscd's next presence poll, within 400 ms.

Pure process management: no pyscard here.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import IO

SYSTEM_SOCKET_DIR = Path("/run/pcscd")
SOCKET_NAME = "pcscd.comm"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_NAMES = ("Virtual PCD 00 00", "Virtual PCD 00 01")
FRIENDLY_NAME = "Virtual PCD"

# Ports are drawn below Linux's default ephemeral range (32768-60999) so that they do not collide
# with the client side of ordinary outgoing connections.
_PORT_RANGE = (20000, 32000)
_START_ATTEMPTS = 3
_TCP_LISTEN = "0A"


def _find_program(name: str) -> str | None:
    # /usr/sbin is not on every non-root PATH, and pcscd lives there.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")


def _port_pair_free(port: int) -> bool:
    probes: list[socket.socket] = []
    try:
        for candidate in (port, port + 1):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(probe)
            probe.bind(("0.0.0.0", candidate))  # vpcd listens on all interfaces
        return True
    except OSError:
        return False
    finally:
        for probe in probes:
            probe.close()


def free_port_pair(rng: random.Random | None = None) -> int:
    """A port ``p`` such that ``p`` and ``p + 1`` are both free for a TCP listener now."""
    rng = rng or random.Random()
    for _ in range(200):
        port = rng.randrange(*_PORT_RANGE)
        if _port_pair_free(port):
            return port
    raise RuntimeError("no free TCP port pair found for vpcd")


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state in this network namespace, read from /proc (no connection made:
    connecting to a vpcd port would insert a card)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TCP_LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def socket_answers(path: str | os.PathLike[str]) -> bool:
    """True when something accepts connections on the Unix socket ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(os.fspath(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _is_root() -> bool:
    return os.geteuid() == 0


def _shutdown(
    proc: subprocess.Popen[bytes] | None,
    workdir: Path | None,
    log_file: IO[bytes] | None,
    isolated: bool,
    timeout: float,
) -> None:
    """Stop one daemon we started and remove its files. Also registered with weakref.finalize,
    so that a test run that crashes before stop() still leaves nothing behind."""
    if proc is not None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
        if not isolated:
            # A daemon that died hard leaves these behind in the shared directory.
            for name in (SOCKET_NAME, "pcscd.pid"):
                with contextlib.suppress(FileNotFoundError):
                    (SYSTEM_SOCKET_DIR / name).unlink()
    if log_file is not None:
        log_file.close()
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


class PcscdUnavailable(RuntimeError):
    """The private pcscd cannot run here (binary, driver or isolation missing)."""


class PrivatePcscd:
    """A pcscd child process serving two vpcd readers on a private port pair.

    Use as a context manager (start, wait until ready, stop)::

        with PrivatePcscd() as daemon:
            os.environ.update(daemon.env)     # before the first PC/SC context of this process
            with VpcdBridge(card, port=daemon.vpcd_port):
                ...

    ``readers=False`` starts the daemon with no reader configured at all (the "service running,
    no reader plugged in" situation); ``vpcd_port`` is then unused.

    ``stop()`` signals only the child it started, by PID. With ``die_with_parent`` (default) the
    daemon also gets SIGTERM if the thread that started it dies (``setpriv --pdeathsig``), so a
    killed test run does not leave a daemon behind; start it from a thread that outlives it.
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        apdu_log: bool = False,
        port: int | None = None,
        driver: str | os.PathLike[str] = VPCD_DRIVER,
        die_with_parent: bool = True,
        run_dir: str | os.PathLike[str] | None = None,
        readers: bool = True,
    ) -> None:
        self.debug = debug
        self.readers = readers
        self.apdu_log = apdu_log
        self.driver = Path(driver)
        #: Where the isolated daemon's socket goes; known in advance when given, so that
        #: ``PCSCLITE_CSOCK_NAME`` can be set before anything in the process opens a context.
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.die_with_parent = die_with_parent
        self._requested_port = port
        self.vpcd_port: int = port or 0
        self.isolated: bool = False
        self.socket_path: str = ""
        self.start_seconds: float | None = None
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    # --- discovery ---------------------------------------------------------------------------

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether a private pcscd can run here, and why not."""
        if _find_program("pcscd") is None:
            return False, "pcscd is not installed (apt install pcscd)"
        if not VPCD_DRIVER.exists():
            return False, f"vpcd driver {VPCD_DRIVER} missing (apt install vsmartcard-vpcd)"
        if cls._can_isolate():
            return True, "pcscd, vpcd and a private mount namespace (root + unshare)"
        if socket_answers(SYSTEM_SOCKET_DIR / SOCKET_NAME):
            return False, (
                "a pcscd is already running and isolating another one needs root and unshare"
            )
        return True, "pcscd and vpcd on the system socket (no isolation: not root or no unshare)"

    @staticmethod
    def _can_isolate() -> bool:
        return _is_root() and all(_find_program(p) for p in ("unshare", "mount", "sh"))

    @staticmethod
    def planned_socket_path(run_dir: str | os.PathLike[str]) -> str:
        """The socket an isolated daemon started with ``run_dir`` will listen on."""
        return str(Path(run_dir) / SOCKET_NAME)

    @property
    def reader_names(self) -> tuple[str, ...]:
        return READER_NAMES if self.readers else ()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def env(self) -> dict[str, str]:
        """Environment to give a PC/SC client (subprocess) so that it talks to this daemon."""
        return {"PCSCLITE_CSOCK_NAME": self.socket_path}

    @property
    def log_path(self) -> Path | None:
        return self._workdir / "pcscd.log" if self._workdir else None

    def log_text(self) -> str:
        """What the daemon printed so far (``debug=True`` for details)."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")

    # --- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> PrivatePcscd:
        """Start the daemon and wait until it is ready; retry on a port lost to a race."""
        ok, reason = self.available()
        if not ok:
            raise PcscdUnavailable(reason)
        began = time.perf_counter()
        last_error: Exception | None = None
        for _ in range(_START_ATTEMPTS):
            try:
                self._spawn()
                self.wait_ready(timeout)
            except PcscdUnavailable:
                self.stop()
                raise
            except (TimeoutError, RuntimeError) as exc:
                last_error = exc
                self.stop()
                if self._requested_port is not None:
                    break
                continue
            except BaseException:
                self.stop()
                raise
            self.start_seconds = time.perf_counter() - began
            return self
        raise RuntimeError(f"pcscd did not start: {last_error}")

    def _spawn(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="diagcps-pcscd-"))
        conf_dir = self._workdir / "reader.conf.d"
        conf_dir.mkdir()
        run_dir = self.run_dir or self._workdir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        if self.run_dir is not None:
            # A daemon that died hard leaves its socket and PID file, and a new one then refuses
            # to start. Only files of our own private directory are removed, after checking
            # that nothing answers there.
            if socket_answers(run_dir / SOCKET_NAME):
                raise PcscdUnavailable(f"a pcscd already answers in {run_dir}")
            for name in (SOCKET_NAME, "pcscd.pid"):
                with contextlib.suppress(FileNotFoundError):
                    (run_dir / name).unlink()
        self.vpcd_port = self._requested_port or free_port_pair()
        # pcscd -c takes a directory (every file in it is read) or a single file; an empty
        # directory gives a daemon without readers.
        if self.readers:
            (conf_dir / "vpcd").write_text(
                f'FRIENDLYNAME "{FRIENDLY_NAME}"\n'
                f"DEVICENAME   /dev/null:{self.vpcd_port}\n"
                f"LIBPATH      {self.driver}\n"
                f"CHANNELID    {self.vpcd_port}\n"
            )
        pcscd = _find_program("pcscd")
        assert pcscd is not None  # checked by available()
        daemon = [pcscd, "--foreground", "--debug" if self.debug else "--error", "-c",
                  str(conf_dir)]
        if self.apdu_log:
            daemon.append("--apdu")
        self.isolated = self._can_isolate()
        if self.isolated:
            # The mount point must exist on the host; an empty /run/pcscd is what the pcscd
            # package itself creates, so leaving one behind is harmless.
            SYSTEM_SOCKET_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
            # 'private' propagation keeps the bind mount inside the new namespace; exec keeps the
            # PID, so the PID we hold is pcscd's own.
            script = 'mount --bind "$1" /run/pcscd && shift && exec "$@"'
            argv = ["unshare", "--mount", "--propagation", "private", "--",
                    "sh", "-c", script, "sh", str(run_dir), *daemon]
            self.socket_path = str(run_dir / SOCKET_NAME)
        else:
            self._clear_stale_system_files()
            argv = daemon
            self.socket_path = str(SYSTEM_SOCKET_DIR / SOCKET_NAME)
        if self.die_with_parent and _find_program("setpriv"):
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        log = open(self._workdir / "pcscd.log", "wb")  # noqa: SIM115 - closed by _shutdown
        self._log_file = log
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            close_fds=True, start_new_session=True,
        )
        self._finalizer = weakref.finalize(
            self, _shutdown, self._proc, self._workdir, log, self.isolated, 5.0
        )

    @staticmethod
    def _clear_stale_system_files() -> None:
        # A killed pcscd leaves its socket and PID file behind and a new one refuses to start.
        if socket_answers(SYSTEM_SOCKET_DIR / SOCKET_NAME):
            raise PcscdUnavailable("a pcscd already answers on the system socket")
        for name in (SOCKET_NAME, "pcscd.pid"):
            with contextlib.suppress(FileNotFoundError):
                (SYSTEM_SOCKET_DIR / name).unlink()

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until the socket answers and vpcd listens on both ports; raise on expiry or if the
        daemon exits."""
        if self._proc is None:
            raise RuntimeError("pcscd is not started")
        deadline = time.monotonic() + timeout
        wanted = {self.vpcd_port, self.vpcd_port + 1} if self.readers else set()
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"pcscd exited with status {self._proc.returncode}: {self.log_text()[-2000:]}"
                )
            if (
                os.path.exists(self.socket_path)
                and wanted <= listening_ports()
                and socket_answers(self.socket_path)
            ):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"pcscd not ready after {timeout:.1f} s: {self.log_text()[-2000:]}"
                )
            time.sleep(0.005)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM our daemon (by its PID only), wait for it, SIGKILL it if it hangs; clean up."""
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        _shutdown(self._proc, self._workdir, self._log_file, self.isolated, timeout)
        self._proc = None
        self._log_file = None
        self._workdir = None

    def __enter__(self) -> PrivatePcscd:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
