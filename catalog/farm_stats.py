"""The farm's numbers as the catalog knows them: steps by kind and state, assets and renditions by status,
bytes ingested, the latest failures. Read by ``GET /metrics`` and ``rushes status``; each is one grouped query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from catalog.models import Asset, Rendition, Step, Version

# a rendition's render step counts as kind "render" (its label is "render:<id>")
_KIND = case((Step.rendition_id.is_(None), Step.kind), else_="render")


def step_counts(session: Session) -> dict[tuple[str, str], int]:
    """(kind, status) → how many steps."""
    rows = session.execute(select(_KIND, Step.status, func.count()).group_by(_KIND, Step.status))
    return {(kind, status): n for kind, status, n in rows}


def asset_counts(session: Session) -> dict[str, int]:
    return {status: n for status, n in session.execute(select(Asset.status, func.count()).group_by(Asset.status))}


def rendition_counts(session: Session) -> dict[str, int]:
    return {status: n for status, n in session.execute(
        select(Rendition.status, func.count()).group_by(Rendition.status))}


def ingested_bytes(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Version.size), 0))) or 0)


def recent_failures(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """The newest failed steps with their asset and reason."""
    rows = session.execute(
        select(Step.kind, Step.error, Step.finished_at, Version.number, Asset.id, Asset.name)
        .join(Version, Version.id == Step.version_id).join(Asset, Asset.id == Version.asset_id)
        .where(Step.status == "failed").order_by(Step.finished_at.desc(), Step.id.desc()).limit(limit))
    return [{"asset_id": asset_id, "asset": name, "version": number, "step": kind, "error": error,
             "at": at.isoformat() if at else None} for kind, error, at, number, asset_id, name in rows]
