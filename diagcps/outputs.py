"""Files the user asks for (``--output``, ``--record``): written without ever clobbering.

diagcps is often run as root (``sudo diagcps check``), where a careless rename would turn
``/dev/null`` into a regular file or follow a symbolic link onto a system file. So:

* ``-`` means standard output;
* a missing target or an existing regular file of the user's own is written atomically
  (temporary file + rename in the same folder: never half a file, a previous report stays whole);
* an existing character device or FIFO (``/dev/null``, ``/dev/tty``, a named pipe) is written in
  place, never replaced; a symbolic link is followed only to one of those;
* anything else (a symbolic link to a file, a directory, a block device, a socket, a file of
  another user) is refused with one line, before the diagnosis starts;
* two outputs on the same file, or an output on the input, are refused before anything runs.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from apdu import transcript as _transcript

STDOUT = "-"


class OutputRefused(ValueError):
    """The target cannot be written without replacing something that is not ours (one line).

    It carries a key of the messages catalogue (``outputs.<key>``) and its fields, so that the
    command line says it in the user's language; ``str()`` is the English sentence."""

    def __init__(self, key: str, **fields: str) -> None:
        self.key, self.fields = key, fields
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        from diagcps import messages

        return messages.msg(f"outputs.{self.key}", lang, **self.fields)


@dataclass(frozen=True)
class Target:
    """Where one output goes, as decided before the diagnosis."""

    #: As the user wrote it (shown in messages).
    given: str
    #: ``"stdout"``, ``"new"`` (absent), ``"file"`` (regular file), ``"stream"`` (char device,
    #: FIFO, or a link to one: written in place).
    kind: str

    @property
    def to_stdout(self) -> bool:
        return self.kind == "stdout"


def classify(given: str) -> Target:
    """Decide how ``given`` will be written, or raise :class:`OutputRefused`."""
    if given == STDOUT:
        return Target(given, "stdout")
    path = Path(given)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        folder = path.parent
        if not folder.is_dir():
            raise OutputRefused("folder_missing", folder=str(folder)) from None
        if not os.access(folder, os.W_OK):
            raise OutputRefused("folder_readonly", folder=str(folder)) from None
        return Target(given, "new")
    except OSError as exc:
        raise OutputRefused("cannot_inspect", path=given,
                            reason=str(exc.strerror or exc)) from exc
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            raise OutputRefused("dangling_link", path=given) from None
        if _is_stream(target.st_mode):
            return Target(given, "stream")
        raise OutputRefused("link", path=given)
    if _is_stream(info.st_mode):
        return Target(given, "stream")
    if stat.S_ISDIR(info.st_mode):
        raise OutputRefused("is_folder", path=given)
    if not stat.S_ISREG(info.st_mode):
        raise OutputRefused("not_regular", path=given)
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise OutputRefused("other_user", path=given)
    if not os.access(path.parent, os.W_OK):
        raise OutputRefused("folder_readonly", folder=str(path.parent))
    return Target(given, "file")


def _is_stream(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _identity(given: str) -> tuple[object, ...]:
    """What makes two paths the same file: device and inode when it exists, else its real path."""
    if given == STDOUT:
        return ("stdout",)
    try:
        info = os.stat(given)
    except OSError:
        return ("path", os.path.realpath(given))
    if _is_stream(info.st_mode):  # two writes to /dev/null do not collide
        return ("stream", given)
    return ("inode", info.st_dev, info.st_ino)


def check_distinct(outputs: dict[str, str | None], inputs: dict[str, str | None]) -> None:
    """Refuse an output given twice, or an output on an input (``replay s.json -o s.json``).

    ``outputs`` and ``inputs`` map option names (``--output``) to paths (``None``: not given).
    Character devices and FIFOs may be shared (``-o /dev/null --record /dev/null``).
    """
    seen: dict[tuple[object, ...], str] = {}
    for name, given in inputs.items():
        if given is not None:
            seen[_identity(given)] = name
    for name, given in outputs.items():
        if given is None:
            continue
        key = _identity(given)
        if key[0] == "stream":
            continue
        if key in seen:
            raise OutputRefused("same_file", option=name, path=given, other=seen[key])
        seen[key] = name


def write(target: Target, text: str) -> None:
    """Write ``text`` to the target decided by :func:`classify` (raises ``OSError``).

    The target is looked at again: what changed since the start is refused, not replaced.
    """
    if target.to_stdout:
        raise ValueError("standard output is written by the caller")
    now = classify(target.given)
    if now.kind == "stream":
        _write_in_place(Path(target.given), text)
    else:
        write_atomic(Path(target.given), text)


def _write_in_place(path: Path, text: str) -> None:
    """Into a device or a FIFO as it is: no O_CREAT, no O_TRUNC, nothing renamed."""
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not _is_stream(info.st_mode):  # swapped for something else since classify()
            raise OSError(errno.EINVAL, "no longer a device or a FIFO")
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Temporary file + rename in the same folder (one implementation, in the transcript module)."""
    _transcript.write_atomic(path, text)
