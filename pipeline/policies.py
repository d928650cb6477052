"""The lifecycle policies at work: the originals a policy makes due go to the archive as farm steps, named after the
policy in the audit trail (``policy:<collection>``). The reconciler runs this every hour; an admin can run it now."""

from __future__ import annotations

import logging

from catalog.policies import due_for_archive
from pipeline.farm import Farm
from pipeline.lifecycle import archive_version
from rushes.errors import ConfigError, Conflict

log = logging.getLogger(__name__)
POLICY_SWEEP_S = 3600.0


def apply_policies(farm: Farm, limit: int = 500) -> dict[str, list[dict[str, object]]]:
    """Queue the archiving of every original a policy makes due (up to ``limit`` a pass); what was queued and
    what was refused, with the reasons."""
    queued: list[dict[str, object]] = []
    refused: list[dict[str, object]] = []
    messages: list[tuple[int, str]] = []
    with farm.transaction() as session:
        for due in due_for_archive(session, limit=limit):
            try:
                with session.begin_nested():
                    sent = archive_version(session, farm.settings, due.version_id, by=f"policy:{due.collection}",
                                           role=None, location=due.location)
            except (Conflict, ConfigError) as exc:
                refused.append({"version_id": due.version_id, "asset_id": due.asset_id, "reason": str(exc)})
                continue
            if sent:
                messages += sent
                queued.append({"version_id": due.version_id, "asset_id": due.asset_id, "why": due.why,
                               "collection": due.collection})
    farm.send(messages)
    if queued:
        log.info("lifecycle policies: %d original(s) queued for the archive", len(queued))
    return {"queued": queued, "refused": refused}
