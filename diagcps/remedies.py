"""Finding code -> what the user should do, in French and English, and whom to call.

The wording follows the troubleshooting guide's decision flow (blocked card: unblock code in
CPS Gestion, else ANS support resends the codes, else replacement). French is the users' language:
it is written first and as a support agent would say it to a doctor or a nurse.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from diagcps.text import Text


@dataclass(frozen=True)
class Remedy:
    code: str
    fr: str
    en: str
    #: Key into SUPPORT_CHANNELS, or None when the user can fix it alone.
    channel: str | None

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


def _load_catalogue() -> tuple[dict[str, Text], dict[str, Remedy],
                            dict[str, dict[str, Text]]]:
    # The texts are data (catalogue/remedies.toml), so a translator or a support agent can
    # correct a sentence without touching code.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    raw = tomllib.loads(
        resources.files("diagcps.catalogue").joinpath("remedies.toml").read_text("utf-8"))
    channels = {name: Text(entry["fr"], entry["en"]) for name, entry in raw["channels"].items()}
    remedies = {
        code: Remedy(code, entry["fr"], entry["en"], entry.get("channel"))
        for code, entry in raw["remedies"].items()
    }
    unknown = {r.channel for r in remedies.values()} - set(channels) - {None}
    if unknown:
        raise RuntimeError(f"remedies.toml names unknown support channels: {sorted(unknown)}")
    variants = {code: {system: Text(entry["fr"], entry["en"])
                       for system, entry in systems.items()}
                for code, systems in raw.get("os_variants", {}).items()}
    return channels, remedies, variants


SUPPORT_CHANNELS, _REMEDIES, _OS_VARIANTS = _load_catalogue()

ALL_CODES: frozenset[str] = frozenset(_REMEDIES)


def remedy_for(code: str) -> Remedy | None:
    """The remedy for a finding code, or None for a code outside the catalogue."""
    return _REMEDIES.get(code)


def remedy_text(code: str, lang: str, system: str | None = None) -> str | None:
    """The remedy in ``lang`` ("fr" or "en"), followed by the support channel line if any.
    ``system`` ("Linux", "Darwin", "Windows") picks the steps for that system only, when the
    catalogue has them (``[os_variants.CODE.System]``)."""
    remedy = _REMEDIES.get(code)
    if remedy is None:
        return None
    variant = _OS_VARIANTS.get(code, {}).get(system or "")
    text = variant.get(lang) if variant else remedy.text(lang)
    if remedy.channel is not None:
        text += "\n" + SUPPORT_CHANNELS[remedy.channel].get(lang)
    return text


# --- e-CPS ----------------------------------------------------------------------------------------


class OrderPage(NamedTuple):
    """Where a profession updates its contact details (the e-CPS activation relies on them)."""

    name_fr: str
    url: str
    #: Delay or other remark, None when there is nothing to add.
    note: Text | None

    @property
    def name_en(self) -> str:
        from diagcps import messages

        code = next((c for c, p in ORDER_PAGES.items() if p is self), "")
        return str(messages.table("profession_en").get(code, self.name_fr))


# Keyed by G15 profession code.
ORDER_PAGES: dict[str, OrderPage] = {
    "40": OrderPage("Chirurgien-dentiste", "https://www.ordre-chirurgiens-dentistes.fr/", None),
    "70": OrderPage("Masseur-kinésithérapeute", "https://www.ordremk.fr/", None),
    "10": OrderPage(
        "Médecin",
        "https://monespace.medecin.fr/",
        Text("la mise à jour prend environ 72 h", "the update takes about 72 hours"),
    ),
    "50": OrderPage("Sage-femme", "http://www.ordre-sages-femmes.fr/", None),
    "60": OrderPage(
        "Infirmier",
        "https://espace-membres.ordre-infirmiers.fr/",
        Text("le délai de prise en compte varie", "the time it takes to apply varies"),
    ),
}

ECPS_WALLET_URL = "https://wallet.esw.esante.gouv.fr"
ECPS_FAQ_URL = "https://esante.gouv.fr/securite/faq-e-cps"
ECPS_VIDEO_URL = "https://youtu.be/LdCD9dCDWzM"
PRO_CONNECTION_URL = "https://sante.fr/professionnel/connexion"

# G15 profession code of independent nurses, who have a dedicated connection guide.
_NURSE = "60"


def _identifier_line(national_id: str | None, lang: str) -> str:
    if national_id:
        if national_id.startswith("8"):
            kind = Text("8 suivi de votre numéro RPPS", "8 followed by your RPPS number")
        elif national_id.startswith("0"):
            kind = Text("0 suivi de votre numéro ADELI", "0 followed by your ADELI number")
        else:
            kind = None
        suffix = f" ({kind.get(lang)})" if kind else ""
        return Text(
            "Dans l’application e-CPS, saisissez votre identifiant national exactement comme "
            f"sur votre carte : {national_id}{suffix}.",
            "In the e-CPS app, type your national identifier exactly as on your card: "
            f"{national_id}{suffix}.",
        ).get(lang)
    return Text(
        "Dans l’application e-CPS, votre identifiant national est « 8 » suivi de votre numéro "
        "RPPS (11 chiffres), ou, pour les orthophonistes et les orthoptistes, « 0 » suivi de "
        "votre numéro ADELI (9 caractères).",
        "In the e-CPS app, your national identifier is “8” followed by your RPPS number "
        "(11 digits), or, for speech therapists and orthoptists, “0” followed by your ADELI "
        "number (9 characters).",
    ).get(lang)


def _contact_details_line(profession_code: str | None, lang: str) -> str:
    page = ORDER_PAGES.get(profession_code or "")
    if page is None:
        return Text(
            "L’activation sans carte échoue le plus souvent parce que vos coordonnées ne sont "
            "pas à jour auprès de votre ordre ou de votre autorité d’enregistrement : "
            "vérifiez-les, et au besoin demandez conseil au support e-CPS.",
            "Activation without the card most often fails because your contact details are "
            "out of date with your professional order or registration authority: check them, "
            "and ask e-CPS support if needed.",
        ).get(lang)
    note = f" ({page.note.get(lang)})" if page.note else ""
    return Text(
        "L’activation sans carte échoue le plus souvent parce que vos coordonnées ne sont pas "
        f"à jour auprès de votre ordre professionnel. {page.name_fr} : mettez-les à jour sur "
        f"{page.url}{note}.",
        "Activation without the card most often fails because your contact details are out of "
        f"date with your professional order. {page.name_en}: update them at {page.url}{note}.",
    ).get(lang)


def ecps_help(profession_code: str | None, national_id: str | None, lang: str,
              *, with_card: bool = True) -> list[str]:
    """Lines that help the holder activate an e-CPS, in ``lang``; ``with_card=False`` leaves
    out activating it with the card (a blocked PIN cannot do that until it is unblocked)."""
    lines = [
        _identifier_line(national_id, lang),
        _contact_details_line(profession_code, lang),
    ]
    if with_card:
        lines.append(Text(
            f"Pour l’activer avec votre carte, rendez-vous sur {ECPS_WALLET_URL}, la carte dans "
            "le lecteur ; si cela échoue sur cet ordinateur, essayez un autre poste ou un autre "
            "lecteur.",
            f"To activate it with your card, go to {ECPS_WALLET_URL} with the card in the "
            "reader; if that fails on this computer, try another computer or reader.",
        ).get(lang))
    if profession_code == _NURSE:
        lines.append(
            Text(
                "Infirmières et infirmiers libéraux : un document dédié aux problèmes de "
                f"connexion est proposé sur {PRO_CONNECTION_URL}.",
                "Independent nurses: a document dedicated to connection problems is available "
                f"at {PRO_CONNECTION_URL}.",
            ).get(lang)
        )
    lines.append(
        Text(
            f"Questions fréquentes sur l’e-CPS : {ECPS_FAQ_URL} ; tutoriel vidéo : "
            f"{ECPS_VIDEO_URL}",
            f"e-CPS frequently asked questions: {ECPS_FAQ_URL}; video tutorial: "
            f"{ECPS_VIDEO_URL}",
        ).get(lang)
    )
    lines.append(SUPPORT_CHANNELS["ecps"].get(lang))
    return lines
