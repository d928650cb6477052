"""AI agents under governance: an agent is a user of role ``agent`` (its grants say which collections it sees) with
a **policy**: the tools it may call (read-only unless more are listed), the tools held for a person instead of done,
and a rate limit. Every call is in the audit trail (``agent tool``: the agent, the tool, a digest of the arguments,
the outcome); a call outside the allowlist is refused and audited as ``denied``.

What agents write is not what people write: metadata and tags an agent suggests wait as **suggestions** with their
provenance until a person accepts them (``metadata_suggestions``), and a person's accepted value is never replaced by
one. Tools that render, deliver, or touch an approved version need ``confirm: true``; a tool on the policy's hold list
becomes a held action in the inbox (``pipeline/rules/held.py``) instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.approvals import request_review
from catalog.audit import record
from catalog.auth import ensure_user, grant
from catalog.metadata import schema_in_force
from catalog.metadata_values import Edit, save
from catalog.models import (
    AgentPolicy,
    Asset,
    HeldAction,
    MetadataSuggestion,
    Target,
    User,
    Version,
    utcnow,
)
from catalog.permissions import asset_scope
from delivery.presets import load_preset
from pipeline.farm import Farm
from pipeline.renditions import queue_rendition
from pipeline.review import templates_of
from rushes.errors import Conflict, InvalidInput, NotFound, PermissionDenied

READ_TOOLS = ("search", "read_asset", "read_scenes", "read_transcript", "read_rights")
WRITE_TOOLS = ("suggest_metadata", "suggest_tags", "request_review", "render", "deliver")
TOOLS = READ_TOOLS + WRITE_TOOLS
CONFIRMED = ("render", "deliver")  # and any write on an approved version


@dataclass(frozen=True)
class Policy:
    agent: str
    role: str
    tools: tuple[str, ...]
    hold: tuple[str, ...]
    per_minute: int


def policy_of(session: Session, user: User) -> Policy:
    """An agent's policy; a person (any other role) calling the tools is held to the read tools."""
    row = session.get(AgentPolicy, user.id) if user.role == "agent" else None
    if row is None:
        return Policy(user.name, user.role, READ_TOOLS, (), 60)
    return Policy(user.name, user.role, tuple(row.tools), tuple(row.hold), row.per_minute)


def make_agent(session: Session, name: str, collections: list[str], tools: list[str], hold: list[str],
               per_minute: int, by: str) -> User:
    """An agent user (made or changed) with grants on ``collections`` and its policy."""
    wrong = [t for t in [*tools, *hold] if t not in TOOLS]
    if wrong:
        raise InvalidInput(f"unknown tool {', '.join(wrong)} (tools: {', '.join(TOOLS)})")
    if not 1 <= per_minute <= 10_000:
        raise InvalidInput("per_minute: 1 to 10000 calls a minute")
    known = session.scalar(select(User).where(User.name == name))
    if known is not None and known.role != "agent":
        raise Conflict(f"{name} is a {known.role}, not an agent")
    user = ensure_user(session, name, "agent")
    for collection in collections:
        grant(session, user, collection=collection)
    row = session.get(AgentPolicy, user.id)
    allowed = sorted(set(READ_TOOLS) | set(tools), key=TOOLS.index)
    if row is None:
        session.add(AgentPolicy(user_id=user.id, tools=allowed, hold=list(hold), per_minute=per_minute))
    else:
        row.tools, row.hold, row.per_minute = allowed, list(hold), per_minute
    record(session, actor=by, action="permission change", subject=f"agent {name}: tools {', '.join(allowed)}"
           + (f"; held for a person: {', '.join(hold)}" if hold else "") + f"; {per_minute} calls a minute")
    return user


class RateLimit:
    """Calls per agent in the last minute, in this process (each API process keeps its own count)."""

    def __init__(self) -> None:
        self.calls: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def take(self, agent: str, per_minute: int) -> bool:
        now = time.monotonic()
        with self.lock:
            calls = self.calls.setdefault(agent, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= per_minute:
                return False
            calls.append(now)
            return True


def digest(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()[:16]


def audit_call(farm: Farm, policy: Policy, tool: str, arguments: dict[str, Any], outcome: str, detail: str,
               asset_id: int | None = None) -> None:
    with farm.transaction() as session:
        record(session, actor=policy.agent, role=policy.role, action="agent tool",
               outcome="allowed" if outcome == "allowed" else "denied", asset_id=asset_id,
               subject=f"{tool} {digest(arguments)}", detail=detail[:2000])


def check_call(policy: Policy, tool: str, limits: RateLimit) -> None:
    """Refuse a tool outside the allowlist (``PermissionDenied``) or over the rate limit (``Conflict``)."""
    if tool not in policy.tools:
        raise PermissionDenied(f"{policy.agent} may not call {tool} (its tools: {', '.join(policy.tools)})")
    if not limits.take(policy.agent, policy.per_minute):
        raise Conflict(f"rate limit: {policy.agent} may call {policy.per_minute} tools a minute; try again later")


def _asset(session: Session, user: User, asset_id: int) -> tuple[Asset, Version]:
    asset = session.scalar(select(Asset).where(Asset.id == asset_id, asset_scope(user)))
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    version = session.scalar(select(Version).where(Version.asset_id == asset.id).order_by(Version.number.desc()))
    if version is None:
        raise NotFound(f"asset {asset_id} has no version")
    return asset, version


def suggest(farm: Farm, user: User, asset_id: int, values: dict[str, Any], reason: str, tool: str) -> dict[str, Any]:
    """Keep the agent's values as suggestions (checked against the schema); nothing of the asset changes."""
    with farm.transaction() as session:
        asset, _version = _asset(session, user, asset_id)
        state = schema_in_force(session)
        if state is None:
            raise InvalidInput("no metadata schema: nothing to suggest into")
        made = []
        for key, value in values.items():
            f = state.schema.fields.get(key)
            if f is None:
                raise InvalidInput(f"no field {key!r} (fields: {', '.join(state.schema.fields)})")
            for item in value if isinstance(value, list) else [value]:
                f.check(item)
            row = MetadataSuggestion(asset_id=asset.id, field=key, value=value, suggested_by=user.name,
                                     provenance=f"{tool}: {reason}"[:500], status="pending", created_at=utcnow())
            session.add(row)
            session.flush()
            made.append({"id": row.id, "field": key, "value": value, "status": "pending"})
    return {"asset_id": asset_id, "suggestions": made,
            "note": "suggestions wait for a person to accept them; nothing on the asset changed"}


def decide_suggestion(farm: Farm, suggestion_id: int, person: User, decision: str) -> dict[str, Any]:
    """A person accepts (the value is saved as theirs, added to a multiple field) or rejects a suggestion."""
    if decision not in ("accept", "reject"):
        raise InvalidInput(f"decision {decision!r}: accept or reject")
    with farm.transaction() as session:
        row = session.get(MetadataSuggestion, suggestion_id)
        if row is None or session.scalar(select(Asset.id).where(Asset.id == row.asset_id,
                                                                asset_scope(person))) is None:
            raise NotFound(f"no suggestion {suggestion_id}")
        if row.status != "pending":
            raise Conflict(f"suggestion {suggestion_id} was {row.status} by {row.decided_by} already")
        row.status = "accepted" if decision == "accept" else "rejected"
        row.decided_by, row.decided_at = person.name, utcnow()
        if decision == "accept":
            state = schema_in_force(session)
            assert state is not None
            f = state.schema.fields[row.field]
            edit = Edit(add={row.field: row.value}) if f.multiple else Edit(set={row.field: row.value})
            save(session, state.schema, row.asset_id, edit, actor=person.name, role=person.role,
                 source=f"suggestion {row.id} by {row.suggested_by} ({row.provenance})"[:500])
        return suggestion_view(row)


def suggestion_view(row: MetadataSuggestion) -> dict[str, Any]:
    return {"id": row.id, "asset_id": row.asset_id, "field": row.field, "value": row.value,
            "suggested_by": row.suggested_by, "provenance": row.provenance, "status": row.status,
            "created_at": row.created_at.isoformat(), "decided_by": row.decided_by,
            "decided_at": row.decided_at.isoformat() if row.decided_at else None}


def suggestions_of(session: Session, asset_id: int, status: str | None = "pending") -> list[dict[str, Any]]:
    query = select(MetadataSuggestion).where(MetadataSuggestion.asset_id == asset_id)
    if status:
        query = query.where(MetadataSuggestion.status == status)
    return [suggestion_view(r) for r in session.scalars(query.order_by(MetadataSuggestion.id))]


def act(farm: Farm, user: User, policy: Policy, tool: str, asset_id: int, argument: str,
        confirm: bool) -> dict[str, Any]:
    """``request_review``, ``render`` or ``deliver`` for the asset's newest version: confirmed when it must be, held
    for a person when the policy says so, else done now (a render is a farm step)."""
    messages: list[tuple[int, str]] = []
    with farm.transaction() as session:
        asset, version = _asset(session, user, asset_id)
        if (tool in CONFIRMED or version.approved_at is not None) and not confirm:
            raise InvalidInput(f"{tool} on {asset.name} v{version.number} needs confirm: true"
                               + (" (the version is approved)" if version.approved_at else ""))
        if tool in policy.hold:
            held = HeldAction(rule_run_id=None, rule=f"agent:{policy.agent}", asset_id=asset.id,
                              version_id=version.id, question=f"{policy.agent} asks to {tool} {argument}",
                              actions=[{tool: [argument] if tool == "render" else argument}], status="waiting")
            session.add(held)
            session.flush()
            return {"held": held.id, "status": "waiting for a person",
                    "note": f"{tool} waits in the inbox until a person approves it"}
        if tool == "request_review":
            request = request_review(session, version.id, argument, templates_of(farm.settings), policy.agent)
            done = f"review under {request.template} requested"
        elif tool == "render":
            rendition_id, new, messages = queue_rendition(session, version.id, load_preset(argument), policy.agent,
                                                          role=policy.role)
            done = f"rendition {rendition_id} of {argument} " + ("queued" if new else "made already")
        else:
            target = session.scalar(select(Target).where(Target.name == argument))
            if target is None:
                raise NotFound(f"no distribution target {argument!r}")
            parts = []
            for preset in target.preset_names:
                rendition_id, new, queued = queue_rendition(session, version.id, load_preset(preset), policy.agent,
                                                            role=policy.role)
                messages += queued
                parts.append(f"{preset} (rendition {rendition_id})")
            done = (f"deliver to {target.name}: {', '.join(parts)}; it gets them once the version is approved and in "
                    f"its rights")
    if messages:
        farm.send(messages)
    return {"status": "done", "done": done}
