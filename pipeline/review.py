"""Review decisions on a farm: record one, apply the approval rule, deliver what became due.

A decision that makes the rule true sets ``versions.approved_at`` and, after the commit, pushes the
version's renditions to push targets; a later "changes" clears it, and pull feeds stop offering them.
"""

from __future__ import annotations

from catalog.audit import record as audit_record
from catalog.review import ApprovalRule, add_review, latest_decisions, review_status
from delivery.targets import record
from pipeline.farm import Farm
from pipeline.renditions import deliver_due
from rushes.settings import Settings

ACTIONS = {"approve": "approve", "changes": "request changes"}  # delivery_events.action of each decision


def rule_of(settings: Settings) -> ApprovalRule:
    return ApprovalRule(tuple(settings.approval_required_reviewers), settings.approval_min_approvals)


def review(farm: Farm, version_id: int, reviewer: str, decision: str, note: str | None = None, *,
           role: str | None = None, ip: str | None = None) -> str:
    """Record ``reviewer``'s ``decision`` on a ready version; return the version's review status after it.

    The decision goes to the audit trail (who, ``role``, from ``ip``) with the delivery log.

    Raises NotFound for an unknown version, NotReady for one that is not ready.
    """
    with farm.transaction() as session:
        version, _became = add_review(session, version_id, reviewer, decision, note, rule_of(farm.settings))
        record(session, reviewer, ACTIONS[decision], detail=f"version {version_id}" + (f": {note}" if note else ""))
        status = review_status(latest_decisions(session, version_id), version.approved_at is not None)
        audit_record(session, actor=reviewer, role=role, ip=ip, action=ACTIONS[decision], asset_id=version.asset_id,
                     version_id=version_id, subject=f"version {version.number}: {status}", detail=note)
    if status == "approved":
        deliver_due(farm)  # idempotent: each (target, rendition) is pushed once
    return status


def approve(farm: Farm, version_id: int, approved_by: str) -> str:
    """Record an approval of a ready version by ``approved_by`` and apply the approval rule.

    With the default rule (one approval) the version is approved and its ready renditions are pushed to
    the push targets that take them. Returns the version's review status (``approved``, ``in_review`` ...).
    """
    return review(farm, version_id, approved_by, "approve")
