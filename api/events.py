"""What a request did, written to the audit trail: who (user and role), from where (IP), what, on which asset."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from api.auth import Denial, client_ip
from catalog.audit import record, record_now
from catalog.models import User


def _who(request: Request, user: User | None) -> dict[str, Any]:
    return {"actor": user.name if user else "(anonymous)", "role": user.role if user else None,
            "ip": client_ip(request)}


def audit(request: Request, session: Session, user: User | None, action: str, *, outcome: str = "allowed",
          **where: Any) -> None:
    """Append an entry inside the request's own transaction (so it commits with what it describes)."""
    record(session, action=action, outcome=outcome, **_who(request, user), **where)


def audit_now(request: Request, user: User | None, action: str, *, outcome: str = "allowed", **where: Any) -> None:
    """Append an entry in a transaction of its own (for routes that hold no catalog session)."""
    record_now(request.app.state.farm.sessions, action=action, outcome=outcome, **_who(request, user), **where)


# the audit action of a refused matrix action (catalog/permissions.py); others are recorded as "denied"
AUDIT_ACTION = {"view": "view asset", "download_original": "download original",
                "download_rendition": "download rendition", "comment": "comment", "approve": "approve",
                "deliver": "render", "manage_users": "permission change", "sign-in": "sign-in",
                "edit_metadata": "metadata change", "manage_schema": "metadata schema change",
                "manage_rules": "rules dry run", "manage_webhooks": "webhook change",
                "archive": "archive", "restore": "restore", "hold": "legal hold",
                "manage_lifecycle": "lifecycle policy", "delete": "delete"}


def audit_denial(request: Request, denial: Denial) -> None:
    """A refusal: written after the request's session has ended (its transaction was rolled back)."""
    record_now(request.app.state.farm.sessions, actor=denial.actor, role=denial.role,
               action=AUDIT_ACTION.get(denial.action, "denied"), outcome="denied", asset_id=denial.asset_id,
               subject=denial.subject or f"{denial.action}: {request.method} {request.url.path}",
               ip=client_ip(request))
