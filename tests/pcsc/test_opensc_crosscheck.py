"""An independent reader agrees the virtual CPS3 is a CPS3: OpenSC's iasecc driver recognises it
("IAS/ECC CPx") and lists the PIN objects and certificates diagcps reads. This guards the
faithfulness of the profiles (EF.ATR, IAS-ECC security attributes in the FCPs, E7 reads) that the
benchmark's comparison with OpenSC relies on (bench/run.py). Skipped without OpenSC."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cardsim.virtual import VirtualCard

pytestmark = [
    pytest.mark.pcsc,
    pytest.mark.skipif(shutil.which("pkcs15-tool") is None,
                       reason="OpenSC is not installed (apt install opensc)"),
]

CARDS = Path(__file__).resolve().parents[2] / "cardsim" / "profiles"
CONTACT_AID = "E828BD080F8025000001FF0010"


def opensc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False,
                          env=dict(os.environ))


def test_opensc_recognises_the_virtual_cps3_and_lists_its_pins_and_certificates(
        pcsc_stack) -> None:
    card = VirtualCard.from_file(CARDS / "cps3-healthy.json")
    before = card.pin_counters()
    pcsc_stack.serve(card)

    driver = opensc("opensc-tool", "--reader", "0", "--name")
    assert driver.returncode == 0, driver.stderr
    assert "IAS-ECC" in driver.stdout

    listed = opensc("pkcs15-tool", "--reader", "0", "--aid", CONTACT_AID, "--list-pins",
                    "--list-certificates")
    assert listed.returncode == 0, listed.stderr
    assert "PIN [Code porteur de la carte CPX]" in listed.stdout
    assert "unblockingPin" in listed.stdout
    assert "X.509 Certificate [Certificat d'Authentification CPS]" in listed.stdout
    assert "X.509 Certificate [Certificat de Signature CPS]" in listed.stdout
    # Listing spends nothing.
    assert card.pin_counters() == before
