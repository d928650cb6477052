"""Orchestration rules through the API: the farm's rule files as they read, and a dry run of a rules file (what
it would have done to the catalog's assets since a moment, changing nothing)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from api.deps import DB, CanManageRules, ReadDB
from api.events import audit_now
from catalog.metadata import schema_in_force
from pipeline.rules.dry_run import dry_run, since_moment
from pipeline.rules.files import ACTIONS, TRIGGERS, parse_rules, read_rules
from pipeline.rules.store import rule_versions, write_rules_file
from rushes.errors import ConfigError, InvalidInput

router = APIRouter(prefix="/api/v1/admin/rules", tags=["rules"])


def _rule_view(rule: Any) -> dict[str, Any]:
    return {"name": rule.name, "label": rule.label, "file": rule.file, "line": rule.line, "trigger": rule.trigger,
            "condition": rule.condition.source, "enabled": rule.enabled, "version": rule.content_hash[:12],
            "actions": [{"action": a.name, "argument": a.argument, "does": a.describe()} for a in rule.actions]}


@router.get("", summary="The farm's rules as their files read, and every rule version the catalog has run")
def list_rules(request: Request, session: ReadDB, user: CanManageRules) -> dict[str, Any]:
    """Every rule of ``<data>/rules`` (``RUSHES_RULES_DIR``), checked against the metadata schema in force; a file
    that does not hold is a 400 naming the file, the line and the field."""
    folder = request.app.state.farm.settings.rules_folder
    state = schema_in_force(session)
    found = read_rules(folder, state.schema if state else None) if folder.is_dir() else []
    return {"folder": str(folder), "rules": [_rule_view(r) for r in found], "triggers": TRIGGERS, "actions": ACTIONS,
            "versions": rule_versions(session)}


@router.put("/files/{name}", summary="Write one rules file (YAML); the whole folder is checked, then applied")
def put_rules_file(name: str, request: Request, session: DB, user: CanManageRules,
                   body: Annotated[str, Body(media_type="application/yaml", description="the file's YAML")]
                   ) -> dict[str, Any]:
    """400 naming the file, the line and the field when the folder would not hold (nothing is written then);
    otherwise the file is written and applied: a new rule version for each rule it changes."""
    state = schema_in_force(session)
    result = write_rules_file(session, request.app.state.farm.settings.rules_folder, name, body,
                              state.schema if state else None, user.name)
    return vars(result)


@router.delete("/files/{name}", summary="Remove one rules file; its rules are retired")
def delete_rules_file(name: str, request: Request, session: DB, user: CanManageRules) -> dict[str, Any]:
    state = schema_in_force(session)
    result = write_rules_file(session, request.app.state.farm.settings.rules_folder, name, None,
                              state.schema if state else None, user.name)
    return vars(result)


@router.post("/test", summary="Dry run: what a rules file would have done since a moment (nothing is changed)")
def test_rules(request: Request, session: ReadDB, user: CanManageRules,
               body: Annotated[str, Body(media_type="application/yaml", description="a rules file's YAML")],
               since: Annotated[str, Query(max_length=40, description="30d, 12h, 90m or an ISO-8601 moment")]
               = "30d") -> dict[str, Any]:
    moment = since_moment(since)  # InvalidInput: 400 saying what a span is
    state = schema_in_force(session)
    schema = state.schema if state else None
    try:
        found = parse_rules(body, "(request body)", schema)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None
    report = dry_run(session, found, schema, request.app.state.farm.settings.tag_min_confidence, moment)
    audit_now(request, user, "rules dry run", subject=", ".join(r.name for r in found)[:500] or "(no rule)",
          detail=f"since {report['since']}: " + ", ".join(f"{r['rule']} {r['matched']}/{r['events']}"
                                                           for r in report["rules"])[:900])
    return {"rules": [_rule_view(r) for r in found], **report}
