"""What a task gets (a Job: the farm, its claim, progress and cancel) and gives back (an Outcome)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import MediaInfoRow, Step, Version
from pipeline.leases import Claim

if TYPE_CHECKING:
    from pipeline.farm import Farm


@dataclass(frozen=True, slots=True)
class Job:
    farm: Farm
    claim: Claim
    cancel: threading.Event
    report: Callable[[float], None]

    def version(self) -> Version:
        with self.farm.sessions() as session:
            version = session.get(Version, self.claim.version_id)
            assert version is not None and version.stored_path
            session.expunge(version)
            return version

    def asset_name(self) -> str:
        with self.farm.sessions() as session:
            version = session.get(Version, self.claim.version_id)
            assert version is not None
            return version.asset.name

    def planned(self, kind: str) -> bool:
        """Whether this version's plan has a step of ``kind``."""
        with self.farm.sessions() as session:
            return session.scalar(select(Step.id).where(Step.version_id == self.claim.version_id,
                                                        Step.kind == kind)) is not None

    def media_info(self) -> dict[str, Any]:
        with self.farm.sessions() as session:
            row = session.get(MediaInfoRow, self.claim.version_id)
            assert row is not None, "probe must run before this step"
            return dict(row.info)


def _nothing(session: Session) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    store: Callable[[Session], None] = _nothing
    status: str = "done"  # or "skipped"
    note: str | None = None
    after: Callable[[], None] | None = None  # runs once the result is committed (e.g. pushes to targets)
