"""Rule files: YAML a team keeps in git (``<data>/rules/*.yaml``), each checked whole when it is read.

    rules:
      news-to-desk:
        label: News footage goes to the news desk
        trigger: version.ready
        condition: 'asset.collection == "news" && media.duration_s > 10.0 && !("Crowd" in metadata.talent)'
        actions:
          - set_metadata: {usage_notes: News use only}
          - add_metadata: {keywords: [news]}
          - add_to_collection: news-desk

A rule names a **trigger** (what happened), a **condition** in CEL (the Common Expression Language: no ``eval``;
see ``pipeline/rules/conditions.py`` for what it may read) and **actions**. Every problem is an error when the file
is read — never a rule that silently does nothing — and says the file, the line and the field, with the allowed
values where there is a list: a trigger or an action not known, a condition that does not parse or reads something
that is not there (``metadata.camra``), a metadata value the schema does not take.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from catalog.metadata_schema import Schema
from delivery.presets import load_preset
from pipeline.rules.conditions import Condition, compile_condition
from pipeline.rules.events import Event
from rushes.errors import ConfigError, InvalidInput
from rushes.spans import seconds_of

#: what a rule can be triggered by (``pipeline/rules/events.py`` reads each from the catalog)
TRIGGERS = {
    "version.ready": "a version finished its analysis (every required step done)",
    "version.new": "a new version of an asset was ingested",
    "version.probed": "the probe knows the media (kind, duration, sound…): which steps run for this version is "
                      "decided here, at once, before any other starts (skip_steps)",
    "metadata.changed": "a field of an asset changed (`field:` names one; event.field, event.old, event.new)",
    "tag.added": "a person accepted a keyframe tag (event.label)",
    "review.decided": "a reviewer decided on a version (event.decision: approve or changes, event.by)",
    "approval.reached": "a version became approved (event.by)",
    "rendition.ready": "a rendition was made and passed its spec check (event.preset)",
    "rendition.rejected": "a rendition failed its spec check (event.preset)",
    "rights.expiring": "an asset's rights window ends within a span (`within:`, default 14d; event.window_end)",
    "rights.expired": "an asset's rights window ended (event.window_end)",
    "schedule": "every span (`every:` 15m, 12h, 1d…): once per tick for each asset's newest ready version",
}
PLANNED_TRIGGERS: tuple[str, ...] = ()
ACTIONS = {
    "set_metadata": "set fields to values: {field: value}",
    "add_metadata": "add values to multiple fields: {field: value or [values]}",
    "add_to_collection": "add the asset to a collection (it stays in its own): collection name",
    "move_to_collection": "move the asset to a collection (its own from now on): collection name",
    "render": "render the version to a preset (a farm step; asking twice renders once): preset name or [names]",
    "deliver": "render what a distribution target takes; it gets them when the version is approved and in its "
               "rights: target name",
    "call_webhook": "send the event to a webhook subscription (signed, retried, logged): subscription name",
    "hold_for_a_person": "the actions after it wait in the inbox until a person approves them: what to ask",
    "request_review": "ask for the version's review under an approval stage template (its reviewers' inbox): "
                      "template name",
    "skip_steps": "steps not to run for this version, and those that need them (version.probed only): "
                  "[step kinds]",
}
PLANNED_ACTIONS: tuple[str, ...] = ()
OPTIONS = {"field": "metadata.changed", "within": "rights.expiring", "every": "schedule"}
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200)
    help: str | None = Field(None, max_length=2000)
    enabled: bool = True
    trigger: str
    field: str | None = Field(None, max_length=64)  # metadata.changed: only this field's changes
    within: str | None = None  # rights.expiring: how long before the window ends
    every: str | None = None  # schedule: how often
    condition: str = Field("true", max_length=4000)
    actions: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str) -> str:
        return _known("trigger", value, TRIGGERS, PLANNED_TRIGGERS, "raised")

    @field_validator("within", "every")
    @classmethod
    def _span(cls, value: str | None) -> str | None:
        if value is not None:
            seconds_of(value)  # ValueError in words
        return value

    @model_validator(mode="after")
    def _options(self) -> RuleModel:
        for option, trigger in OPTIONS.items():
            if getattr(self, option) is not None and self.trigger != trigger:
                raise ValueError(f"{option} is an option of trigger {trigger}, not of {self.trigger}")
        if self.trigger == "schedule" and self.every is None:
            raise ValueError("a schedule needs `every:` (a span such as 15m, 12h or 1d)")
        if self.every is not None and seconds_of(self.every) < 15 * 60:
            raise ValueError(f"every {self.every}: a schedule runs at most every 15m")
        return self

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for action in value:
            if not isinstance(action, dict) or len(action) != 1:
                raise ValueError("each action is one mapping of an action name to its argument, e.g. "
                                 "`- add_to_collection: news-desk`")
            (name,) = action
            _known("action", name, ACTIONS, PLANNED_ACTIONS, "available")
        return value


def _known(what: str, value: str, known: dict[str, str], planned: tuple[str, ...], how: str) -> str:
    if value in planned:
        raise ValueError(f"{what} {value!r} is planned but not {how} in this version of Rushes yet "
                         f"(allowed: {', '.join(known)})")
    if value not in known:
        raise ValueError(f"unknown {what} {value!r} (allowed: {', '.join(known)})")
    return value


class FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, RuleModel]


@dataclass(frozen=True)
class Action:
    name: str
    argument: Any

    def describe(self) -> str:
        if self.name in ("set_metadata", "add_metadata"):
            verb, join = ("set", "to") if self.name == "set_metadata" else ("add to", "")
            return "; ".join(" ".join(filter(None, (verb, key, join, json.dumps(value, ensure_ascii=False))))
                             for key, value in self.argument.items())
        if self.name == "render":
            return f"render {', '.join(self.argument)}"
        if self.name == "deliver":
            return f"deliver to target {self.argument}"
        if self.name == "call_webhook":
            return f"call webhook {self.argument}"
        if self.name == "hold_for_a_person":
            return f"hold for a person: {self.argument}"
        if self.name == "request_review":
            return f"request review under {self.argument}"
        if self.name == "skip_steps":
            return f"skip {', '.join(self.argument)}"
        return f"{'add to' if self.name == 'add_to_collection' else 'move to'} collection {self.argument}"


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    line: int
    label: str
    trigger: str
    condition: Condition
    actions: tuple[Action, ...]
    enabled: bool
    content_hash: str  # of the rule's own definition: each version of a rule acts once per event
    definition: dict[str, Any]  # as the file gave it (what the catalog keeps of each rule version)
    field: str | None = None
    option: str | None = None  # the span of rights.expiring (default 14d) or of a schedule

    @property
    def source(self) -> str:
        """Where its events come from: the trigger, with the span that changes their moments."""
        return f"{self.trigger}:{self.option}" if self.option else self.trigger

    def wants(self, event: Event) -> bool:
        return self.field is None or event.data.get("field") == self.field


# ------------------------------------------------------------------------------------------------ YAML with lines


def _lines(text: str) -> dict[tuple[Any, ...], int]:
    """Each key path of the document (``("rules", "x", "actions", 0)``) → its line (1-based)."""
    out: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = key.value
                if name in seen:
                    raise ConfigError(f"line {key.start_mark.line + 1}: {'.'.join(map(str, path + (name,)))} is "
                                      f"given twice (first on line {seen[name]})")
                seen[name] = key.start_mark.line + 1
                out[path + (name,)] = key.start_mark.line + 1
                walk(value, path + (name,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return out


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def parse_rules(text: str, name: str, schema: Schema | None = None) -> list[Rule]:
    """The rules of one file's ``text`` (``name`` is how errors call it); ``schema``: the metadata schema the
    conditions and metadata actions are checked against. ``ConfigError`` names the file, line and field."""
    try:
        lines = _lines(text)
        data = yaml.safe_load(text)
    except ConfigError as exc:
        raise ConfigError(f"rules file {name}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {name} is not valid YAML: {exc}") from None
    if data is None:
        return []
    try:
        parsed = FileModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"line {_line_of(lines, loc)}: {field}: {message}")
        raise ConfigError(f"rules file {name}: " + "; ".join(problems)) from None
    rules = []
    problems = []
    for rule_name, model in parsed.rules.items():
        where = ("rules", rule_name)
        if not NAME.match(rule_name):
            problems.append(f"line {_line_of(lines, where)}: rules.{rule_name}: a rule name is lower-case letters, "
                            f"digits, '-', '_' and '.' (at most 64)")
            continue
        try:
            condition = compile_condition(model.condition, schema)
        except InvalidInput as exc:
            problems.append(f"line {_line_of(lines, (*where, 'condition'))}: rules.{rule_name}.condition: {exc}")
            continue
        actions = []
        for index, raw in enumerate(model.actions):
            ((action, argument),) = raw.items()
            try:
                actions.append(Action(action, _checked_argument(action, argument, schema)))
            except (InvalidInput, ConfigError) as exc:
                problems.append(f"line {_line_of(lines, (*where, 'actions', index))}: "
                                f"rules.{rule_name}.actions[{index}].{action}: {exc}")
        if model.field is not None and schema is not None and model.field not in schema.fields:
            problems.append(f"line {_line_of(lines, (*where, 'field'))}: rules.{rule_name}.field: no field "
                            f"{model.field!r} in the metadata schema (fields: {', '.join(schema.fields)})")
            continue
        planning = [a.name for a in actions if a.name == "skip_steps"]
        if (model.trigger == "version.probed") != bool(planning) or len(planning) not in (0, len(actions)):
            problems.append(f"line {_line_of(lines, (*where, 'actions'))}: rules.{rule_name}.actions: skip_steps is "
                            f"the action of trigger version.probed, and version.probed takes only skip_steps")
        holds = [i for i, a in enumerate(actions) if a.name == "hold_for_a_person"]
        if holds and (len(holds) > 1 or holds[0] == len(actions) - 1):
            problems.append(f"line {_line_of(lines, (*where, 'actions', holds[-1]))}: rules.{rule_name}.actions: "
                            f"hold_for_a_person holds the actions after it: one, before what should wait")
        definition = {key: value for key, value in model.model_dump().items()
                      if value is not None or key not in OPTIONS}  # a rule without options hashes as before
        digest = hashlib.sha256(json.dumps({"name": rule_name, **definition}, sort_keys=True, ensure_ascii=False)
                                .encode()).hexdigest()
        rules.append(Rule(rule_name, name, _line_of(lines, where), model.label or rule_name, model.trigger,
                          condition, tuple(actions), model.enabled, digest, definition, model.field,
                          model.within or model.every))
    if problems:
        raise ConfigError(f"rules file {name}: " + "; ".join(problems))
    return rules


def _checked_argument(action: str, argument: Any, schema: Schema | None) -> Any:
    if action in ("add_to_collection", "move_to_collection", "deliver", "call_webhook", "hold_for_a_person",
                  "request_review"):
        what = {"deliver": "a distribution target's name", "call_webhook": "a webhook subscription's name",
                "hold_for_a_person": "what to ask the person",
                "request_review": "an approval template's name"}.get(action, "a collection name")
        if not isinstance(argument, str) or not argument.strip() or len(argument) > 200:
            raise InvalidInput(f"{what} (text, at most 200 characters)")
        return argument.strip()
    if action == "skip_steps":
        from pipeline.workflow import WORKFLOW

        names = [argument] if isinstance(argument, str) else argument
        allowed = [k for k in WORKFLOW if k != "probe"]
        if not isinstance(names, list) or not names or any(n not in allowed for n in names):
            raise InvalidInput(f"step kinds to skip, e.g. [transcript] (steps: {', '.join(allowed)})")
        return tuple(names)
    if action == "render":
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InvalidInput("a preset name or a list of them, e.g. web/h264-1080p")
        for name in names:
            load_preset(name)  # ConfigError names the presets there are
        return tuple(names)
    if not isinstance(argument, dict) or not argument:
        raise InvalidInput("a mapping of field to value, e.g. {usage_notes: News use only}")
    if schema is None:
        return argument
    for key, value in argument.items():
        f = schema.fields.get(str(key))
        if f is None:
            raise InvalidInput(f"no field {key!r} in the metadata schema (fields: {', '.join(schema.fields)})")
        if action == "add_metadata" and not f.multiple:
            raise InvalidInput(f"{key} holds one value: set it with set_metadata")
        for item in value if isinstance(value, list) else [value]:
            f.check(item)  # InvalidInput names the allowed values
    return argument


def read_rules(path: Path, schema: Schema | None = None) -> list[Rule]:
    """The rules of one file, or of every ``*.yaml`` of a folder (a name given twice is an error)."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {file}: {exc.strerror}") from None
        for rule in parse_rules(text, str(file), schema):
            if rule.name in seen:
                raise ConfigError(f"rules file {file}: line {rule.line}: rule {rule.name!r} is also in "
                                  f"{seen[rule.name]}")
            seen[rule.name] = str(file)
            rules.append(rule)
    return rules
