"""Rights routes: what an asset (or one version of it) may be used for, each target's verdict, what expires soon.

Readers see rights and verdicts; admins and editors change them. A change takes effect at once: pull feeds
are judged on every read, and pushes the change allows go out right after it is saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import visible_asset
from api.deps import DB, Editor, ReadDB, Reader
from catalog.lookup import version_of
from catalog.models import Target, User, Version, utcnow
from catalog.permissions import asset_scope
from catalog.rights import (
    CHANNELS,
    NO_RIGHTS,
    channel_names,
    check_window,
    clear_rights,
    delivery_channel,
    effective,
    expiring,
    own_rights,
    rights_view,
    set_rights,
    summary_of,
    territory_codes,
    verdict,
)
from delivery.targets import preset_category
from pipeline.renditions import deliver_due
from rushes.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["rights"])
VersionNumber = Annotated[int | None, Query(ge=1, description="a version number; default the newest")]
Days = Annotated[int, Query(ge=1, le=3650, description="how many days ahead to look (1 to 3650)")]


# ------------------------------------------------------------------------------------------ models


class RightsRequest(BaseModel):
    """The whole of one level's rights (a PUT replaces every field; a field left out is cleared)."""

    licence: str | None = Field(None, max_length=200, description="the licence, e.g. 'CC BY 4.0', 'Getty RM'")
    source: str | None = Field(None, max_length=500, description="where the footage comes from, who licensed it")
    usage: str | None = Field(None, max_length=20000, description="the usage rights in words")
    territories: list[str] | None = Field(
        None, max_length=300, description="ISO 3166-1 alpha-2 country codes, e.g. ['GB', 'IE']; none: worldwide")
    channels: list[str] | None = Field(
        None, max_length=3, description=f"licensed channels ({', '.join(CHANNELS)}); none: all")
    window_start: datetime | None = Field(None, description="first moment of use (ISO 8601; a date alone is 00:00 "
                                                            "UTC; no zone means UTC); none: open")
    window_end: datetime | None = Field(None, description="the moment the rights end (exclusive); none: open")
    model_release: bool = Field(False, description="a model release is on file")
    location_release: bool = Field(False, description="a location release is on file")

    @field_validator("licence", "source", "usage")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("territories")
    @classmethod
    def _territories(cls, value: list[str] | None) -> list[str] | None:
        return territory_codes(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        return channel_names(value)

    @model_validator(mode="after")
    def _window(self) -> RightsRequest:
        check_window(self.window_start, self.window_end)
        return self


class RightsOut(BaseModel):
    licence: str | None
    source: str | None
    usage: str | None
    territories: list[str] | None = Field(description="ISO 3166-1 alpha-2 codes; null: worldwide")
    channels: list[str] | None = Field(description="null: all channels")
    window_start: datetime | None
    window_end: datetime | None
    model_release: bool
    location_release: bool
    updated_at: datetime | None
    updated_by: str | None


class PresetVerdict(BaseModel):
    preset: str
    channel: str = Field(description="the channel a delivery of this preset to this target counts as")
    allowed: bool
    reason: str | None = Field(description="why not, in words")


class TargetVerdict(BaseModel):
    name: str
    kind: Literal["pull", "push"]
    channel: str | None = Field(description="the target's channel; null: each preset's category")
    territory: str | None = Field(description="where it publishes; null: worldwide")
    allowed: bool = Field(description="true when the rights allow every preset of the target now")
    reason: str | None = Field(description="the first refusal's reason")
    presets: list[PresetVerdict]


class RightsView(BaseModel):
    asset_id: int
    asset: str
    version: int = Field(description="the version whose effective rights these are")
    level: Literal["version", "asset"] | None = Field(
        description="where the effective rights come from: the version's own, the asset's, or none recorded")
    summary: str = Field(description=f"the rights in words ('{NO_RIGHTS}' when none)")
    rights: RightsOut | None = Field(description="the effective rights; null: none recorded (unrestricted)")
    asset_rights: RightsOut | None = Field(description="the asset-level rights")
    version_rights: RightsOut | None = Field(description="this version's own rights (overriding the asset's)")
    at: datetime = Field(description="the moment the verdicts are for (now)")
    targets: list[TargetVerdict]


class ExpiringRights(BaseModel):
    asset_id: int
    asset: str
    version: int | None = Field(description="the version for version-level rights; null: the asset's")
    level: Literal["version", "asset"]
    licence: str | None
    window_end: datetime
    ends_on: str = Field(description="the end date (UTC), YYYY-MM-DD")
    days_left: int


class ExpiringList(BaseModel):
    days: int
    until: datetime
    rights: list[ExpiringRights] = Field(description="soonest first")


# ------------------------------------------------------------------------------------------ views


def _out(rights: Any) -> RightsOut | None:
    view = rights_view(rights)
    return RightsOut(**view) if view is not None else None


def rights_of(session: Session, version: Version, at: datetime | None = None) -> RightsView:
    """The effective rights of ``version``, where they come from, and every target's verdict at ``at`` (now)."""
    at = at or utcnow()
    rights, level = effective(session, version)
    targets = []
    for target in session.scalars(select(Target).order_by(Target.name)):
        presets = []
        for preset in target.preset_names:
            channel = delivery_channel(target.channel, preset_category(preset))
            found = verdict(rights, channel=channel, territory=target.territory, at=at)
            presets.append(PresetVerdict(preset=preset, channel=channel, allowed=found.allowed, reason=found.reason))
        refusal = next((p.reason for p in presets if not p.allowed), None)
        targets.append(TargetVerdict(name=target.name, kind=target.kind, channel=target.channel,
                                     territory=target.territory, allowed=refusal is None, reason=refusal,
                                     presets=presets))
    return RightsView(asset_id=version.asset_id, asset=version.asset.name, version=version.number, level=level,
                      summary=summary_of(rights), rights=_out(rights),
                      asset_rights=_out(own_rights(session, version.asset_id, None)),
                      version_rights=_out(own_rights(session, version.asset_id, version.id)), at=at, targets=targets)


def _change(request: Request, user: User, asset_id: int, number: int | None, body: RightsRequest | None,
            version_level: bool) -> RightsView:
    """Set (``body``) or remove (None) one level's rights in a transaction of its own, then push what became due."""
    farm = request.app.state.farm
    with farm.transaction() as session:
        asset = visible_asset(session, user, asset_id, "edit_metadata")
        version = version_of(asset, number)
        level_id = version.id if version_level else None
        if body is not None:
            set_rights(session, asset_id, level_id, body.model_dump(), user.name)
        elif not clear_rights(session, asset_id, level_id, user.name):
            raise NotFound(f"version {version.number} of {asset.name} has no rights of its own")
        version_id = version.id
    deliver_due(farm)  # pushes the new rights allow go out now; refusals are logged
    with farm.sessions() as session:
        fresh = session.get(Version, version_id)
        assert fresh is not None
        return rights_of(session, fresh)


# ------------------------------------------------------------------------------------------ routes


@router.get("/assets/{asset_id}/rights", response_model=RightsView, summary="Rights of an asset's version")
def rights_route(asset_id: int, session: DB, user: Reader, version: VersionNumber = None) -> RightsView:
    """The effective rights of a version (default the newest): its own if it has them, else the asset's, else none
    ("no rights recorded": unrestricted); where they come from; and every target's verdict now, in words."""
    return rights_of(session, version_of(visible_asset(session, user, asset_id, "view"), version))


@router.put("/assets/{asset_id}/rights", response_model=RightsView, summary="Set an asset's rights")
def put_rights_route(asset_id: int, body: RightsRequest, request: Request, user: Editor) -> RightsView:
    """Replace the asset-level rights (every version without its own follows them). Returns the newest version's
    effective rights and the targets' verdicts. 422 names a bad channel, country code or window."""
    return _change(request, user, asset_id, None, body, version_level=False)


@router.put("/assets/{asset_id}/versions/{number}/rights", response_model=RightsView,
            summary="Set a version's own rights")
def put_version_rights_route(asset_id: int, number: int, body: RightsRequest, request: Request,
                             user: Editor) -> RightsView:
    """Replace this version's own rights, which override the asset's for it alone."""
    return _change(request, user, asset_id, number, body, version_level=True)


@router.delete("/assets/{asset_id}/versions/{number}/rights", response_model=RightsView,
               summary="Remove a version's own rights")
def delete_version_rights_route(asset_id: int, number: int, request: Request, user: Editor) -> RightsView:
    """Remove the version's override: the asset's rights apply to it again. 404 when it had none."""
    return _change(request, user, asset_id, number, None, version_level=True)


@router.get("/rights/expiring", response_model=ExpiringList, summary="Rights that expire soon")
def expiring_route(session: ReadDB, user: Reader, days: Days = 30) -> ExpiringList:
    """Rights whose window ends within ``days`` days from now (not closed yet), soonest first, with the asset's
    name, the version (for version-level rights) and the end date; only assets the caller may see."""
    now = utcnow()
    rows = expiring(session, days, now, where=asset_scope(user))
    return ExpiringList(days=days, until=now + timedelta(days=days), rights=[ExpiringRights(**row) for row in rows])
