"""Distribution targets declared in a YAML file next to the presets (``presets/targets.yaml``, or the file named
by ``RUSHES_TARGETS_FILE``), so a farm's delivery set-up is reviewable in git and reproducible::

    targets:
      - name: rte
        push: /mnt/rte-dropbox           # a push target: files and manifests land in this folder
        presets: [broadcast/xdcam-hd422-1080i25]
        channel: broadcast               # what its deliveries count as for the rights (default: the preset's)
        territory: IE                    # where it publishes (default: worldwide)
      - name: cms
        presets: [web/h264-720p, web/hls-ladder]   # no push folder: a pull target (reads its Media RSS feed)

The file is validated like a preset (errors name the file, the target, the field and the allowed values) and
applied when the API starts and by ``rushes targets sync``: a declared target is created, or updated to match the
file, by name, each change audited. Targets made through the API or CLI and not in the file are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record as audit_record
from catalog.models import Target
from catalog.rights import RightsError, channel_name, territory_code
from delivery.presets import PRESETS_DIR, preset_files
from delivery.targets import create_target
from rushes.errors import ConfigError
from rushes.yamlfiles import read_yaml_mapping

if TYPE_CHECKING:
    from rushes.settings import Settings

log = logging.getLogger(__name__)

TARGETS_FILE = PRESETS_DIR / "targets.yaml"


class DeclaredTarget(BaseModel):
    """One target of the file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    presets: list[str] = Field(min_length=1)
    push: str | None = Field(None, min_length=1)  # a folder: a push target; none: a pull target
    channel: str | None = None
    territory: str | None = None

    @property
    def kind(self) -> str:
        return "push" if self.push else "pull"

    @field_validator("presets")
    @classmethod
    def _known_presets(cls, names: list[str]) -> list[str]:
        known = preset_files()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown preset {', '.join(unknown)} (known: {', '.join(known)})")
        return names

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        try:
            return channel_name(value) if value else None
        except RightsError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("territory")
    @classmethod
    def _territory(cls, value: str | None) -> str | None:
        try:
            return territory_code(value) if value else None
        except RightsError as exc:
            raise ValueError(str(exc)) from exc


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[DeclaredTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> TargetsFile:
        names = [t.name for t in self.targets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"target {', '.join(twice)} is declared more than once")
        return self


def load_targets_file(path: Path = TARGETS_FILE) -> list[DeclaredTarget]:
    """The declared targets; none when the file does not exist. ConfigError names file, target and field."""
    if not path.is_file():
        return []
    data = read_yaml_mapping(path, "targets file", "a mapping with a 'targets' list", empty={})
    try:
        return TargetsFile(**data).targets
    except ValidationError as exc:
        raise ConfigError(_problems(path, data, exc)) from exc


def _problems(path: Path, data: dict[str, Any], exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = "(top level)"
        if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
            entry = (data.get("targets") or [None] * (loc[1] + 1))[loc[1]]
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"target {name or '#' + str(loc[1] + 1)}" + (f" field {'.'.join(map(str, loc[2:]))}"
                                                                  if loc[2:] else "")
        elif loc:
            where = f"field {'.'.join(map(str, loc))}"
        message = str(err["msg"]).removeprefix("Value error, ")
        allowed = err.get("ctx", {}).get("expected")
        lines.append(f"{where}: {message}" + (f" (allowed: {allowed})" if allowed else ""))
    return f"targets file {path}: " + "; ".join(lines)


def sync_targets(session: Session, declared: list[DeclaredTarget], *, actor: str, source: Path = TARGETS_FILE,
                 with_tokens: bool = True) -> tuple[list[str], dict[str, str]]:
    """Make the catalog's targets match ``declared`` (by name). Returns what changed, in words, and the token
    of each pull target created here (``with_tokens``; shown once, like ``rushes targets add``)."""
    changes: list[str] = []
    tokens: dict[str, str] = {}
    for spec in declared:
        target = session.scalar(select(Target).where(Target.name == spec.name))
        if target is None:
            target, token = create_target(session, spec.name, spec.kind, spec.presets, spec.push,
                                          channel=spec.channel, territory=spec.territory, with_token=with_tokens)
            if token:
                tokens[spec.name] = token
            said = f"added {spec.kind} target {spec.name} from {source.name}"
        else:
            want = {"kind": spec.kind, "presets": spec.presets, "folder": spec.push, "channel": spec.channel,
                    "territory": spec.territory}
            have = {"kind": target.kind, "presets": target.preset_names, "folder": target.folder,
                    "channel": target.channel, "territory": target.territory}
            differ = [key for key in want if want[key] != have[key]]
            if not differ:
                continue
            if "kind" in differ:
                raise ConfigError(f"targets file {source}: target {spec.name} is a {target.kind} target in the "
                                  f"catalog; give the {spec.kind} target another name")
            target.presets = {"presets": list(spec.presets)}
            target.folder, target.channel, target.territory = spec.push, spec.channel, spec.territory
            said = (f"changed target {spec.name} from {source.name}: "
                    + ", ".join(f"{key} {have[key]} -> {want[key]}" for key in differ))
        audit_record(session, actor=actor, action="target change", subject=said, detail=", ".join(spec.presets))
        changes.append(said)
    return changes, tokens


def targets_file_of(settings: Settings) -> Path:
    return settings.targets_file or TARGETS_FILE


def apply_targets_file(begin: Callable[[], AbstractContextManager[Session]], path: Path, *, actor: str = "system",
                       with_tokens: bool = False) -> tuple[list[str], dict[str, str]]:
    """Load the targets file at ``path`` and apply it in one transaction opened by ``begin`` (e.g.
    ``farm.transaction``); see :func:`sync_targets`."""
    declared = load_targets_file(path)
    if not declared:
        return [], {}
    with begin() as session:
        changes, tokens = sync_targets(session, declared, actor=actor, source=path, with_tokens=with_tokens)
    for said in changes:
        log.info("%s", said)
    return changes, tokens
