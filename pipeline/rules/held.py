"""The inbox of held actions: what rules asked a person before doing (``hold_for_a_person``). Approved, the actions
run as the rule's (actor ``rule:<name>``, the person named in the audit trail), their farm steps sent once the
decision commits; refused, they never run. A held action is decided once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata import schema_in_force
from catalog.models import Asset, HeldAction, RuleRun, User, Version, utcnow
from catalog.permissions import asset_scope
from pipeline.farm import Farm
from pipeline.review import templates_of
from pipeline.rules.actions import apply_actions, parsed_actions
from pipeline.rules.events import Event
from rushes.errors import Conflict, InvalidInput, NotFound


def held_view(row: HeldAction, asset_name: str, version: int) -> dict[str, Any]:
    return {"id": row.id, "rule": row.rule, "question": row.question, "asset_id": row.asset_id,
            "asset_name": asset_name, "version": version, "status": row.status,
            "actions": [a.describe() for a in parsed_actions(row.actions)], "created_at": row.created_at.isoformat(),
            "decided_by": row.decided_by, "decided_at": row.decided_at.isoformat() if row.decided_at else None,
            "note": row.note, "outcome": row.outcome}


def inbox(session: Session, user: User, status: str = "waiting", limit: int = 200) -> list[dict[str, Any]]:
    """Held actions on assets ``user`` may see, oldest first while waiting (newest first once decided)."""
    order = HeldAction.id if status == "waiting" else HeldAction.id.desc()
    rows = session.execute(select(HeldAction, Asset.name, Version.number)
                           .join(Asset, Asset.id == HeldAction.asset_id)
                           .join(Version, Version.id == HeldAction.version_id)
                           .where(HeldAction.status == status, asset_scope(user)).order_by(order).limit(limit))
    return [held_view(row, name, number) for row, name, number in rows]


def decide(farm: Farm, held_id: int, user: User, decision: str, note: str | None = None) -> dict[str, Any]:
    """Approve (the actions run now) or refuse a held action; ``Conflict`` when it was decided already."""
    if decision not in ("approve", "refuse"):
        raise InvalidInput(f"decision {decision!r}: approve or refuse")
    with farm.transaction() as session:
        row = session.get(HeldAction, held_id, with_for_update=True)
        if row is None or session.scalar(select(Asset.id).where(Asset.id == row.asset_id, asset_scope(user))) is None:
            raise NotFound(f"no held action {held_id}")
        if row.status != "waiting":
            raise Conflict(f"held action {held_id} was {row.status} by {row.decided_by} already")
        row.status, row.decided_by, row.decided_at, row.note = (
            "approved" if decision == "approve" else "refused"), user.name, utcnow(), note
        messages: list[tuple[int, str]] = []
        if decision == "approve":
            run = session.get(RuleRun, row.rule_run_id) if row.rule_run_id is not None else None
            state = schema_in_force(session)
            event = Event(run.trigger, run.event_key, row.asset_id, row.version_id, run.at) if run is not None \
                else Event("agent", f"held:{row.id}", row.asset_id, row.version_id, row.created_at)
            actor = f"rule:{row.rule}" if run is not None else row.rule.removeprefix("agent:")
            applied = apply_actions(session, state.schema if state else None, event, row.rule,
                                    parsed_actions(row.actions), actor, run.id if run is not None else None,
                                    templates_of(farm.settings))
            row.outcome, messages = "; ".join(applied.done), applied.messages
        record(session, actor=user.name, role=user.role, action="held action", asset_id=row.asset_id,
               version_id=row.version_id, subject=f"{row.rule}: {row.question} — {row.status}",
               detail=(row.outcome or note or "")[:2000])
        asset = session.get(Asset, row.asset_id)
        version = session.get(Version, row.version_id)
        assert asset is not None and version is not None
        view = held_view(row, asset.name, version.number)
    if messages:
        farm.send(messages)
    return view
