"""The tamper-evident audit trail: who did (or was refused) what, when, from where.

Every line (``audit_log``, :class:`catalog.models.AuditEntry`) carries ``prev_hash``, the ``hash`` of the line
before it (64 zeros for the first), and its own ``hash``: SHA-256 over a canonical JSON of all its columns
but ``hash`` (``id`` and ``prev_hash`` included). Editing a line breaks its own hash; deleting or inserting
one breaks the link of the line after it. :func:`verify` walks the chain and names the first bad line.

Tamper-evident, not tamper-proof: whoever can write the database directly can recompute the whole chain,
and removing the newest lines leaves a shorter chain that still holds. Keep the head (``rushes audit verify``
prints its id and hash) or an export somewhere else to compare against.

Appends are serialised so two transactions never chain onto the same line: on PostgreSQL by a transaction
advisory lock (held until the caller's transaction ends), on SQLite by its single writer (every transaction
of Rushes starts with ``BEGIN IMMEDIATE``). Nothing in Rushes edits or deletes lines: the ORM refuses to.

Use from a route or a command, inside the transaction that does the work::

    from catalog.audit import record
    record(session, actor=user.name, role=user.role, action="download proxy", asset_id=..., version_id=...)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Delete, Select, Update, event, select, text
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, sessionmaker

from catalog.models import AuditEntry, utcnow
from rushes.errors import AuditTrailIsAppendOnly

GENESIS = "0" * 64  # the prev_hash of the first line
LOCK_KEY = int.from_bytes(b"rushaudt", "big")  # pg_advisory_xact_lock key serialising appends (fits a bigint)
OUTCOMES = ("allowed", "denied")

# The actions recorded across Rushes, with what each means. ``record()`` refuses any other name, so a typo
# fails a test instead of writing an action nobody filters on. A refused attempt is recorded with its own
# action and outcome "denied"; the action "denied" is for a refusal that names no action (e.g. a bad token).
ACTION_HELP: dict[str, str] = {
    "sign-in": "a person signed in to the pages (subject 'password' for a password; denied: a wrong, revoked or "
               "expired token, a wrong password, a locked account)",
    "lock-out": "an account was locked after failed sign-ins in a row, or unlocked by an admin",
    "password change": "a password was set, changed or reset, or an invitation or reset link was made",
    "sign-out": "a browser session ended",
    "view asset": "an asset's page or details were read",
    "search": "a search was run (subject: the query)",
    "download original": "the camera original of a version was downloaded",
    "download proxy": "a version's proxy was played or downloaded",
    "download rendition": "a rendition was downloaded by a person",
    "export": "shots, transcript or comments were exported (EDL, OTIO, FCP XML, CSV, subtitles)",
    "comment": "a comment or reply was written",
    "resolve comment": "a comment was resolved or reopened (detail says which)",
    "approve": "a reviewer approved a version",
    "request changes": "a reviewer asked for changes to a version",
    "retry": "failed steps of an asset were re-queued",
    "render": "a rendition was asked for",
    "deliver": "a rendition was pushed to a push target",
    "feed": "a distribution target read its feed",
    "download": "a distribution target downloaded a rendition",
    "target change": "a distribution target was added, changed or removed",
    "permission change": "a user, role, token, session or grant was created, changed, revoked or removed",
    "rights change": "an asset's or version's rights (licence, territories, channels, window) changed",
    "collection change": "a collection was made or an asset joined or left one",
    "metadata change": "an asset's metadata or a logged range changed (detail: each field's old and new values)",
    "tag decision": "a keyframe tag of a shot was accepted (it became metadata) or rejected (never shown again)",
    "metadata schema change": "the metadata schema (fields, vocabularies, taxonomies, views) got a new version",
    "rule action": "an orchestration rule acted on an asset (actor rule:<name>; detail: what each action did)",
    "rules change": "a rules file was written or removed through the API (detail: the rule versions made and retired)",
    "rules dry run": "what orchestration rules would have done was asked (subject: the rules; detail: matches)",
    "agent tool": "an agent called an MCP tool (subject: the tool and a digest of its arguments; detail: the outcome)",
    "held action": "a person approved (the rule's held actions ran) or refused what a rule held for a person",
    "webhook change": "a webhook subscription was made, changed, removed, or disabled after failing in a row",
    "webhook replay": "a webhook delivery was sent again",
    "archive": "an asset's originals were sent to an archive location (or the move was refused)",
    "restore": "an archived original was asked back into the library (by a person, a render or a download)",
    "legal hold": "a legal hold was placed on an asset or a collection, or lifted (detail: the reasons)",
    "retention change": "an asset's retention was set or extended (detail: old and new dates)",
    "delete": "an asset was moved to the trash, or taken out of it (subject says which)",
    "purge": "an asset's files and rows were removed for good (detail: its versions' checksums; the trail keeps this)",
    "lifecycle policy": "a collection's lifecycle policy was set (detail: the policy, how many assets' retention grew)",
    "view audit": "the audit trail was read, exported or verified",
    "denied": "a request was refused before it named an action (no or bad token, unknown route)",
}
ACTIONS: tuple[str, ...] = tuple(ACTION_HELP)

_LIMITS = {"actor": 120, "role": 20, "subject": 500, "ip": 64}  # column sizes: what is stored is what is hashed
FIELDS = ("id", "at", "actor", "role", "action", "outcome", "asset_id", "version_id", "subject", "detail", "ip",
          "prev_hash", "hash")


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: ``ok``, how many lines it checked, and the first bad one with the reason."""

    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str | None = None
    head_id: int | None = None  # the newest line when ok: note it elsewhere to notice a truncated tail
    head_hash: str | None = None


# ----------------------------------------------------------------------------------------------- hashing


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(line: Any) -> bytes:
    """The bytes a line's hash covers: every column but ``hash`` (``id`` and ``prev_hash`` included) as JSON
    with sorted keys, no spaces, ASCII only, ``at`` as ISO-8601 UTC with microseconds."""
    doc = {
        "id": line.id, "at": _iso(line.at), "actor": line.actor, "role": line.role, "action": line.action,
        "outcome": line.outcome, "asset_id": line.asset_id, "version_id": line.version_id,
        "subject": line.subject, "detail": line.detail, "ip": line.ip, "prev_hash": line.prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def line_hash(line: Any) -> str:
    """SHA-256 (hex) of :func:`canonical`; ``line`` is an AuditEntry or a row with the same attributes."""
    return hashlib.sha256(canonical(line)).hexdigest()


# ----------------------------------------------------------------------------------------------- writing


def _text(value: str | None, field: str | None = None) -> str | None:
    if value is None:
        return None
    value = str(value).replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    return value[:_LIMITS[field]] if field else value


def _optional_int(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"audit {field} must be an integer or None, not {value!r}")
    return value


def record(session: Session, *, actor: str, action: str, outcome: str = "allowed", role: str | None = None,
           asset_id: int | None = None, version_id: int | None = None, subject: str | None = None,
           detail: str | None = None, ip: str | None = None) -> AuditEntry:
    """Append one line to the trail inside the caller's transaction (it is kept only if that commits).

    ``action`` must be one of :data:`ACTIONS` and ``outcome`` "allowed" or "denied" (ValueError otherwise).
    Text longer than its column is cut to fit (actor 120, role 20, subject 500, ip 64 characters).

    On PostgreSQL this takes a transaction advisory lock that other appends wait for until the caller's
    transaction ends: record late in a transaction, not before long work. It relies on READ COMMITTED
    (PostgreSQL's default), so the last line read after the lock is the newest committed one.
    A refusal answered with an error rolls the caller's transaction back, and the line with it: record those
    with :func:`record_now`.
    """
    if action not in ACTION_HELP:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be 'allowed' or 'denied', not {outcome!r}")
    if not actor:
        raise ValueError("an audit line needs an actor")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    # Under the lock (PostgreSQL) or the write lock (SQLite), nobody else appends until we commit.
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    if bind.dialect.name == "postgresql":
        next_id = session.scalar(text("SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))"))
    else:
        next_id = (last.id if last else 0) + 1
    entry = AuditEntry(
        id=next_id, at=utcnow(), actor=_text(actor, "actor"), role=_text(role, "role"), action=action,
        outcome=outcome, asset_id=_optional_int(asset_id, "asset_id"),
        version_id=_optional_int(version_id, "version_id"), subject=_text(subject, "subject"),
        detail=_text(detail), ip=_text(ip, "ip"), prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = line_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def record_now(sessions: sessionmaker[Session], **line: Any) -> AuditEntry:
    """:func:`record` in a transaction of its own, committed at once: for refusals whose request fails.

    On SQLite a transaction holds the only write lock from its first statement: call this only when the
    current thread has no catalog transaction open (it would wait for itself for 30 s and fail).
    """
    with sessions() as session, session.begin():
        entry = record(session, **line)
    return entry


# ---------------------------------------------------------------------------------------- append-only


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper: Mapper[Any], _connection: Any, target: AuditEntry) -> None:
    raise AuditTrailIsAppendOnly(f"audit line {target.id} cannot be changed: the trail is append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper: Mapper[Any], _connection: Any, target: AuditEntry) -> None:
    raise AuditTrailIsAppendOnly(f"audit line {target.id} cannot be deleted: the trail is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    """``session.execute(update(AuditEntry)…)`` and ``delete(…)`` skip the mapper events: refuse them here."""
    statement = state.statement
    if isinstance(statement, Update | Delete) and getattr(statement.table, "name", None) == AuditEntry.__tablename__:
        raise AuditTrailIsAppendOnly("the audit trail is append-only: no UPDATE or DELETE of audit_log")


# ---------------------------------------------------------------------------------------------- checking


def verify(session: Session, *, batch: int = 2000) -> VerifyResult:
    """Walk the whole trail in id order, ``batch`` lines at a time, recomputing each hash and checking each
    link; stop at the first bad line and say in words what is wrong with it."""
    columns = AuditEntry.__table__.c
    checked, prev_id, prev_hash = 0, None, GENESIS
    while True:
        query = select(AuditEntry.__table__).order_by(columns.id).limit(batch)
        if prev_id is not None:
            query = query.where(columns.id > prev_id)
        rows = session.execute(query).all()
        for row in rows:
            if row.prev_hash != prev_hash:
                if prev_id is None:
                    reason = (f"row {row.id}: previous hash is not the start of the trail "
                              f"(rows deleted before it?)")
                else:
                    reason = (f"row {row.id}: previous hash does not match row {prev_id} "
                              f"(a row deleted or inserted?)")
                return VerifyResult(False, checked, row.id, reason)
            if line_hash(row) != row.hash:
                return VerifyResult(False, checked, row.id, f"row {row.id}: hash does not match its content (edited?)")
            checked += 1
            prev_id, prev_hash = row.id, row.hash
        if len(rows) < batch:
            return VerifyResult(True, checked, head_id=prev_id, head_hash=prev_hash if prev_id is not None else None)


# ---------------------------------------------------------------------------------------------- reading


def _filtered(query: Select[Any], *, actor: str | None = None, action: str | None = None,
              asset_id: int | None = None, outcome: str | None = None, since: datetime | None = None,
              until: datetime | None = None) -> Select[Any]:
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if asset_id is not None:
        query = query.where(AuditEntry.asset_id == asset_id)
    if outcome is not None:
        query = query.where(AuditEntry.outcome == outcome)
    if since is not None:
        query = query.where(AuditEntry.at >= _aware(since))
    if until is not None:
        query = query.where(AuditEntry.at < _aware(until))
    return query


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def entries(session: Session, *, actor: str | None = None, action: str | None = None, asset_id: int | None = None,
            outcome: str | None = None, since: datetime | None = None, until: datetime | None = None,
            limit: int | None = 100, offset: int = 0) -> list[AuditEntry]:
    """Lines matching every filter given, newest first. ``since`` is inclusive, ``until`` exclusive; naive
    times are UTC. ``limit=None``: all of them (prefer :func:`iter_entries` for big exports)."""
    query = _filtered(select(AuditEntry), actor=actor, action=action, asset_id=asset_id, outcome=outcome,
                      since=since, until=until).order_by(AuditEntry.id.desc())
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.scalars(query))


def iter_entries(session: Session, *, batch: int = 2000, **filters: Any) -> Iterator[list[AuditEntry]]:
    """All lines matching ``filters`` (those of :func:`entries`), newest first, ``batch`` at a time, without
    holding them all: each batch is detached from the session once the next one is asked for."""
    before: int | None = None
    while True:
        query = _filtered(select(AuditEntry), **filters).order_by(AuditEntry.id.desc()).limit(batch)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        rows = list(session.scalars(query))
        if not rows:
            return
        yield rows
        for row in rows:
            session.expunge(row)
        if len(rows) < batch:
            return
        before = rows[-1].id


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    """A line as a plain dict (for JSON): every column, ``at`` in ISO-8601 UTC with microseconds."""
    view = {name: getattr(entry, name) for name in FIELDS}
    view["at"] = _iso(entry.at)
    return view


def _cell(value: Any) -> Any:
    """Safe for a spreadsheet: text starting like a formula (``= + - @``, tab, CR) gets a ``'`` in front."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return "" if value is None else value


def to_csv(rows: Iterable[AuditEntry], *, header: bool = True) -> str:
    """Lines as CSV (columns :data:`FIELDS`). Text that a spreadsheet would run as a formula is prefixed with
    ``'``; the JSON view keeps every value exactly as hashed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(FIELDS)
    for row in rows:
        view = entry_view(row)
        writer.writerow([_cell(view[name]) for name in FIELDS])
    return out.getvalue()
