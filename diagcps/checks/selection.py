"""Which checks run, in which order: every registered check, or those asked for (with what they
need), less those skipped. A replayed transcript says nothing about this workstation, so replay
runs the service, reader and card checks only (the service check knows it is a replay)."""

from __future__ import annotations

from collections.abc import Iterable

from diagcps.checks.base import CheckSpec
from diagcps.checks.registry import REGISTRY

#: Groups in the order a person reads a diagnosis: the machine, the service, readers, the card.
GROUP_ORDER = ("host", "pcsc", "reader", "card", "workstation", "network")
REPLAY_GROUPS = ("pcsc", "reader", "card")


class UnknownCheck(ValueError):
    def __init__(self, ids: list[str]) -> None:
        super().__init__("unknown check id(s): " + ", ".join(ids))
        self.ids = ids


#: The modules that register checks, in the order their checks are shown within a group. The
#: order never depends on which module some other code happened to import first.
CHECK_MODULES = (
    "diagcps.checks.pcsc_checks",
    "diagcps.checks.card_checks",
    "diagcps.checks.workstation_checks",
    "diagcps.checks.browser_checks",
    "diagcps.checks.middleware_checks",
    "diagcps.network.checks",
)


def load_all() -> dict[str, CheckSpec]:
    """Import the modules that register checks (once) and return the registry."""
    import importlib

    for module in CHECK_MODULES:
        importlib.import_module(module)
    return REGISTRY


def _rank(spec: CheckSpec) -> tuple[int, int, int]:
    group = spec.id.split(".")[0]
    # A stand-in function (a test's) has neither a module of ours nor a line: it goes last.
    module = getattr(spec.func, "__module__", None)
    line = getattr(getattr(spec.func, "__code__", None), "co_firstlineno", 0)
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER),
            CHECK_MODULES.index(module) if module in CHECK_MODULES else len(CHECK_MODULES),
            line)


def ordered() -> list[CheckSpec]:
    """Every check: by group, then by module, then in the order its module defines them."""
    return sorted(load_all().values(), key=_rank)


def select_checks(
    *, only: Iterable[str] = (), skip: Iterable[str] = (), source_kind: str = "pcsc"
) -> list[CheckSpec]:
    registry = load_all()
    only, skip = list(only), set(skip)
    unknown = [i for i in [*only, *skip] if i not in registry]
    if unknown:
        raise UnknownCheck(unknown)
    wanted: set[str] = set()
    pending = list(only) or list(registry)
    while pending:
        check_id = pending.pop()
        if check_id not in wanted:
            wanted.add(check_id)
            pending.extend(registry[check_id].needs)
    chosen = [s for s in ordered() if s.id in wanted and s.id not in skip]
    if source_kind == "replay":
        chosen = [s for s in chosen if s.id.split(".")[0] in REPLAY_GROUPS]
    return chosen


def applicable(source_kind: str = "pcsc") -> list[CheckSpec]:
    """Every check a whole run on this kind of source would run."""
    specs = ordered()
    if source_kind == "replay":
        specs = [s for s in specs if s.id.split(".")[0] in REPLAY_GROUPS]
    return specs


def removed_by(skip: Iterable[str]) -> dict[str, list[str]]:
    """For each check left out with ``--skip``, the checks that need it, directly or not, and so
    cannot run either."""
    registry = load_all()
    removed: dict[str, list[str]] = {}
    for skipped in skip:
        gone = {skipped}
        changed = True
        while changed:
            changed = False
            for spec in registry.values():
                if spec.id not in gone and gone & set(spec.needs):
                    gone.add(spec.id)
                    changed = True
        removed[skipped] = [s.id for s in ordered() if s.id in gone - {skipped}]
    return removed
