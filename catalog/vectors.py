"""Embeddings in the catalog's own tables: a vector per search document (``text_vectors``) and per shot keyframe
(``picture_vectors``, and ``described_vectors`` when an image-text model is configured), each with the model that
made it, as float16 bytes.

What still needs a vector for a model (a new version's documents, a metadata edit's new document, every row when the
model changed) is found by :func:`pending_docs` / :func:`pending_scenes`; the embedding step and the backlog fill
it. Search reads only the vectors of the model in force, so it keeps answering while a new model catches up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from catalog.models import DescribedVector, PictureVector, Scene, SearchDoc, TextVector, Version

EMBEDDED_KINDS = ("transcript", "ocr", "tag", "metadata", "field", "log")  # not "name": a file name means nothing


@dataclass(frozen=True)
class PendingDoc:
    doc_id: int
    asset_id: int
    text: str


@dataclass(frozen=True)
class PendingScene:
    scene_id: int
    asset_id: int
    keyframe: str


def pending_docs(session: Session, model: str, *, limit: int = 256, version_id: int | None = None,
                 after: int = 0) -> list[PendingDoc]:
    """Documents without a vector of ``model`` (none yet, or another model's), oldest first from ``after``."""
    query = (select(SearchDoc.id, SearchDoc.asset_id, SearchDoc.text)
             .outerjoin(TextVector, TextVector.doc_id == SearchDoc.id)
             .where(SearchDoc.kind.in_(EMBEDDED_KINDS), SearchDoc.id > after,
                    or_(TextVector.id.is_(None), TextVector.model != model)))
    if version_id is not None:
        query = query.where(SearchDoc.version_id == version_id)
    return [PendingDoc(*row) for row in session.execute(query.order_by(SearchDoc.id).limit(limit))]


ShotTable = type[PictureVector] | type[DescribedVector]


def pending_scenes(session: Session, model: str, *, limit: int = 64, version_id: int | None = None,
                   after: int = 0, table: ShotTable = PictureVector) -> list[PendingScene]:
    """Shots with a keyframe and no vector of ``model`` in ``table``, oldest first from ``after``."""
    query = (select(Scene.id, Version.asset_id, Scene.keyframe_path)
             .join(Version, Version.id == Scene.version_id)
             .outerjoin(table, table.scene_id == Scene.id)
             .where(Scene.keyframe_path.is_not(None), Scene.id > after,
                    or_(table.id.is_(None), table.model != model)))
    if version_id is not None:
        query = query.where(Scene.version_id == version_id)
    rows = session.execute(query.order_by(Scene.id).limit(limit))
    return [PendingScene(row[0], row[1], row[2] or "") for row in rows]


def store_text(session: Session, model: str, rows: Sequence[tuple[int, int, bytes, bytes]]) -> None:
    """(doc id, asset id, float16 bytes, SimHash bytes) rows; a document's older vector is replaced. A document
    deleted meanwhile (a metadata edit re-made it) is skipped."""
    _store(session, TextVector, TextVector.doc_id, SearchDoc.id, model, rows)


def store_pictures(session: Session, model: str, rows: Sequence[tuple[int, int, bytes, bytes]],
                   table: ShotTable = PictureVector) -> None:
    """(scene id, asset id, float16 bytes, SimHash bytes) rows, as :func:`store_text` for shots."""
    _store(session, table, table.scene_id, Scene.id, model, rows)


def _store(session: Session, table: type[TextVector] | ShotTable, key: Any, owner: Any, model: str,
           rows: Sequence[tuple[int, int, bytes, bytes]]) -> None:
    if not rows:
        return
    ids = [row[0] for row in rows]
    alive = set(session.scalars(select(owner).where(owner.in_(ids))))
    session.execute(delete(table).where(key.in_(ids)))
    session.add_all(table(**{key.key: row_key, "asset_id": asset_id, "model": model, "vector": vector, "bits": bits})
                    for row_key, asset_id, vector, bits in rows if row_key in alive)
    session.flush()


def coverage(session: Session, text_model: str, picture_model: str | None,
             described_model: str | None = None) -> dict[str, dict[str, Any]]:
    """How far the embeddings are: documents and shots with a vector of the model in force, of all."""
    docs = session.scalar(select(func.count()).select_from(SearchDoc).where(SearchDoc.kind.in_(EMBEDDED_KINDS))) or 0
    done = session.scalar(select(func.count()).select_from(TextVector).where(TextVector.model == text_model)) or 0
    out: dict[str, dict[str, Any]] = {"text": {"model": text_model, "embedded": done, "total": docs}}
    if picture_model is not None:
        shots = session.scalar(select(func.count()).select_from(Scene).where(Scene.keyframe_path.is_not(None))) or 0
        made = session.scalar(select(func.count()).select_from(PictureVector)
                              .where(PictureVector.model == picture_model)) or 0
        out["pictures"] = {"model": picture_model, "embedded": made, "total": shots}
        if described_model is not None:
            made = session.scalar(select(func.count()).select_from(DescribedVector)
                                  .where(DescribedVector.model == described_model)) or 0
            out["described"] = {"model": described_model, "embedded": made, "total": shots}
    return out
