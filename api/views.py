"""How catalog rows look in the API (plain dicts, stable field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.models import Asset, Step, Version


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def asset_summary(asset: Asset) -> dict[str, Any]:
    latest = asset.versions[-1] if asset.versions else None
    return {
        "id": asset.id,
        "name": asset.name,
        "status": asset.status,
        "error": asset.error,
        "collection": asset.collection.name,
        "source_folder": asset.source_folder,
        "created_at": _time(asset.created_at),
        "updated_at": _time(asset.updated_at),
        "version": latest.number if latest else None,
        "duration_s": latest.media_info.duration_s if latest and latest.media_info else None,
        "start_timecode": latest.media_info.start_timecode if latest and latest.media_info else None,
        "poster_url": f"/api/v1/versions/{latest.id}/poster" if latest and latest.proxy else None,
    }


def step_view(step: Step) -> dict[str, Any]:
    return {
        "kind": step.kind, "status": step.status, "attempts": step.attempts,
        "progress": round(step.progress, 4), "error": step.error, "worker": step.worker,
        "started_at": _time(step.started_at), "finished_at": _time(step.finished_at),
        "lease_expires_at": _time(step.lease_expires_at),
    }


def version_view(version: Version) -> dict[str, Any]:
    info = version.media_info
    proxy = version.proxy
    return {
        "id": version.id,
        "number": version.number,
        "status": version.status,
        "error": version.error,
        "content_hash": version.content_hash,
        "size": version.size,
        "original_name": version.original_name,
        "source_folder": version.source_folder,
        "created_at": _time(version.created_at),
        "ready_at": _time(version.ready_at),
        "sidecar": version.sidecar,
        "steps": [step_view(s) for s in version.steps],
        "media_info": info.info if info else None,
        "proxy_url": f"/api/v1/versions/{version.id}/proxy" if proxy else None,
        "poster_url": f"/api/v1/versions/{version.id}/poster" if proxy and proxy.poster_path else None,
        "proxy": {"width": proxy.width, "height": proxy.height, "duration_s": proxy.duration_s,
                  "size": proxy.size} if proxy else None,
        "duplicates": [{"original_name": d.original_name, "source_folder": d.source_folder,
                        "detected_at": _time(d.detected_at)} for d in version.duplicates],
    }


def asset_detail(asset: Asset) -> dict[str, Any]:
    detail = asset_summary(asset)
    versions = [version_view(v) for v in asset.versions]
    latest = versions[-1] if versions else None
    detail.update(
        versions=versions,
        media_info=latest["media_info"] if latest else None,
        steps=latest["steps"] if latest else [],
        proxy_url=latest["proxy_url"] if latest else None,
    )
    return detail
