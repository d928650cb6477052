"""A worker process's background loop: a pass now and then — at once when this process was nudged (a step finished, a
version came in: ``Farm.nudge``; or the last pass left a backlog), else every few seconds — a failed pass logged and
tried again."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class FarmLoop(threading.Thread):
    EVERY_S = 2.0
    AT_LEAST_S = 0.1  # between passes, however often this process is nudged

    def __init__(self, farm: Any, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.farm = farm
        self._halt = threading.Event()

    def step(self) -> bool | None:
        """One pass; True when it left work waiting (a full batch): the next pass then comes at once."""
        raise NotImplementedError

    def run(self) -> None:
        nudged = self.farm.nudged(self.name)
        while not self._halt.is_set():
            more = False
            try:
                more = bool(self.step())
            except Exception:
                log.exception("%s pass failed; trying again", self.name)
            if not more:
                nudged.wait(self.EVERY_S)
                nudged.clear()
            self._halt.wait(self.AT_LEAST_S)

    def stop(self) -> None:
        self._halt.set()
        self.farm.nudge()
        self.join(timeout=30)
