"""The ``embed`` step and the embedding backlog: sentence vectors of a version's search documents (transcript,
on-screen text, tags, metadata, logged ranges) and a picture vector per shot keyframe, stored in the catalog
(``catalog/vectors.py``) for semantic search and "shots like this"; with an image-text model configured
(``RUSHES_CLIP_MODEL``), each keyframe in its space too, for "describe the picture".

The step embeds what its version has when its transcript and tags are done. Documents made later (a metadata edit,
a logged range) and everything when the model changes are the **backlog**, worked off a batch at a time by
:func:`work_backlog` (each process's reconciler calls it; search keeps answering from the vectors there are).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import transaction
from catalog.models import DescribedVector, PictureVector
from catalog.vector_index import simhash
from catalog.vectors import PendingDoc, PendingScene, pending_docs, pending_scenes, store_pictures, store_text
from pipeline.jobs import Job, Outcome
from rushes.errors import ConfigError, Interrupted, MediaError
from rushes.settings import Settings

log = logging.getLogger(__name__)
TEXT_BATCH = 32
BACKLOG_DOCS = 256  # documents a backlog pass embeds (about 2-3 s on one core)
BACKLOG_SCENES = 32


def text_embedder(settings: Settings) -> Any:
    from analyzers.text_embedding import load_text_embedder

    return load_text_embedder(settings.text_model)


def picture_embedder(settings: Settings) -> Any:
    from analyzers.picture_embedding import load_picture_embedder

    return load_picture_embedder(settings.picture_model, cache_dir=settings.model_cache_dir)


def described_embedder(settings: Settings) -> Any | None:
    """The image-text (CLIP) model of ``RUSHES_CLIP_MODEL``, or None when none is configured."""
    if settings.clip_model is None:
        return None
    from analyzers.clip_embedding import load_clip

    return load_clip(settings.clip_model)


def stored(vectors: np.ndarray) -> list[tuple[bytes, bytes]]:
    """Each vector as the catalog keeps it: float16 bytes and its SimHash (what the indexes hold)."""
    if not len(vectors):
        return []
    hashes = simhash(vectors)
    return [(row.astype(np.float16).tobytes(), bits.tobytes()) for row, bits in zip(vectors, hashes, strict=True)]


def embed_docs(embedder: Any, docs: list[PendingDoc], cancel: threading.Event | None = None,
               progress: Callable[[float], None] | None = None) -> list[tuple[int, int, bytes, bytes]]:
    rows: list[tuple[int, int, bytes, bytes]] = []
    for start in range(0, len(docs), TEXT_BATCH):
        if cancel is not None and cancel.is_set():
            raise Interrupted("embedding cancelled")
        batch = docs[start:start + TEXT_BATCH]
        vectors = embedder.embed([doc.text for doc in batch])
        rows += [(doc.doc_id, doc.asset_id, vector, bits)
                 for doc, (vector, bits) in zip(batch, stored(vectors), strict=True)]
        if progress is not None:
            progress(len(rows) / len(docs))
    return rows


def embed_scenes(embedder: Any, scenes: list[PendingScene]) -> list[tuple[int, int, bytes, bytes]]:
    """A vector per keyframe; a keyframe that cannot be read gets an empty one (said in the log; never searched,
    never tried again), never failing the step."""
    rows = []
    for scene in scenes:
        try:
            vector, bits = stored(embedder.embed([scene.keyframe]))[0]
        except (MediaError, OSError) as exc:
            log.warning("shot %s: keyframe %s not embedded: %s", scene.scene_id, scene.keyframe, exc)
            vector = bits = b""
        rows.append((scene.scene_id, scene.asset_id, vector, bits))
    return rows


Shots = list[tuple[Any, Any]]  # (embedder, its vector table) per model that gives keyframes a vector


def _shot_models(settings: Settings) -> tuple[Shots, str | None]:
    """The keyframe models in force (EfficientNet, and the CLIP model when one is configured), and why the CLIP
    model is left out when it cannot load (the others still embed). ``ConfigError``: the picture model."""
    shots: Shots = [(picture_embedder(settings), PictureVector)]
    try:
        described = described_embedder(settings)
    except ConfigError as exc:
        return shots, f"describe-the-picture vectors not made: {exc}"
    if described is not None:
        shots.append((described, DescribedVector))
    return shots, None


def _pending(session: Session, texts: Any, shots: Shots, *, docs: int, scenes: int,
             version_id: int | None = None) -> tuple[list[PendingDoc], list[list[PendingScene]]]:
    return (pending_docs(session, texts.name, limit=docs, version_id=version_id),
            [pending_scenes(session, model.name, limit=scenes, version_id=version_id, table=table)
             for model, table in shots])


def _store(session: Session, texts: Any, text_rows: list[Any], shots: Shots, shot_rows: list[list[Any]]) -> None:
    store_text(session, texts.name, text_rows)
    for (model, table), rows in zip(shots, shot_rows, strict=True):
        store_pictures(session, model.name, rows, table)


def run_embed(job: Job) -> Outcome:
    """Sentence vectors of the version's documents and picture vectors of its keyframes."""
    version = job.version()
    texts = text_embedder(job.settings)
    shots, note = _shot_models(job.settings)
    if note:
        log.error(note)
    with job.sessions() as session:
        docs, scenes = _pending(session, texts, shots, docs=1_000_000, scenes=100_000, version_id=version.id)
    if not docs and not any(scenes):
        return Outcome(status="skipped", note="nothing to embed")
    text_rows = embed_docs(texts, docs, job.cancel, lambda share: job.report(0.5 * share))
    shot_rows = [embed_scenes(model, pending) for (model, _), pending in zip(shots, scenes, strict=True)]
    job.report(1.0)
    return Outcome(lambda session: _store(session, texts, text_rows, shots, shot_rows), note=note)


def work_backlog(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Embed one batch of what still lacks a vector of the models in force; how many vectors were made (0: none
    waiting). A model that cannot load is said once in the log and the backlog waits (search answers without)."""
    try:
        texts = text_embedder(settings)
        shots, note = _shot_models(settings)
    except ConfigError as exc:
        _say_once(f"embeddings wait: {exc}")
        return 0
    if note:  # the other embeddings go on; describe-the-picture search says what is wrong
        _say_once(note)
    with sessions() as session:
        docs, scenes = _pending(session, texts, shots, docs=BACKLOG_DOCS, scenes=BACKLOG_SCENES)
    if not docs and not any(scenes):
        return 0
    text_rows = embed_docs(texts, docs)
    shot_rows = [embed_scenes(model, pending) for (model, _), pending in zip(shots, scenes, strict=True)]
    with transaction(sessions) as session:
        _store(session, texts, text_rows, shots, shot_rows)
    return len(text_rows) + sum(len(rows) for rows in shot_rows)


_SAID: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _SAID:
        _SAID.add(message)
        log.error(message)


class EmbeddingBacklog(threading.Thread):
    """Works off the embedding backlog a batch at a time, in a process that serves the ``embed`` queue: one
    process of the farm a turn (``Farm.take_turn``), idle while nothing waits."""

    IDLE_S = 5.0

    def __init__(self, farm: Any) -> None:
        super().__init__(name="embedding-backlog", daemon=True)
        self.farm = farm
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            made = 0
            try:
                if self.farm.take_turn("embedding-backlog", 60.0):
                    made = work_backlog(self.farm.sessions, self.farm.settings)
                    self.farm.release_turn("embedding-backlog")
            except Exception:
                log.exception("embedding backlog pass failed; trying again")
            if made:
                log.info("embedded %d waiting document(s) and keyframe(s)", made)
            else:
                self._halt.wait(self.IDLE_S)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)
