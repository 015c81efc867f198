"""Running the network probe beside the card reading: started before the card is read, waited
for before the checks run, so the family costs at most its time limit and usually nothing."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterable
from typing import Any

from diagcps.network.endpoints import NetworkSettings
from diagcps.network.probe import NetworkOutcome, probe_all

log = logging.getLogger(__name__)

#: Checks that read the probe.
_USERS = ("network.", "workstation.clock")


class PendingProbe:
    def __init__(self, settings: NetworkSettings | None, wanted: bool,
                 skipped: str | None = None) -> None:
        self._outcome: NetworkOutcome | None = None
        self._thread: threading.Thread | None = None
        if settings is None or not wanted:
            self._outcome = NetworkOutcome(skipped or "not_requested")
        elif settings.offline:
            # Nothing is resolved, nothing is sent: not even the proxy settings are read.
            self._outcome = NetworkOutcome("offline", time_limit_s=settings.time_limit_s)
        else:
            self._thread = threading.Thread(target=self._run, args=(settings,),
                                            name="network probe", daemon=True)
            self._thread.start()

    def _run(self, settings: NetworkSettings) -> None:
        try:
            self._outcome = probe_all(settings)
        except Exception as exc:  # a bug of ours: the checks turn it into status "error"
            log.error("the network probe crashed:\n%s", traceback.format_exc())
            self._outcome = NetworkOutcome("error", error=f"{type(exc).__name__}: {exc}")

    def wait(self) -> NetworkOutcome:
        if self._thread is not None:
            # probe_all bounds itself by the time limit; this bound only guards against a bug.
            self._thread.join()
        return self._outcome or NetworkOutcome("not_requested")


def start_probe(settings: NetworkSettings | None, specs: Iterable[Any],
                source_kind: str) -> PendingProbe:
    if source_kind == "replay":
        return PendingProbe(None, False, "replay")
    wanted = any(spec.id.startswith(_USERS) for spec in specs)
    return PendingProbe(settings, wanted)
