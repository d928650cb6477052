"""Rules acting on their own: each pass looks at the events of the triggers in force since the runner's cursor
(a version ready, a new version), asks each rule's condition of the event's facts, and when it holds does the
rule's actions — in one transaction with the rule's **run** row, unique per (rule version, trigger, version): a rule
acts once per event however often the event is looked at (a redelivered event, a pass run again after a worker
died, two processes at once). A condition that fails as it runs, or an action the catalog refuses, is a ``failed``
run with the reason (and the other rules still act). A rule acts on events after its version was loaded.

Events are looked at again for two minutes after their time (a version committed late is not missed); what this
process has looked at is not asked twice. One process of the farm runs a pass at a time (``Farm.take_turn``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog.audit import record
from catalog.collections import put_in_collection
from catalog.db import transaction
from catalog.metadata import schema_in_force
from catalog.metadata_values import Edit, save
from catalog.models import Asset, RuleCursor, RuleRun, RuleVersion, Version
from pipeline.rules.conditions import ConditionError, context_of
from pipeline.rules.dry_run import effects, events
from pipeline.rules.facts import facts
from pipeline.rules.files import Rule
from pipeline.rules.store import rules_in_force
from rushes.errors import RushesError
from rushes.settings import Settings

log = logging.getLogger(__name__)
LOOKBACK = timedelta(minutes=2)
BATCH = 500


class RuleRunner:
    """The passes of one process (it remembers which events it has looked at)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self.seen: dict[tuple[str, int], Any] = {}  # (trigger, version id) → its event time

    def run_pass(self) -> int:
        """Look at the waiting events once; how many runs were made (rules that acted or failed)."""
        with self.sessions() as session:
            state = schema_in_force(session)
            schema = state.schema if state else None
            active = [(row, rule) for row, rule in rules_in_force(session, state) if rule.enabled]
            cursors = {c.trigger: c.at for c in session.scalars(select(RuleCursor))}
        made = 0
        for trigger in sorted({rule.trigger for _, rule in active}):
            pairs = [(row, rule) for row, rule in active if rule.trigger == trigger]
            start = min(row.loaded_at for row, _ in pairs)
            if trigger in cursors:
                start = max(start, cursors[trigger] - LOOKBACK)
            newest = None
            with self.sessions() as session:
                found = [(a.id, v.id, at) for a, v, at in islice(events(session, trigger, start), BATCH)]
            for asset_id, version_id, at in found:
                newest = at
                if (trigger, version_id) in self.seen:
                    continue
                made += self._event(trigger, asset_id, version_id, at, pairs, schema)
                self.seen[(trigger, version_id)] = at
            if newest is not None:
                with transaction(self.sessions) as session:
                    cursor = session.get(RuleCursor, trigger)
                    if cursor is None:
                        session.add(RuleCursor(trigger=trigger, at=newest))
                    elif newest > cursor.at:
                        cursor.at = newest
                horizon = newest - LOOKBACK
                self.seen = {key: at for key, at in self.seen.items() if at >= horizon}
        return made

    def _event(self, trigger: str, asset_id: int, version_id: int, at: Any,
               pairs: list[tuple[RuleVersion, Rule]], schema: Any) -> int:
        due = [(row, rule) for row, rule in pairs if at >= row.loaded_at]
        if not due:
            return 0
        with self.sessions() as session:
            done = set(session.scalars(select(RuleRun.rule_version_id).where(
                RuleRun.trigger == trigger, RuleRun.version_id == version_id)))
            due = [(row, rule) for row, rule in due if row.id not in done]
            if not due:
                return 0
            asset, version = session.get(Asset, asset_id), session.get(Version, version_id)
            if asset is None or version is None:
                return 0
            context = context_of(facts(session, asset, version, schema, self.settings.tag_min_confidence,
                                       {"type": trigger, "at": at.isoformat()}))
            verdicts: list[tuple[RuleVersion, Rule, str | None]] = []
            for row, rule in due:
                try:
                    if rule.condition.holds(context):
                        verdicts.append((row, rule, None))
                except ConditionError as exc:
                    verdicts.append((row, rule, str(exc)))
        made = 0
        for row, rule, error in verdicts:
            made += self._act(trigger, asset_id, version_id, row, rule, schema, error)
        return made

    def _act(self, trigger: str, asset_id: int, version_id: int, row: RuleVersion, rule: Rule, schema: Any,
             error: str | None) -> int:
        actor = f"rule:{rule.name}"
        try:
            with transaction(self.sessions) as session:
                run = RuleRun(rule_version_id=row.id, trigger=trigger, version_id=version_id, asset_id=asset_id,
                              status="failed" if error else "done", outcome=error or "")
                session.add(run)
                session.flush()  # the unique run first: a second look at the event stops here
                if error is None:
                    run.outcome = "; ".join(_apply(session, schema, asset_id, rule, actor))
                record(session, actor=actor, action="rule action", outcome="allowed", asset_id=asset_id,
                       version_id=version_id, subject=f"{rule.name} {row.content_hash[:12]} on {trigger}",
                       detail=(error or run.outcome)[:2000])
            if error:
                log.warning("rule %s on version %s: %s", rule.name, version_id, error)
            return 1
        except IntegrityError:  # acted already (another process, an earlier pass)
            return 0
        except RushesError as exc:  # the catalog refused an action: a failed run, the reason kept
            return self._act(trigger, asset_id, version_id, row, rule, schema,
                             f"{type(exc).__name__}: {exc}"[:1000])


def _apply(session: Session, schema: Any, asset_id: int, rule: Rule, actor: str) -> list[str]:
    """Do the rule's actions on the asset; what each did (the dry run's words)."""
    done: list[str] = []
    for action in rule.actions:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        done += effects(session, schema, asset, action)
        if action.name in ("add_to_collection", "move_to_collection"):
            put_in_collection(session, asset, action.argument, move=action.name == "move_to_collection", by=actor)
        else:
            edit = Edit(set=dict(action.argument)) if action.name == "set_metadata" else \
                Edit(add=dict(action.argument))
            save(session, schema, asset_id, edit, actor=actor, source=f"rule {rule.name}")
    return done


class RuleThread(threading.Thread):
    """Runs passes in a worker process, one process of the farm a turn, every couple of seconds."""

    EVERY_S = 2.0

    def __init__(self, farm: Any, on_pass: Callable[[int], None] | None = None) -> None:
        super().__init__(name="rules", daemon=True)
        self.farm = farm
        self.runner = RuleRunner(farm.sessions, farm.settings)
        self.on_pass = on_pass
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                if self.farm.take_turn("rules", 60.0):
                    made = self.runner.run_pass()
                    self.farm.release_turn("rules")
                    if made:
                        log.info("rules: %d run(s)", made)
            except Exception:
                log.exception("rules pass failed; trying again")
            self._halt.wait(self.EVERY_S)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)
