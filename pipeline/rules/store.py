"""The rules in force, kept in the catalog: every process reads the rules folder at its start (and
``rushes rules sync`` after a git pull); each rule's definition is a **rule version** (by the hash of what it says),
the older ones stay as the history of what ran. A folder that does not hold is reported and the rules in force
stay — a typo never switches the farm's rules off."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata import SchemaInForce
from catalog.metadata_files import replace_file
from catalog.metadata_schema import Schema
from catalog.models import RuleVersion, utcnow
from pipeline.rules.files import Rule, parse_rules, read_rules
from rushes.errors import ConfigError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RulesSync:
    added: list[str]
    retired: list[str]
    kept: list[str]


def sync_rules(session: Session, folder: Path, schema: Schema | None) -> RulesSync:
    """Bring the catalog's rules in line with ``folder`` (``ConfigError``: nothing changed)."""
    found = read_rules(folder, schema) if folder.is_dir() else []
    now = utcnow()
    current = {row.name: row for row in session.scalars(select(RuleVersion).where(RuleVersion.retired_at.is_(None)))}
    added, retired, kept = [], [], []
    for rule in found:
        row = current.pop(rule.name, None)
        if row is not None and row.content_hash == rule.content_hash:
            row.file, row.line = rule.file, rule.line
            kept.append(rule.name)
            continue
        if row is not None:
            row.retired_at = now
        again = session.scalar(select(RuleVersion).where(RuleVersion.name == rule.name,
                                                         RuleVersion.content_hash == rule.content_hash))
        if again is not None:  # a definition that was in force before comes back: the same version again
            again.retired_at, again.file, again.line = None, rule.file, rule.line
        else:
            session.add(RuleVersion(name=rule.name, content_hash=rule.content_hash, file=rule.file, line=rule.line,
                                    trigger=rule.trigger, definition=rule.definition, loaded_at=now))
        added.append(rule.name)
    for row in current.values():  # no longer in the folder
        row.retired_at = now
        retired.append(row.name)
    session.flush()
    return RulesSync(added, retired, kept)


_COMPILED: dict[tuple[str, str], Rule] = {}


def rules_in_force(session: Session, state: SchemaInForce | None) -> list[tuple[RuleVersion, Rule]]:
    """Each rule version in force with its compiled rule (compiled once a process and metadata schema). A stored
    rule that no longer compiles against the schema (a field removed since) is left out, said in the log."""
    schema = state.schema if state else None
    out = []
    for row in session.scalars(select(RuleVersion).where(RuleVersion.retired_at.is_(None)).order_by(RuleVersion.id)):
        key = (row.content_hash, state.content_hash if state else "")
        rule = _COMPILED.get(key)
        if rule is None:
            try:
                rule = parse_rules(yaml.safe_dump({"rules": {row.name: row.definition}}), row.file, schema)[0]
            except Exception as exc:  # ConfigError, in words
                log.error("rule %s (version %s) is not run: %s", row.name, row.content_hash[:12], exc)
                continue
            _COMPILED[key] = rule
        out.append((row, rule))
    return out


def rule_versions(session: Session) -> list[dict[str, Any]]:
    return [{"id": r.id, "name": r.name, "version": r.content_hash[:12], "trigger": r.trigger, "file": r.file,
             "line": r.line, "loaded_at": r.loaded_at.isoformat(),
             "retired_at": r.retired_at.isoformat() if r.retired_at else None}
            for r in session.scalars(select(RuleVersion).order_by(RuleVersion.id.desc()))]


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.ya?ml$")


def write_rules_file(session: Session, folder: Path, name: str, body: str | None, schema: Schema | None,
                     actor: str) -> RulesSync:
    """Replace (``body`` None: remove) one rules file: the whole folder is read with the change first and nothing is
    written when it does not hold (``ConfigError`` names the file, line and field); then applied as a sync is."""
    if not FILE_NAME.match(name):
        raise ConfigError(f"a rules file is named like news.yaml (letters, digits, _ . -), not {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.y*ml"))}
    if body is None:
        if name not in texts:
            raise NotFound(f"no rules file {name}; files: {', '.join(texts) or 'none'}")
        texts.pop(name)
    else:
        texts[name] = body
    seen: dict[str, str] = {}
    for file, text in texts.items():
        for rule in parse_rules(text, file, schema):
            if rule.name in seen:
                raise ConfigError(f"rules file {file}: line {rule.line}: rule {rule.name!r} is also in "
                                  f"{seen[rule.name]}")
            seen[rule.name] = file
    replace_file(folder, name, body)
    result = sync_rules(session, folder, schema)
    record(session, actor=actor, action="rules change", subject=f"rules file {name} " + ("removed" if body is None
                                                                                          else "written"),
           detail=f"new versions {result.added}, retired {result.retired}")
    return result
