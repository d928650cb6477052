"""What rules would do to the catalog's existing assets, changing nothing: every event of their triggers since a
moment (``pipeline/rules/events.py``), each condition asked of that version's facts, each
action described with its effect (what a value would become, what is so already)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from catalog.metadata_schema import Schema
from catalog.models import Asset, Version
from pipeline.rules.actions import effects
from pipeline.rules.conditions import ConditionError, context_of
from pipeline.rules.events import events
from pipeline.rules.facts import facts
from pipeline.rules.files import Rule
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
    now = datetime.now(UTC)
    for source in sorted({rule.source for rule in active}):
        on_it = [rule for rule in active if rule.source == source]
        trigger, option = on_it[0].trigger, on_it[0].option
        for event in events(session, trigger, since, now, option):
            wanting = [rule for rule in on_it if rule.wants(event)]
            asset, version = session.get(Asset, event.asset_id), session.get(Version, event.version_id)
            if not wanting or asset is None or version is None:
                continue
            context = context_of(facts(session, asset, version, schema, min_confidence, event.carried()))
            for rule in wanting:
                entry = report[rule.name]
                entry["events"] += 1
                try:
                    if not rule.condition.holds(context):
                        continue
                except ConditionError as exc:
                    entry["errors"].append({"asset_id": asset.id, "asset_name": asset.name,
                                            "version": version.number, "event": event.key, "error": str(exc)})
                    continue
                entry["matched"] += 1
                if len(entry["would"]) < SHOWN:
                    entry["would"].append({
                        "asset_id": asset.id, "asset_name": asset.name, "version": version.number,
                        "event": event.key, "at": event.at.isoformat(),
                        "actions": effects(session, schema, asset, version, rule.actions)})
    return {"since": since.isoformat(), "rules": list(report.values())}
