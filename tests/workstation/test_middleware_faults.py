"""The middleware check when the module itself fails: it cannot be loaded (wrong architecture),
it aborts, it hangs. These faults are staged with modules built here (a copy of the real
Cryptolib made for another machine; two tiny C modules), the card side with a real reading of a
virtual card: the probe's child process is what is being proven, and no card is touched.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from vendor import LINUX_MODULE, install_linux_rpm

from apdu.cardmodel import DirectTransport
from cardsim.virtual import VirtualCard
from diagcps.checks.base import Status
from diagcps.checks.context import CheckContext
from diagcps.checks.middleware_checks import PROBE_TIMEOUT_FACT, workstation_middleware
from diagcps.cps.reader import read_card
from diagcps.diagnosis import CardOutcome
from diagcps.sources import ReaderView
from diagcps.workstation.pkcs11_probe import clean, elf_architecture

ROOT = Path(__file__).resolve().parents[2]
READER = "Virtual PCD 00 00"
NOW = datetime(2026, 11, 28, 9, tzinfo=timezone.utc)

_ABORTS = "#include <stdlib.h>\nunsigned long C_GetFunctionList(void **list) { abort(); }\n"
_HANGS = ("#include <unistd.h>\n"
          "unsigned long C_GetFunctionList(void **list) { for (;;) pause(); }\n")


def facts_for(profile: str = "cps3-healthy") -> dict[str, Any]:
    card = VirtualCard.from_file(ROOT / "cardsim/profiles" / f"{profile}.json")
    reading = read_card(DirectTransport(card), now=NOW,
                        dictionary=Path("/nonexistent/DICO-FR.GIP"))
    return {"source_kind": "pcsc", "readers": [ReaderView(READER, "present", card.atr)],
            "diagnosed": READER, "outcomes": {READER: CardOutcome(READER, reading=reading)},
            "reading": reading, "generations": [reading.generation]}


def with_module(tmp_path: Path, module: bytes | Path) -> Path:
    """A Linux root where the Cryptolib's library is ``module``, its markers 5.2.2."""
    root = install_linux_rpm(tmp_path / "root")
    target = root / LINUX_MODULE
    if isinstance(module, Path):
        shutil.copyfile(module, target)
    else:
        target.write_bytes(module)
    return root


def run(root: Path, **facts: Any) -> Any:
    ctx = CheckContext(system="Linux", root=root, env={}, facts={**facts_for(), **facts})
    return workstation_middleware(ctx)


def build(tmp_path: Path, source: str, name: str) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the fault modules (scripts/setup.sh installs it)")
    c_file = tmp_path / f"{name}.c"
    c_file.write_text(source)
    library = tmp_path / f"{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(c_file)], check=True)
    return library


def test_a_module_for_another_architecture_cannot_load_and_the_reason_is_said(
        tmp_path: Path) -> None:
    root = install_linux_rpm(tmp_path / "root")
    module = root / LINUX_MODULE
    data = bytearray(module.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # e_machine: AArch64, as the ARM build is
    module.write_bytes(bytes(data))
    assert elf_architecture(module) == "aarch64"
    result = run(root)
    assert (result.status, result.code) == (Status.FAIL, "MIDDLEWARE_LOAD_FAILED")
    assert result.details["reason"] == "wrong_architecture"
    assert result.details["module_architecture"] == "aarch64"
    assert result.details["error"]  # the loader's own message
    assert "architecture" in result.summary.en


def test_a_file_that_is_no_library_cannot_load_with_the_loaders_message(tmp_path: Path) -> None:
    root = with_module(tmp_path, b"not a library\n" * 100)
    result = run(root)
    assert result.code == "MIDDLEWARE_LOAD_FAILED"
    assert result.details["reason"] is None
    assert "invalid ELF header" in result.details["error"]


def test_a_module_that_aborts_is_reported_and_diagcps_goes_on(tmp_path: Path) -> None:
    root = with_module(tmp_path, build(tmp_path, _ABORTS, "aborts"))
    result = run(root)
    assert (result.status, result.code) == (Status.FAIL, "MIDDLEWARE_CRASHED")
    assert result.details["exit"] == "SIGABRT"
    assert result.details["stage"] == "initialize"


def test_a_module_that_hangs_is_killed_on_its_time_limit_and_said(tmp_path: Path) -> None:
    root = with_module(tmp_path, build(tmp_path, _HANGS, "hangs"))
    started = time.monotonic()
    result = run(root, **{PROBE_TIMEOUT_FACT: 1.0})
    elapsed = time.monotonic() - started
    assert (result.status, result.code) == (Status.FAIL, "MIDDLEWARE_TIMEOUT")
    assert result.details["killed"] is True and result.details["exit"] == "SIGKILL"
    assert "réinitialisé la carte" in result.summary.fr and "reset the card" in result.summary.en
    assert 1.0 <= elapsed < 3.0


def test_no_probe_for_a_virtual_card_or_without_cryptolib(tmp_path: Path) -> None:
    # The Cryptolib installed, but the card is a virtual one: not examined (not a pass).
    skipped = run(install_linux_rpm(tmp_path / "root"), source_kind="virtual")
    assert skipped.status is Status.SKIPPED
    assert "not read through this computer's PC/SC service" in skipped.summary.en
    empty = CheckContext(system="Linux", root=tmp_path, env={}, facts=facts_for())
    nothing = workstation_middleware(empty)
    # Without the Cryptolib there is nothing to ask: a complete answer (the finding is
    # workstation.cryptolib's), and no probe was started.
    assert nothing.status is Status.OK and nothing.code is None
    assert nothing.details == {"installed": False}
    assert "pkcs11_probes" not in empty.facts


def test_a_hex_encoded_serial_is_given_as_the_cards_digits() -> None:
    from diagcps.workstation.pkcs11_probe import token_serial

    assert token_serial("3939323133383435") == "99213845"
    assert token_serial("99213845") == "99213845"  # digits that are also valid hex
    assert token_serial("ABCDEF12") == "ABCDEF12"


def test_module_text_reaching_the_terminal_has_no_control_characters() -> None:
    assert clean("CPS3 \x1b[31mDURAND\x07\n") == "CPS3 \ufffd[31mDURAND\ufffd"
    assert len(clean("x" * 1000)) == 200


def test_a_token_that_disagrees_with_the_card_is_reported(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A module answering with another serial and a locked PIN for a healthy card: no real
    stack stages this (the Cryptolib reads both from the card), so the probe's answer is made
    here, and the judgement of the check is what is tested."""
    from diagcps.workstation import pkcs11_probe

    def answer(module: Path, **_kwargs: Any) -> pkcs11_probe.ProbeResult:
        token = pkcs11_probe.TokenView("CPS3 DURAND", "11112222", "IAS ECC", "ANS",
                                       pin_locked=True, pin_count_low=False,
                                       pin_final_try=False)
        return pkcs11_probe.ProbeResult(str(module), pkcs11_probe.OUTCOME_OK, stage="done",
                                        library_version="3.1",
                                        slots=[pkcs11_probe.SlotView(READER, True, token)])

    monkeypatch.setattr(pkcs11_probe, "probe_module", answer)
    root = install_linux_rpm(tmp_path / "root")
    result = run(root)
    assert (result.status, result.code) == (Status.WARNING, "MIDDLEWARE_DISAGREES")
    fields = {d["field"]: d for d in result.details["disagreements"]}
    assert fields["serial"] == {"field": "serial", "middleware": "11112222", "card": "99213845"}
    assert fields["pin_locked"]["middleware"] is True and fields["pin_locked"]["card"] is False
