"""The operating system, Python and PC/SC versions: what support asks for first."""

from __future__ import annotations

import importlib.metadata
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from diagcps.workstation.commands import CommandRunner, run_command
from diagcps.workstation.paths import exists, under


@dataclass(frozen=True)
class HostInfo:
    os: str
    os_version: str | None
    arch: str
    python: str
    pyscard: str | None
    pcsc: str | None
    #: Linux only, from /etc/os-release: ID, ID_LIKE and VERSION_ID, to tell RHEL from others.
    distro_id: str | None = None
    distro_like: tuple[str, ...] = ()
    distro_version_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["distro_like"] = list(self.distro_like)
        return data


def read_os_release(root: Path = Path("/")) -> dict[str, str]:
    """Key/value pairs of os-release(5): /etc/os-release, else /usr/lib/os-release."""
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = under(root, candidate).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        return _parse_os_release(text)
    return {}


def _parse_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


# Server editions share the 10.0 kernel version with the desktop ones; the build tells them apart.
_SERVER_BUILDS = ((20348, "2022"), (17763, "2019"), (14393, "2016"))


def windows_version(release: str, version: str) -> str:
    """``platform.release()``/``version()`` -> "Windows 11 (10.0.22631)".

    Windows 11 still calls itself 10.0: only the build number (22000 and later) tells them apart.
    """
    build = _windows_build(version)
    name = release
    if "server" in release.lower():
        year = next((y for b, y in _SERVER_BUILDS if build is not None and build >= b), None)
        name = f"Server {year}" if year else f"Server ({release})"
    elif release == "10" and build is not None and build >= 22000:
        name = "11"
    return f"Windows {name} ({version})" if version else f"Windows {name}"


def _windows_build(version: str) -> int | None:
    parts = version.split(".")
    if len(parts) >= 3 and parts[2].isdigit():
        return int(parts[2])
    return None


def pyscard_version() -> str | None:
    """The installed pyscard distribution's version, without importing pyscard itself."""
    try:
        return importlib.metadata.version("pyscard")
    except importlib.metadata.PackageNotFoundError:
        return None


_PCSCD_VERSION = re.compile(r"pcsc-lite version\s+([0-9][0-9.]*[0-9])", re.IGNORECASE)


def pcsc_version(root: Path = Path("/"), run: CommandRunner = run_command) -> str | None:
    """pcsc-lite's version on Linux: ``pcscd --version``, else the library package's version."""
    for folder in ("/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"):
        pcscd = under(root, folder) / "pcscd"
        if not exists(pcscd):
            continue
        output = run([str(pcscd), "--version"])
        match = _PCSCD_VERSION.search(output or "")
        if match:
            return f"pcsc-lite {match.group(1)}"
        break
    # pcscd may be absent (socket activation on another host, containers): the client library
    # alone still says which pcsc-lite the tool talks with.
    deb = run(["dpkg-query", "-W", "-f", "${Version}", "libpcsclite1"])
    if deb and deb.strip():
        return f"libpcsclite1 {deb.strip()}"
    rpm = run(["rpm", "-q", "--qf", "%{VERSION}", "pcsc-lite-libs"])
    if rpm and rpm.strip() and "not installed" not in rpm:
        return f"pcsc-lite-libs {rpm.strip()}"
    return None


def collect_host(
    system: str | None = None,
    root: Path = Path("/"),
    run: CommandRunner | None = None,
) -> HostInfo:
    """What this machine is. ``system`` defaults to ``platform.system()``.

    ``run`` defaults to running real commands only when ``root`` is the real ``/``: a command
    describes the real machine, never a fake file system.
    """
    system = system or platform.system()
    if run is None and root == Path("/"):
        run = run_command
    arch = platform.machine() or "unknown"
    python = platform.python_version()
    pyscard = pyscard_version()
    if system == "Linux":
        release = read_os_release(root)
        return HostInfo(
            os=system,
            os_version=release.get("PRETTY_NAME") or release.get("NAME"),
            arch=arch,
            python=python,
            pyscard=pyscard,
            pcsc=pcsc_version(root, run) if run is not None else None,
            distro_id=release.get("ID"),
            distro_like=tuple(release.get("ID_LIKE", "").split()),
            distro_version_id=release.get("VERSION_ID"),
        )
    if system == "Darwin":
        mac = platform.mac_ver()[0]
        os_version = f"macOS {mac}" if mac else None
    elif system == "Windows":
        os_version = windows_version(platform.release(), platform.version())
    else:
        os_version = platform.release() or None
    return HostInfo(system, os_version, arch, python, pyscard, None)


# The systems the Cryptolib CPS 5.2 is published for (TROUBLESHOOTING section 4).
_SUPPORTED_WINDOWS = ("Windows 10 ", "Windows 11 ", "Windows Server 2016", "Windows Server 2019")
_SUPPORTED_MACOS_MAJORS = (12, 13, 14)
_SUPPORTED_RHEL_MAJORS = ("7", "8", "9")


def support_status(host: HostInfo) -> str:
    """Whether the Cryptolib CPS 5.2 supports this system.

    "supported", "rhel_compatible" (a RHEL rebuild such as Rocky or Alma: likely to work, not
    listed), "unsupported", or "unknown" when the version could not be read.
    """
    if host.os == "Windows":
        if not host.os_version:
            return "unknown"
        version = host.os_version + " "
        return "supported" if version.startswith(_SUPPORTED_WINDOWS) else "unsupported"
    if host.os == "Darwin":
        match = re.match(r"macOS (\d+)", host.os_version or "")
        if not match:
            return "unknown"
        return "supported" if int(match.group(1)) in _SUPPORTED_MACOS_MAJORS else "unsupported"
    if host.os == "Linux":
        major = (host.distro_version_id or "").split(".")[0]
        if host.distro_id == "rhel":
            return "supported" if major in _SUPPORTED_RHEL_MAJORS else "unsupported"
        if "rhel" in host.distro_like and major in _SUPPORTED_RHEL_MAJORS:
            return "rhel_compatible"
        return "unsupported"
    return "unsupported"
