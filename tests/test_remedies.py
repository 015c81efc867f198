from __future__ import annotations

import re

import pytest

from diagcps.remedies import (
    ALL_CODES,
    ORDER_PAGES,
    SUPPORT_CHANNELS,
    Remedy,
    ecps_help,
    remedy_for,
    remedy_text,
)

TROUBLESHOOTING_CODES = {
    # section 2: card and codes
    "PIN_BLOCKED", "PIN_LAST_TRY", "PIN_LOW", "CARD_DEFINITIVELY_BLOCKED", "PIN_VERIFIED",
    "CARD_EXPIRED", "CARD_EXPIRES_SOON", "CARD_UPDATE_INCIDENT", "CARD_MUTE", "WRONG_CARD",
    "CARD_UNKNOWN", "CPS4_OLD_MIDDLEWARE", "CONTACTLESS", "TEST_CARD",
    # section 3: reader and PC/SC
    "PCSC_SERVICE_DOWN", "PCSC_SERVICE_STOPPED", "PCSC_LIBRARY_MISSING", "NO_READER",
    "READER_NOT_FOUND", "READER_AMBIGUOUS", "CARD_ABSENT", "CARD_IN_USE", "CARD_REMOVED",
    "CARD_RESET", "PCSC_TIMEOUT", "SEVERAL_READERS",
    # section 4: workstation and middleware
    "CRYPTOLIB_MISSING", "CRYPTOLIB_OLD", "FIREFOX_MODULE_MISSING", "FIREFOX_SANDBOXED",
    "COMPETING_MODULES", "OS_UNSUPPORTED", "CLOCK_WRONG",
}  # fmt: skip
PROJECT_CODES = {
    "CARD_READ_ERROR", "PIN_UNKNOWN", "CARD_IDENTITY_UNREADABLE", "ADELI_CHECK_DIGIT",
    "CARD_NOT_YET_VALID", "OBSOLETE_MIDDLEWARE", "REPLAY_MISSING",
    # CPS4 read on channel 1; the Cryptolib's exact ATR table
    "CPS4_UNREADABLE", "CARD_ATR_UNKNOWN_TO_CRYPTOLIB",
}  # fmt: skip
NETWORK_CODES = {
    "NETWORK_OFFLINE", "DNS_FAILED", "PROXY_REQUIRED", "PROXY_FAILED", "CONNECT_TIMEOUT",
    "CONNECT_REFUSED", "TLS_INTERCEPTED", "CERT_INVALID", "TLS_FAILED", "CLOCK_SKEW",
}  # fmt: skip

#: What the Cryptolib itself sees (the PKCS#11 probe) and the card manager.
MIDDLEWARE_CODES = {
    "MIDDLEWARE_NO_TOKEN", "MIDDLEWARE_LOAD_FAILED", "MIDDLEWARE_TIMEOUT", "MIDDLEWARE_CRASHED",
    "MIDDLEWARE_DISAGREES", "MIDDLEWARE_VERSION_MISMATCH", "CARD_MANAGER_BROKEN",
    "CHROMIUM_MODULE_MISSING",
}  # fmt: skip


def test_every_troubleshooting_code_has_a_remedy() -> None:
    assert len(TROUBLESHOOTING_CODES) == 33
    assert TROUBLESHOOTING_CODES <= ALL_CODES, TROUBLESHOOTING_CODES - ALL_CODES


def test_project_codes_are_catalogued_and_nothing_else() -> None:
    assert ALL_CODES == TROUBLESHOOTING_CODES | PROJECT_CODES | NETWORK_CODES | MIDDLEWARE_CODES


@pytest.mark.parametrize("code", sorted(ALL_CODES))
def test_every_code_has_distinct_french_and_english_text(code: str) -> None:
    remedy = remedy_for(code)
    assert isinstance(remedy, Remedy)
    assert remedy.code == code
    assert remedy.fr.strip() and remedy.en.strip()
    assert remedy.fr != remedy.en
    assert remedy.channel is None or remedy.channel in SUPPORT_CHANNELS


@pytest.mark.parametrize("code", sorted(ALL_CODES))
def test_french_text_is_written_with_accents_and_typographic_apostrophes(code: str) -> None:
    remedy = remedy_for(code)
    assert remedy is not None
    assert re.search(r"[éèêàâçôûù’«]", remedy.fr), remedy.fr
    # One apostrophe style throughout the French catalogue.
    assert "'" not in remedy.fr


def test_remedy_is_frozen() -> None:
    remedy = remedy_for("PIN_LOW")
    assert remedy is not None
    with pytest.raises(AttributeError):
        remedy.fr = "changed"  # type: ignore[misc]


def test_unknown_code_has_no_remedy() -> None:
    assert remedy_for("NOT_A_CODE") is None
    assert remedy_text("NOT_A_CODE", "fr") is None


def test_blocked_pin_reports_unblock_flow() -> None:
    fr = remedy_text("PIN_BLOCKED", "fr")
    en = remedy_text("PIN_BLOCKED", "en")
    assert fr is not None and en is not None
    # With the unblock code: CPS Gestion, "Débloquer code", then a new PIN of 4 to 8 digits.
    assert "CPS Gestion" in fr and "« Débloquer code »" in fr
    assert "4 à 8 chiffres" in fr and "code de déblocage" in fr
    assert "unblock code" in en and "4 to 8 digits" in en
    # Without it: ANS support sends the codes again; with it exhausted: replacement.
    assert "renverra vos codes" in fr
    assert "remplacée" in fr
    # And whom to call, in each language.
    assert fr.splitlines()[-1] == SUPPORT_CHANNELS["ans"].fr
    assert en.splitlines()[-1] == SUPPORT_CHANNELS["ans"].en
    assert "0 825 852 000" in fr


def test_definitive_block_points_to_replacement_through_tops_or_tom() -> None:
    text = remedy_text("CARD_DEFINITIVELY_BLOCKED", "fr")
    assert text is not None
    assert "remplacée" in text and "TOPS" in text and "TOM" in text


def test_remedy_without_channel_has_no_support_line() -> None:
    text = remedy_text("CARD_ABSENT", "fr")
    assert text is not None
    assert "\n" not in text
    assert "0 825" not in text


def test_unknown_language_falls_back_to_french() -> None:
    assert remedy_text("NO_READER", "de") == remedy_text("NO_READER", "fr")
    assert remedy_text("NO_READER", "en") != remedy_text("NO_READER", "fr")


def test_support_channels_carry_the_published_contacts() -> None:
    assert "0 825 852 000" in SUPPORT_CHANNELS["ans"].fr
    assert "https://esante.gouv.fr/assistance" in SUPPORT_CHANNELS["ans"].en
    assert "0 806 800 213" in SUPPORT_CHANNELS["ecps"].en
    assert "monserviceclient.e-cps@esante.gouv.fr" in SUPPORT_CHANNELS["ecps"].fr
    for channel in SUPPORT_CHANNELS.values():
        assert channel.fr != channel.en


def test_order_pages_cover_the_five_professions() -> None:
    assert set(ORDER_PAGES) == {"40", "70", "10", "50", "60"}
    name, url, note = ORDER_PAGES["10"]
    assert name == "Médecin"
    assert url == "https://monespace.medecin.fr/"
    assert note is not None and "72 h" in note.fr
    assert ORDER_PAGES["70"].url == "https://www.ordremk.fr/"
    assert all(page.url.startswith(("https://", "http://")) for page in ORDER_PAGES.values())


def test_ecps_help_shows_the_identifier_exactly_as_on_the_card() -> None:
    lines = ecps_help("10", "810001234567", "fr")
    assert "810001234567" in lines[0]
    assert "RPPS" in lines[0]
    assert any("https://monespace.medecin.fr/" in line and "72 h" in line for line in lines)
    assert any("https://esante.gouv.fr/securite/faq-e-cps" in line for line in lines)
    assert lines[-1] == SUPPORT_CHANNELS["ecps"].fr


def test_ecps_help_names_adeli_for_a_zero_prefixed_identifier() -> None:
    lines = ecps_help("91", "0991086265", "en")
    assert "0991086265" in lines[0] and "ADELI" in lines[0]
    # No order page for speech therapists: the generic advice is given instead.
    assert not any(page.url in line for page in ORDER_PAGES.values() for line in lines)
    assert any("contact details" in line for line in lines)
    assert lines[-1] == SUPPORT_CHANNELS["ecps"].en


def test_ecps_help_without_identifier_explains_its_shape() -> None:
    lines = ecps_help(None, None, "fr")
    assert "« 8 »" in lines[0] and "« 0 »" in lines[0]
    assert "11 chiffres" in lines[0]


def test_ecps_help_points_nurses_to_their_connection_guide() -> None:
    nurse = ecps_help("60", "899700366240", "fr")
    doctor = ecps_help("10", "899700366240", "fr")
    assert any("sante.fr/professionnel/connexion" in line for line in nurse)
    assert not any("sante.fr/professionnel/connexion" in line for line in doctor)
    assert any("espace-membres.ordre-infirmiers.fr" in line for line in nurse)


def test_ecps_help_is_translated() -> None:
    assert ecps_help("40", "810001234567", "fr") != ecps_help("40", "810001234567", "en")
    assert len(ecps_help("40", None, "fr")) == len(ecps_help("40", None, "en"))
