"""Approval stage templates: who must approve a version, in which order, for which destination channels.

Templates are YAML in ``<data>/approvals/*.yaml`` (``RUSHES_APPROVALS_DIR``)::

    templates:
      news-desk:
        label: News desk, then legal
        applies_to: {collections: [news], kinds: [video], channels: [web, social]}
        parallel: false            # stages one after another (default); true: all open at once
        stages:
          - name: desk
            reviewers: [rita, sam]  # people by name …
            min_approvals: 1
          - name: legal
            role: reviewer          # … or everyone of a role who may see the asset
            required: [lee]         # these must approve (besides the minimum)
            deadline: 2d            # due this long after the stage opens

For each **channel** (broadcast, web, social) of a version the first template whose ``applies_to`` matches (an
empty list matches all) governs its approval; with none, the **default template** made from the
``RUSHES_APPROVAL_*`` settings (one stage: anyone who may approve; the minimum and the required reviewers). So
approving a version for web does not approve it for broadcast when their templates differ.

A template's state is a pure function of the decisions made in its stages (each reviewer's latest in a stage
counts): a stage is approved when nobody's latest there is "changes", every required reviewer approved and at least
``min_approvals`` did; the next stage opens when the one before is approved; "changes" sends the request back
(``changes``) until that reviewer approves, usually on a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rushes.errors import ConfigError
from rushes.spans import seconds_of

CHANNELS = ("broadcast", "web", "social")
DEFAULT = "default"


class StageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    reviewers: list[str] = Field(default_factory=list)
    role: str | None = Field(None, pattern="^(admin|editor|reviewer)$")
    min_approvals: int = Field(1, ge=1, le=50)
    required: list[str] = Field(default_factory=list)
    deadline: str | None = None

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if value is not None:
            seconds_of(value)
        return value

    @model_validator(mode="after")
    def _who(self) -> StageModel:
        if not self.reviewers and self.role is None:
            raise ValueError(f"stage {self.name}: give reviewers (names) or a role")
        return self


class AppliesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collections: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        wrong = [c for c in value if c not in CHANNELS]
        if wrong:
            raise ValueError(f"unknown channel {', '.join(wrong)} (allowed: {', '.join(CHANNELS)})")
        return value


class TemplateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200)
    applies_to: AppliesModel = Field(default_factory=AppliesModel)
    parallel: bool = False
    stages: list[StageModel] = Field(min_length=1, max_length=20)


class FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: dict[str, TemplateModel]


@dataclass(frozen=True)
class Stage:
    name: str
    reviewers: tuple[str, ...] = ()
    role: str | None = None  # with reviewers and role both empty: anyone who may approve (the default template)
    min_approvals: int = 1
    required: tuple[str, ...] = ()
    deadline_s: int | None = None

    def takes(self, user: str, role: str) -> bool:
        """Whether ``user`` (of ``role``, who may see the asset) reviews in this stage."""
        if not self.reviewers and self.role is None:
            return True
        return user in self.reviewers or user in self.required or (self.role is not None and role == self.role)

    def who(self) -> str:
        parts = list(dict.fromkeys([*self.reviewers, *self.required]))
        if self.role:
            parts.append(f"any {self.role}")
        return ", ".join(parts) or "anyone who may approve"


@dataclass(frozen=True)
class Template:
    name: str
    label: str
    stages: tuple[Stage, ...]
    parallel: bool = False
    collections: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    file: str = ""

    def applies(self, collections: list[str], kind: str | None, channel: str) -> bool:
        return ((not self.collections or any(c in self.collections for c in collections))
                and (not self.kinds or kind in self.kinds) and (not self.channels or channel in self.channels))

    def definition(self) -> dict[str, Any]:
        return {"label": self.label, "parallel": self.parallel, "collections": list(self.collections),
                "kinds": list(self.kinds), "channels": list(self.channels), "stages": [
            {"name": s.name, "reviewers": list(s.reviewers), "role": s.role, "min_approvals": s.min_approvals,
             "required": list(s.required), "deadline_s": s.deadline_s} for s in self.stages]}

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps({"name": self.name, **self.definition()}, sort_keys=True).encode()
                              ).hexdigest()


def template_of(name: str, definition: dict[str, Any]) -> Template:
    """A template back from what an approval request keeps of it."""
    return Template(name, definition["label"], tuple(
        Stage(s["name"], tuple(s["reviewers"]), s["role"], s["min_approvals"], tuple(s["required"]), s["deadline_s"])
        for s in definition["stages"]), definition["parallel"], tuple(definition.get("collections", ())),
        tuple(definition.get("kinds", ())), tuple(definition.get("channels", ())))


def default_template(required: tuple[str, ...], min_approvals: int) -> Template:
    return Template(DEFAULT, "Review", (Stage("review", (), None, min_approvals, required),))


def parse_templates(text: str, name: str) -> list[Template]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"approval templates {name} are not valid YAML: {exc}") from None
    if data is None:
        return []
    try:
        parsed = FileModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"approval templates {name}: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        ) from None
    out = []
    for key, model in parsed.templates.items():
        if key == DEFAULT:
            raise ConfigError(f"approval templates {name}: 'default' is the RUSHES_APPROVAL_* template's name")
        names = [s.name for s in model.stages]
        if len(set(names)) != len(names):
            raise ConfigError(f"approval templates {name}: templates.{key}.stages: a stage name is given twice")
        out.append(Template(key, model.label or key, tuple(
            Stage(s.name, tuple(s.reviewers), s.role, s.min_approvals, tuple(s.required),
                  seconds_of(s.deadline) if s.deadline else None) for s in model.stages), model.parallel,
            tuple(model.applies_to.collections), tuple(model.applies_to.kinds), tuple(model.applies_to.channels),
            name))
    return out


def read_templates(folder: Path) -> list[Template]:
    """Every template of the folder's ``*.yaml`` files, in file and then written order (a name twice is an error)."""
    if not folder.is_dir():
        return []
    found: list[Template] = []
    for file in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        for template in parse_templates(file.read_text(encoding="utf-8"), str(file)):
            if any(t.name == template.name for t in found):
                raise ConfigError(f"approval templates {file}: template {template.name!r} is given twice")
            found.append(template)
    return found


# ------------------------------------------------------------------------------------------ state


@dataclass
class StageState:
    name: str
    status: str  # waiting | open | approved | changes
    who: str
    approvals: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required reviewers who have not approved
    opened_at: datetime | None = None
    due_at: datetime | None = None

    def view(self, now: datetime) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "who": self.who, "approvals": self.approvals,
                "changes": self.changes, "missing": self.missing,
                "opened_at": self.opened_at.isoformat() if self.opened_at else None,
                "due_at": self.due_at.isoformat() if self.due_at else None,
                "overdue": bool(self.due_at and self.status in ("open", "changes") and now > self.due_at)}


def evaluate(template: Template, decisions: list[tuple[str, str, str, datetime]],
             opened: datetime) -> tuple[str, list[StageState]]:
    """The request's status (``open``, ``changes``, ``approved``) and each stage's, from ``decisions``: (stage,
    reviewer, decision, when), oldest first. ``opened``: when the request was made (the first stage opens then)."""
    latest: dict[str, dict[str, tuple[str, datetime]]] = {}
    for stage_name, reviewer, decision, at in decisions:
        latest.setdefault(stage_name, {})[reviewer] = (decision, at)
    states: list[StageState] = []
    previous_done: datetime | None = opened
    for stage in template.stages:
        mine = latest.get(stage.name, {})
        approvals = [r for r, (d, _) in mine.items() if d == "approve"]
        changes = [r for r, (d, _) in mine.items() if d == "changes"]
        missing = [r for r in stage.required if r not in approvals]
        met = not changes and not missing and len(approvals) >= stage.min_approvals
        is_open = template.parallel or previous_done is not None
        opened_at = opened if template.parallel else previous_done
        status = "waiting" if not is_open else "approved" if met else "changes" if changes else "open"
        due = opened_at + timedelta(seconds=stage.deadline_s) if opened_at and stage.deadline_s else None
        states.append(StageState(stage.name, status, stage.who(), approvals, changes, missing, opened_at, due))
        if not template.parallel:
            previous_done = max((at for d, at in mine.values() if d == "approve"), default=opened) if met else None
    if all(s.status == "approved" for s in states):
        return "approved", states
    return ("changes" if any(s.status == "changes" for s in states) else "open"), states
