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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from catalog.metadata_schema import Schema
from pipeline.rules.conditions import Condition, compile_condition
from rushes.errors import ConfigError, InvalidInput

#: what a rule can be triggered by, and which of those the farm raises today (the rest come with issue 15's slices)
TRIGGERS = {
    "version.ready": "a version finished its analysis (every required step done)",
    "version.new": "a new version of an asset was ingested",
}
PLANNED_TRIGGERS = ("metadata.changed", "tag.added", "review.decided", "approval.reached", "rendition.ready",
                    "rendition.rejected", "rights.expiring", "rights.expired", "schedule")
ACTIONS = {
    "set_metadata": "set fields to values: {field: value}",
    "add_metadata": "add values to multiple fields: {field: value or [values]}",
    "add_to_collection": "add the asset to a collection (it stays in its own): collection name",
    "move_to_collection": "move the asset to a collection (its own from now on): collection name",
}
PLANNED_ACTIONS = ("request_review", "render", "deliver", "call_webhook", "hold_for_a_person")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200)
    help: str | None = Field(None, max_length=2000)
    enabled: bool = True
    trigger: str
    condition: str = Field("true", max_length=4000)
    actions: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str) -> str:
        return _known("trigger", value, TRIGGERS, PLANNED_TRIGGERS, "raised")

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
            except InvalidInput as exc:
                problems.append(f"line {_line_of(lines, (*where, 'actions', index))}: "
                                f"rules.{rule_name}.actions[{index}].{action}: {exc}")
        definition = model.model_dump()
        digest = hashlib.sha256(json.dumps({"name": rule_name, **definition}, sort_keys=True, ensure_ascii=False)
                                .encode()).hexdigest()
        rules.append(Rule(rule_name, name, _line_of(lines, where), model.label or rule_name, model.trigger,
                          condition, tuple(actions), model.enabled, digest, definition))
    if problems:
        raise ConfigError(f"rules file {name}: " + "; ".join(problems))
    return rules


def _checked_argument(action: str, argument: Any, schema: Schema | None) -> Any:
    if action in ("add_to_collection", "move_to_collection"):
        if not isinstance(argument, str) or not argument.strip() or len(argument) > 200:
            raise InvalidInput("a collection name (text, at most 200 characters)")
        return argument.strip()
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
