"""The middleware probe on the real Cryptolib 5.2.2 (extracted from the official RPM into a test
root), against virtual cards through the private pcscd + vpcd.

The Cryptolib runs in a private mount namespace (tests/cryptolib_run.py): the
machine's /etc is never touched and its card cache is the test root's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptolib_run import clear_cache, launcher_or_skip, run_isolated
from pcsc_clients import EXCLUSIVE, OtherProgram
from vendor import LINUX_MODULE, install_linux_rpm

from cardsim.virtual import VirtualCard
from diagcps.checks.base import Status
from diagcps.checks.context import CheckContext
from diagcps.checks.middleware_checks import PROBE_LAUNCHER_FACT, PROBE_TIMEOUT_FACT
from diagcps.diagnosis import diagnose
from diagcps.report.model import load_schema
from diagcps.sources import PcscSource
from diagcps.workstation.pkcs11_probe import OUTCOME_OK, OUTCOME_TIMEOUT, probe_module

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "cardsim" / "profiles"
NOW = "2026-11-28T09:00:00"
#: What the Cryptolib may send while probing: SELECT, READ BINARY, GET RESPONSE, GET DATA.
#: Observed: A4, B0, C0, CB. No write, no key operation.
PROBE_INS = {0xA4, 0xB0, 0xC0, 0xCA, 0xCB}
#: On a CPS4 it also asks the PIN and unblock-code counters with the empty VERIFY of ISO 7816-4
#: (docs/CPS-CARD.md, [C]): the header alone, or with P3 = 00 over T=0, never any data.
INS_VERIFY = 0x20


def _reads_only(raw: bytes) -> bool:
    if raw[1] == INS_VERIFY:
        return len(raw) == 4 or (len(raw) == 5 and raw[4] == 0)
    return raw[1] in PROBE_INS


#: The CPS3 contact ATR of the older batch (docs/CPS-CARD.md 2.1).
OLDER_BATCH_ATR = "3BAC00402A001225006480820212009000"


@pytest.fixture(scope="module")
def cryptolib_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_linux_rpm(tmp_path_factory.mktemp("cryptolib-5.2.2"))


@pytest.fixture
def cold(cryptolib_root: Path) -> Iterator[Path]:
    clear_cache(cryptolib_root)
    yield cryptolib_root


def card(profile: str, atr: str | None = None) -> VirtualCard:
    data = json.loads((PROFILES / f"{profile}.json").read_text(encoding="utf-8"))
    if atr is not None:
        data["atr"] = atr
    return VirtualCard(data)


def probe(root: Path, timeout_s: float = 10.0) -> Any:
    return probe_module(root / LINUX_MODULE, timeout_s=timeout_s, launcher=launcher_or_skip(root))


def check_in_process(root: Path, timeout_s: float = 10.0) -> dict[str, Any]:
    """The diagnosis as ``diagcps check`` runs it, on the machine under ``root``."""
    ctx = CheckContext(system="Linux", root=root, env=dict(os.environ),
                       facts={PROBE_LAUNCHER_FACT: launcher_or_skip(root),
                              PROBE_TIMEOUT_FACT: timeout_s})
    diagnosis = diagnose(PcscSource(timeout_s=2.0), only=("card.pin", "workstation.middleware"),
                         context=ctx)
    run = next(r for r in diagnosis.results if r.spec.id == "workstation.middleware")
    return {"status": run.result.status, "code": run.result.code,
            "fr": run.result.summary.fr, "en": run.result.summary.en,
            "details": run.result.details, "reading": diagnosis.reading}


def assert_untouched(virtual: VirtualCard, before: dict) -> None:
    for raw in virtual.commands():
        assert _reads_only(raw), f"the Cryptolib sent {raw.hex()}"
    after = virtual.pin_counters()
    apdus = [entry.at for entry in virtual.log if entry.kind == "apdu"]
    if any(entry.kind == "power_off" and (not apdus or entry.at < apdus[0])
           for entry in virtual.log):
        # pcscd powered the idle card down before the probe: that ends a verification made
        # "before", as on a real card; the counters themselves must be untouched.
        assert {r: c[:2] for r, c in after.items()} == {r: c[:2] for r, c in before.items()}
    else:
        assert after == before


# --- the probe itself ----------------------------------------------------------------------------


def test_probe_reads_a_healthy_cps3_like_the_card_reading_without_login(pcsc_stack,
                                                                       cold: Path) -> None:
    virtual = card("cps3-healthy")
    before = virtual.pin_counters()
    pcsc_stack.serve(virtual)
    result = probe(cold)
    assert result.outcome == OUTCOME_OK, result
    assert result.library_description == "CPS3 PKCS#11 LINUX"
    assert result.library_version == "3.1" and result.manufacturer == "ANS"
    (slot, token), = [(s, t) for s, t in result.tokens()]
    assert slot.description == pcsc_stack.reader(0)
    assert token.serial == "99213845" and token.model == "IAS ECC"
    assert not token.pin_locked
    assert_untouched(virtual, before)
    # It cached the card's files in the test root's cache, not the machine's.
    cache = cold / "etc/opt/santesocial/CPS/cache"
    assert any(p.name.startswith("99213845_") for p in cache.iterdir())
    assert not Path("/etc/opt/santesocial").exists()


@pytest.mark.parametrize("profile", sorted(p.stem for p in PROFILES.glob("*.json")))
def test_probe_changes_no_counter_and_sends_only_reads_on_every_profile(pcsc_stack, cold: Path,
                                                                        profile: str) -> None:
    virtual = card(profile)
    before = virtual.pin_counters()
    bridge = pcsc_stack.serve(virtual)
    bridge.clear_events()
    result = probe(cold)
    assert result.outcome == OUTCOME_OK, result
    assert_untouched(virtual, before)
    assert bridge.events_of("power_off", "reset") == []


def test_the_cryptolib_hangs_on_a_mute_card_and_the_probe_kills_it_on_time(pcsc_stack,
                                                                            cold: Path) -> None:
    """Measured: the Cryptolib waits for ever on a mute card. The time limit ends it."""
    pcsc_stack.serve(card("cps3-healthy"), mute=True)
    started = time.monotonic()
    result = probe(cold, timeout_s=2.0)
    elapsed = time.monotonic() - started
    assert result.outcome == OUTCOME_TIMEOUT and result.killed and result.exit == "SIGKILL"
    assert result.stage in ("initialize", "slots", "token")  # observed: in C_Initialize
    assert 2.0 <= elapsed < 4.0


def test_a_probe_killed_while_it_holds_the_card_makes_pcscd_reset_it(pcsc_stack,
                                                                    cold: Path) -> None:
    """Measured: when a process dies with a card handle open, pcscd disconnects it with
    SCARD_RESET_CARD. A slow card keeps the Cryptolib busy past its time limit; after the kill
    the card is reset. This is why the check never starts the probe on a mute card or on one
    another program holds: its kill would reset the card under that program."""
    virtual = card("cps3-healthy")
    before = virtual.pin_counters()
    bridge = pcsc_stack.serve(virtual, delay_s=0.4)
    bridge.clear_events()
    result = probe(cold, timeout_s=1.5)
    assert result.outcome == OUTCOME_TIMEOUT and result.killed
    assert bridge.events_of("apdu"), "the Cryptolib never reached the card"
    deadline = time.monotonic() + 5.0
    while not bridge.events_of("reset", "power_off") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bridge.events_of("reset", "power_off")
    assert {r: c[:2] for r, c in virtual.pin_counters().items()} == \
        {r: c[:2] for r, c in before.items()}


# --- the check: agreement with diagcps's own reading ---------------------------------------------


def test_healthy_cps3_the_cryptolib_sees_the_card_in_one_line(pcsc_stack, cold: Path) -> None:
    pcsc_stack.serve(card("cps3-healthy"))
    found = check_in_process(cold)
    assert found["status"] is Status.OK, found
    assert found["fr"] == ("La Cryptolib voit votre carte "
                           f"({found['details']['token']['label']}, n° 99213845).")
    assert found["details"]["token"]["serial"] == found["reading"].serial
    assert found["details"]["disagreements"] == []


def test_blocked_cps3_token_pin_locked_agrees_with_the_card(pcsc_stack, cold: Path) -> None:
    pcsc_stack.serve(card("cps3-pin-blocked"))
    found = check_in_process(cold)
    assert found["reading"].pin.state == "blocked"
    assert found["details"]["token"]["pin_locked"] is True
    assert found["status"] is Status.OK, found


def test_cps4(pcsc_stack, cold: Path) -> None:
    pcsc_stack.serve(card("cps4-healthy"))
    found = check_in_process(cold)
    if found["code"] == "MIDDLEWARE_NO_TOKEN":
        pytest.xfail("the virtual CPS4's channel-1 model (cardsim) is not yet one the Cryptolib "
                     "5.2.2 reads: its answer says MIDDLEWARE_NO_TOKEN")
    assert found["status"] is Status.OK, found
    assert found["details"]["token"]["serial"] == found["reading"].serial


def test_vitale_card_the_cryptolib_sees_no_cps_either(pcsc_stack, cold: Path) -> None:
    pcsc_stack.serve(card("vitale"))
    found = check_in_process(cold)
    assert found["status"] is Status.OK, found
    assert found["details"]["token"] is None
    assert "comme diagcps" in found["fr"]


def test_older_batch_cps3_atr_is_read_by_diagcps_but_not_seen_by_the_cryptolib(
        pcsc_stack, cold: Path) -> None:
    """Observed on the 5.2.2 module: a CPS3 with the older-batch ATR gets no token, and the
    Cryptolib sends it no command at all (it rejects the ATR)."""
    virtual = card("cps3-healthy", atr=OLDER_BATCH_ATR)
    pcsc_stack.serve(virtual)
    found = check_in_process(cold)
    assert found["reading"].recognised
    sent_by_diagcps = len(virtual.commands())
    assert (found["status"], found["code"]) == (Status.FAIL, "MIDDLEWARE_NO_TOKEN"), found
    # Without the table of the ATRs the Cryptolib knows, the reason stays unknown.
    assert found["details"]["reason"] in ("atr_unknown", "unknown")
    assert len(virtual.commands()) == sent_by_diagcps


@pytest.mark.parametrize(("knows", "reason"), [(False, "atr_unknown"), (True, "unknown")])
def test_no_token_reason_comes_from_the_cryptolibs_atr_table(pcsc_stack, cold: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             knows: bool, reason: str) -> None:
    import types

    table = types.ModuleType("diagcps.cps.cryptolib_atr")
    table.cryptolib_knows_atr = lambda atr: knows  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "diagcps.cps.cryptolib_atr", table)
    pcsc_stack.serve(card("cps3-healthy", atr=OLDER_BATCH_ATR))
    found = check_in_process(cold)
    assert found["code"] == "MIDDLEWARE_NO_TOKEN"
    assert found["details"]["reason"] == reason


def test_mute_card_the_probe_is_never_started(pcsc_stack, cold: Path) -> None:
    bridge = pcsc_stack.serve(card("cps3-healthy"), mute=True)
    bridge.clear_events()
    started = time.monotonic()
    found = check_in_process(cold)
    assert found["status"] is Status.SKIPPED
    assert found["details"]["not_started_because"] == "mute"
    assert time.monotonic() - started < 8.0
    assert not (cold / "etc/opt/santesocial/CPS/cache").exists() or not any(
        (cold / "etc/opt/santesocial/CPS/cache").iterdir())


def test_card_held_exclusively_the_probe_is_never_started(pcsc_stack, cold: Path) -> None:
    pcsc_stack.serve(card("cps3-healthy"))
    with OtherProgram(pcsc_stack.reader(0), share=EXCLUSIVE):
        found = check_in_process(cold)
        assert found["status"] is Status.SKIPPED
        assert found["details"]["not_started_because"] == "in_use"


def test_a_logged_in_session_of_another_program_survives_the_probe(pcsc_stack,
                                                                  cold: Path) -> None:
    virtual = card("cps4-healthy")
    pin = virtual.pins[1]
    with pcsc_stack.logged_in_elsewhere(virtual) as bridge:
        result = probe(cold)
        assert result.outcome == OUTCOME_OK
        assert bridge.events_of("power_off", "reset") == []
        assert pin.verified and pin.remaining == pin.max


def test_library_version_differing_from_the_install_marker_is_reported(pcsc_stack,
                                                                      tmp_path: Path) -> None:
    root = install_linux_rpm(tmp_path)
    # An older 174.adm left beside a newer library: the marker claims 3.0.0, C_GetInfo says 3.1.
    (root / "var/opt/santesocial/commun/adm/174.adm").write_text("030000\nPKCS#11_CPS3_V5_64B")
    pcsc_stack.serve(card("cps3-healthy"))
    found = check_in_process(root)
    assert found["code"] == "MIDDLEWARE_VERSION_MISMATCH", found
    assert found["details"]["library_version"] == "3.1"
    assert found["details"]["installed_pkcs11_version"] == "3.0.0"


# --- diagcps check as a user runs it ------------------------------------------------------------


def test_diagcps_check_through_the_real_stack_with_the_real_cryptolib(pcsc_stack,
                                                                     cold: Path) -> None:
    virtual = card("cps3-healthy")
    before = virtual.pin_counters()
    pcsc_stack.serve(virtual)
    done = run_isolated(cold, [sys.executable, "-m", "diagcps", "check", "--json", "--now", NOW],
                        env={"DIAGCPS_ROOT": str(cold)})
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, load_schema())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["workstation.cryptolib"]["status"] == "ok"
    assert checks["workstation.cryptolib"]["details"]["version"] == "5.2.2"
    assert checks["workstation.middleware"]["status"] == "ok", checks["workstation.middleware"]
    assert "99213845" in checks["workstation.middleware"]["summary"]
    assert virtual.pin_counters() == before
    assert not Path("/etc/opt/santesocial").exists()


def test_the_child_never_logs_in_nor_opens_a_session() -> None:
    """Read only by construction: the child calls nothing that opens a session, logs in or
    changes a token (python-pkcs11's names for C_OpenSession, C_Login, C_InitToken…)."""
    import ast

    tree = ast.parse((ROOT / "diagcps/workstation/pkcs11_child.py").read_text(encoding="utf-8"))
    called = {node.func.attr for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    forbidden = {"open", "login", "init_token", "init_pin", "set_pin", "generate_key",
                 "generate_keypair", "create_object", "seed_random", "generate_random",
                 "get_objects", "copy", "destroy"}
    assert called & forbidden == set()
    assert {"lib", "get_slots", "get_token"} <= called


def test_opensc_declared_in_firefox_is_asked_too(pcsc_stack, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from nss_support import nss_database

    machine_opensc = Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
    if not machine_opensc.is_file():
        if os.environ.get("CI"):
            pytest.fail("OpenSC is not installed; scripts/setup.sh test installs it")
        pytest.skip("OpenSC's PKCS#11 module is not installed")
    root = install_linux_rpm(tmp_path / "root")
    # The diagnosed machine has OpenSC (the package's library, copied into its root) and a
    # Firefox whose profile loads it.
    target = root / machine_opensc.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(machine_opensc, target)
    (root / "usr/lib/firefox").mkdir(parents=True)
    (root / "usr/lib/firefox/firefox").write_bytes(b"\x7fELF")
    nss_database(root / "home/user/.mozilla/firefox/p.default", ("OpenSC", str(machine_opensc)))
    monkeypatch.setenv("HOME", "/home/user")
    virtual = card("cps3-healthy")
    before = virtual.pin_counters()
    pcsc_stack.serve(virtual)
    found = check_in_process(root)
    assert found["status"] is Status.OK, found
    (opensc,) = found["details"]["opensc"]
    assert opensc["library"] == str(machine_opensc) and opensc["outcome"] == "ok"
    assert found["fr"].endswith("OpenSC, déclaré dans le navigateur, la voit aussi.")
    # OpenSC 0.23 reads the virtual CPS3 (bench/RESULTS.md); it writes the serial's digits in
    # hexadecimal (observed: 3939323133383435), which the report gives as the digits.
    assert opensc["token"]["serial"] == "99213845"
    assert {r: c[:2] for r, c in virtual.pin_counters().items()} == \
        {r: c[:2] for r, c in before.items()}


def test_a_card_taken_exclusively_after_the_reading_is_the_reason_given(pcsc_stack,
                                                                        cold: Path) -> None:
    """Another program takes the card for itself between diagcps's reading and the probe: the
    Cryptolib cannot see it, and the finding says why."""

    from diagcps.checks.middleware_checks import workstation_middleware

    pcsc_stack.serve(card("cps3-healthy"))
    ctx = CheckContext(system="Linux", root=cold, env=dict(os.environ),
                       facts={PROBE_LAUNCHER_FACT: launcher_or_skip(cold),
                              PROBE_TIMEOUT_FACT: 10.0})
    diagnosis = diagnose(PcscSource(timeout_s=2.0), only=("card.pin",), context=ctx)
    assert diagnosis.reading.recognised
    with OtherProgram(pcsc_stack.reader(0), share=EXCLUSIVE):
        result = workstation_middleware(ctx)
    assert result.code == "MIDDLEWARE_NO_TOKEN", result.summary.en
    assert result.details["reason"] == "held_exclusively"
    assert "exclusive" in result.summary.en


#: A module standing in for a Cryptolib older than 5.2 with a CPS4 in the reader: it needs
#: 5.2 (docs/CPS-CARD.md 1, [V S1, S2]) and, like the 5.2.2 with an ATR it does not know
#: (the older-batch CPS3 above), shows the reader's slot without a token. No 5.1 library is at
#: hand, and the 5.2.2 now reads the virtual CPS4: this is built here, answering only what the
#: probe asks (C_Initialize, C_GetInfo, C_GetSlotList, C_GetSlotInfo; the others:
#: CKR_FUNCTION_NOT_SUPPORTED). The card side stays the real reading through pcscd.
_OLDER_THAN_5_2 = r"""
#include <string.h>
typedef unsigned long CK_RV;
typedef unsigned long CK_ULONG;
typedef struct { unsigned char major, minor; } CK_VERSION;
typedef struct { CK_VERSION cryptokiVersion; unsigned char manufacturerID[32]; CK_ULONG flags;
                 unsigned char libraryDescription[32]; CK_VERSION libraryVersion; } CK_INFO;
typedef struct { unsigned char slotDescription[64]; unsigned char manufacturerID[32];
                 CK_ULONG flags; CK_VERSION hardwareVersion, firmwareVersion; } CK_SLOT_INFO;
typedef CK_RV (*any_fn)(void);
static CK_RV unsupported(void) { return 0x54; }
static void pad(unsigned char *to, const char *text, size_t n) {
    memset(to, ' ', n); memcpy(to, text, strlen(text) < n ? strlen(text) : n);
}
static CK_RV initialize(void *args) { return 0; }
static CK_RV finalize(void *reserved) { return 0; }
static CK_RV get_info(CK_INFO *info) {
    info->cryptokiVersion.major = 2; info->cryptokiVersion.minor = 20; info->flags = 0;
    pad(info->manufacturerID, "ANS", 32); pad(info->libraryDescription, "CPS3 PKCS#11 LINUX", 32);
    info->libraryVersion.major = 3; info->libraryVersion.minor = 0; return 0;
}
static CK_RV get_slot_list(unsigned char present, CK_ULONG *list, CK_ULONG *count) {
    if (present) { *count = 0; return 0; }
    if (list) { if (*count < 1) { *count = 1; return 0x150; } list[0] = 1; }
    *count = 1; return 0;
}
static CK_RV get_slot_info(CK_ULONG slot, CK_SLOT_INFO *info) {
    if (slot != 1) return 3;
    pad(info->slotDescription, "@READER@", 64); pad(info->manufacturerID, "ANS", 32);
    info->flags = 0x2 | 0x4; /* removable, hardware slot; CKF_TOKEN_PRESENT (0x1) not set */
    return 0;
}
static struct { CK_VERSION version; any_fn fn[68]; } functions;
CK_RV C_GetFunctionList(void **list) {
    functions.version.major = 2; functions.version.minor = 20;
    for (int i = 0; i < 68; i++) functions.fn[i] = unsupported;
    functions.fn[0] = (any_fn)initialize; functions.fn[1] = (any_fn)finalize;
    functions.fn[2] = (any_fn)get_info; functions.fn[3] = (any_fn)C_GetFunctionList;
    functions.fn[4] = (any_fn)get_slot_list; functions.fn[5] = (any_fn)get_slot_info;
    *list = &functions; return 0;
}
"""


def test_a_cps4_with_a_cryptolib_older_than_5_2_is_the_reason_given(pcsc_stack,
                                                                   tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the stand-in module (scripts/setup.sh installs it)")
    root = install_linux_rpm(tmp_path / "root")
    # The install markers of a 5.1 Cryptolib, and a library that shows no token for the CPS4.
    (root / "var/opt/santesocial/commun/adm/155.adm").write_text(
        "050100\nINSTALLEUR_CRYPTOLIB_CPS_64B")
    source = tmp_path / "older.c"
    source.write_text(_OLDER_THAN_5_2.replace("@READER@", pcsc_stack.reader(0)))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(root / LINUX_MODULE), str(source)],
                   check=True)
    virtual = card("cps4-healthy")
    pcsc_stack.serve(virtual)
    found = check_in_process(root)
    assert (found["status"], found["code"]) == (Status.FAIL, "MIDDLEWARE_NO_TOKEN"), found
    assert found["details"]["reason"] == "cps4_old_cryptolib"
    assert found["details"]["token"] is None
    assert "antérieure à 5.2" in found["fr"] and "older than 5.2" in found["en"]


def test_a_redacted_report_masks_what_the_cryptolib_says_of_the_card(pcsc_stack,
                                                                     cold: Path) -> None:
    pcsc_stack.serve(card("cps3-healthy"))
    done = run_isolated(cold, [sys.executable, "-m", "diagcps", "check", "--json", "--redact",
                               "--now", NOW], env={"DIAGCPS_ROOT": str(cold)})
    report = json.loads(done.stdout)
    middleware = next(c for c in report["checks"] if c["id"] == "workstation.middleware")
    assert middleware["status"] == "ok"
    # The run's pseudonym for the serial, the same one the card's reading carries in the file
    # (so the comparison of the two still holds); the real serial nowhere.
    card_serial = next(r for r in report["readers"] if r["diagnosed"])["card"]["serial"]
    token_serial = middleware["details"]["token"]["serial"]
    assert token_serial == card_serial and token_serial.isdigit() and len(token_serial) == 8
    assert token_serial != "99213845"
    assert "99213845" not in done.stdout
    assert "99213845" not in middleware["summary"] and "DURAND" not in done.stdout
