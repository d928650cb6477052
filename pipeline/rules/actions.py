"""What a rule's actions do, and what they would do (the dry run's words are the run's outcome).

- ``set_metadata``, ``add_metadata``, ``add_to_collection``, ``move_to_collection``: in the run's transaction.
- ``render``: a rendition queued as a farm step (leases, retries, progress; asking twice renders once); its
  message goes to the broker once the run commits (the reconciler sends a lost one again).
- ``deliver``: the renditions a distribution target takes, queued the same way; the target gets them as it gets any
  (pushed or in its feed) once the version is approved and in its rights.
- ``call_webhook``: the event put in a subscription's outbox (signed, retried, logged like its own events).
- ``request_review``: an approval request under a stage template (its reviewers find it in their inbox).
- ``hold_for_a_person``: the actions after it wait in the inbox (``held_actions``) until a person approves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.approvals import Templates, request_review
from catalog.collections import collections_of, put_in_collection
from catalog.metadata_schema import Schema
from catalog.metadata_values import Edit, plain, save, stored_values
from catalog.models import ApprovalRequest, Asset, HeldAction, Rendition, Step, Target, Version, Webhook
from delivery.presets import load_preset
from pipeline.renditions import queue_rendition, rendition_key, tools
from pipeline.rules.events import Event
from pipeline.rules.files import Action
from pipeline.webhooks.outbox import queue_events
from rushes.errors import NotFound


@dataclass
class Applied:
    done: list[str] = field(default_factory=list)  # what each action did, in the dry run's words
    messages: list[tuple[int, str]] = field(default_factory=list)  # farm steps to send once the run commits


def effects(session: Session, schema: Schema | None, asset: Asset, version: Version,
            actions: tuple[Action, ...] | list[Action]) -> list[str]:
    """What ``actions`` would change on ``asset`` (``… already`` when nothing); after a hold, what would wait."""
    out: list[str] = []
    for index, action in enumerate(actions):
        if action.name == "hold_for_a_person":
            rest = "; ".join(a.describe() for a in actions[index + 1:])
            out.append(f"hold for a person: {action.argument} (waiting: {rest})")
            break
        out += _effect(session, schema, asset, version, action)
    return out


def _effect(session: Session, schema: Schema | None, asset: Asset, version: Version, action: Action) -> list[str]:
    if action.name in ("add_to_collection", "move_to_collection"):
        where = collections_of(session, asset)
        name = action.argument
        if action.name == "move_to_collection":
            return [f"already in collection {name}" if where["collection"] == name
                    else f"move from collection {where['collection']} to {name}"]
        held = name == where["collection"] or name in where["also_in"]
        return [f"already in collection {name}" if held else f"add to collection {name}"]
    if action.name == "render":
        return [_render_effect(session, version, name) for name in action.argument]
    if action.name == "deliver":
        target = session.scalar(select(Target).where(Target.name == action.argument))
        if target is None:
            return [f"no target {action.argument}"]
        made = ", ".join(_render_effect(session, version, name) for name in target.preset_names)
        return [f"deliver to target {target.name}: {made} (it gets them once the version is approved and in its "
                f"rights)"]
    if action.name == "call_webhook":
        found = session.scalar(select(Webhook.id).where(Webhook.name == action.argument))
        return [f"call webhook {action.argument}" if found is not None else f"no webhook {action.argument}"]
    if action.name == "skip_steps":
        from pipeline.rules.steps import with_dependents
        from pipeline.workflow import WORKFLOW

        planned = list(session.scalars(select(Step.kind).where(Step.version_id == version.id))) or list(WORKFLOW)
        chosen = with_dependents(set(action.argument), planned)
        return [f"skip {', '.join(k for k in WORKFLOW if k in chosen)}"]
    if action.name == "request_review":
        asked = session.scalar(select(ApprovalRequest.id).where(ApprovalRequest.version_id == version.id,
                                                                ApprovalRequest.template == action.argument))
        return [f"review under {action.argument} requested already" if asked is not None
                else f"request review under {action.argument}"]
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


def _render_effect(session: Session, version: Version, preset_name: str) -> str:
    preset = load_preset(preset_name)
    key = rendition_key(version.content_hash, preset.content_hash, tools())
    found = session.scalar(select(Rendition).where(Rendition.key == key))
    if found is not None and found.status != "failed":
        return f"render {preset.name} (rendition {found.id} is {found.status} already)"
    return f"render {preset.name}"


def apply_actions(session: Session, schema: Schema | None, event: Event, rule: str, actions: list[Action],
                  actor: str, run_id: int | None, templates: Templates) -> Applied:
    """Do ``actions`` for ``event`` in the caller's transaction (a refusal raises and undoes them all)."""
    applied = Applied()
    for index, action in enumerate(actions):
        asset, version = session.get(Asset, event.asset_id), session.get(Version, event.version_id)
        assert asset is not None and version is not None
        applied.done += effects(session, schema, asset, version, [action] if action.name != "hold_for_a_person"
                                else actions[index:])
        if action.name == "hold_for_a_person":
            assert run_id is not None, "only a rule's run holds its actions"
            session.add(HeldAction(rule_run_id=run_id, rule=rule, asset_id=asset.id, version_id=version.id,
                                   question=action.argument, status="waiting",
                                   actions=[{a.name: list(a.argument) if isinstance(a.argument, tuple) else a.argument}
                                            for a in actions[index + 1:]]))
            break
        if action.name in ("add_to_collection", "move_to_collection"):
            put_in_collection(session, asset, action.argument, move=action.name == "move_to_collection", by=actor)
        elif action.name in ("set_metadata", "add_metadata"):
            assert schema is not None
            edit = Edit(set=dict(action.argument)) if action.name == "set_metadata" else Edit(add=dict(action.argument))
            save(session, schema, asset.id, edit, actor=actor, source=f"rule {rule}", rule_run=run_id)
        elif action.name in ("render", "deliver"):
            names = action.argument if action.name == "render" else _target(session, action.argument).preset_names
            for name in names:
                applied.messages += queue_rendition(session, version.id, load_preset(name), actor)[2]
        elif action.name == "request_review":
            request_review(session, version.id, action.argument, templates, actor)
        elif action.name == "call_webhook":
            hook = session.scalar(select(Webhook).where(Webhook.name == action.argument))
            if hook is None:
                raise NotFound(f"no webhook {action.argument!r}")
            queue_events(session, hook, event.trigger, [replace(event, key=f"rule {rule}: {event.key}")],
                         {"rule": rule})
    return applied


def _target(session: Session, name: str) -> Target:
    target = session.scalar(select(Target).where(Target.name == name))
    if target is None:
        raise NotFound(f"no distribution target {name!r}")
    return target


def parsed_actions(raw: list[dict[str, Any]]) -> list[Action]:
    """Held actions as stored (``[{name: argument}]``) back as actions."""
    return [Action(name, tuple(argument) if name == "render" else argument)
            for item in raw for name, argument in item.items()]
