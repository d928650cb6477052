"""Distribution targets: what each may take, pushes to folders, the Media RSS feed, the delivery log.

Only renditions that passed QC (status ``ready``), of versions marked approved, made to one of the
target's presets, whose rights allow the target's channel and territory at that moment, ever reach a
target. A push writes the file under a temporary name, renames it, then writes a JSON manifest sidecar;
every feed read, download and push is logged, and so is a push refused by the rights (``refused``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, contains_eager

from catalog.approvals import approved_channels
from catalog.auth import create_token, ensure_user
from catalog.models import ApprovalRequest, Asset, DeliveryEvent, Rendition, Target, Version, utcnow
from catalog.rights import (
    RightsError,
    Verdict,
    channel_name,
    delivery_channel,
    effective_for,
    territory_code,
    verdict,
)
from rushes.errors import ConfigError

log = logging.getLogger(__name__)
MEDIA_NS = "http://search.yahoo.com/mrss/"


def create_target(session: Session, name: str, kind: str, presets: Sequence[str], folder: str | None = None,
                  *, channel: str | None = None, territory: str | None = None,
                  with_token: bool = True) -> tuple[Target, str | None]:
    """A new target; a pull target gets a machine user and (``with_token``) a token, returned once.

    ``channel`` (broadcast, web, social) is what its deliveries count as for the rights (default: each preset's
    category); ``territory`` the ISO 3166-1 alpha-2 country it publishes in (default: worldwide).
    """
    try:
        channel = channel_name(channel) if channel else None
        territory = territory_code(territory) if territory else None
    except RightsError as exc:
        raise ConfigError(str(exc)) from exc
    if kind not in ("pull", "push"):
        raise ConfigError(f"target kind must be pull or push, got {kind!r}")
    if kind == "push" and not folder:
        raise ConfigError("a push target needs a folder")
    if not presets:
        raise ConfigError("a target needs at least one preset")
    if session.scalar(select(Target.id).where(Target.name == name)) is not None:
        raise ConfigError(f"a target named {name!r} exists already")
    target = Target(name=name, kind=kind, presets={"presets": list(presets)}, folder=folder, channel=channel,
                    territory=territory)
    token = None
    if kind == "pull":
        user = ensure_user(session, f"target:{name}", "target")
        target.user_id = user.id
        token = create_token(session, user, label=f"target {name}") if with_token else None
    session.add(target)
    session.flush()
    return target, token


def eligible(session: Session, target: Target) -> list[Rendition]:
    """Renditions this target could take, rights aside: QC passed, one of its presets, the version approved for the
    channel the rendition goes out on (the target's, else the preset's category: approving for web does not approve
    for broadcast when their approval templates differ)."""
    approved = or_(Version.approved_at.is_not(None), exists().where(
        ApprovalRequest.version_id == Version.id, ApprovalRequest.status == "approved"))
    in_trash = exists().where(Asset.id == Version.asset_id, Asset.deleted_at.is_not(None))
    query = (select(Rendition).join(Version, Version.id == Rendition.version_id)
             .where(Rendition.status == "ready", approved, ~in_trash, Rendition.preset.in_(target.preset_names))
             .options(contains_eager(Rendition.version))
             .order_by(Rendition.id))
    found = list(session.scalars(query))
    channels = approved_channels(session, sorted({r.version_id for r in found}))
    return [r for r in found
            if delivery_channel(target.channel, preset_category(r.preset)) in channels.get(r.version_id, set())]


def preset_category(preset: str) -> str:
    """A preset's category is its folder (checked when presets load): ``web/h264-720p`` -> ``web``."""
    return preset.split("/", 1)[0]


def judge(session: Session, target: Target, renditions: Sequence[Rendition],
          at: datetime | None = None) -> list[tuple[Rendition, Verdict]]:
    """Each rendition with the verdict of its version's effective rights on this target, at ``at`` (now)."""
    at = at or utcnow()
    rights = effective_for(session, [(r.version_id, r.version.asset_id) for r in renditions])
    return [(r, verdict(rights[r.version_id], channel=delivery_channel(target.channel, preset_category(r.preset)),
                        territory=target.territory, at=at)) for r in renditions]


def deliverable(session: Session, target: Target, at: datetime | None = None) -> list[Rendition]:
    """Renditions this target may take now (or at ``at``): eligible, and allowed by their rights."""
    return [r for r, v in judge(session, target, eligible(session, target), at) if v.allowed]


def record(session: Session, actor: str, action: str, *, target: str | None = None,
           rendition_id: int | None = None, detail: str | None = None) -> None:
    session.add(DeliveryEvent(actor=actor, action=action, target=target, rendition_id=rendition_id, detail=detail))


def manifest(rendition: Rendition) -> dict[str, Any]:
    version = rendition.version
    return {
        "rendition_id": rendition.id, "asset_id": version.asset_id, "asset": version.asset.name,
        "version": version.number, "preset": rendition.preset, "preset_hash": rendition.preset_hash,
        "tools": rendition.tools, "file": Path(rendition.path or "").name, "size": rendition.size,
        "sha256": rendition.sha256, "approved_by": version.approved_by,
        "approved_at": version.approved_at.isoformat() if version.approved_at else None, "qc": rendition.qc,
    }


def delivered_name(rendition: Rendition) -> str:
    version = rendition.version
    stem = Path(version.asset.name).stem.replace("/", "_")
    preset = rendition.preset.replace("/", "-")
    return f"{stem}_v{version.number}_{preset}{Path(rendition.path or '').suffix}"


def media_rss(target: Target, items: list[dict[str, Any]], base_url: str) -> str:
    """A Media RSS 2.0 feed of the target's renditions (``items`` as the JSON feed gives them)."""
    ET.register_namespace("media", MEDIA_NS)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"Rushes: {target.name}"
    ET.SubElement(channel, "link").text = f"{base_url}/api/v1/targets/{target.name}/feed.rss"
    ET.SubElement(channel, "description").text = f"Approved renditions for {target.name}"
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(utcnow())
    for item in items:
        entry = ET.SubElement(channel, "item")
        ET.SubElement(entry, "title").text = f"{item['asset']} v{item['version']} ({item['preset']})"
        ET.SubElement(entry, "guid", {"isPermaLink": "false"}).text = f"rushes-rendition-{item['id']}"
        ET.SubElement(entry, "pubDate").text = format_datetime(datetime.fromisoformat(item["ready_at"]))
        ET.SubElement(entry, f"{{{MEDIA_NS}}}content", {
            "url": base_url + item["download_url"], "fileSize": str(item["size"]), "type": item["mime_type"]})
        ET.SubElement(entry, f"{{{MEDIA_NS}}}hash", {"algo": "sha256"}).text = item["sha256"]
    return ET.tostring(rss, encoding="unicode", xml_declaration=True)
