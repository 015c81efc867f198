"""Does the middleware the browsers use work with this card? The card manager (CPS-Gestion) and
the PKCS#11 probe (diagcps.workstation.pkcs11_probe).

The probe runs as a workstation check, so after the card reading has ended and released the card:
never inside diagcps's own PC/SC transaction. It is not started on a card that the reading found
mute or held exclusively by another program: the Cryptolib would hang on it, and killing it on the
time-out makes pcscd reset the card, which would log the other program out.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from diagcps.checks.base import CheckResult, Status, finding, ok
from diagcps.checks.registry import check
from diagcps.checks.workstation_checks import CPS4_MINIMUM, cryptolib_facts
from diagcps.workstation.card_manager import NCURSES_LINKER_SCRIPT, card_manager_state
from diagcps.workstation.cryptolib import meets
from diagcps.workstation.paths import under, windows_path

#: Facts key: the probe's time limit, in seconds (tests shorten it).
PROBE_TIMEOUT_FACT = "pkcs11_probe_timeout_s"
#: Facts key: a command line put before the probe's child (tests: a private mount namespace).
PROBE_LAUNCHER_FACT = "pkcs11_probe_launcher"
#: Reading or opening outcomes on which the probe is never started.
_NOT_PROBED = {"CARD_MUTE": "mute", "PCSC_TIMEOUT": "mute", "CARD_IN_USE": "in_use"}


def _skipped(fr: str, en: str, **details: Any) -> CheckResult:
    return CheckResult(Status.SKIPPED, _text(fr, en), None, details)


def _text(fr: str, en: str) -> Any:
    from diagcps.text import Text

    return Text(fr, en)


# --- CPS-Gestion ---------------------------------------------------------------------------------


@check("workstation.card_manager", "Gestionnaire de la carte (CPS-Gestion)",
       "Card manager (CPS-Gestion)")
def workstation_card_manager(ctx: Any) -> CheckResult:
    info = cryptolib_facts(ctx)
    if ctx.system != "Linux":
        return _skipped("Non vérifié : hors Linux, CPS-Gestion ne dépend pas de ncurses.",
                        "Not checked: outside Linux, CPS-Gestion does not depend on ncurses.",
                        card_manager_path=info.card_manager_path)
    if not info.card_manager_path:
        # Examined and found absent: a complete answer (like Firefox not installed), which
        # must not make the workstation's verdict partial.
        return ok("CPS-Gestion n’est pas installé : rien à vérifier de ce côté.",
                  "CPS-Gestion is not installed: nothing to check there.",
                  card_manager_path=None)
    state = card_manager_state(ctx.root)
    details = {"card_manager_path": info.card_manager_path, **asdict(state),
               "searched": list(state.searched)}
    if state.problem is None:
        return ok(f"CPS-Gestion ({info.card_manager_path}) trouve la bibliothèque ncurses dont "
                  "il a besoin.",
                  f"CPS-Gestion ({info.card_manager_path}) finds the ncurses library it needs.",
                  **details)
    why_fr = ("n’est qu’un script pour l’éditeur de liens, que le programme ne peut pas charger"
              if state.problem == NCURSES_LINKER_SCRIPT else "est introuvable")
    why_en = ("is only a linker script, which the program cannot load"
              if state.problem == NCURSES_LINKER_SCRIPT else "cannot be found")
    return finding(
        Status.WARNING, "CARD_MANAGER_BROKEN",
        f"CPS-Gestion ne peut pas démarrer : la bibliothèque libncurses.so {why_fr}. Il se ferme "
        "aussitôt, sans message.",
        f"CPS-Gestion cannot start: the libncurses.so library {why_en}. It closes at once, "
        "without a message.",
        **details)


# --- the PKCS#11 probe ---------------------------------------------------------------------------


def _module_path(ctx: Any, library_path: str) -> Path:
    if ctx.system == "Windows":
        return windows_path(ctx.root, library_path)
    return under(ctx.root, library_path)


def _diagnosed(ctx: Any) -> tuple[Any, Any]:
    """The diagnosed reader's view and outcome (either may be None)."""
    name = ctx.facts.get("diagnosed")
    view = next((r for r in ctx.facts.get("readers") or () if r.name == name), None)
    outcome = (ctx.facts.get("outcomes") or {}).get(name)
    return view, outcome


def _why_not_probed(view: Any, outcome: Any) -> str | None:
    if view is not None and view.state in ("mute", "in_use"):
        return view.state
    if outcome is not None:
        codes = [outcome.open_error, *(p.code for p in getattr(outcome.reading, "problems", None)
                                       or ())]
        for code in codes:
            if code in _NOT_PROBED:
                return _NOT_PROBED[code]
    return None


def _token_for(result: Any, reader: str, serial: str | None) -> Any:
    """The token the module shows for ``reader`` (its slot bears the reader's name)."""
    tokens = result.tokens()
    for slot, token in tokens:
        if slot.description and (slot.description in reader or reader in slot.description):
            return token
    if serial:
        for _slot, token in tokens:
            if token.serial == serial:
                return token
    return None


def _atr_known(atr: bytes | None) -> bool | None:
    """Whether the Cryptolib recognises this ATR; None when that table is not available."""
    if not atr:
        return None
    try:
        from diagcps.cps.cryptolib_atr import cryptolib_knows_atr
    except ImportError:
        return None
    return bool(cryptolib_knows_atr(atr))


def _reader_state_now(reader: str) -> str | None:
    """The reader's state after the probe (another program may have taken the card since the
    reading); None when it cannot be asked."""
    try:
        from diagcps import pcsc

        states = pcsc.list_readers(timeout_s=2.0)
    except Exception:  # PC/SC gone, pyscard missing: the reason stays unknown
        return None
    return next((s.state for s in states if s.name == reader), None)


def _no_token_reason(reading: Any, cryptolib: Any, reader: str) -> str:
    if reading.generation == "CPS4" and meets(cryptolib.version, CPS4_MINIMUM) is False:
        return "cps4_old_cryptolib"
    if _reader_state_now(reader) == "in_use":
        return "held_exclusively"
    if _atr_known(reading.atr) is False:
        return "atr_unknown"
    return "unknown"


_REASONS = {
    "cps4_old_cryptolib": ("c’est une CPS4 et la Cryptolib installée est antérieure à 5.2",
                           "it is a CPS4 and the installed Cryptolib is older than 5.2"),
    "atr_unknown": ("la Cryptolib ne reconnaît pas la réponse de la carte à sa mise sous tension "
                    "(ATR)", "the Cryptolib does not recognise the card's answer to reset (ATR)"),
    "wrong_architecture": ("la bibliothèque n’est pas faite pour l’architecture de cet ordinateur",
                           "the library is not built for this computer's architecture"),
    "held_exclusively": ("un autre programme s’en est réservé l’usage exclusif",
                         "another program has taken it for its exclusive use"),
    "unknown": ("la raison n’a pas pu être établie", "the reason could not be established"),
}


@check("workstation.middleware", "La Cryptolib voit-elle la carte ?",
       "Does the Cryptolib see the card?")
def workstation_middleware(ctx: Any) -> CheckResult:
    from diagcps.workstation.pkcs11_probe import (
        DEFAULT_TIMEOUT_S,
        elf_architecture,
        host_architecture,
    )

    cryptolib = cryptolib_facts(ctx)
    if not cryptolib.installed or not cryptolib.library_path:
        # No module to ask: the answer is complete, and the finding is workstation.cryptolib's
        # (CRYPTOLIB_MISSING), so this one does not make the workstation's verdict partial.
        return ok("Rien à vérifier : la Cryptolib CPS n’est pas installée (voir plus haut).",
                  "Nothing to check: the Cryptolib CPS is not installed (see above).",
                  installed=False)
    if ctx.facts.get("source_kind") != "pcsc":
        return _skipped("Non vérifié : la carte n’est pas lue par le service PC/SC de cet "
                        "ordinateur (carte virtuelle ou enregistrement).",
                        "Not checked: the card is not read through this computer's PC/SC "
                        "service (virtual card or recording).")
    view, outcome = _diagnosed(ctx)
    if view is None:
        return _skipped("Non vérifié : aucune carte à présenter à la Cryptolib.",
                        "Not checked: no card to show the Cryptolib.")
    why_not = _why_not_probed(view, outcome)
    if why_not is not None:
        fr = ("la carte ne répond pas" if why_not == "mute"
              else "un autre programme utilise la carte en exclusivité")
        en = ("the card does not answer" if why_not == "mute"
              else "another program holds the card exclusively")
        return _skipped(f"Non vérifié : {fr} ; la Cryptolib n’est pas sollicitée, elle "
                        "resterait bloquée et son arrêt réinitialiserait la carte.",
                        f"Not checked: {en}; the Cryptolib is not asked, it would hang and "
                        "stopping it would reset the card.", not_started_because=why_not)

    module = _module_path(ctx, cryptolib.library_path)
    timeout_s = float(ctx.facts.get(PROBE_TIMEOUT_FACT) or DEFAULT_TIMEOUT_S)
    result = _probe(ctx, module, timeout_s)
    details: dict[str, Any] = {"module": cryptolib.library_path, "reader": view.name,
                               **{k: v for k, v in asdict(result).items() if k != "module"}}
    details["installed_pkcs11_version"] = cryptolib.pkcs11_version
    module_arch, host_arch = elf_architecture(module), host_architecture()
    details["module_architecture"], details["host_architecture"] = module_arch, host_arch
    judged = _judge(ctx, result, details, outcome, cryptolib,
                    wrong_arch=bool(module_arch and host_arch and module_arch != host_arch))
    if result.outcome == "timeout":
        return judged  # the card was just reset: no second module on it
    return _with_opensc(ctx, judged, view.name, timeout_s)


def _probe(ctx: Any, module: Path, timeout_s: float, *, opensc: bool = False) -> Any:
    """Ask the module once per run: a redacted run judges its checks twice (screen, files), and
    the module must not be loaded twice on the card. In the files' judgement (``pseudonyms`` in
    the facts) the token's serial and holder name are replaced by the run's pseudonyms, the same
    ones as the card's, so that the comparison still holds and nothing real is written."""
    from diagcps.workstation.pkcs11_probe import probe_module, token_serial

    cache = ctx.facts.setdefault("pkcs11_probes", {})
    key = (str(module), timeout_s)
    if key not in cache:
        result = probe_module(module, timeout_s=timeout_s, env=dict(ctx.env),
                              launcher=tuple(ctx.facts.get(PROBE_LAUNCHER_FACT) or ()))
        if opensc:
            for _slot, token in result.tokens():
                token.serial = token_serial(token.serial)
        cache[key] = result
    pseudonyms = ctx.facts.get("pseudonyms")
    return cache[key] if pseudonyms is None else _pseudonymised(cache[key], pseudonyms)


def _pseudonymised(result: Any, pseudonyms: Any) -> Any:
    slots = []
    for slot in result.slots:
        token = slot.token
        if token is not None:
            # The Cryptolib's label is "CPS3 <NAME>": the generation stays, the name does not.
            generation, _, name = token.label.partition(" ")
            label = f"{generation} {pseudonyms.name(name)}" if name else generation
            token = replace(token, label=label,
                            serial=pseudonyms.digits(token.serial) if token.serial else "")
        slots.append(replace(slot, token=token))
    return replace(result, slots=slots)


def _opensc_libraries(ctx: Any) -> list[str]:
    """OpenSC modules the browsers' NSS databases make them load (Firefox profiles, and
    Chromium's ~/.pki/nssdb on Linux), as paths of the diagnosed machine."""
    from diagcps.checks.workstation_checks import firefox_facts
    from diagcps.workstation.nssdb import find_chromium

    modules = list(firefox_facts(ctx).profile_modules)
    if ctx.system == "Linux":
        modules += find_chromium(ctx.root, ctx.env).modules
    libraries: list[str] = []
    for module in modules:
        if module.get("kind") == "opensc" and module["library"] not in libraries:
            libraries.append(module["library"])
    return libraries


def _with_opensc(ctx: Any, judged: CheckResult, reader: str, timeout_s: float) -> CheckResult:
    """When a browser is configured with OpenSC's module, ask it too: that is the module the
    browser may use for the card instead of the Cryptolib."""
    from diagcps.text import Text
    from diagcps.workstation.pkcs11_probe import OUTCOME_OK

    libraries = _opensc_libraries(ctx)
    if not libraries:
        return judged
    seen = []
    for library in libraries:
        result = _probe(ctx, _module_path(ctx, library), timeout_s, opensc=True)
        token = _token_for(result, reader, None) if result.outcome == OUTCOME_OK else None
        seen.append({"library": library, "outcome": result.outcome, "error": result.error,
                     "killed": result.killed, "library_description": result.library_description,
                     "token": asdict(token) if token is not None else None})
        if result.killed:
            break  # the card was reset: stop there
    judged.details["opensc"] = seen
    if judged.status is Status.OK:
        sees = any(entry["token"] for entry in seen)
        fr = (" OpenSC, déclaré dans le navigateur, la voit aussi." if sees else
              " OpenSC, déclaré dans le navigateur, ne la voit pas.")
        en = (" OpenSC, declared in the browser, sees it too." if sees else
              " OpenSC, declared in the browser, does not see it.")
        judged.summary = Text(judged.summary.fr + fr, judged.summary.en + en)
    return judged


def _judge(ctx: Any, result: Any, details: dict[str, Any], outcome: Any, cryptolib: Any,
           wrong_arch: bool) -> CheckResult:
    from diagcps.workstation.pkcs11_probe import OUTCOME_CRASHED, OUTCOME_OK, OUTCOME_TIMEOUT

    if result.outcome == OUTCOME_TIMEOUT:
        return finding(
            Status.FAIL, "MIDDLEWARE_TIMEOUT",
            f"La Cryptolib n’a pas répondu en {result.timeout_s:g} s (étape : "
            f"{result.stage or '?'}) : elle a été arrêtée de force, ce qui a réinitialisé la "
            "carte.",
            f"The Cryptolib did not answer within {result.timeout_s:g} s (step: "
            f"{result.stage or '?'}): it was killed, which reset the card.",
            **details)
    if result.outcome == OUTCOME_CRASHED:
        return finding(
            Status.FAIL, "MIDDLEWARE_CRASHED",
            f"La Cryptolib s’est arrêtée brutalement ({result.exit}) à l’étape "
            f"{result.stage or '?'}.",
            f"The Cryptolib stopped abruptly ({result.exit}) at step {result.stage or '?'}.",
            **details)
    if result.outcome != OUTCOME_OK:
        details["reason"] = "wrong_architecture" if wrong_arch else None
        fr, en = _REASONS["wrong_architecture"] if wrong_arch else ("", "")
        return finding(
            Status.FAIL, "MIDDLEWARE_LOAD_FAILED",
            "La Cryptolib ne peut pas être chargée" + (f" : {fr}" if fr else "")
            + f". Message : {result.error or '?'}",
            "The Cryptolib cannot be loaded" + (f": {en}" if en else "")
            + f". Message: {result.error or '?'}",
            **details)

    reading = outcome.reading if outcome is not None else None
    serial = getattr(reading, "serial", None)
    token = _token_for(result, details["reader"], serial)
    details["token"] = asdict(token) if token is not None else None
    is_cps = reading is not None and getattr(reading, "recognised", False)
    if token is None:
        if not is_cps:
            return ok("La Cryptolib ne voit pas de carte CPS dans ce lecteur, comme diagcps.",
                      "The Cryptolib sees no CPS card in this reader, as diagcps does.",
                      **details)
        reason = _no_token_reason(reading, cryptolib, details["reader"])
        details["reason"] = reason
        fr, en = _REASONS[reason]
        return finding(
            Status.FAIL, "MIDDLEWARE_NO_TOKEN",
            f"La Cryptolib ne voit pas la carte que diagcps lit ({reading.generation or 'CPS'}) : "
            f"{fr}. Les navigateurs ne pourront pas l’utiliser.",
            f"The Cryptolib does not see the card diagcps reads ({reading.generation or 'CPS'}): "
            f"{en}. Browsers will not be able to use it.",
            **details)

    disagreements = _disagreements(token, reading) if is_cps else []
    details["disagreements"] = disagreements
    if disagreements:
        return finding(
            Status.WARNING, "MIDDLEWARE_DISAGREES",
            "La Cryptolib voit la carte autrement que diagcps : " + ", ".join(
                f"{d['field']} {d['middleware']!s} (carte : {d['card']!s})" for d in disagreements),
            "The Cryptolib sees the card differently from diagcps: " + ", ".join(
                f"{d['field']} {d['middleware']!s} (card: {d['card']!s})" for d in disagreements),
            **details)
    shown = f"{token.label}, n° {token.serial}" if token.serial else token.label
    shown_en = f"{token.label}, no. {token.serial}" if token.serial else token.label
    installed = cryptolib.pkcs11_version
    if installed and result.library_version and not _same_version(installed,
                                                                   result.library_version):
        return finding(
            Status.WARNING, "MIDDLEWARE_VERSION_MISMATCH",
            f"La Cryptolib voit votre carte ({shown}), mais la bibliothèque chargée est en "
            f"version {result.library_version} alors que l’installation annonce {installed}.",
            f"The Cryptolib sees your card ({shown_en}), but the library loaded is version "
            f"{result.library_version} while the installation claims {installed}.",
            **details)
    return ok(f"La Cryptolib voit votre carte ({shown}).",
              f"The Cryptolib sees your card ({shown_en}).", **details)


def _same_version(one: str, other: str) -> bool:
    """"3.1" and "3.1.0" are the same version (C_GetInfo gives two parts, 174.adm three)."""
    from diagcps.workstation.cryptolib import version_tuple

    a, b = version_tuple(one) or (), version_tuple(other) or ()
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)) == b + (0,) * (width - len(b))


def _disagreements(token: Any, reading: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if reading.serial and token.serial and token.serial != reading.serial:
        found.append({"field": "serial", "middleware": token.serial, "card": reading.serial})
    state = getattr(reading.pin, "state", None)
    if state in ("ok", "low", "last_try", "blocked", "verified"):
        blocked = state == "blocked"
        if token.pin_locked != blocked:
            found.append({"field": "pin_locked", "middleware": token.pin_locked,
                          "card": blocked})
    return found
