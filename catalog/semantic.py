"""Search that understands: full text and meaning ranked together.

A query is answered twice — by the full-text index (the words) and by the sentence embeddings of the search
documents (the meaning: "a man riding a bike" finds the segment that says "cyclist") — and the two rankings are
fused by reciprocal rank (``1 / (60 + rank)`` summed, the usual k): a document both find comes first, one only
the meaning finds still comes in. Each hit says how it matched. Filters and the caller's grants apply to both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import one_of
from catalog.models import Asset, SearchDoc, Version
from catalog.search import Hit, SearchFilters, _filtered, search
from catalog.vector_index import VectorIndex
from catalog.vectors import EMBEDDED_KINDS

RRF_K = 60
DEPTH = 100  # how deep each ranking is read before fusing
MIN_MEANING = 0.2  # cosine under which a document is not taken to mean the query (all-MiniLM-L6-v2 here: unrelated
# passages -0.1 to 0.15, paraphrases 0.3 to 0.7; "president speaking to the nation" against JFK's "my fellow
# Americans, ask not..." 0.30)


def visible_docs(session: Session, filters: SearchFilters) -> Callable[[list[int]], set[int]]:
    """The documents of ``keys`` that the filters and the caller's grants allow."""
    def allowed(keys: list[int]) -> set[int]:
        query = (select(SearchDoc.id).join(Asset, Asset.id == SearchDoc.asset_id)
                 .where(one_of(session, SearchDoc.id, keys), SearchDoc.kind.in_(EMBEDDED_KINDS)))
        return set(session.scalars(_filtered(query, filters)))
    return allowed


def by_meaning(session: Session, index: VectorIndex, query_vector: np.ndarray, filters: SearchFilters,
               depth: int = DEPTH, min_score: float = MIN_MEANING,
               assets: Sequence[int] | None = None, assets_key: Any = None) -> list[tuple[int, float]]:
    return index.nearest(session, query_vector, depth, visible_docs(session, filters), min_score=min_score,
                         assets=assets, assets_key=assets_key)


def hybrid(session: Session, query: str, query_vector: np.ndarray, index: VectorIndex, filters: SearchFilters,
           *, limit: int = 50, offset: int = 0, words: bool = True, assets: Sequence[int] | None = None,
           assets_key: Any = None) -> list[Hit]:
    """Hits ranked by words and meaning together (``words=False``: by meaning alone); ``assets``: those the caller
    sees (catalog.permissions.visible_asset_ids), to narrow the meaning's candidates."""
    depth = max(DEPTH, offset + limit)
    text_hits = search(session, query, filters, limit=depth) if words and query.strip() else []
    meaning = by_meaning(session, index, query_vector, filters, depth, assets=assets, assets_key=assets_key)
    fused: dict[int, float] = {}
    how: dict[int, list[str]] = {}
    for rank, hit in enumerate(text_hits):
        if hit.doc_id is None:
            continue
        fused[hit.doc_id] = fused.get(hit.doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        how.setdefault(hit.doc_id, []).append("words")
    similarity = dict(meaning)
    for rank, (doc_id, _score) in enumerate(meaning):
        fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        how.setdefault(doc_id, []).append("meaning")
    page = sorted(fused, key=lambda doc_id: -fused[doc_id])[offset:offset + limit]
    known: dict[int, Hit] = {hit.doc_id: hit for hit in text_hits if hit.doc_id is not None}
    known.update(_hits(session, [doc_id for doc_id in page if doc_id not in known]))
    out = []
    for doc_id in page:
        if doc_id not in known:  # gone since it was indexed
            continue
        hit = known[doc_id]
        extra: dict[str, Any] = {"similarity": round(similarity[doc_id], 4)} if doc_id in similarity else {}
        out.append(Hit(asset_id=hit.asset_id, asset_name=hit.asset_name, version_id=hit.version_id,
                       version=hit.version, kind=hit.kind, start_s=hit.start_s, end_s=hit.end_s, text=hit.text,
                       rank=round(fused[doc_id], 6), extra=extra, doc_id=doc_id, matched=tuple(how[doc_id])))
    return out


def _hits(session: Session, doc_ids: list[int]) -> dict[int, Hit]:
    if not doc_ids:
        return {}
    rows = session.execute(
        select(SearchDoc.id, SearchDoc.asset_id, Asset.name, SearchDoc.version_id, Version.number, SearchDoc.kind,
               SearchDoc.start_s, SearchDoc.end_s, SearchDoc.text)
        .join(Asset, Asset.id == SearchDoc.asset_id).join(Version, Version.id == SearchDoc.version_id)
        .where(SearchDoc.id.in_(doc_ids)))
    return {row.id: Hit(asset_id=row.asset_id, asset_name=row.name, version_id=row.version_id, version=row.number,
                        kind=row.kind, start_s=row.start_s, end_s=row.end_s, text=row.text, rank=0.0, doc_id=row.id)
            for row in rows}
