"""Reading a report received from elsewhere: bounded, then checked against the shipped schema.

The schema files (``schema-v<N>.json``) stay the single description of the report. They use a
small part of JSON Schema, and this module interprets exactly that part, compiled once into plain
functions: a fleet summary validates ten thousand reports in well under a second this way, where
a general validator takes several milliseconds per report, and the tool keeps no compiled
dependency on the workstations it is installed on. A keyword the interpreter does not know makes
compiling the schema fail loudly, so a schema change can never be silently half-checked (the test
suite also compares its verdicts with the reference ``jsonschema`` on valid and broken reports).
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

#: A report is a few tens of kilobytes (a crashed check's traceback included); anything above
#: this is refused before a byte is parsed.
MAX_REPORT_BYTES = 4 * 1024 * 1024

#: An error: (path inside the document, message); None when the value is valid.
Error = tuple[str, str] | None
Validator = Callable[[Any], Error]

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "$comment", "default",
                          "examples", "format", "$defs", "deprecated"})


class ReportError(Exception):
    """A file that is not a report this tool can show: the message is one line for a person."""


@dataclass(frozen=True)
class Report:
    path: str
    document: dict[str, Any]


# --- the schema interpreter ------------------------------------------------------------------

def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise SchemaError(f"unknown type {name!r}")


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    return (type(a) is type(b) and a == b) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


class SchemaError(Exception):
    """The schema uses something this interpreter does not implement (a bug, never user input)."""


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Validator] = {}

    def ref(self, pointer: str) -> Validator:
        if not pointer.startswith("#/"):
            raise SchemaError(f"only local references are supported: {pointer}")
        if pointer not in self.refs:
            # Registered before compiling, so that a recursive definition ends.
            cell: list[Validator] = []
            self.refs[pointer] = lambda value: cell[0](value)
            node: Any = self.root
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            cell.append(self.compile(node))
        return self.refs[pointer]

    def compile(self, schema: Any) -> Validator:
        if schema is True or schema == {}:
            return lambda _value: None
        if schema is False:
            return lambda _value: ("", "no value is allowed here")
        steps: list[Validator] = []
        for key, arg in schema.items():
            if key in _ANNOTATIONS:
                continue
            if key == "type":
                steps.append(_type_check([arg] if isinstance(arg, str) else list(arg)))
            elif key == "const":
                steps.append(lambda v, c=arg: None if _same(v, c)
                             else ("", f"{_short(v)} is not {_short(c)}"))
            elif key == "enum" and all(isinstance(c, str) or c is None for c in arg):
                # The common case, made a set lookup: strings (and null) compare by value.
                steps.append(lambda v, e=frozenset(arg), null=None in arg, allowed=arg: None
                             if (type(v) is str and v in e) or (v is None and null)
                             else ("", f"{_short(v)} is not one of {_short(allowed)}"))
            elif key == "enum":
                steps.append(lambda v, e=arg: None if any(_same(v, c) for c in e)
                             else ("", f"{_short(v)} is not one of {_short(e)}"))
            elif key == "pattern":
                rx = re.compile(arg, re.ASCII)
                steps.append(lambda v, rx=rx: None if not isinstance(v, str) or rx.search(v)
                             else ("", f"{_short(v)} does not match {rx.pattern}"))
            elif key in ("minimum", "maximum"):
                below = key == "minimum"

                def bound(v: Any, limit: Any = arg, below: bool = below) -> Error:
                    if not _is_type(v, "number"):
                        return None
                    if (v < limit) if below else (v > limit):
                        return ("", f"{_short(v)} is {'below' if below else 'above'} {limit}")
                    return None
                steps.append(bound)
            elif key in ("minLength", "maxLength", "minItems", "maxItems"):
                kind = str if key.endswith("Length") else list
                least = key.startswith("min")

                def size(v: Any, n: int = arg, kind: type = kind, least: bool = least) -> Error:
                    if isinstance(v, kind) and ((len(v) < n) if least else (len(v) > n)):
                        return ("", f"{'too short' if least else 'too long'} (limit {n})")
                    return None
                steps.append(size)
            elif key == "required":
                steps.append(lambda v, r=tuple(arg): next(
                    (("", f"missing {name!r}") for name in r
                     if isinstance(v, dict) and name not in v), None))
            elif key == "properties":
                props = {name: self.compile(sub) for name, sub in arg.items()}
                steps.append(functools.partial(_properties, props))
            elif key == "additionalProperties":
                known = frozenset(schema.get("properties", {}))
                extra = self.compile(arg)
                steps.append(functools.partial(_additional, known, extra))
            elif key == "items":
                steps.append(functools.partial(_items, self.compile(arg)))
            elif key == "$ref":
                steps.append(self.ref(arg))
            elif key in ("oneOf", "anyOf"):
                subs = [self.compile(sub) for sub in arg]
                steps.append(functools.partial(_one_of if key == "oneOf" else _any_of, subs))
            else:
                raise SchemaError(f"schema keyword {key!r} is not implemented")
        if len(steps) == 1:
            return steps[0]
        return functools.partial(_all, tuple(steps))


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "null": (type(None),), "number": (int, float), "integer": (int, float)}


def _type_check(names: list[str]) -> Validator:
    """A ``type`` keyword as one isinstance test (with JSON's rules for true and 1.0)."""
    for name in names:
        if name not in _PYTHON_TYPES:
            raise SchemaError(f"unknown type {name!r}")
    allowed = tuple({t for name in names for t in _PYTHON_TYPES[name]})
    allow_bool = "boolean" in names
    integral_only = "integer" in names and "number" not in names
    shown = "/".join(names)

    def check_type(value: Any) -> Error:
        if isinstance(value, allowed):
            kind = type(value)
            if kind is bool:
                if allow_bool:
                    return None
            elif kind is not float or not integral_only or value.is_integer():
                return None
        return ("", f"{_short(value)} is not of type {shown}")
    return check_type


def _all(steps: tuple[Validator, ...], value: Any) -> Error:
    for step in steps:
        error = step(value)
        if error is not None:
            return error
    return None


def _properties(props: dict[str, Validator], value: Any) -> Error:
    if not isinstance(value, dict):
        return None
    for name, check in props.items():
        if name in value:
            error = check(value[name])
            if error is not None:
                return (_join(name, error[0]), error[1])
    return None


def _additional(known: frozenset[str], extra: Validator, value: Any) -> Error:
    if not isinstance(value, dict):
        return None
    for name, item in value.items():
        if name not in known:
            error = extra(item)
            if error is not None:
                return (_join(name, error[0]), error[1])
    return None


def _items(check: Validator, value: Any) -> Error:
    if not isinstance(value, list):
        return None
    for index, item in enumerate(value):
        error = check(item)
        if error is not None:
            return (f"[{index}]" + ("." + error[0] if error[0] and error[0][0] != "[" else
                                    error[0]), error[1])
    return None


def _one_of(subs: list[Validator], value: Any) -> Error:
    errors = [sub(value) for sub in subs]
    passed = errors.count(None)
    if passed == 1:
        return None
    if passed > 1:
        return ("", "matches more than one allowed form")
    # The most telling failure is the one that went deepest into the value.
    return max((e for e in errors if e is not None), key=lambda e: len(e[0]))


def _any_of(subs: list[Validator], value: Any) -> Error:
    if any(sub(value) is None for sub in subs):
        return None
    return ("", "matches none of the allowed forms")


def _join(name: str, rest: str) -> str:
    if not rest:
        return name
    return f"{name}{rest}" if rest.startswith("[") else f"{name}.{rest}"


# --- schema versions ---------------------------------------------------------------------------

def _schema_files() -> dict[str, str]:
    """Schema version -> file name, for every ``schema-v<N>.json`` shipped with the tool."""
    found = {}
    for entry in resources.files("diagcps.report").iterdir():
        match = re.fullmatch(r"schema-v(\d+(?:\.\d+)*)\.json", entry.name)
        if match:
            found[match.group(1)] = entry.name
    return found


@functools.cache
def _validator(file_name: str) -> Validator:
    text = resources.files("diagcps.report").joinpath(file_name).read_text("utf-8")
    schema = json.loads(text)
    return _Compiler(schema).compile(schema)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def schema_error(document: Any) -> str | None:
    """Why ``document`` is not a valid diagcps report, in one line; None when it is one.

    A report names its schema version; it is checked against that version's schema, so a report
    made by an older diagcps still validates (older schemas stay shipped). A minor version
    (``1.1``) written by a newer tool is checked against its major version's schema when the
    exact one is not known: later minor versions only add fields.
    """
    if not isinstance(document, dict):
        return "not a diagcps report (the file is not a JSON object)"
    tool = document.get("tool")
    version = document.get("schema_version")
    if not isinstance(tool, dict) or tool.get("name") != "diagcps" or not isinstance(version,
                                                                                        str):
        return "not a diagcps report (no diagcps tool name or schema version)"
    files = _schema_files()
    if not re.fullmatch(r"\d{1,4}(\.\d{1,4}){0,3}", version):
        return f"unknown report schema version {version[:20]!r}"
    name = files.get(version) or files.get(version.split(".")[0])
    if name is None:
        newest = max(files, key=_version_key)
        if _version_key(version) > _version_key(newest):
            return (f"report made by a newer diagcps (schema version {version}); this one "
                    f"reads versions up to {newest}: update diagcps")
        return f"unknown report schema version {version!r}"
    error = _validator(name)(document)
    if error is None:
        return None
    where, message = error
    return f"does not follow the report schema v{version}: {where or 'document'}: {message}"


# --- reading a file ----------------------------------------------------------------------------

def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_report(path: str | os.PathLike[str], *, limit: int = MAX_REPORT_BYTES) -> Report:
    """Read, parse and validate one report file, or raise :class:`ReportError` saying why.

    Bounded before parsing: only a regular file (a FIFO or a device would block or never end) of
    at most ``limit`` bytes is read; nesting too deep for the parser is refused, never a crash.
    """
    text = _read_text(path, limit)
    try:
        document = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ReportError("not a diagcps report (JSON nested too deep)") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long
        raise ReportError(f"not valid JSON ({str(exc).splitlines()[0][:80]})") from None
    error = schema_error(document)
    if error is not None:
        raise ReportError(error)
    return Report(str(path), document)


def _read_text(path: str | os.PathLike[str], limit: int) -> str:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked right after
        # on the opened file itself, so nothing can be swapped in between.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ReportError(f"cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReportError("not a regular file")
        if info.st_size > limit:
            raise ReportError(f"too large for a report ({info.st_size} bytes, limit {limit})")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ReportError(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ReportError(f"too large for a report (over {limit} bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        # Some Windows editors and copy tools add a UTF-8 byte-order mark; it changes nothing.
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def file_label(path: str | os.PathLike[str] | Path) -> str:
    """A path as it may be shown: without control characters."""
    from diagcps.safe_text import printable

    return printable(os.fspath(path))
