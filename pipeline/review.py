"""Review decisions on a farm: record one in the open stages of the version's approval requests (per channel,
``catalog/approvals.py``), deliver what became due.

A decision that approves a channel lets the version's renditions of that channel go to their targets (pushed after
the commit); with every channel approved ``versions.approved_at`` is set; a later "changes" undoes it, and pull
feeds stop offering them.
"""

from __future__ import annotations

from pathlib import Path

from catalog.approval_stages import default_template, read_templates
from catalog.approvals import Templates, decide
from catalog.audit import record as audit_record
from catalog.review import ApprovalRule, latest_decisions, review_status
from delivery.targets import record
from pipeline.farm import Farm
from pipeline.renditions import deliver_due
from rushes.settings import Settings

ACTIONS = {"approve": "approve", "changes": "request changes"}  # delivery_events.action of each decision


def rule_of(settings: Settings) -> ApprovalRule:
    return ApprovalRule(tuple(settings.approval_required_reviewers), settings.approval_min_approvals)


_READ: dict[Path, tuple[tuple[tuple[str, float], ...], Templates]] = {}


def templates_of(settings: Settings) -> Templates:
    """The approval templates of the approvals folder (read again when a file changes) and the default one."""
    folder = settings.approvals_folder
    files = tuple((str(p), p.stat().st_mtime) for p in sorted(folder.glob("*.y*ml"))) if folder.is_dir() else ()
    rule = rule_of(settings)
    default = default_template(rule.required_reviewers, rule.min_approvals)
    known = _READ.get(folder)
    if known is None or known[0] != files or known[1].default != default:
        known = (files, Templates(tuple(read_templates(folder)), default))
        _READ[folder] = known
    return known[1]


def review(farm: Farm, version_id: int, reviewer: str, decision: str, note: str | None = None, *,
           role: str | None = None, ip: str | None = None) -> str:
    """Record ``reviewer``'s ``decision`` on a ready version; return the version's review status after it.

    The decision goes to the audit trail (who, ``role``, from ``ip``) with the delivery log.

    Raises NotFound for an unknown version, NotReady for one that is not ready.
    """
    with farm.transaction() as session:
        version, _touched = decide(session, version_id, reviewer, role or "admin", decision, note,
                                   templates_of(farm.settings))
        record(session, reviewer, ACTIONS[decision], detail=f"version {version_id}" + (f": {note}" if note else ""))
        status = review_status(latest_decisions(session, version_id), version.approved_at is not None)
        audit_record(session, actor=reviewer, role=role, ip=ip, action=ACTIONS[decision], asset_id=version.asset_id,
                     version_id=version_id, subject=f"version {version.number}: {status}", detail=note)
    deliver_due(farm)  # a channel may have become approved; idempotent: each (target, rendition) is pushed once
    return status


def approve(farm: Farm, version_id: int, approved_by: str) -> str:
    """Record an approval of a ready version by ``approved_by`` and apply the approval rule.

    With the default rule (one approval) the version is approved and its ready renditions are pushed to
    the push targets that take them. Returns the version's review status (``approved``, ``in_review`` ...).
    """
    return review(farm, version_id, approved_by, "approve")
