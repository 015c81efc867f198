"""Reports made by the tool itself on the virtual card profiles, for a pinned workstation.

``make_report`` runs the real diagnosis (``diagnose``) and the real report builder
(``build_report``) on a profile of ``cardsim/profiles``, as ``diagcps check --virtual-card`` does;
only the workstation facts are given instead of read from this machine (operating system,
Cryptolib, an empty file-system root so no browser is found), so that a report and every view of
it are the same on any machine. The bench uses it too, to generate a large fleet.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)

#: The golden profiles of fixtures/reports.
GOLDEN_PROFILES = ("cps3-healthy", "cps3-pin-blocked", "cps4-healthy", "vitale", "cps3-expired")


@dataclass(frozen=True)
class Station:
    """A workstation's facts, as the host and Cryptolib checks would read them."""

    system: str = "Windows"
    os_version: str = "Windows 11 (10.0.22631)"
    cryptolib: str | None = "5.2.2"
    reader: str = "Gemalto USB Smart Card Reader 0"

    def facts(self) -> dict[str, Any]:
        from diagcps.workstation.cryptolib import CryptolibInfo
        from diagcps.workstation.host import HostInfo

        host = HostInfo(os=self.system, os_version=self.os_version, arch="AMD64",
                        python="3.11.7", pyscard="2.0.7", pcsc=None)
        if self.cryptolib is None:
            cryptolib = CryptolibInfo(installed=False)
        else:
            cryptolib = CryptolibInfo(
                installed=True, library_path=r"C:\Windows\System32\cps3_pkcs11_w64.dll",
                version=self.cryptolib, version_source="registry", traces_enabled=False)
        return {"host": host, "cryptolib": cryptolib}


def make_report(profile: str, *, lang: str = "fr", station: Station | None = None,
                now: datetime = NOW, redacted: bool = False) -> dict[str, Any]:
    """The report ``diagcps check --virtual-card PROFILE`` makes on ``station``."""
    from diagcps.checks.context import CheckContext
    from diagcps.diagnosis import diagnose
    from diagcps.profiles import load_profile
    from diagcps.report.model import build_report
    from diagcps.sources import VirtualSource

    station = station or Station()
    card = load_profile(profile)
    with tempfile.TemporaryDirectory(prefix="diagcps-station-") as root:
        context = CheckContext(system=station.system, root=Path(root), env={},
                               registry=lambda _key, _name: None, facts=station.facts())
        diagnosis = diagnose(VirtualSource({station.reader: card}, detail=profile), now=now,
                             context=context)
    report = build_report(diagnosis, lang=lang, redacted=redacted)
    for check in report["checks"]:
        check["duration_ms"] = 0  # the one value that changes from run to run
    return report


def write_report(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


#: The small fleet of the golden summaries: host -> (profile, station, date, redacted).
FLEET: dict[str, tuple[str, Station, datetime, bool]] = {
    "PC-ACCUEIL-01": ("cps3-healthy", Station(), NOW, False),
    "PC-CARDIO-02": ("cps3-pin-blocked", Station(reader="OMNIKEY 3x21 0"), NOW, False),
    "PC-PHARMA-03": ("cps4-healthy", Station(cryptolib="5.1.3"), NOW, False),
    "PC-URGENCES-04": ("vitale", Station(cryptolib=None), NOW, False),
    "PC-LABO-05": ("cps3-expired", Station(system="Linux",
                                           os_version="Red Hat Enterprise Linux 9.4 (Plow)",
                                           reader="Gemalto PC Twin Reader (645D94C3) 00 00"),
                   NOW, False),
    "PC-RH-06": ("cps3-pin-1-left", Station(os_version="Windows 10 (10.0.19045)"), NOW, True),
}

#: An older report of a host of FLEET, in a dated folder: the summary must keep the newer one.
OLDER = ("PC-CARDIO-02", "cps3-healthy", datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc))


def make_fleet(folder: Path, lang: str = "fr") -> list[Path]:
    """Write the reports of FLEET (and OLDER) under ``folder`` as a collection share would."""
    written = []
    for host, (profile, station, when, redacted) in FLEET.items():
        report = make_report(profile, lang=lang, station=station, now=when, redacted=redacted)
        written.append(write_report(report, folder / "2026-11-28" / f"{host}.json"))
    host, profile, when = OLDER
    station = FLEET[host][1]
    report = make_report(profile, lang=lang, station=station, now=when)
    written.append(write_report(report, folder / "2026-11-20" / f"{host}.json"))
    return written
