"""What agents suggested for an asset's metadata, waiting for a person: list, accept (the value becomes the
person's, with the agent and its reason in the history) or reject."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import visible_asset
from api.deps import CanEditMetadata, ReadDB, Reader
from pipeline.agents import decide_suggestion, suggestions_of

router = APIRouter(prefix="/api/v1", tags=["metadata"])


class SuggestionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(accept|reject)$")


@router.get("/assets/{asset_id}/suggestions", summary="Metadata agents suggested for the asset")
def suggestions_route(asset_id: int, session: ReadDB, user: Reader,
                      status: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending"
                      ) -> dict[str, Any]:
    visible_asset(session, user, asset_id)
    return {"asset_id": asset_id, "suggestions": suggestions_of(session, asset_id, status)}


@router.post("/suggestions/{suggestion_id}", summary="Accept or reject an agent's suggestion")
def decide_route(suggestion_id: int, body: SuggestionDecision, request: Request,
                 user: CanEditMetadata) -> dict[str, Any]:
    return decide_suggestion(request.app.state.farm, suggestion_id, user, body.decision)
