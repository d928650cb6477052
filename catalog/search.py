"""Full-text search at timecodes: SQLite FTS5 embedded, PostgreSQL full text in the farm.

Every searchable text is a ``search_docs`` row with a time range (a transcript segment, a keyframe's
OCR text or tags, the file name and sidecar metadata for the whole clip). A hit says which asset and
version, where (seconds), what kind of hit, and the matching text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, column, delete, exists, func, literal_column, select, table
from sqlalchemy.orm import Session

from catalog.models import Asset, MediaInfoRow, Scene, SearchDoc, Version
from catalog.permissions import in_collection

FTS = table("search_fts", column("rowid"))  # the FTS5 table made by migration 0002 (SQLite only)
KINDS = ("transcript", "ocr", "tag", "name", "metadata")
_WORD = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True, slots=True)
class SearchFilters:
    collection: str | None = None
    status: str | None = None
    kind: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    has_faces: bool | None = None
    asset_scope: ColumnElement[bool] | None = None  # the assets the caller may see (catalog.permissions)


@dataclass(frozen=True, slots=True)
class Hit:
    asset_id: int
    asset_name: str
    version_id: int
    version: int
    kind: str
    start_s: float | None
    end_s: float | None
    text: str
    rank: float
    extra: dict[str, Any] = field(default_factory=dict)


def fts5_query(query: str) -> str:
    """A safe FTS5 expression: quoted phrases stay phrases, other words are ANDed (no operators leak)."""
    terms = [" ".join(_WORD.findall(p)) for p in _PHRASE.findall(query)]
    terms += _WORD.findall(_PHRASE.sub(" ", query))
    return " ".join(f'"{t}"' for t in terms if t)


def replace_docs(session: Session, version_id: int, kinds: tuple[str, ...], docs: list[SearchDoc]) -> None:
    """Replace this version's documents of ``kinds`` (steps re-run idempotently)."""
    session.execute(delete(SearchDoc).where(SearchDoc.version_id == version_id, SearchDoc.kind.in_(kinds)))
    session.add_all(docs)


def _filtered(query: Select[Any], filters: SearchFilters) -> Select[Any]:
    if filters.asset_scope is not None:
        query = query.where(filters.asset_scope)
    if filters.collection:
        query = query.where(in_collection(filters.collection))
    if filters.status:
        query = query.where(Asset.status == filters.status)
    if filters.kind:
        query = query.where(SearchDoc.kind == filters.kind)
    if filters.created_from:
        query = query.where(Asset.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Asset.created_at <= filters.created_to)
    if filters.min_duration_s is not None or filters.max_duration_s is not None:
        query = query.join(MediaInfoRow, MediaInfoRow.version_id == SearchDoc.version_id)
        if filters.min_duration_s is not None:
            query = query.where(MediaInfoRow.duration_s >= filters.min_duration_s)
        if filters.max_duration_s is not None:
            query = query.where(MediaInfoRow.duration_s <= filters.max_duration_s)
    if filters.has_faces is not None:
        faces = exists().where(Scene.version_id == SearchDoc.version_id, Scene.faces > 0)
        query = query.where(faces if filters.has_faces else ~faces)
    return query


def search(session: Session, query: str, filters: SearchFilters = SearchFilters(), *, limit: int = 50,
           offset: int = 0) -> list[Hit]:
    """Ranked hits for ``query`` (best first)."""
    columns = (SearchDoc.id, SearchDoc.asset_id, Asset.name, SearchDoc.version_id, Version.number, SearchDoc.kind,
               SearchDoc.start_s, SearchDoc.end_s, SearchDoc.text)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        expression = fts5_query(query)
        if not expression:
            return []
        rank: ColumnElement[Any] = literal_column("bm25(search_fts)")
        stmt = (select(*columns, rank.label("rank")).select_from(FTS)
                .join(SearchDoc, SearchDoc.id == FTS.c.rowid)
                .where(literal_column("search_fts").op("MATCH")(expression))
                .order_by(rank))
    else:
        tsquery = func.websearch_to_tsquery("english", query)
        tsv: ColumnElement[Any] = literal_column("search_docs.tsv")
        rank = func.ts_rank_cd(tsv, tsquery)
        stmt = (select(*columns, rank.label("rank")).select_from(SearchDoc)
                .where(tsv.op("@@")(tsquery)).order_by(rank.desc()))
    stmt = (stmt.join(Asset, Asset.id == SearchDoc.asset_id).join(Version, Version.id == SearchDoc.version_id)
            .order_by(SearchDoc.id))
    stmt = _filtered(stmt, filters).limit(limit).offset(offset)
    return [Hit(asset_id=row.asset_id, asset_name=row.name, version_id=row.version_id, version=row.number,
                kind=row.kind, start_s=row.start_s, end_s=row.end_s, text=row.text, rank=float(row.rank))
            for row in session.execute(stmt)]


def scene_at(session: Session, version_id: int, seconds: float | None) -> Scene | None:
    """The scene that contains ``seconds`` (the first scene when None)."""
    query = select(Scene).where(Scene.version_id == version_id)
    if seconds is not None:
        query = query.where(and_(Scene.start_s <= seconds + 1e-6)).order_by(Scene.start_s.desc())
    else:
        query = query.order_by(Scene.start_s)
    return session.scalars(query.limit(1)).first()
