"""The official ANS Cryptolib CPS packages in ``../shared/vendor/cryptolib-cps/``, opened for tests.

The packages are test data and a reference client, never part of the project: a user's clone has
no ``../shared``, so the tests that need them skip with a reason there, and fail instead when
``CI`` or ``DIAGCPS_REQUIRE_VENDOR`` is set (CI always has ``../shared``).

Everything is opened in pure Python (RPM headers, cpio, xar), so no ``rpm2cpio`` or ``bsdtar`` is
needed and nothing is ever installed on the machine: files land under a temporary root.
"""

from __future__ import annotations

import gzip
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pytest

VENDOR = Path(__file__).resolve().parent.parent.parent / "shared" / "vendor" / "cryptolib-cps"
LINUX_RPM = "CryptolibCPS-5.2.2-1.x86_64.rpm"
MACOS_PKG = "CryptolibCPS-5.2.1.pkg"
WINDOWS_SPEC = "PSCC_SpecFonct_msi_cryptolib_240625_v3.3.4.pdf"
#: Where the RPM puts the PKCS#11 module, relative to the install root.
LINUX_MODULE = "opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"


def vendor_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("DIAGCPS_REQUIRE_VENDOR"))


def vendor_file(name: str) -> Path:
    """The package file, or a skip (a user's clone) / failure (CI) when ``../shared`` is absent."""
    path = VENDOR / name
    if not path.is_file():
        reason = (f"the official Cryptolib package {name} is not in {VENDOR} "
                  "(../shared is absent in a user's clone)")
        if vendor_required():
            pytest.fail(reason + "; CI must have it")
        pytest.skip(reason)
    return path


# --- RPM --------------------------------------------------------------------------------------

_RPM_LEAD = 96
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
#: RPM header tags that hold the install scriptlets (rpmtag.h).
RPM_SCRIPT_TAGS = {1023: "prein", 1024: "postin", 1025: "preun", 1026: "postun",
                   1151: "pretrans", 1152: "posttrans"}


@dataclass
class RpmHeader:
    strings: dict[int, str] = field(default_factory=dict)


def _read_header(data: bytes, offset: int) -> tuple[RpmHeader, int]:
    if data[offset:offset + 4] != _HEADER_MAGIC:
        raise ValueError(f"no RPM header at offset {offset}")
    count, size = struct.unpack(">II", data[offset + 8:offset + 16])
    index = offset + 16
    store = index + 16 * count
    header = RpmHeader()
    for i in range(count):
        tag, kind, where, _n = struct.unpack(">IIII", data[index + 16 * i:index + 16 * i + 16])
        if kind == 6:  # STRING
            end = data.index(b"\0", store + where)
            header.strings[tag] = data[store + where:end].decode("utf-8", "replace")
    return header, store + size


def rpm_parts(path: Path) -> tuple[RpmHeader, bytes]:
    """The main header and the uncompressed cpio payload of an RPM."""
    data = path.read_bytes()
    _signature, offset = _read_header(data, _RPM_LEAD)
    offset = (offset + 7) // 8 * 8  # the signature header is padded to 8 bytes
    header, offset = _read_header(data, offset)
    return header, gzip.decompress(data[offset:])


def rpm_scripts(path: Path) -> dict[str, str]:
    header, _payload = rpm_parts(path)
    return {name: header.strings[tag] for tag, name in RPM_SCRIPT_TAGS.items()
            if tag in header.strings}


# --- cpio (newc from RPM, odc from macOS payloads) ---------------------------------------------


def extract_cpio(payload: bytes, root: Path) -> list[str]:
    """Extract a cpio archive under ``root``; returns the relative paths written.

    Paths are confined to ``root`` (no absolute path or ``..`` escapes); device nodes are skipped.
    """
    written: list[str] = []
    offset = 0
    while offset < len(payload):
        magic = payload[offset:offset + 6]
        if magic in (b"070701", b"070702"):
            fields = [int(payload[offset + 6 + 8 * i:offset + 14 + 8 * i], 16) for i in range(13)]
            mode, filesize, namesize = fields[1], fields[6], fields[11]
            name_at = offset + 110
            name = payload[name_at:name_at + namesize - 1].decode("utf-8", "replace")
            data_at = (name_at + namesize + 3) // 4 * 4
            next_at = (data_at + filesize + 3) // 4 * 4
        elif magic == b"070707":
            mode = int(payload[offset + 18:offset + 24], 8)
            namesize = int(payload[offset + 59:offset + 65], 8)
            filesize = int(payload[offset + 65:offset + 76], 8)
            name_at = offset + 76
            name = payload[name_at:name_at + namesize - 1].decode("utf-8", "replace")
            data_at = name_at + namesize
            next_at = data_at + filesize
        else:
            raise ValueError(f"not a cpio header at offset {offset}: {magic!r}")
        if name == "TRAILER!!!":
            break
        body = payload[data_at:data_at + filesize]
        offset = next_at
        relative = PurePosixPath(name.lstrip("./").lstrip("/"))
        if not relative.parts or ".." in relative.parts:
            continue
        target = root.joinpath(*relative.parts)
        if stat.S_ISDIR(mode):
            target.mkdir(parents=True, exist_ok=True)
        elif stat.S_ISLNK(mode):
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            target.symlink_to(body.decode("utf-8"))
        elif stat.S_ISREG(mode):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            target.chmod(stat.S_IMODE(mode) | 0o600)
        else:
            continue
        written.append(str(relative))
    return written


def extract_rpm(path: Path, root: Path) -> list[str]:
    _header, payload = rpm_parts(path)
    return extract_cpio(payload, root)


# --- xar (macOS .pkg) --------------------------------------------------------------------------


def xar_members(path: Path) -> dict[str, bytes]:
    """Every file of a xar archive by its path inside the archive, decoded."""
    data = path.read_bytes()
    if data[:4] != b"xar!":
        raise ValueError(f"{path} is not a xar archive")
    header_size, _version, toc_packed, _toc_size = struct.unpack(">HHQQ", data[4:24])
    toc = ElementTree.fromstring(zlib.decompress(data[header_size:header_size + toc_packed]))
    heap = header_size + toc_packed
    members: dict[str, bytes] = {}

    def walk(node: ElementTree.Element, prefix: str) -> None:
        for item in node.findall("file"):
            name = prefix + (item.findtext("name") or "")
            stored = item.find("data")
            if stored is not None:
                start = heap + int(stored.findtext("offset") or 0)
                raw = data[start:start + int(stored.findtext("length") or 0)]
                style = stored.find("encoding")
                kind = style.get("style", "") if style is not None else ""
                members[name] = zlib.decompress(raw) if "gzip" in kind else raw
            walk(item, name + "/")

    walk(toc.find("toc"), "")
    return members


def macos_payload(members: dict[str, bytes], part: str) -> bytes:
    """The uncompressed cpio of ``<component>.pkg/<part>`` (``Payload`` or ``Scripts``)."""
    for name, body in members.items():
        if name.endswith("/" + part):
            return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    raise KeyError(part)


# --- installing into a test root, as the packages' scripts do ----------------------------------

_SHELL_ASSIGNMENT = r'^{name}="?([^"\n]*)"?\s*$'


def _write_adm(adm: Path, script: str, versions: str) -> None:
    """The ADM files both packages' scripts write: the version (from the package's version
    file) on the first line, the label (from the script) after it, without a final newline
    (writeADM: echo "$2" > file; echo -n "$4" >> file)."""
    adm.mkdir(parents=True, exist_ok=True)
    for number, version in (("155", "INS_ADM_VERSION"), ("174", "P11_ADM_VERSION"),
                            ("170", "P11_IFC_VERSION")):
        label = _shell_value(script, f"ADM_{number}_LABEL")
        (adm / f"{number}.adm").write_text(_shell_value(versions, version) + "\n" + label)


def _shell_value(script: str, name: str) -> str:
    import re

    match = re.search(_SHELL_ASSIGNMENT.format(name=re.escape(name)), script, re.MULTILINE)
    if not match:
        raise ValueError(f"{name} is not set in the package's script")
    return match.group(1)


def install_linux_rpm(root: Path) -> Path:
    """The 5.2.2 RPM installed under ``root``: its files, then what its post-install script does
    on a 64-bit machine with no SESAM-Vitale software: ADM files (version, then label, in the
    "new" format of ``/var/opt/santesocial/commun/adm``) and ``/etc/ld.so.conf.d/Cryptolib.conf``.
    The values are read from the package (``/tmp/CPS/adm_versions`` and the script), not typed
    here. Returns ``root``.
    """
    import re

    rpm = vendor_file(LINUX_RPM)
    extract_rpm(rpm, root)
    postin = rpm_scripts(rpm)["postin"]
    versions = (root / "tmp/CPS/adm_versions").read_text(encoding="utf-8")
    _write_adm(root / "var/opt/santesocial/commun/adm", postin, versions)
    conf = re.search(r'echo "([^"]+)" > /etc/ld\.so\.conf\.d/Cryptolib\.conf', postin)
    if conf is None:
        raise ValueError("the post-install script no longer writes Cryptolib.conf")
    ld_conf = root / "etc/ld.so.conf.d/Cryptolib.conf"
    ld_conf.parent.mkdir(parents=True, exist_ok=True)
    ld_conf.write_text(conf.group(1) + "\n")
    return root


def _package_info(members: dict[str, bytes]) -> ElementTree.Element:
    for name, body in members.items():
        if name.endswith("/PackageInfo"):
            return ElementTree.fromstring(body)
    raise KeyError("PackageInfo")


def install_macos_pkg(root: Path, *, cps2ter_library: bool = False) -> Path:
    """The 5.2.1 package installed under ``root``, as macOS Installer and its scripts leave it:
    the Payload's files; the receipt ``/var/db/receipts/<identifier>.plist`` (written by
    Installer itself, from PackageInfo); the postinstall's ADM files (155, 174, 170: its minor
    version is not below 1, so no 154/157) and WebExtension manifests (``mk_json``: ``cps3``,
    and ``cps_2ter_galss`` only when the CPS2ter library exists). ``cps2ter_library`` puts that
    old library in place first, as a machine upgraded from CPS2ter has it. Keychains, pcscd and
    Firefox profiles are left out: diagcps does not read them.
    """
    import plistlib

    members = xar_members(vendor_file(MACOS_PKG))
    extract_cpio(macos_payload(members, "Payload"), root)
    scripts = root / "private/tmp/diagcps-pkg-scripts"
    extract_cpio(macos_payload(members, "Scripts"), scripts)
    info = _package_info(members)
    receipt = root / "var/db/receipts" / f"{info.get('identifier')}.plist"
    receipt.parent.mkdir(parents=True, exist_ok=True)
    receipt.write_bytes(plistlib.dumps({
        "PackageIdentifier": info.get("identifier"), "PackageVersion": info.get("version"),
        "PackageFileName": MACOS_PKG, "InstallPrefixPath": "/",
    }))
    adm_script = (scripts / "adm").read_text(encoding="utf-8")
    versions = (scripts / "version").read_text(encoding="utf-8")
    _write_adm(root / "Library/Application Support/santesocial/commun/adm", adm_script, versions)
    if cps2ter_library:
        old = root / "usr/local/lib/libcps_pkcs11_osx.dylib"
        old.write_bytes(b"\xcf\xfa\xed\xfe")  # a Mach-O magic: the file, not a working library
    manifests = root / "Library/Application Support/Mozilla/PKCS11Modules"
    manifests.mkdir(parents=True, exist_ok=True)
    for name, library, description in (("cps3", "libcps3_pkcs11_osx.dylib",
                                        "Module de sécurité CPS"),
                                       ("cps_2ter_galss", "libcps_pkcs11_osx.dylib",
                                        "OLD PKCS#11 Module")):
        if not (root / "usr/local/lib" / library).is_file():
            continue  # mk_json: test ! -f "$F_LIB/$2" && return 0
        (manifests / f"{name}.json").write_text(
            "{\n"
            f'  "name": "{name}",\n  "description": "{description}",\n'
            f'  "path": "/usr/local/lib/{library}",\n  "type": "pkcs11",\n'
            '  "allowed_extensions": [ "CPS2ter-2020_Firefox@asipsante.fr" ]\n}\n',
            encoding="utf-8")
    return root
