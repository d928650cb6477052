"""What rules would do to the catalog's existing assets, changing nothing: every event of their triggers since a
moment (each version that became ready, each new version), each condition asked of that version's facts, each
action described with its effect (what a value would become, what is so already)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.collections import collections_of
from catalog.metadata_schema import Schema
from catalog.metadata_values import plain, stored_values
from catalog.models import Asset, Version
from pipeline.rules.conditions import ConditionError, context_of
from pipeline.rules.facts import facts
from pipeline.rules.files import Action, Rule
from rushes.errors import InvalidInput

SHOWN = 200  # assets listed per rule (all are counted)
SPAN = re.compile(r"^(\d+)([dhm])$")


def since_moment(text: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``90m`` before now, or an ISO-8601 moment (naive = UTC)."""
    now = now or datetime.now(UTC)
    if match := SPAN.match(text.strip()):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"since {text!r}: a span such as 30d, 12h or 90m, or an ISO-8601 moment") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def events(session: Session, trigger: str, since: datetime) -> Iterator[tuple[Asset, Version, datetime]]:
    """The versions a trigger fired for since ``since``, oldest first."""
    if trigger == "version.ready":
        query = select(Version, Version.ready_at).where(Version.status == "ready", Version.ready_at >= since)
        order = Version.ready_at
    else:  # version.new
        query = select(Version, Version.created_at).where(Version.created_at >= since)
        order = Version.created_at
    for version, at in session.execute(query.order_by(order, Version.id)):
        asset = session.get(Asset, version.asset_id)
        if asset is not None and at is not None:
            yield asset, version, at


def effects(session: Session, schema: Schema | None, asset: Asset, action: Action) -> list[str]:
    """What ``action`` would change on ``asset`` (``… already`` when nothing)."""
    if action.name in ("add_to_collection", "move_to_collection"):
        where = collections_of(session, asset)
        name = action.argument
        if action.name == "move_to_collection":
            return [f"already in collection {name}" if where["collection"] == name
                    else f"move from collection {where['collection']} to {name}"]
        held = name == where["collection"] or name in where["also_in"]
        return [f"already in collection {name}" if held else f"add to collection {name}"]
    rows = stored_values(session, asset.id, []).get(None, {})
    out = []
    for key, value in action.argument.items():
        now = plain(schema, key, rows[key]) if schema is not None and key in rows else None
        if action.name == "set_metadata":
            out.append(f"{key} already {value!r}" if now == value else f"set {key}: {now!r} → {value!r}")
        else:
            held = now or []
            new = [v for v in (value if isinstance(value, list) else [value]) if v not in held]
            out.append(f"add to {key}: {', '.join(map(str, new))}" if new else f"{key} holds {value!r} already")
    return out


def dry_run(session: Session, rules: list[Rule], schema: Schema | None, min_confidence: float,
            since: datetime) -> dict[str, Any]:
    """Per rule: how many events it saw, the assets whose condition held with what each action would do, and
    the assets where the condition could not be answered (with why)."""
    report: dict[str, dict[str, Any]] = {
        rule.name: {"rule": rule.name, "label": rule.label, "file": rule.file, "trigger": rule.trigger,
                    "condition": rule.condition.source, "enabled": rule.enabled, "events": 0, "matched": 0,
                    "would": [], "errors": []}
        for rule in rules}
    active = [rule for rule in rules if rule.enabled]
    for trigger in sorted({rule.trigger for rule in active}):
        on_it = [rule for rule in active if rule.trigger == trigger]
        for asset, version, at in events(session, trigger, since):
            context = context_of(facts(session, asset, version, schema, min_confidence,
                                       {"type": trigger, "at": at.isoformat()}))
            for rule in on_it:
                entry = report[rule.name]
                entry["events"] += 1
                try:
                    if not rule.condition.holds(context):
                        continue
                except ConditionError as exc:
                    entry["errors"].append({"asset_id": asset.id, "asset_name": asset.name,
                                            "version": version.number, "error": str(exc)})
                    continue
                entry["matched"] += 1
                if len(entry["would"]) < SHOWN:
                    entry["would"].append({
                        "asset_id": asset.id, "asset_name": asset.name, "version": version.number,
                        "at": at.isoformat(),
                        "actions": [e for action in rule.actions for e in effects(session, schema, asset, action)]})
    return {"since": since.isoformat(), "rules": list(report.values())}
