"""Finding code -> what the user should do, in French and English, and whom to call.

The wording follows the troubleshooting guide's decision flow (blocked card: unblock code in
CPS Gestion, else ANS support resends the codes, else replacement). French is the users' language:
it is written first and as a support agent would say it to a doctor or a nurse.
"""

from __future__ import annotations

from dataclasses import dataclass
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


SUPPORT_CHANNELS: dict[str, Text] = {
    "ans": Text(
        "Service client de l’ANS : 0 825 852 000 — téléservices TOPS / TOM — "
        "https://esante.gouv.fr/assistance",
        "ANS customer service: 0 825 852 000 (from France) — TOPS / TOM online services — "
        "https://esante.gouv.fr/assistance",
    ),
    "ecps": Text(
        "Service client e-CPS : 0 806 800 213 — monserviceclient.e-cps@esante.gouv.fr",
        "e-CPS customer service: 0 806 800 213 (from France) — "
        "monserviceclient.e-cps@esante.gouv.fr",
    ),
}

_CARD = "ans"

# code: (French, English, channel)
_CATALOGUE: dict[str, tuple[str, str, str | None]] = {
    # --- card and codes -------------------------------------------------------------------------
    "PIN_BLOCKED": (
        "Votre code PIN est bloqué après trois saisies erronées. Si vous avez votre code de "
        "déblocage (8 chiffres, sur le même courrier que votre code PIN) : ouvrez CPS Gestion, "
        "choisissez « Débloquer code », saisissez-le, puis choisissez un nouveau code PIN de 4 à "
        "8 chiffres. Si vous ne l’avez plus, contactez le service client de l’ANS : il vous "
        "renverra vos codes. Si le code de déblocage est lui-même épuisé, la carte est "
        "définitivement bloquée et devra être remplacée.",
        "Your PIN is blocked after three wrong entries. If you have your unblock code (8 digits, "
        "on the same letter as your PIN): open CPS Gestion, choose “Débloquer code”, enter it, "
        "then choose a new PIN of 4 to 8 digits. If you no longer have it, contact ANS customer "
        "service: they will send your codes again. If the unblock code itself is used up, the "
        "card is blocked for good and must be replaced.",
        _CARD,
    ),
    "PIN_LAST_TRY": (
        "Attention : il ne reste qu’un seul essai avant le blocage de votre code PIN. Ne tentez "
        "pas de code au hasard : retrouvez d’abord le courrier qui contient vos codes avant de "
        "saisir à nouveau votre code PIN. Si vous ne l’avez plus, le service client de l’ANS "
        "peut vous renvoyer vos codes.",
        "Careful: only one try is left before your PIN is blocked. Do not guess: find the letter "
        "with your codes before typing your PIN again. If you no longer have it, ANS customer "
        "service can send your codes again.",
        _CARD,
    ),
    "PIN_LOW": (
        "Un code PIN erroné a déjà été saisi : il vous reste deux essais. Rien d’inquiétant, "
        "mais en cas de doute, vérifiez votre code sur le courrier reçu avec la carte avant de "
        "le saisir.",
        "A wrong PIN has already been entered: you have two tries left. Nothing to worry about, "
        "but if in doubt, check your code on the letter that came with the card before typing "
        "it.",
        None,
    ),
    "CARD_DEFINITIVELY_BLOCKED": (
        "Votre carte est définitivement bloquée : le code de déblocage a lui aussi été épuisé, "
        "et elle ne peut plus être utilisée. Elle doit être remplacée : déclarez-la auprès de "
        "l’ANS, par le téléservice TOPS (professionnels libéraux et leur personnel) ou TOM "
        "(établissements), par téléphone ou par formulaire.",
        "Your card is blocked for good: the unblock code has been used up as well, and the card "
        "can no longer be used. It must be replaced: report it to the ANS through the TOPS "
        "online service (independent practitioners and their staff) or TOM (establishments), "
        "by phone or with the form.",
        _CARD,
    ),
    "PIN_VERIFIED": (
        "Pour information : le code PIN a déjà été saisi dans un autre logiciel, qui utilise "
        "en ce moment la carte. Vous n’avez rien à faire.",
        "For information: the PIN has already been entered in another program, which is using "
        "the card right now. Nothing to do.",
        None,
    ),
    "CARD_EXPIRED": (
        "Votre carte est arrivée à échéance. Une CPS est valable 3 ans (6 ans pour une CPS4) et "
        "son renouvellement est automatique : la nouvelle carte vous est envoyée avant la date "
        "de fin. Si vous ne l’avez pas reçue, signalez-le au service client de l’ANS "
        "(déclaration de non-réception).",
        "Your card has expired. A CPS is valid for 3 years (6 for a CPS4) and is renewed "
        "automatically: the new card is sent before the end date. If you did not receive it, "
        "tell ANS customer service (declaration of non-receipt).",
        _CARD,
    ),
    "CARD_EXPIRES_SOON": (
        "Votre carte arrive à échéance dans moins de 60 jours. La nouvelle carte vous sera "
        "envoyée automatiquement avant cette date ; si vous ne l’avez pas reçue deux semaines "
        "avant l’échéance, contactez le service client de l’ANS.",
        "Your card expires within 60 days. The new card will be sent to you automatically "
        "before that date; if it has not arrived two weeks before the end date, contact ANS "
        "customer service.",
        _CARD,
    ),
    "CARD_UPDATE_INCIDENT": (
        "La dernière mise à jour (actualisation) de votre carte ne s’est pas terminée "
        "correctement : la carte reste inutilisable tant qu’elle n’a pas été actualisée de "
        "nouveau. Relancez l’actualisation de la carte ; si le problème persiste, contactez le "
        "service client de l’ANS.",
        "The last update (“actualisation”) of your card did not finish properly: the card stays "
        "unusable until it is updated again. Run the card update again; if the problem "
        "persists, contact ANS customer service.",
        _CARD,
    ),
    "CARD_MUTE": (
        "La carte ne répond pas. Retirez-la, nettoyez délicatement la puce avec un chiffon sec, "
        "puis réinsérez-la bien à fond, puce dans le bon sens. Si possible, essayez un autre "
        "lecteur. Si le problème persiste, la carte est peut-être endommagée : déclarez un "
        "dysfonctionnement au service client de l’ANS.",
        "The card does not answer. Remove it, gently clean the chip with a dry cloth, then "
        "insert it again all the way, chip the right way round. If you can, try another reader. "
        "If the problem persists, the card may be damaged: report a malfunction to ANS customer "
        "service.",
        _CARD,
    ),
    "WRONG_CARD": (
        "La carte insérée n’est pas une carte CPS (c’est peut-être une carte Vitale). Insérez "
        "votre carte de professionnel de santé ; sur un lecteur à deux fentes, vérifiez qu’elle "
        "est bien dans la fente prévue pour la CPS.",
        "The card inserted is not a CPS card (it may be a Vitale card). Insert your health "
        "professional card; on a two-slot reader, check that it is in the slot meant for the "
        "CPS.",
        None,
    ),
    "CARD_UNKNOWN": (
        "Cette carte ressemble à une CPS mais n’a pas été émise par l’ANS : l’outil ne l’examine "
        "pas davantage. Vérifiez qu’il s’agit bien de votre carte de professionnel de santé.",
        "This card looks like a CPS but was not issued by the ANS: the tool does not examine it "
        "any further. Check that it really is your health professional card.",
        None,
    ),
    "CPS4_OLD_MIDDLEWARE": (
        "Votre carte est une CPS4 : elle demande la Cryptolib CPS 5.2 ou plus récente, et la "
        "version installée est trop ancienne. Installez la dernière version 5.2.x depuis le site "
        "de l’ANS (la 5.2.2 corrige notamment un défaut touchant les CPS4).",
        "Your card is a CPS4: it needs Cryptolib CPS 5.2 or later, and the installed version is "
        "too old. Install the latest 5.2.x from the ANS website (5.2.2 in particular fixes a "
        "defect affecting CPS4 cards).",
        None,
    ),
    "CONTACTLESS": (
        "La carte a été lue en mode sans contact. Dans ce mode, il n’y a pas de code PIN et "
        "seul le certificat technique est disponible : pour utiliser votre code PIN, insérez la "
        "carte dans un lecteur à contact.",
        "The card was read contactless. In this mode there is no PIN and only the technical "
        "certificate is available: to use your PIN, insert the card in a contact reader.",
        None,
    ),
    "TEST_CARD": (
        "Pour information : il s’agit d’une carte de test. Elle ne fonctionne pas sur les "
        "services réels (en production).",
        "For information: this is a test card. It does not work on real (production) services.",
        None,
    ),
    # --- reader and PC/SC -----------------------------------------------------------------------
    "PCSC_SERVICE_DOWN": (
        "Le service de cartes à puce (PC/SC) ne fonctionne pas. Sous Linux : lancez "
        "« sudo systemctl enable --now pcscd.socket » (ou installez le paquet pcscd). Sous "
        "Windows : le service « Carte à puce » s’arrête quand le dernier lecteur est débranché ; "
        "rebranchez le lecteur et réglez le démarrage du service sur « Automatique ».",
        "The smart card service (PC/SC) is not running. On Linux: run "
        "“sudo systemctl enable --now pcscd.socket” (or install the pcscd package). On Windows: "
        "the “Smart Card” service stops when the last reader is unplugged; plug the reader back "
        "in and set the service's startup type to “Automatic”.",
        None,
    ),
    "PCSC_SERVICE_STOPPED": (
        "Le service de cartes à puce (PC/SC) s’est arrêté pendant le diagnostic. Redémarrez-le, "
        "rebranchez le lecteur, puis relancez le diagnostic.",
        "The smart card service (PC/SC) stopped during the diagnosis. Restart it, plug the "
        "reader back in, then run the diagnosis again.",
        None,
    ),
    "PCSC_LIBRARY_MISSING": (
        "La bibliothèque PC/SC, qui permet de dialoguer avec les lecteurs, est introuvable. Sous "
        "Linux, installez les paquets pcscd et libpcsclite1, ainsi que le pilote de lecteurs "
        "libccid. Sous Windows et macOS, elle fait partie du système : faites appel à votre "
        "support informatique.",
        "The PC/SC library, which talks to the readers, cannot be found. On Linux, install the "
        "pcscd and libpcsclite1 packages, and the libccid reader driver. On Windows and macOS "
        "it is part of the system: ask your IT support.",
        None,
    ),
    "NO_READER": (
        "Aucun lecteur de carte n’a été détecté. Branchez votre lecteur (essayez un autre port "
        "USB si besoin). Sous Linux, installez le pilote libccid. Un ancien lecteur PSS qui ne "
        "fonctionne qu’avec le GALSS doit être passé en mode PC/SC.",
        "No card reader was found. Plug your reader in (try another USB port if needed). On "
        "Linux, install the libccid driver. An old PSS reader that only works through GALSS "
        "must be switched to PC/SC mode.",
        None,
    ),
    "READER_NOT_FOUND": (
        "Aucun lecteur ne correspond au nom donné avec --reader. Affichez la liste des lecteurs "
        "avec « diagcps readers » et reprenez une partie de leur nom.",
        "No reader matches the name given with --reader. List the readers with "
        "“diagcps readers” and use part of one of their names.",
        None,
    ),
    "READER_AMBIGUOUS": (
        "Plusieurs lecteurs correspondent au nom donné avec --reader. Affichez la liste avec "
        "« diagcps readers » et indiquez un nom plus précis.",
        "Several readers match the name given with --reader. List them with “diagcps readers” "
        "and give a more precise name.",
        None,
    ),
    "CARD_ABSENT": (
        "Aucune carte n’est insérée dans le lecteur. Insérez votre CPS, puce en premier et "
        "tournée dans le bon sens.",
        "No card is inserted in the reader. Insert your CPS, chip first and facing the right "
        "way.",
        None,
    ),
    "CARD_IN_USE": (
        "Un autre logiciel utilise la carte en exclusivité (navigateur, logiciel SESAM-Vitale, "
        "agent GnuPG…). Fermez-le, puis relancez le diagnostic ; diagcps ne ferme jamais les "
        "autres programmes à votre place.",
        "Another program holds the card exclusively (browser, SESAM-Vitale software, GnuPG "
        "agent…). Close it, then run the diagnosis again; diagcps never closes other programs "
        "for you.",
        None,
    ),
    "CARD_REMOVED": (
        "La carte a été retirée pendant le diagnostic. Réinsérez-la et relancez le diagnostic. "
        "Si cela se reproduit sans que la carte ait été touchée, vérifiez la mise en veille USB "
        "et évitez les concentrateurs (hubs) USB, surtout avec un lecteur ancien.",
        "The card was removed during the diagnosis. Insert it again and run the diagnosis "
        "again. If it happens again without anyone touching the card, check USB power saving "
        "and avoid USB hubs, especially with an old reader.",
        None,
    ),
    "CARD_RESET": (
        "Un autre logiciel a réinitialisé la carte pendant le diagnostic. Relancez simplement le "
        "diagnostic (l’outil a déjà réessayé une fois de lui-même).",
        "Another program reset the card during the diagnosis. Simply run the diagnosis again "
        "(the tool already retried once by itself).",
        None,
    ),
    "PCSC_TIMEOUT": (
        "Le lecteur ou la carte n’a pas répondu à temps. Retirez la carte et réinsérez-la, "
        "débranchez le lecteur puis rebranchez-le ; essayez un autre port USB ou un autre "
        "lecteur. Si la carte reste muette dans un autre lecteur, c’est elle qui est en cause.",
        "The reader or the card did not answer in time. Take the card out and insert it again, "
        "unplug the reader and plug it back in; try another USB port or another reader. If the "
        "card stays silent in another reader too, the card is at fault.",
        None,
    ),
    "SEVERAL_READERS": (
        "Pour information : plusieurs lecteurs sont branchés. Le rapport indique celui qui a "
        "été examiné ; l’option --reader permet d’en choisir un autre.",
        "For information: several readers are plugged in. The report says which one was "
        "examined; the --reader option chooses another one.",
        None,
    ),
    # --- workstation and middleware -------------------------------------------------------------
    "CRYPTOLIB_MISSING": (
        "La Cryptolib CPS de l’ANS n’est pas installée. Votre carte peut fonctionner, mais les "
        "navigateurs et les logiciels professionnels en ont besoin pour l’utiliser : installez "
        "la Cryptolib CPS depuis le site de l’ANS.",
        "The ANS Cryptolib CPS is not installed. Your card may work, but browsers and "
        "professional software need it to use the card: install the Cryptolib CPS from the ANS "
        "website.",
        None,
    ),
    "CRYPTOLIB_OLD": (
        "La version installée de la Cryptolib CPS est trop ancienne. Les CPS4 demandent la "
        "version 5.2 ou plus récente : installez la dernière version 5.2.x depuis le site de "
        "l’ANS.",
        "The installed Cryptolib CPS is too old. CPS4 cards need version 5.2 or later: install "
        "the latest 5.2.x from the ANS website.",
        None,
    ),
    "FIREFOX_MODULE_MISSING": (
        "Firefox ne connaît pas le module de sécurité CPS. Réinstallez la Cryptolib CPS (c’est "
        "elle qui déclare ce module à Firefox), ou ajoutez-le vous-même : Paramètres > Vie "
        "privée et sécurité > Certificats > Périphériques de sécurité > Charger.",
        "Firefox does not know the CPS security module. Reinstall the Cryptolib CPS (it "
        "declares the module to Firefox), or add it yourself: Settings > Privacy & Security > "
        "Certificates > Security Devices > Load.",
        None,
    ),
    "FIREFOX_SANDBOXED": (
        "Firefox est installé en version isolée (Snap ou Flatpak) : cette version ne peut pas "
        "charger le module CPS installé sur l’ordinateur. Utilisez le Firefox fourni par votre "
        "distribution (paquet deb ou rpm) ou celui distribué par Mozilla.",
        "Firefox is installed as a sandboxed package (Snap or Flatpak): that version cannot "
        "load the CPS module installed on the computer. Use the Firefox package from your "
        "distribution (deb or rpm) or Mozilla's own build.",
        None,
    ),
    "COMPETING_MODULES": (
        "Deux modules peuvent gérer la carte : OpenSC et la Cryptolib CPS. Le navigateur utilise "
        "le premier qui répond, ce qui peut provoquer des erreurs difficiles à comprendre : ne "
        "gardez qu’un seul module pour la CPS.",
        "Two modules can handle the card: OpenSC and the Cryptolib CPS. The browser uses the "
        "first one that answers, which can cause confusing errors: keep only one module for "
        "the CPS.",
        None,
    ),
    "OS_UNSUPPORTED": (
        "Ce système ne fait pas partie de ceux que la Cryptolib CPS 5.2 prend en charge "
        "(Windows 10 et 11, Windows Server 2016 et 2019, macOS 12 à 14, Red Hat Enterprise "
        "Linux 7, 8 et 9). Il peut tout à fait fonctionner, mais l’ANS n’en assure pas le "
        "support.",
        "This system is not among those the Cryptolib CPS 5.2 supports (Windows 10 and 11, "
        "Windows Server 2016 and 2019, macOS 12 to 14, Red Hat Enterprise Linux 7, 8 and 9). It "
        "may well work, but the ANS does not support it.",
        None,
    ),
    "CLOCK_WRONG": (
        "La date ou l’heure de l’ordinateur est fausse. Corrigez-les (de préférence en activant "
        "la mise à l’heure automatique) : la vérification des certificats en dépend.",
        "The computer's date or time is wrong. Correct them (preferably by turning on automatic "
        "time setting): certificate checks depend on them.",
        None,
    ),
    # --- project codes --------------------------------------------------------------------------
    "CARD_READ_ERROR": (
        "La carte a renvoyé des données que l’outil n’a pas su interpréter. Relancez le "
        "diagnostic ; si l’erreur se répète, enregistrez le rapport (option --output) et "
        "joignez-le à votre demande auprès du support de l’ANS.",
        "The card returned data the tool could not make sense of. Run the diagnosis again; if "
        "the error comes back, save the report (--output option) and attach it to your request "
        "to ANS support.",
        _CARD,
    ),
    "PIN_UNKNOWN": (
        "L’état du code PIN n’a pas pu être lu. Fermez les logiciels qui utilisent la carte et "
        "relancez le diagnostic ; si le problème persiste, contactez le service client de l’ANS "
        "en joignant le rapport.",
        "The PIN state could not be read. Close the programs using the card and run the "
        "diagnosis again; if the problem persists, contact ANS customer service and attach the "
        "report.",
        _CARD,
    ),
    "CARD_IDENTITY_UNREADABLE": (
        "Les informations d’identité de la carte n’ont pas pu être lues. Relancez le "
        "diagnostic ; si le problème persiste, contactez le service client de l’ANS en joignant "
        "le rapport.",
        "The identity data on the card could not be read. Run the diagnosis again; if the "
        "problem persists, contact ANS customer service and attach the report.",
        _CARD,
    ),
    "ADELI_CHECK_DIGIT": (
        "Pour information : le contrôle de l’identifiant lu sur la carte n’a pas abouti. La "
        "règle de contrôle n’est pas officiellement confirmée : cela ne veut pas dire que votre "
        "carte a un problème.",
        "For information: the check of the identifier read from the card failed. The checking "
        "rule is not officially confirmed: it does not mean that anything is wrong with your "
        "card.",
        None,
    ),
    "CARD_NOT_YET_VALID": (
        "La carte (ou l’un de ses certificats) n’est pas encore valide : sa date de début est "
        "dans le futur. Vérifiez d’abord la date de l’ordinateur. Si elle est juste, la carte "
        "ne pourra servir qu’à partir de cette date ; en cas de doute, contactez le service "
        "client de l’ANS.",
        "The card (or one of its certificates) is not valid yet: its start date is in the "
        "future. First check the computer's date. If it is right, the card can only be used "
        "from that date; if in doubt, contact ANS customer service.",
        _CARD,
    ),
    "OBSOLETE_MIDDLEWARE": (
        "D’anciennes bibliothèques CPS, datant des cartes CPS2ter, sont encore présentes sur "
        "l’ordinateur (par exemple dans /usr/local/galss). Elles ne servent plus et peuvent "
        "gêner la Cryptolib CPS actuelle : désinstallez l’ancienne version.",
        "Old CPS libraries from the CPS2ter era are still on the computer (for instance in "
        "/usr/local/galss). They are no longer used and can get in the way of the current "
        "Cryptolib CPS: uninstall the old version.",
        None,
    ),
    "REPLAY_MISSING": (
        "L’enregistrement rejoué ne contient pas de réponse à une commande envoyée par l’outil : "
        "le diagnostic est incomplet. Refaites l’enregistrement avec la version actuelle de "
        "diagcps (option --record).",
        "The replayed recording has no answer for a command the tool sent: the diagnosis is "
        "incomplete. Record again with the current version of diagcps (--record option).",
        None,
    ),
}

_REMEDIES: dict[str, Remedy] = {
    code: Remedy(code, fr, en, channel) for code, (fr, en, channel) in _CATALOGUE.items()
}

ALL_CODES: frozenset[str] = frozenset(_REMEDIES)


def remedy_for(code: str) -> Remedy | None:
    """The remedy for a finding code, or None for a code outside the catalogue."""
    return _REMEDIES.get(code)


def remedy_text(code: str, lang: str) -> str | None:
    """The remedy in ``lang`` ("fr" or "en"), followed by the support channel line if any."""
    remedy = _REMEDIES.get(code)
    if remedy is None:
        return None
    text = remedy.text(lang)
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
        f"date with your professional order. {page.name_fr}: update them at {page.url}{note}.",
    ).get(lang)


def ecps_help(profession_code: str | None, national_id: str | None, lang: str) -> list[str]:
    """Lines that help the holder activate an e-CPS, in ``lang``."""
    lines = [
        _identifier_line(national_id, lang),
        _contact_details_line(profession_code, lang),
        Text(
            f"Pour l’activer avec votre carte, rendez-vous sur {ECPS_WALLET_URL}, la carte dans "
            "le lecteur ; si cela échoue sur cet ordinateur, essayez un autre poste ou un autre "
            "lecteur.",
            f"To activate it with your card, go to {ECPS_WALLET_URL} with the card in the "
            "reader; if that fails on this computer, try another computer or reader.",
        ).get(lang),
    ]
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
