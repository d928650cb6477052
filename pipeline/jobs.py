"""What a task gets (a Job) and gives back (an Outcome).

A Job holds what a task needs: the catalog's sessions, the settings, its claim, a progress callback and a
cancel event, and reads the version and its probe (a typed :class:`~analyzers.probe.MediaInfo`). It holds no
Farm: what needs one (pushing to targets) runs in the executor after the commit, through ``Outcome.after``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analyzers.probe import MediaInfo
from catalog.models import MediaInfoRow, Step, Version
from pipeline.leases import Claim
from rushes.settings import Settings

if TYPE_CHECKING:
    from pipeline.farm import Farm


@dataclass(frozen=True, slots=True)
class Job:
    sessions: sessionmaker[Session]
    settings: Settings
    claim: Claim
    cancel: threading.Event
    report: Callable[[float], None]

    def version(self) -> Version:
        with self.sessions() as session:
            version = session.get(Version, self.claim.version_id)
            assert version is not None and version.stored_path
            session.expunge(version)
            return version

    def asset_name(self) -> str:
        with self.sessions() as session:
            version = session.get(Version, self.claim.version_id)
            assert version is not None
            return version.asset.name

    def planned(self, kind: str) -> bool:
        """Whether this version's plan has a step of ``kind``."""
        with self.sessions() as session:
            return session.scalar(select(Step.id).where(Step.version_id == self.claim.version_id,
                                                        Step.kind == kind)) is not None

    def media_info(self) -> MediaInfo:
        """The version's probe as the probe step stored it."""
        with self.sessions() as session:
            row = session.get(MediaInfoRow, self.claim.version_id)
            assert row is not None, "probe must run before this step"
            return MediaInfo.from_dict(row.info)


def _nothing(session: Session) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    store: Callable[[Session], None] = _nothing
    status: str = "done"  # or "skipped"
    note: str | None = None
    after: Callable[[Farm], None] | None = None  # runs once the result is committed (e.g. pushes to targets)
