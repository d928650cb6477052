"""Lifecycle policy routes: each collection's policy (archive after N days without use or after delivery, retention
from ingest and what its end brings), running the policies now, and the assets proposed for deletion."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import client_ip
from api.deps import DB, CanManageLifecycle, ReadDB
from catalog.models import Collection, LifecyclePolicy
from catalog.policies import policy_view, proposed_for_deletion, set_policy
from pipeline.policies import apply_policies
from rushes.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])


class PolicyRequest(BaseModel):
    """The whole policy (a field left out is cleared)."""

    archive_unused_days: int | None = Field(None, ge=0, le=36_500,
                                            description="archive originals nobody used for this many days")
    archive_delivered_days: int | None = Field(None, ge=0, le=36_500,
                                               description="archive originals this many days after their first "
                                                           "delivery")
    location: str | None = Field(None, max_length=64, description="archive location (default: the first)")
    retention_years: int | None = Field(None, ge=0, le=100, description="keep assets at least this long from ingest")
    at_retention_end: Literal["propose_deletion", "keep"] = "propose_deletion"


@router.get("/lifecycle/policies", summary="Every collection's lifecycle policy")
def policies(session: ReadDB, user: CanManageLifecycle) -> list[dict[str, Any]]:
    return [policy_view(p, name) for p, name in session.execute(
        select(LifecyclePolicy, Collection.name).join(Collection, Collection.id == LifecyclePolicy.collection_id)
        .order_by(Collection.name)).tuples()]


@router.get("/collections/{name}/policy", summary="A collection's lifecycle policy")
def policy(name: str, session: ReadDB, user: CanManageLifecycle) -> dict[str, Any]:
    found = session.scalar(select(Collection).where(Collection.name == name))
    row = session.get(LifecyclePolicy, found.id) if found else None
    if found is None or row is None:
        raise NotFound(f"collection {name!r} has no lifecycle policy" if found else f"no collection {name!r}")
    return policy_view(row, name)


@router.put("/collections/{name}/policy", summary="Set a collection's lifecycle policy (retention applies at once)")
def put_policy(name: str, body: PolicyRequest, request: Request, session: DB,
               user: CanManageLifecycle) -> dict[str, Any]:
    row = set_policy(session, name, by=user.name, role=user.role, ip=client_ip(request), **body.model_dump())
    return policy_view(row, name)


@router.post("/lifecycle/apply", summary="Run the lifecycle policies now (they run every hour anyway)")
def apply_now(request: Request, user: CanManageLifecycle) -> dict[str, Any]:
    return apply_policies(request.app.state.farm)


@router.get("/lifecycle/proposals", summary="Assets whose retention is over, proposed for deletion")
def proposals(session: ReadDB, user: CanManageLifecycle) -> dict[str, Any]:
    return {"assets": proposed_for_deletion(session)}
