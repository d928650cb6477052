"""Rules acting on their own: each pass looks at the events of the triggers in force since the runner's cursor
(``pipeline/rules/events.py``), asks each rule's condition of the event's facts, and when it holds does the
rule's actions — in one transaction with the rule's **run** row, unique per (rule version, trigger, event key): a
rule acts once per event however often the event is looked at (a redelivered event, a pass run again after a
worker died, two processes at once). A condition that fails as it runs, or an action the catalog refuses, is a
``failed`` run with the reason (and the other rules still act). A rule acts on events after its version was loaded.

An event made by a rule's action (a field it set) knows that run: the next run is one deeper, and a chain of rules
setting off one another (a loop) is cut at ``rule_depth_limit`` with a failed run naming the chain.

Events come through an ``EventFeed`` (``pipeline/rules/feed.py``: a cursor in the catalog, two minutes looked at
again). One process of the farm runs a pass at a time (``Farm.take_turn``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog.audit import record
from catalog.db import one_of, transaction
from catalog.metadata import schema_in_force
from catalog.models import RuleRun, RuleVersion, utcnow
from pipeline.loops import FarmLoop
from pipeline.review import templates_of
from pipeline.rules.actions import Applied, apply_actions
from pipeline.rules.conditions import ConditionError
from pipeline.rules.events import Event
from pipeline.rules.facts import BATCH, event_contexts
from pipeline.rules.feed import BATCH as FEED_BATCH
from pipeline.rules.feed import EventFeed
from pipeline.rules.files import Rule
from pipeline.rules.store import rules_in_force
from rushes.errors import RushesError
from rushes.settings import Settings

log = logging.getLogger(__name__)


class RuleRunner:
    """The passes of one process (its feed remembers which events it has handled)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 send: Callable[[list[tuple[int, str]]], None] | None = None) -> None:
        self.sessions, self.settings = sessions, settings
        self.send = send  # the farm's: farm steps an action queued (renders) go to the broker once the run commits
        self.feed = EventFeed(sessions)
        self.more = False  # the last pass took a full batch of some trigger: more events wait

    def run_pass(self, now: datetime | None = None) -> int:
        """Look at the events up to ``now`` once; how many runs were made (rules that acted or failed)."""
        now = now or utcnow()
        with self.sessions() as session:
            state = schema_in_force(session)
            schema = state.schema if state else None
            active = [(row, rule) for row, rule in rules_in_force(session, state)
                      if rule.enabled and rule.trigger != "version.probed"]  # asked as the probe ends (steps.py)
        made = 0
        self.more = False
        for source in sorted({rule.source for _, rule in active}):
            pairs = [(row, rule) for row, rule in active if rule.source == source]
            trigger, option = pairs[0][1].trigger, pairs[0][1].option
            found = self.feed.take(source, trigger, option, min(row.loaded_at for row, _ in pairs), now)
            for start in range(0, len(found), BATCH):
                chunk = found[start:start + BATCH]
                made += self._events(chunk, pairs, schema)
                for event in chunk:
                    self.feed.handled(source, event)
            self.feed.done(source, trigger, found)
            self.more = self.more or len(found) >= FEED_BATCH
        return made

    def _events(self, events: list[Event], pairs: list[tuple[RuleVersion, Rule]], schema: Any) -> int:
        """Ask the rules of a batch of events (their runs so far, assets, versions and facts read a query a kind,
        not an event at a time), then act on each verdict in order, each in its own transaction."""
        latest = max(row.loaded_at for row, _ in pairs)
        any_field = any(rule.field is not None for _, rule in pairs)
        wanted = [(event, pairs if event.at >= latest and not any_field else  # the usual case: every rule asks
                   [(row, rule) for row, rule in pairs if event.at >= row.loaded_at and rule.wants(event)])
                  for event in events]
        wanted = [(event, due) for event, due in wanted if due]
        if not wanted:
            return 0
        verdicts: list[tuple[Event, RuleVersion, Rule, str | None, int]] = []
        limit = self.settings.rule_depth_limit
        with self.sessions() as session:
            done = set(session.execute(select(RuleRun.rule_version_id, RuleRun.trigger, RuleRun.event_key).where(
                one_of(session, RuleRun.event_key, {event.key for event, _ in wanted}))).tuples())
            acted = {(trigger, key) for _, trigger, key in done}
            wanted = [(event, due if (event.trigger, event.key) not in acted else
                       [(row, rule) for row, rule in due if (row.id, event.trigger, event.key) not in done])
                      for event, due in wanted]
            wanted = [(event, due) for event, due in wanted if due]
            contexts = event_contexts(session, [event for event, _ in wanted], schema,
                                      self.settings.tag_min_confidence)
            for event, due in wanted:
                context = contexts.get(event.key)
                if context is None:  # its asset or version is gone
                    continue
                depth, chain = _depth(session, event.cause_run)
                for row, rule in due:
                    try:
                        if rule.condition.holds(context):
                            verdicts.append((event, row, rule, None if depth < limit else
                                             f"depth limit {limit} reached: {' → '.join([*chain, rule.name])}", depth))
                    except ConditionError as exc:
                        verdicts.append((event, row, rule, str(exc), depth))
        return sum(self._act(event, row, rule, schema, error, depth) for event, row, rule, error, depth in verdicts)

    def _act(self, event: Event, row: RuleVersion, rule: Rule, schema: Any, error: str | None, depth: int) -> int:
        actor = f"rule:{rule.name}"
        try:
            with transaction(self.sessions) as session:
                run = RuleRun(rule_version_id=row.id, trigger=event.trigger, event_key=event.key,
                              version_id=event.version_id, asset_id=event.asset_id, depth=depth,
                              cause_run_id=event.cause_run, status="failed" if error else "done", outcome=error or "")
                session.add(run)
                session.flush()  # the unique run first: a second look at the event stops here
                applied = Applied()
                if error is None:
                    applied = apply_actions(session, schema, event, rule.name, list(rule.actions), actor, run.id,
                                            templates_of(self.settings))
                    run.outcome = "; ".join(applied.done)
                record(session, actor=actor, action="rule action", outcome="allowed", asset_id=event.asset_id,
                       version_id=event.version_id, subject=f"{rule.name} {row.content_hash[:12]} on {event.key}",
                       detail=(error or run.outcome)[:2000])
            if applied.messages and self.send is not None:
                self.send(applied.messages)
            if error:
                log.warning("rule %s on %s: %s", rule.name, event.key, error)
            return 1
        except IntegrityError:  # acted already (another process, an earlier pass)
            return 0
        except RushesError as exc:  # the catalog refused an action: a failed run, the reason kept
            return self._act(event, row, rule, schema, f"{type(exc).__name__}: {exc}"[:1000], depth)


def _depth(session: Session, cause: int | None) -> tuple[int, list[str]]:
    """How deep an event made by run ``cause`` is, and the rules of the chain that made it (oldest first)."""
    if cause is None:
        return 0, []
    run = session.get(RuleRun, cause)
    if run is None:
        return 0, []
    chain: list[str] = []
    walk: RuleRun | None = run
    while walk is not None and len(chain) < 50:
        chain.insert(0, session.scalar(select(RuleVersion.name).where(RuleVersion.id == walk.rule_version_id))
                     or "?")
        walk = session.get(RuleRun, walk.cause_run_id) if walk.cause_run_id else None
    return run.depth + 1, chain


class RuleThread(FarmLoop):
    """Runs passes in a worker process, one process of the farm a turn."""

    def __init__(self, farm: Any) -> None:
        super().__init__(farm, "rules")
        self.runner = RuleRunner(farm.sessions, farm.settings, farm.send)

    def step(self) -> bool:
        if not self.farm.take_turn("rules", 60.0):
            return False
        made = self.runner.run_pass()
        self.farm.release_turn("rules")
        if made:
            log.info("rules: %d run(s)", made)
        return self.runner.more
