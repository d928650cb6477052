"""The team's metadata on assets and on logged ranges: read, save (refusing stale saves), bulk edits, values that
arrive at ingest (those that do not fit are kept aside, never block the file), history and audit, search docs.

Every change bumps the asset's revision (``asset_metadata``), writes one ``metadata_changes`` row per field (old and
new values: what a refused stale save is told) and one audit line. Searchable fields become search documents:
the asset's values one ``field`` document for the whole clip, each logged range a ``log`` document at its times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata import count_attention, metadata_record
from catalog.metadata_schema import FieldDef, Schema, Value
from catalog.models import (
    MediaInfoRow,
    MetadataChange,
    MetadataLog,
    MetadataReject,
    MetadataValue,
    SearchDoc,
    User,
    Version,
    utcnow,
)
from catalog.review import frame_count, frame_rate
from rushes.errors import InvalidInput, MetadataError, NotFound, StaleSave

SEARCH_KINDS = ("field", "log")  # the search documents made of metadata (an asset's fields, its logged ranges)


@dataclass
class Edit:
    """A change of fields: ``set`` replaces (None or [] clears), ``add``/``remove`` change a multiple field's
    values (or a single field's: add sets it, remove clears it when it holds that value)."""

    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, Any] = field(default_factory=dict)
    remove: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.set) | frozenset(self.add) | frozenset(self.remove)

    def __bool__(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class Saved:
    revision: int
    changed: dict[str, tuple[list[Any], list[Any]]]  # field → (old, new)


# ------------------------------------------------------------------------------------------------ reading


def stored_values(session: Session, asset_id: int, log_ids: Iterable[int] | None = None
                  ) -> dict[int | None, dict[str, list[MetadataValue]]]:
    """The asset's rows by log entry (None: the asset's own) and field, in the order they were given."""
    query = select(MetadataValue).where(MetadataValue.asset_id == asset_id)
    if log_ids is not None:
        ids = list(log_ids)
        query = query.where(MetadataValue.log_id.in_(ids) if ids else MetadataValue.log_id.is_(None))
    out: dict[int | None, dict[str, list[MetadataValue]]] = {}
    for row in session.scalars(query.order_by(MetadataValue.id)):
        out.setdefault(row.log_id, {}).setdefault(row.field, []).append(row)
    return out


def plain(schema: Schema, key: str, rows: list[MetadataValue]) -> Any:
    """Stored rows as the API gives them: a list for a multiple field, one value (or None) otherwise."""
    f = schema.fields.get(key)
    kind = f.type if f else "text"
    values = [_value(row).plain(kind) for row in rows]
    if f is not None and f.multiple:
        return values
    return values[0] if values else None


def plain_list(schema: Schema, key: str, rows: list[MetadataValue]) -> list[Any]:
    kind = schema.fields[key].type if key in schema.fields else "text"
    return [_value(row).plain(kind) for row in rows]


def _value(row: MetadataValue) -> Value:
    return Value(row.value if row.value is not None else (row.long or ""), row.number)


def changes_since(session: Session, asset_id: int, revision: int, *, asset_level: bool = False,
                  visible: set[str] | None = None) -> list[dict[str, Any]]:
    """The changes made after ``revision``: ``asset_level`` only the asset's own fields (not its logged ranges),
    ``visible`` only those fields (what the caller's views show)."""
    query = select(MetadataChange).where(MetadataChange.asset_id == asset_id, MetadataChange.revision > revision)
    if asset_level:
        query = query.where(MetadataChange.log_id.is_(None))
    rows = session.scalars(query.order_by(MetadataChange.id)).all()
    return [change_view(row) for row in rows if visible is None or row.field in visible]


def change_view(row: MetadataChange) -> dict[str, Any]:
    return {"revision": row.revision, "field": row.field, "log_id": row.log_id, "old": row.old, "new": row.new,
            "by": row.actor, "source": row.source, "at": row.at.isoformat()}


def rejects_of(session: Session, asset_id: int, *, open_only: bool = True) -> list[MetadataReject]:
    query = select(MetadataReject).where(MetadataReject.asset_id == asset_id)
    if open_only:
        query = query.where(MetadataReject.resolved_at.is_(None))
    return list(session.scalars(query.order_by(MetadataReject.id)))


def user_names(session: Session) -> list[str]:
    return list(session.scalars(select(User.name).where(User.disabled_at.is_(None))))


# ------------------------------------------------------------------------------------------------ writing


def save(session: Session, schema: Schema, asset_id: int, edit: Edit, *, actor: str, role: str | None = None,
         revision: int | None = None, source: str = "api", log_id: int | None = None,
         users: list[str] | None = None, settles: bool = True, visible: set[str] | None = None,
         rule_run: int | None = None) -> Saved:
    """Apply ``edit`` to the asset (or to its log entry ``log_id``) in the caller's transaction.

    ``revision``: the revision the editor's form was read at; when the asset has moved on since, nothing is saved
    and :class:`StaleSave` carries what changed (of the fields in ``visible``, when given: the caller's views).
    Logged ranges made since do not make a save of the asset's own fields stale. Values that do not fit raise
    :class:`MetadataError` naming each field (nothing is saved then either). ``settles``: a person setting a field
    deals with the values kept aside for it (an ingest source does not: a sheet's bad value stays to be seen even
    when a sidecar gave a good one)."""
    meta = metadata_record(session, asset_id, lock=True)
    stale = revision is not None and revision != meta.revision and (
        log_id is not None or changes_since(session, asset_id, revision, asset_level=True))
    if stale:
        assert revision is not None
        changes = changes_since(session, asset_id, revision, asset_level=log_id is None, visible=visible)
        fields = sorted({c["field"] for c in changes})
        raise StaleSave(f"the metadata changed since revision {revision} (now {meta.revision}: "
                        f"{', '.join(fields) or 'values'} by {', '.join(sorted({c['by'] for c in changes})) or '?'})"
                        f"; reload and save again", revision=meta.revision, changes=changes)
    if users is None and any(schema.fields.get(k) and schema.fields[k].type == "user" for k in edit.fields):
        users = user_names(session)
    old_rows = stored_values(session, asset_id, [log_id] if log_id is not None else []).get(log_id, {})
    wanted = _apply(schema, edit, old_rows, users)
    changed: dict[str, tuple[list[Any], list[Any]]] = {}
    now = utcnow()
    for key, values in wanted.items():
        before = [_value(row) for row in old_rows.get(key, [])]
        if before == values and not any(row.problem for row in old_rows.get(key, [])):
            continue
        kind = schema.fields[key].type
        for row in old_rows.get(key, []):
            session.delete(row)
        for value in values:
            session.add(MetadataValue(asset_id=asset_id, log_id=log_id, field=key, set_by=actor, set_at=now,
                                      value=None if kind == "long_text" else value.text, number=value.number,
                                      long=value.text if kind == "long_text" else None))
        changed[key] = ([v.plain(kind) for v in before], [v.plain(kind) for v in values])
    if not changed:
        return Saved(meta.revision, {})
    session.flush()
    _remember(session, asset_id, meta, changed, actor=actor, role=role, source=source, log_id=log_id,
              rule_run=rule_run)
    if settles:
        _resolve_rejects(session, asset_id, set(changed), actor)
    count_attention(session, asset_id)
    refresh_search(session, schema, asset_id)
    return Saved(meta.revision, changed)


def _apply(schema: Schema, edit: Edit, old_rows: Mapping[str, list[MetadataValue]],
           users: list[str] | None) -> dict[str, list[Value]]:
    """The values each field of ``edit`` is to hold; MetadataError naming every field that does not fit."""
    problems: dict[str, str] = {}
    wanted: dict[str, list[Value]] = {}
    for key in sorted(edit.fields):
        f = schema.fields.get(key)
        if f is None:
            problems[key] = f"no metadata field {key!r}"
            continue
        try:
            values = f.check(edit.set[key], users) if key in edit.set else [_value(r) for r in old_rows.get(key, [])]
            if key in edit.add:
                extra = f.check(edit.add[key], users)
                values = [*values, *(v for v in extra if v not in values)] if f.multiple else extra[:1] or values
            if key in edit.remove:
                gone = f.check(edit.remove[key], users)
                values = [v for v in values if v not in gone]
        except InvalidInput as exc:
            problems[key] = str(exc)
            continue
        wanted[key] = values
    if problems:
        raise MetadataError(problems)
    return wanted


def _remember(session: Session, asset_id: int, meta: Any, changed: dict[str, tuple[list[Any], list[Any]]], *,
              actor: str, role: str | None, source: str, log_id: int | None, rule_run: int | None = None) -> None:
    meta.revision += 1
    meta.updated_at, meta.updated_by = utcnow(), actor
    for key, (old, new) in changed.items():
        session.add(MetadataChange(asset_id=asset_id, revision=meta.revision, log_id=log_id, field=key, old=old,
                                   new=new, actor=actor, source=source, rule_run_id=rule_run))
    where = f"log {log_id}" if log_id is not None else "asset"
    record(session, actor=actor, role=role, action="metadata change", asset_id=asset_id,
           subject=f"{where} revision {meta.revision} ({source})"[:500],
           detail=json.dumps({k: {"old": o, "new": n} for k, (o, n) in changed.items()}, ensure_ascii=False))


def _resolve_rejects(session: Session, asset_id: int, fields: set[str], actor: str) -> None:
    """A person setting a field deals with what was kept aside for it."""
    for row in rejects_of(session, asset_id):
        if row.field in fields:
            row.resolved_at, row.resolved_by = utcnow(), actor


def resolve_reject(session: Session, reject_id: int, actor: str) -> MetadataReject:
    row = session.get(MetadataReject, reject_id)
    if row is None:
        raise NotFound(f"no kept-aside metadata value {reject_id}")
    if row.resolved_at is None:
        row.resolved_at, row.resolved_by = utcnow(), actor
        count_attention(session, row.asset_id)
    return row


def bulk(session: Session, schema: Schema, asset_ids: list[int], edit: Edit, *, actor: str,
         role: str | None = None) -> dict[int, Saved]:
    """The same edit on many assets in one transaction (all or nothing); asset id → what its save did."""
    users = user_names(session)
    return {asset_id: save(session, schema, asset_id, edit, actor=actor, role=role, source="bulk edit",
                           users=users) for asset_id in dict.fromkeys(asset_ids)}


# ------------------------------------------------------------------------------------------------ ingest


def field_for(schema: Schema, name: str) -> FieldDef | None:
    """The field a sidecar's or a CSV's column means: by key, else by label (case and spaces ignored)."""
    if name in schema.fields:
        return schema.fields[name]
    folded = name.strip().casefold()
    wanted = folded.replace(" ", "_").replace("-", "_")
    for f in schema.fields.values():
        if wanted in (f.key, f.title.casefold().replace(" ", "_")) or wanted in f.renamed_from:
            return f
        if any(folded == alias.casefold() for alias in f.aliases):
            return f
    return None


def ingest_values(session: Session, schema: Schema, asset_id: int, given: Mapping[str, Any], *, source: str,
                  actor: str = "ingest", defaults: bool = True) -> dict[str, Any]:
    """Values from a sidecar or a shoot CSV: those that fit are saved, those that do not are kept aside with the
    reason (the asset then needs attention). Names that are no field are left alone (the sidecar keeps them).
    ``defaults``: fields without a value get their default. Returns what was saved, kept aside and ignored."""
    users = user_names(session)
    edit, kept_aside, ignored = Edit(), {}, []
    for name, raw in given.items():
        f = field_for(schema, str(name))
        if f is None:
            ignored.append(str(name))
            continue
        try:
            f.check(raw, users)
        except InvalidInput as exc:
            kept_aside[f.key] = str(exc)
            session.add(MetadataReject(asset_id=asset_id, field=f.key, value=_raw_text(raw), source=source,
                                       reason=str(exc)))
            continue
        edit.set[f.key] = raw
    if defaults:
        present = set(stored_values(session, asset_id, []).get(None, {}))
        for key, f in schema.fields.items():
            if f.default is not None and key not in edit.set and key not in present:
                edit.set[key] = f.default
    saved = save(session, schema, asset_id, edit, actor=actor, source=source, users=users,
                 settles=False) if edit else None
    if kept_aside:
        session.flush()
        count_attention(session, asset_id)
    return {"saved": sorted(saved.changed) if saved else [], "kept_aside": kept_aside, "ignored": ignored}


def _raw_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------------------------ logs


def add_log(session: Session, schema: Schema, version: Version, start_frame: int, end_frame: int,
            values: Mapping[str, Any], *, actor: str, role: str | None = None) -> MetadataLog:
    """Log the range ``start_frame`` .. ``end_frame`` (exclusive) of ``version`` with range-level ``values``."""
    info = session.get(MediaInfoRow, version.id)
    start_s, end_s = _range(info, start_frame, end_frame)
    log = MetadataLog(asset_id=version.asset_id, version_id=version.id, start_frame=start_frame,
                      end_frame=end_frame, start_s=start_s, end_s=end_s, created_by=actor)
    session.add(log)
    session.flush()
    edit = Edit(set=dict(values))
    _check_range_fields(schema, edit)
    save(session, schema, version.asset_id, edit, actor=actor, role=role, source="log", log_id=log.id)
    refresh_search(session, schema, version.asset_id)
    return log


def change_log(session: Session, schema: Schema, log: MetadataLog, edit: Edit, *, actor: str,
               role: str | None = None, start_frame: int | None = None, end_frame: int | None = None) -> None:
    if start_frame is not None or end_frame is not None:
        info = session.get(MediaInfoRow, log.version_id)
        start = log.start_frame if start_frame is None else start_frame
        end = log.end_frame if end_frame is None else end_frame
        log.start_s, log.end_s = _range(info, start, end)
        old = [log.start_frame, log.end_frame]
        log.start_frame, log.end_frame, log.updated_at = start, end, utcnow()
        if old != [start, end]:
            meta = metadata_record(session, log.asset_id, lock=True)
            _remember(session, log.asset_id, meta, {"range": (old, [start, end])}, actor=actor, role=role,
                      source="log", log_id=log.id)
    _check_range_fields(schema, edit)
    save(session, schema, log.asset_id, edit, actor=actor, role=role, source="log", log_id=log.id)
    refresh_search(session, schema, log.asset_id)


def delete_log(session: Session, schema: Schema, log: MetadataLog, *, actor: str, role: str | None = None) -> None:
    rows = stored_values(session, log.asset_id, [log.id]).get(log.id, {})
    meta = metadata_record(session, log.asset_id, lock=True)
    gone: dict[str, tuple[list[Any], list[Any]]] = {key: (plain_list(schema, key, vs), []) for key, vs in rows.items()}
    gone["range"] = ([log.start_frame, log.end_frame], [])
    session.delete(log)
    session.flush()
    _remember(session, log.asset_id, meta, gone, actor=actor, role=role, source="log deleted", log_id=log.id)
    count_attention(session, log.asset_id)
    refresh_search(session, schema, log.asset_id)


def _check_range_fields(schema: Schema, edit: Edit) -> None:
    range_fields = {key for view in schema.views.values() if view.level == "range" for key in view.fields}
    wrong = sorted(k for k in edit.fields if k in schema.fields and k not in range_fields)
    if wrong:
        raise MetadataError({k: f"{k} is not a field of a range view (range fields: "
                                f"{', '.join(sorted(range_fields)) or 'none'})" for k in wrong})


def _range(info: MediaInfoRow | None, start: int, end: int) -> tuple[float, float]:
    frames = frame_count(info)
    if start < 0 or end <= start or (frames is not None and end > frames):
        raise InvalidInput(f"a logged range runs from an in frame to a later out frame within the media "
                           f"(frames 0 to {frames if frames is not None else '?'}), got {start} to {end}")
    rate: Fraction = frame_rate(info)
    return float(start / rate), float(end / rate)


def log_notes(session: Session, schema: Schema, version_id: int) -> list[tuple[float, float, str, str]]:
    """Each logged range of the version as (start s, end s, a short name, every field in words): the markers of
    the editor exports."""
    logs = logs_of(session, version_id)
    if not logs:
        return []
    stored = stored_values(session, logs[0].asset_id, [log.id for log in logs])
    notes = []
    for log in logs:
        rows = stored.get(log.id, {})
        texts = {key: [_value(v).text.rsplit(" > ", 1)[-1] for v in vs] for key, vs in rows.items()}
        name = ", ".join(t for vs in texts.values() for t in vs)[:60] or "logged range"
        note = "; ".join(f"{schema.fields[k].title if k in schema.fields else k}: "
                         f"{', '.join(_value(v).text for v in vs)}" for k, vs in rows.items())
        notes.append((log.start_s, log.end_s, name, note))
    return notes


def logs_of(session: Session, version_id: int) -> list[MetadataLog]:
    return list(session.scalars(select(MetadataLog).where(MetadataLog.version_id == version_id)
                                .order_by(MetadataLog.start_frame, MetadataLog.id)))


# ------------------------------------------------------------------------------------------------ search


def refresh_search(session: Session, schema: Schema, asset_id: int) -> None:
    """Re-make the asset's metadata search documents: its searchable fields (whole clip, on its newest version)
    and each logged range (at its times, on its own version)."""
    session.execute(delete(SearchDoc).where(SearchDoc.asset_id == asset_id, SearchDoc.kind.in_(SEARCH_KINDS)))
    newest = session.scalar(select(func.max(Version.id)).where(Version.asset_id == asset_id))
    if newest is None:
        return
    stored = stored_values(session, asset_id)
    own = _doc_text(schema, stored.get(None, {}))
    if own:
        session.add(SearchDoc(asset_id=asset_id, version_id=newest, kind="field", text=own))
    logs = {log.id: log for log in session.scalars(select(MetadataLog).where(MetadataLog.asset_id == asset_id))}
    for log_id, log in logs.items():
        text = _doc_text(schema, stored.get(log_id, {}))
        if text:
            session.add(SearchDoc(asset_id=asset_id, version_id=log.version_id, kind="log", start_s=log.start_s,
                                  end_s=log.end_s, text=text))


def _doc_text(schema: Schema, rows: Mapping[str, list[MetadataValue]]) -> str:
    parts = []
    for key, values in rows.items():
        f = schema.fields.get(key)
        if f is None or not f.searchable:
            continue
        shown = [_value(v).text for v in values]
        if f.type == "boolean":
            shown = [f.title for v in shown if v == "true"]
        if shown:
            parts.append(f"{f.title}: {', '.join(shown)}")
    return "; ".join(parts)
