"""The metadata schema in the catalog: every version kept, the newest in force, and what a new version does to
the values already stored (a renamed field keeps its values; a value whose choice or term is gone is flagged).

The YAML files are the source people edit (``catalog/metadata_schema.py`` reads them); :func:`sync_schema` makes a
new version when their meaning changed and is a no-op (one query) otherwise, so every process of the farm may call
it at start. Processes read the schema in force with :func:`schema_in_force` (parsed once per version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata_schema import FieldDef, Schema, parse_schema
from catalog.models import AssetMetadata, MetadataReject, MetadataSchemaVersion, MetadataValue, utcnow
from rushes.errors import InvalidInput

LOCK_KEY = int.from_bytes(b"rushmeta", "big")  # serialises schema syncs of the farm's processes (PostgreSQL)
_PARSED: dict[str, Schema] = {}  # content hash → schema, parsed once per process


@dataclass(frozen=True)
class SchemaInForce:
    version: int
    schema: Schema
    content_hash: str


@dataclass
class SchemaSync:
    """What a sync did: the version in force, whether it is new, and what it did to stored values."""

    version: int
    created: bool
    summary: str = ""
    renamed: dict[str, int] = field(default_factory=dict)  # "old → new" → values moved
    flagged: int = 0  # values that no longer fit
    cleared: int = 0  # flagged values that fit again


def schema_in_force(session: Session) -> SchemaInForce | None:
    """The newest schema version, or None before the first sync."""
    row = session.execute(select(MetadataSchemaVersion.version, MetadataSchemaVersion.content_hash)
                          .order_by(MetadataSchemaVersion.version.desc()).limit(1)).first()
    if row is None:
        return None
    schema = _PARSED.get(row.content_hash)
    if schema is None:
        definition = session.scalar(select(MetadataSchemaVersion.definition)
                                    .where(MetadataSchemaVersion.version == row.version))
        schema = _PARSED[row.content_hash] = parse_schema({"catalog": definition or {}},
                                                          f"schema version {row.version}")
    return SchemaInForce(row.version, schema, row.content_hash)


def require_schema(session: Session) -> SchemaInForce:
    state = schema_in_force(session)
    if state is None:
        raise InvalidInput("no metadata schema yet: start Rushes once, or run `rushes metadata sync`")
    return state


def sync_schema(session: Session, schema: Schema, files: dict[str, str], *, actor: str) -> SchemaSync:
    """Make ``schema`` the one in force (a new version when its meaning changed) and bring stored values in line:
    values of a renamed field move to its new key; values a field no longer takes are flagged (the asset then
    needs attention), and flagged values it takes again are cleared."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    before = schema_in_force(session)
    digest = schema.content_hash
    if before is not None and before.content_hash == digest:
        return SchemaSync(before.version, created=False)
    known = session.scalar(select(func.min(MetadataSchemaVersion.version))
                           .where(MetadataSchemaVersion.content_hash == digest))  # a change undone
    version = (before.version if before else 0) + 1
    result = SchemaSync(version, created=True)
    for old, new in schema.renames().items():
        moved = session.execute(update(MetadataValue).where(MetadataValue.field == old).values(field=new))
        session.execute(update(MetadataReject).where(MetadataReject.field == old).values(field=new))
        if moved.rowcount:  # type: ignore[attr-defined]
            result.renamed[f"{old} → {new}"] = moved.rowcount  # type: ignore[attr-defined]
    changed = [key for key, f in schema.fields.items()
               if before is None or _definition(before.schema.fields.get(key)) != _definition(f)
               or key in schema.renames().values()]
    affected: set[int] = set()
    for key in changed:
        flagged, cleared, assets = _recheck(session, schema.fields[key], version)
        result.flagged += flagged
        result.cleared += cleared
        affected |= assets
    for asset_id in affected:
        count_attention(session, asset_id)
    result.summary = _summary(before.schema if before else None, schema, result, again=known)
    session.add(MetadataSchemaVersion(version=version, content_hash=digest, definition=schema.definition,
                                      files=files, created_by=actor, summary=result.summary))
    _PARSED[digest] = schema
    if before is not None:  # the first version, from the bundled files, changes nothing anyone made
        record(session, actor=actor, action="metadata schema change", subject=f"schema version {version}",
               detail=result.summary)
    return result


def _definition(f: FieldDef | None) -> str:
    return json.dumps(f.model_dump(mode="json", exclude={"renamed_from"}), sort_keys=True) if f else ""


def _recheck(session: Session, f: FieldDef, version: int) -> tuple[int, int, set[int]]:
    """Flag the stored values of ``f`` it no longer takes; clear the flags of those it takes again."""
    rows = session.execute(select(MetadataValue.value, MetadataValue.long, MetadataValue.problem)
                           .where(MetadataValue.field == f.key).distinct()).all()
    bad: dict[str, str] = {}
    good: set[str] = set()
    for row in rows:
        stored = row.value if row.value is not None else row.long
        if stored is None:
            continue
        try:
            fits = f.check(stored)[0].text == stored
            reason = f"{stored!r} is no longer a value of {f.key} (schema version {version})"
        except InvalidInput as exc:
            fits, reason = False, f"{exc} (schema version {version})"
        if fits:
            if row.problem is not None:
                good.add(stored)
        else:
            bad[stored] = reason
    column = MetadataValue.long if f.type == "long_text" else MetadataValue.value
    assets: set[int] = set()
    flagged = cleared = 0
    for stored, reason in bad.items():
        where = and_(MetadataValue.field == f.key, column == stored, MetadataValue.problem.is_(None))
        assets |= set(session.scalars(select(MetadataValue.asset_id).where(where)).all())
        flagged += session.execute(update(MetadataValue).where(where).values(problem=reason)).rowcount  # type: ignore[attr-defined]
    for stored in good:
        where = and_(MetadataValue.field == f.key, column == stored, MetadataValue.problem.is_not(None))
        assets |= set(session.scalars(select(MetadataValue.asset_id).where(where)).all())
        cleared += session.execute(update(MetadataValue).where(where).values(problem=None)).rowcount  # type: ignore[attr-defined]
    return flagged, cleared, assets


def count_attention(session: Session, asset_id: int) -> int:
    """Recount what of the asset's metadata needs a person: values kept aside unresolved, values flagged."""
    rejects = session.scalar(select(func.count()).select_from(MetadataReject)
                             .where(MetadataReject.asset_id == asset_id, MetadataReject.resolved_at.is_(None))) or 0
    flagged = session.scalar(select(func.count()).select_from(MetadataValue)
                             .where(MetadataValue.asset_id == asset_id, MetadataValue.problem.is_not(None))) or 0
    record_ = metadata_record(session, asset_id)
    record_.attention = rejects + flagged
    return record_.attention


def metadata_record(session: Session, asset_id: int, *, lock: bool = False) -> AssetMetadata:
    """The asset's metadata record (revision, attention), made when missing; ``lock``: held until the transaction
    ends (PostgreSQL; SQLite's writers are one at a time anyway)."""
    query = select(AssetMetadata).where(AssetMetadata.asset_id == asset_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        session.execute(insert(AssetMetadata).values(asset_id=asset_id, revision=0, attention=0, updated_at=utcnow())
                        .on_conflict_do_nothing())
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        row = AssetMetadata(asset_id=asset_id, revision=0, attention=0)
        session.add(row)
        session.flush()
    return row


def _summary(before: Schema | None, after: Schema, sync: SchemaSync, *, again: int | None) -> str:
    if before is None:
        return f"first schema: {len(after.fields)} fields, {len(after.views)} views"
    parts = []
    for what, old, new in (("field", before.fields, after.fields), ("view", before.views, after.views),
                           ("vocabulary", before.vocabularies, after.vocabularies),
                           ("taxonomy", before.taxonomies, after.taxonomies)):
        added = [k for k in new if k not in old and not (what == "field" and k in sync_renamed(sync))]
        gone = [k for k in old if k not in new and not (what == "field" and k in sync_renamed_from(sync))]
        changed = [k for k in new if k in old and _plain(old[k]) != _plain(new[k])]
        for label, keys in (("added", added), ("removed", gone), ("changed", changed)):
            if keys:
                parts.append(f"{what} {label}: {', '.join(keys)}")
    for pair, moved in sync.renamed.items():
        parts.append(f"renamed {pair} ({moved} values kept)")
    if sync.flagged:
        parts.append(f"{sync.flagged} stored values no longer fit (flagged)")
    if sync.cleared:
        parts.append(f"{sync.cleared} flagged values fit again")
    if again is not None:
        parts.append(f"same as version {again}")
    return "; ".join(parts) or "no change in meaning"


def sync_renamed(sync: SchemaSync) -> set[str]:
    return {pair.split(" → ")[1] for pair in sync.renamed}


def sync_renamed_from(sync: SchemaSync) -> set[str]:
    return {pair.split(" → ")[0] for pair in sync.renamed}


def _plain(item: Any) -> str:
    if hasattr(item, "model_dump"):
        return json.dumps(item.model_dump(mode="json"), sort_keys=True)
    return json.dumps(item, sort_keys=True)


def schema_versions(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(MetadataSchemaVersion).order_by(MetadataSchemaVersion.version.desc())).all()
    return [{"version": r.version, "content_hash": r.content_hash, "created_at": r.created_at.isoformat(),
             "created_by": r.created_by, "summary": r.summary} for r in rows]
