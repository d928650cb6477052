"""Which steps run is decided per asset: when the probe of a version is done, the ``version.probed`` rules are asked
at once (in the transaction that queues the next steps, before any of them starts), and the steps their
``skip_steps`` name — with every step that needs one of them — are ``skipped`` with the rule named as the reason
("skipped by rule music-no-transcript"). A rule acts once per version (its run row); a condition that fails as it runs
is a failed run and skips nothing (every step runs: the safe way)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata import schema_in_force
from catalog.models import Asset, RuleRun, Version, utcnow
from pipeline.rules.conditions import ConditionError, context_of
from pipeline.rules.events import Event
from pipeline.rules.facts import facts
from pipeline.rules.store import rules_in_force

TRIGGER = "version.probed"


def with_dependents(kinds: set[str], pending: list[str]) -> set[str]:
    """``kinds`` and every pending step that needs one of them, however far down."""
    from pipeline.workflow import WORKFLOW

    out = set(kinds)
    grew = True
    while grew:
        grew = False
        for kind in pending:
            if kind not in out and kind in WORKFLOW and set(WORKFLOW[kind].needs) & out:
                out.add(kind)
                grew = True
    return out & set(pending)


def steps_to_skip(session: Session, version_id: int, pending: list[str], min_confidence: float = 0.2
                  ) -> dict[str, str]:
    """The pending steps the ``version.probed`` rules skip for this version: kind → why."""
    state = schema_in_force(session)
    planning = [(row, rule) for row, rule in rules_in_force(session, state)
                if rule.trigger == TRIGGER and rule.enabled]
    if not planning:
        return {}
    version, key = session.get(Version, version_id), f"version:{version_id}"
    asset = session.get(Asset, version.asset_id) if version else None
    if version is None or asset is None:
        return {}
    done = set(session.scalars(select(RuleRun.rule_version_id).where(RuleRun.trigger == TRIGGER,
                                                                     RuleRun.event_key == key)))
    event = Event(TRIGGER, key, asset.id, version.id, utcnow())
    context = context_of(facts(session, asset, version, state.schema if state else None, min_confidence,
                               event.carried()))
    skip: dict[str, str] = {}
    for row, rule in planning:
        if row.id in done:
            continue
        try:
            holds, error = rule.condition.holds(context), None
        except ConditionError as exc:
            holds, error = False, str(exc)
        if not holds and error is None:
            continue
        named = {kind for action in rule.actions for kind in action.argument} if error is None else set()
        chosen = with_dependents(named, pending)
        for kind in sorted(chosen):
            skip.setdefault(kind, f"skipped by rule {rule.name}" + ("" if kind in named else
                                                                     " (it needs a step the rule skips)"))
        outcome = error or (f"skip {', '.join(sorted(chosen))}" if chosen else "nothing left to skip")
        session.add(RuleRun(rule_version_id=row.id, trigger=TRIGGER, event_key=key, version_id=version.id,
                            asset_id=asset.id, depth=0, status="failed" if error else "done", outcome=outcome))
        record(session, actor=f"rule:{rule.name}", action="rule action", asset_id=asset.id, version_id=version.id,
               subject=f"{rule.name} {row.content_hash[:12]} on {key}", detail=outcome)
    return skip
