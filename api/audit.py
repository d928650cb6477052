"""Audit trail routes (admin only): read the trail with filters, export it as CSV, verify its hash chain.

No route writes the trail: lines are appended by the routes that do things (``catalog.audit.record``), and
POST, PUT, PATCH and DELETE here answer 405.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import DB, CanManageUsers
from api.events import audit, audit_now
from catalog.audit import ACTIONS, entries, entry_view, iter_entries, to_csv, verify

router = APIRouter(prefix="/api/v1", tags=["audit"])
Auditor = CanManageUsers  # the audit trail is read by admins (manage_users in catalog/permissions.py)
ActorFilter = Annotated[str | None, Query(max_length=120, description="only lines by this user (or target)")]
ActionFilter = Annotated[str | None, Query(description=f"only this action, one of: {', '.join(ACTIONS)}")]
AssetFilter = Annotated[int | None, Query(ge=1, description="only lines about this asset id")]
OutcomeFilter = Annotated[Literal["allowed", "denied"] | None, Query(description="allowed or denied")]
Since = Annotated[datetime | None, Query(description="from this ISO-8601 time, inclusive (no zone: UTC)")]
Until = Annotated[datetime | None, Query(description="before this ISO-8601 time, exclusive (no zone: UTC)")]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many lines (newest first)")]
CsvLimit = Annotated[int | None, Query(ge=1, description="at most this many lines; default all matching")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="skip this many of the newest matching lines")]
CSV = "text/csv; charset=utf-8"
CSV_EXAMPLE = "id,at,actor,role,action,outcome,asset_id,version_id,subject,detail,ip,prev_hash,hash\r\n"
ENTRY_DOC = ("Each line: `id`, `at` (ISO-8601 UTC), `actor`, `role`, `action`, `outcome` (`allowed|denied`), "
             "`asset_id`, `version_id`, `subject`, `detail`, `ip`, `prev_hash` and `hash` (SHA-256 over the line "
             "and `prev_hash`).")


@router.get("/audit", summary="Read the audit trail",
            description="Lines matching every filter given, newest first. " + ENTRY_DOC)
def audit_route(request: Request, session: DB, user: Auditor, actor: ActorFilter = None, action: ActionFilter = None,
                asset_id: AssetFilter = None, outcome: OutcomeFilter = None, since: Since = None,
                until: Until = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    rows = entries(session, actor=actor, action=action, asset_id=asset_id, outcome=outcome, since=since,
                   until=until, limit=limit, offset=offset)
    view = {"entries": [entry_view(row) for row in rows], "limit": limit, "offset": offset}
    audit(request, session, user, "view audit", subject=f"read {len(rows)} line(s)")
    return view


@router.get("/audit.csv", summary="Export the audit trail as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {"example": CSV_EXAMPLE}},
                             "description": "the matching lines as CSV, newest first"}},
            description=("The same filters as `GET /api/v1/audit`; every matching line unless `limit` is given. "
                         "Text a spreadsheet would run as a formula (starting with `= + - @`) gets a `'` in front; "
                         "the JSON route keeps values exactly as hashed."))
def audit_csv_route(request: Request, user: Auditor, actor: ActorFilter = None,
                    action: ActionFilter = None,
                    asset_id: AssetFilter = None, outcome: OutcomeFilter = None, since: Since = None,
                    until: Until = None, limit: CsvLimit = None, offset: Offset = 0) -> Response:
    filters: dict[str, Any] = dict(actor=actor, action=action, asset_id=asset_id, outcome=outcome, since=since,
                                   until=until)
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    # Recorded now, in a transaction of its own: the request's would stay open (and hold the append lock, or
    # SQLite's write lock) until the last byte is sent.
    page = "" if limit is None and not offset else f" (offset {offset}, limit {limit})"
    audit_now(request, user, "view audit", subject=f"exported every matching line as CSV{page}")
    farm = request.app.state.farm

    def lines() -> Iterator[str]:  # streamed a batch at a time: memory stays flat however long the trail
        with farm.readers() as reader, reader.begin():
            matching = (row for rows in iter_entries(reader, **filters) for row in rows)
            wanted = islice(matching, offset, None if limit is None else offset + limit)
            yield to_csv([], header=True)
            while batch := list(islice(wanted, 2000)):
                yield to_csv(batch, header=False)

    return StreamingResponse(lines(), media_type=CSV, headers=headers)


@router.get("/audit/verify", summary="Verify the audit trail's hash chain",
            description=("Recomputes every line's hash and checks each line's link to the one before, in id "
                         "order. `ok`, `checked` (lines checked), and on failure `bad_id` with the `reason` in "
                         "words; when intact, `head_id` and `head_hash` (the newest line: keep them elsewhere to "
                         "notice lines removed from the end)."))
def audit_verify_route(request: Request, session: DB, user: Auditor) -> dict[str, Any]:
    with request.app.state.farm.readers() as reader, reader.begin():  # no write lock while it walks
        result = asdict(verify(reader))
    audit(request, session, user, "view audit", subject="verified: " + ("intact" if result["ok"] else "broken"))
    return result
