"""A person's inbox, on assets they may see: the approval stages open to them that they have not decided
(reviewers), and what rules held for a person (``hold_for_a_person``; people who may deliver): approving runs the
held actions (render, deliver, …) as the rule's, naming the person; refusing drops them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CanDeliver, ReadDB, Reader
from catalog.approvals import waiting_for
from catalog.permissions import asset_scope, can
from pipeline.review import templates_of
from pipeline.rules.held import decide, inbox

router = APIRouter(prefix="/api/v1", tags=["inbox"])


class HeldDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(approve|refuse)$")
    note: str | None = Field(None, max_length=2000)


@router.get("/inbox", summary="What waits for the caller: reviews due from them, actions rules held for a person")
def inbox_route(request: Request, session: ReadDB, user: Reader,
                status: Annotated[str, Query(pattern="^(waiting|approved|refused)$")] = "waiting") -> dict[str, Any]:
    """``reviews``: approval stages open to the caller that they have not decided (oldest request first);
    ``held``: held actions in ``status`` (for people who may deliver)."""
    reviews = waiting_for(session, user.name, user.role, asset_scope(user),
                          templates_of(request.app.state.farm.settings)) if can(user.role, "approve") else []
    return {"reviews": reviews, "held": inbox(session, user, status) if can(user.role, "deliver") else []}


@router.post("/held/{held_id}", summary="Approve (the held actions run now) or refuse a held action")
def decide_route(held_id: int, body: HeldDecision, request: Request, user: CanDeliver) -> dict[str, Any]:
    return decide(request.app.state.farm, held_id, user, body.decision, body.note)
