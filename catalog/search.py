"""Full-text search at timecodes: SQLite FTS5 embedded, PostgreSQL full text in the farm.

Every searchable text is a ``search_docs`` row with a time range (a transcript segment, a keyframe's
OCR text or tags, the file name and sidecar metadata for the whole clip). A hit says which asset and
version, where (seconds), what kind of hit, and the matching text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, column, delete, exists, func, literal_column, select, table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from catalog.models import Asset, MediaInfoRow, Scene, SearchDoc, SearchLanguage, Version
from catalog.permissions import NOT_TRASHED, in_collection

FTS = table("search_fts", column("rowid"))  # the FTS5 table made by migration 0002 (SQLite only)
#: ISO 639-1 code → PostgreSQL's text search configuration; migration 0010 stems each document with the same
#: table (frozen there); a language missing here is indexed and searched with "simple" (no stemming). SQLite's
#: FTS5 has one stemmer (Porter, English) for every language: other languages match there word for word.
TEXT_SEARCH_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish", "nl": "dutch",
    "en": "english", "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
KINDS = ("transcript", "ocr", "tag", "name", "metadata", "field", "log")  # field/log: the team's own metadata
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
    metadata: ColumnElement[bool] | None = None  # field terms of the query (catalog.metadata_query)
    trashed: tuple[int, ...] = ()  # set by search(): assets in the trash, left out of a page cut before the joins


# past this many assets in the trash, a plain search joins every match to its asset instead of leaving them out by id
TRASH_CUT_LIMIT = 5_000


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
    doc_id: int | None = None  # the search document (None for an asset listed by its fields)
    matched: tuple[str, ...] = ("words",)  # how it matched: "words" (full text), "meaning" (its embedding)


def fts5_query(query: str) -> str:
    """A safe FTS5 expression: quoted phrases stay phrases, other words are ANDed (no operators leak)."""
    terms = [" ".join(_WORD.findall(p)) for p in _PHRASE.findall(query)]
    terms += _WORD.findall(_PHRASE.sub(" ", query))
    return " ".join(f'"{t}"' for t in terms if t)


def remember_languages(session: Session, codes: set[str]) -> None:
    """Note the languages of new documents (once each, whoever else notes them at the same time)."""
    if not codes:
        return
    rows = [{"language": code} for code in sorted(codes)]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql_insert(SearchLanguage).values(rows).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(SearchLanguage).values(rows).on_conflict_do_nothing())


def replace_docs(session: Session, version_id: int, kinds: tuple[str, ...], docs: list[SearchDoc]) -> None:
    """Replace this version's documents of ``kinds`` (steps re-run idempotently)."""
    session.execute(delete(SearchDoc).where(SearchDoc.version_id == version_id, SearchDoc.kind.in_(kinds)))
    session.add_all(docs)


_Query = TypeVar("_Query", bound=Select)  # a select of any columns


def _filtered(query: Select[Any], filters: SearchFilters) -> Select[Any]:
    query = _on_asset(query, filters)
    if filters.kind:
        query = query.where(SearchDoc.kind == filters.kind)
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


def _on_asset(query: _Query, filters: SearchFilters) -> _Query:
    """The filters on the asset itself: the caller's grants, collection, field terms, status, when it came."""
    for clause in (filters.asset_scope, filters.metadata):
        if clause is not None:
            query = query.where(clause)
    if filters.collection:
        query = query.where(in_collection(filters.collection))
    if filters.status:
        query = query.where(Asset.status == filters.status)
    if filters.created_from:
        query = query.where(Asset.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Asset.created_at <= filters.created_to)
    return query


# A search ranks at most this many of its matches, the newest: ranking has no shortcut on either catalog (bm25
# over FTS5, ts_rank_cd over a GIN match), so a word in most documents cost seconds to rank in full ("the" over
# 1.7 M SQLite documents 2.5 s; "time" in 287 000 of 11 M PostgreSQL documents 0.9 s). A query with fewer
# matches is ranked in full; a page the window cannot fill (a rare collection) is ranked in full too. Sizes
# measured with bench/catalog_scale.py on a million assets: every search's p95 under 100 ms for an editor too
# (SQLite at 20 000: 140 ms; PostgreSQL at 5 000: 240 ms, where finding the window is a backward scan).
RANK_WINDOW = {"sqlite": 5_000, "postgresql": 2_000}


def search(session: Session, query: str, filters: SearchFilters = SearchFilters(), *, limit: int = 50,
           offset: int = 0) -> list[Hit]:
    """Ranked hits for ``query`` (best first).

    Without filters on the asset (an admin's plain search), the page is cut on the documents alone and only
    its rows are joined to their assets; filters on the asset (a collection, a caller's grants) apply before
    the cut. The ranking looks at the newest :data:`RANK_WINDOW` matches first."""
    if _asset_free(filters):  # the trash's documents are left out of the cut by their assets' ids
        trashed = tuple(session.scalars(select(Asset.id).where(Asset.deleted_at.is_not(None))
                                        .limit(TRASH_CUT_LIMIT + 1)))
        # a big trash: the same clause as another object, so the matches are joined to their assets and filtered
        scope = Asset.deleted_at.is_(None) if len(trashed) > TRASH_CUT_LIMIT else filters.asset_scope
        filters = replace(filters, trashed=trashed if len(trashed) <= TRASH_CUT_LIMIT else (), asset_scope=scope)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        expression = fts5_query(query)
        if not expression:
            return []
        ranked: Any = functools.partial(_sqlite, expression)
        matches = select(FTS.c.rowid).select_from(FTS).where(_match(expression))
        window = RANK_WINDOW["sqlite"]
    else:
        tsquery = _tsquery(query, _configs(session))
        ranked = functools.partial(_postgres, tsquery)
        matches = select(SearchDoc.id).where(_TSV.op("@@")(tsquery))
        window = RANK_WINDOW["postgresql"]
    hits = _rows(session, ranked(filters, limit, offset, window))
    if len(hits) < limit and _at_least(session, matches, window):
        hits = _rows(session, ranked(filters, limit, offset, None))
    return hits


_COLUMNS = (SearchDoc.id.label("doc_id"), SearchDoc.asset_id, Asset.name, SearchDoc.version_id, Version.number,
            SearchDoc.kind, SearchDoc.start_s, SearchDoc.end_s, SearchDoc.text)


def _rows(session: Session, stmt: Select[Any]) -> list[Hit]:
    return [Hit(asset_id=row.asset_id, asset_name=row.name, version_id=row.version_id, version=row.number,
                kind=row.kind, start_s=row.start_s, end_s=row.end_s, text=row.text, rank=float(row.rank),
                doc_id=row.doc_id) for row in session.execute(stmt)]


def _match(expression: str) -> ColumnElement[bool]:
    return literal_column("search_fts").op("MATCH")(expression)


def _at_least(session: Session, matches: Select[Any], count: int) -> bool:
    """Whether ``matches`` (a select of one column) has ``count`` rows or more."""
    some = matches.limit(count).subquery()
    return (session.scalar(select(func.count()).select_from(some)) or 0) >= count


def _sqlite(expression: str, filters: SearchFilters, limit: int, offset: int, window: int | None) -> Select[Any]:
    """bm25 over the matches (the newest ``window`` of them), lower is better."""
    ranked = select(FTS.c.rowid.label("id"), literal_column("bm25(search_fts)").label("rank")).select_from(FTS)
    ranked = ranked.where(_match(expression))
    if window is not None:
        ranked = ranked.order_by(FTS.c.rowid.desc()).limit(window)
    found = ranked.subquery()
    return _page(found, filters, limit, offset, descending=False)


_TSV: ColumnElement[Any] = literal_column("search_docs.tsv")


def _configs(session: Session) -> list[str]:
    """The text search configurations of the languages the catalog's documents are in (english always)."""
    codes = session.scalars(select(SearchLanguage.language)).all()
    return sorted({"english", *(TEXT_SEARCH_CONFIGS.get(code, "simple") for code in codes)})


def _tsquery(query: str, configs: list[str]) -> ColumnElement[Any]:
    """The query stemmed in each configuration, any of them matching: a German document (stemmed as German) is
    found by "Nachricht" for "Nachrichten", an English one by "ride" for "riding"."""
    parts: list[ColumnElement[Any]] = [func.websearch_to_tsquery(config, query) for config in configs]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return combined


def _postgres(tsquery: ColumnElement[Any], filters: SearchFilters, limit: int, offset: int,
              window: int | None) -> Select[Any]:
    """ts_rank_cd over the matches (the newest ``window`` of them), higher is better. The window is found first
    (newest first on the primary key, or a bitmap of the GIN index: the planner picks by how common the words
    are) and only its rows are ranked."""
    if window is None:
        found = (select(SearchDoc.id.label("id"), func.ts_rank_cd(_TSV, tsquery).label("rank"))
                 .where(_TSV.op("@@")(tsquery)).subquery())
    else:
        newest = (select(SearchDoc.id.label("id"), _TSV.label("tsv")).where(_TSV.op("@@")(tsquery))
                  .order_by(SearchDoc.id.desc()).limit(window).subquery())
        found = select(newest.c.id, func.ts_rank_cd(newest.c.tsv, tsquery).label("rank")).subquery()
    return _page(found, filters, limit, offset, descending=True)


def _page(found: Any, filters: SearchFilters, limit: int, offset: int, *, descending: bool) -> Select[Any]:
    """The page of ``found`` (matching document ids with their rank; higher is better when ``descending``)
    joined to its documents and assets: cut before the joins when no filter needs the asset, after them
    (with the filters) otherwise."""
    def best_first(rows: Any) -> tuple[ColumnElement[Any], ...]:
        return (rows.c.rank.desc() if descending else rows.c.rank, rows.c.id)

    cut_first = _asset_free(filters)
    if cut_first:
        cut = select(found.c.id, found.c.rank)
        if filters.kind or filters.trashed:
            cut = cut.join(SearchDoc, SearchDoc.id == found.c.id)
        if filters.kind:
            cut = cut.where(SearchDoc.kind == filters.kind)
        if filters.trashed:
            cut = cut.where(SearchDoc.asset_id.not_in(filters.trashed))
        found = cut.order_by(*best_first(found)).limit(limit).offset(offset).subquery()
    stmt = (select(*_COLUMNS, found.c.rank).select_from(found).join(SearchDoc, SearchDoc.id == found.c.id)
            .join(Asset, Asset.id == SearchDoc.asset_id).join(Version, Version.id == SearchDoc.version_id)
            .order_by(*best_first(found)))
    return stmt if cut_first else _filtered(stmt, filters).limit(limit).offset(offset)


def _asset_free(filters: SearchFilters) -> bool:
    """Whether no filter needs the asset's row (so the page can be cut before any join). An admin's scope (nothing
    but "not in the trash") counts as none: the cut leaves the trash's documents out by their asset ids."""
    unscoped = filters.asset_scope is None or filters.asset_scope is NOT_TRASHED or \
        isinstance(filters.asset_scope, True_)
    return unscoped and filters.metadata is None and not (
        filters.collection or filters.status or filters.created_from or filters.created_to
        or filters.min_duration_s is not None or filters.max_duration_s is not None or filters.has_faces is not None)




def asset_matches(session: Session, filters: SearchFilters, *, limit: int = 50, offset: int = 0) -> list[Hit]:
    """A query of field terms only (``camera:"A cam" shoot_date:2026-11-01..``): the matching assets, newest
    first, each as a hit on its newest version with its metadata's text (kind ``asset``)."""
    newest = select(func.max(Version.id)).where(Version.asset_id == Asset.id).correlate(Asset).scalar_subquery()
    query = select(Asset.id, Asset.name, Version.id.label("version_id"), Version.number).join(
        Version, Version.id == newest)
    query = _on_asset(query, filters)
    rows = session.execute(query.order_by(Asset.id.desc()).limit(limit).offset(offset)).all()
    texts = dict(session.execute(select(SearchDoc.asset_id, SearchDoc.text).where(
        SearchDoc.asset_id.in_([row.id for row in rows]), SearchDoc.kind == "field")).tuples().all()) if rows else {}
    return [Hit(asset_id=row.id, asset_name=row.name, version_id=row.version_id, version=row.number, kind="asset",
                start_s=None, end_s=None, text=texts.get(row.id, ""), rank=0.0) for row in rows]
