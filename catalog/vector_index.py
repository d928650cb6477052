"""Nearest vectors at a million rows on both catalogs, without a database extension.

Each vector is stored with its **SimHash** (``bits``): the signs of a fixed random projection (384 bits for a
sentence vector, 512 for a keyframe's), whose Hamming distance tracks the angle between two vectors. An index keeps
only those bits, the row's key and asset in memory (64 bytes a keyframe, 48 a sentence: 46 MB for a million
sentences), catching up from the catalog by row id. A query is answered in two passes: the Hamming distance to
every row (``numpy.bitwise_count`` over 64-bit words) picks the nearest candidates, then their stored float16
vectors, read from the catalog by key, are ranked exactly by cosine. Candidates outside what the caller may see are
dropped by the catalog query that reads them, and the candidate set grows until the page fills.

Neither SQLite nor a PostgreSQL without pgvector can rank a million vectors in a query's time (sqlite-vec's brute
force over float32: about a second; PostgreSQL over bit strings with ``bit_count``: 200-300 ms, measured here);
this in-process index answers in tens of milliseconds and is the same on both catalogs. The catalog stays the
truth: an index is a cache made from it (saved under the data folder so a restart does not re-read every row).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import one_of
from catalog.models import DescribedVector, PictureVector, TextVector

log = logging.getLogger(__name__)
SEED = 14  # the projection is a function of the dimension and this seed: every process hashes alike
LOAD_BATCH = 100_000
CANDIDATES = 1000  # the nearest by Hamming distance that are ranked exactly (recall@10 0.96 at 1M, measured)
PICTURE_CANDIDATES = 200  # (or ten times the answer) a keyframe's vector is 3.3 times a sentence's: reading it is
# what a query costs (on PostgreSQL a vector is stored out of line: ~60 µs a row not in memory). At a million
# keyframes the shots found are within 0.01 cosine of the exact nearest (bench/semantic_scale.py --quality)
MAX_CANDIDATES = 256_000  # how far a caller who sees little of the library is looked for


FAR = np.iinfo(np.uint16).max


def _hamming(words: np.ndarray, target: np.ndarray, hidden: np.ndarray | None) -> np.ndarray:
    """The Hamming distance of every row (column of ``words``) to ``target``; hidden rows are FAR."""
    distance = np.zeros(words.shape[1], dtype=np.uint16)
    for column, word in zip(words, target, strict=False):
        distance += np.bitwise_count(column ^ word)
    if hidden is not None:
        distance[hidden] = FAR
    return distance


def _smallest(distance: np.ndarray, take: int) -> np.ndarray:
    """The positions of the ``take`` smallest distances, nearest first (ties in row order). A distance is a small
    integer: a histogram finds the cut in one pass (argpartition over a million rows costs six times as much)."""
    if take >= len(distance):
        return np.argsort(distance, kind="stable")
    cut = int(np.searchsorted(np.cumsum(np.bincount(distance)), take))
    inside = np.flatnonzero(distance <= cut)
    return inside[np.argsort(distance[inside], kind="stable")][:take]


def bits_for(dim: int) -> int:
    return 384 if dim <= 384 else 512


@cache
def _projection(dim: int) -> np.ndarray:
    return np.random.default_rng(SEED + dim).standard_normal((dim, bits_for(dim))).astype(np.float32)


def simhash(vectors: np.ndarray) -> np.ndarray:
    """``n x d`` vectors → ``n x bits/8`` bytes: the signs of their projection, packed."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return np.packbits(vectors @ _projection(vectors.shape[1]) > 0, axis=1)


@dataclass(frozen=True)
class Table:
    """What an index reads: a vector table, its key column and its model."""

    model: type[TextVector] | type[PictureVector] | type[DescribedVector]
    key: Any  # TextVector.doc_id | PictureVector.scene_id | DescribedVector.scene_id


TEXT = Table(TextVector, TextVector.doc_id)
PICTURES = Table(PictureVector, PictureVector.scene_id)
DESCRIBED = Table(DescribedVector, DescribedVector.scene_id)


class VectorIndex:
    """The SimHash rows of one table and model, kept in step with the catalog; thread-safe."""

    def __init__(self, table: Table, model_name: str, cache_file: Path | None = None,
                 candidates: int = CANDIDATES) -> None:
        self.table, self.model_name, self.cache_file = table, model_name, cache_file
        self.candidates = candidates  # how many of the nearest hashes are ranked exactly
        self._masks: dict[Any, np.ndarray] = {}
        self.keys = np.zeros(0, dtype=np.int64)
        self.assets = np.zeros(0, dtype=np.int64)
        self.words = np.zeros((0, 0), dtype=np.uint64)  # hash words x rows
        self.last_id = 0
        self._lock = threading.Lock()
        self._load_cache()

    @property
    def size(self) -> int:
        return len(self.keys)

    # ------------------------------------------------------------------------------------------- keeping up

    def refresh(self, session: Session, *, force: bool = False) -> int:
        """Add the rows made since the last look; how many were added. Looking costs one primary-key lookup (the
        newest row id) when nothing is new."""
        columns = self.table.model
        if not force and (session.scalar(select(func.max(columns.id))) or 0) <= self.last_id:
            return 0
        with self._lock:
            added = 0
            columns = self.table.model
            while True:
                rows = session.execute(
                    select(columns.id, self.table.key, columns.asset_id, columns.bits)
                    .where(columns.model == self.model_name, columns.id > self.last_id)
                    .order_by(columns.id).limit(LOAD_BATCH)).all()
                if not rows:
                    break
                self.last_id = int(rows[-1][0])
                rows = [row for row in rows if row[3]]  # an empty vector: a picture that could not be read
                if rows:
                    self._append([r[1] for r in rows], [r[2] for r in rows], b"".join(r[3] for r in rows))
                added += len(rows)
            return added

    def _append(self, keys: list[int], assets: list[int], packed: bytes) -> None:
        width = len(packed) // len(keys)
        if width % 8:
            raise ValueError(f"hash rows of {width} bytes: expected whole 64-bit words")
        # column by column (one row per 64-bit word of the hash): a query streams each column once
        words = np.ascontiguousarray(np.frombuffer(packed, dtype=np.uint64).reshape(len(keys), width // 8).T)
        self.words = words if self.words.size == 0 else np.concatenate([self.words, words], axis=1)
        self.keys = np.concatenate([self.keys, np.asarray(keys, dtype=np.int64)])
        self.assets = np.concatenate([self.assets, np.asarray(assets, dtype=np.int64)])

    # ------------------------------------------------------------------------------------------- asking

    def nearest(self, session: Session, query: np.ndarray, limit: int,
                allowed: Callable[[list[int]], set[int]] | None = None, *, exclude: Iterable[int] = (),
                min_score: float = -1.0, assets: Sequence[int] | None = None,
                assets_key: Any = None) -> list[tuple[int, float]]:
        """The ``limit`` keys nearest to ``query`` (a unit vector) with their cosine, best first. ``allowed``
        keeps the candidate keys the caller may see (a catalog query: the truth); ``assets``, when given, the
        assets the caller sees, so the candidates are taken among them first (a caller who sees a tenth of the
        library would otherwise have nine candidates in ten refused; ``assets_key`` names that set, so its row mask
        is made once); ``exclude``: keys not to answer."""
        self.refresh(session)
        if self.size == 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        target = np.frombuffer(simhash(query[None, :]).tobytes(), dtype=np.uint64)
        with self._lock:
            words, keys = self.words, self.keys
        hidden = self._hidden(assets, assets_key, words.shape[1]) if assets is not None else None
        skip = set(exclude)
        wanted = min(self.candidates, limit * 10)
        candidates = max(self.candidates, limit * 10)
        distance = _hamming(words, target, hidden)
        while True:
            rows = _smallest(distance, min(candidates, len(distance)))
            chosen = [k for k in dict.fromkeys(keys[rows].tolist()) if k not in skip]
            if allowed is not None and chosen:
                visible = set().union(*(allowed(chosen[i:i + 5000]) for i in range(0, len(chosen), 5000)))
                chosen = [k for k in chosen if k in visible]
            # enough the caller may see among the nearest (or nowhere further to look): rank them exactly
            if len(chosen) >= wanted or len(rows) >= len(keys) or candidates >= MAX_CANDIDATES:
                break
            candidates *= 8
        found = self._rank(session, query, chosen[:max(self.candidates, limit * 10)], min_score)
        return sorted(found.items(), key=lambda item: -item[1])[:limit]

    def _hidden(self, assets: Sequence[int], key: Any, rows: int) -> np.ndarray:
        """The rows whose asset is not in ``assets`` (kept per ``key`` while the index does not grow)."""
        cached = self._masks.get(key) if key is not None else None
        if cached is not None and len(cached) == rows:
            return cached
        hidden = ~np.isin(self.assets[:rows], np.asarray(assets, dtype=np.int64))
        if key is not None:
            if len(self._masks) >= 64:
                self._masks.pop(next(iter(self._masks)))
            self._masks[key] = hidden
        return hidden

    def _rank(self, session: Session, query: np.ndarray, keys: list[int], min_score: float) -> dict[int, float]:
        columns = self.table.model
        scores: dict[int, float] = {}
        for start in range(0, len(keys), 5000):
            # by the key's unique index alone: with "model = ?" too, SQLite's planner chose the model's index and
            # read every row of the model (0.6 s at a million)
            rows = session.execute(select(self.table.key, columns.vector, columns.model).where(
                one_of(session, self.table.key, keys[start:start + 5000]))).all()
            rows = [row for row in rows if row[1] and row[2] == self.model_name]
            if not rows:
                continue
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), -1)
            values = matrix.astype(np.float32) @ query
            for (key, _vector, _model), score in zip(rows, values.tolist(), strict=True):
                if score >= min_score:
                    scores[int(key)] = float(score)
        return scores

    # ------------------------------------------------------------------------------------------- the cache file

    def save(self) -> None:
        if self.cache_file is None or self.size == 0:
            return
        with self._lock:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            part = self.cache_file.with_name(f".{self.cache_file.name}.part.npz")
            np.savez(part, keys=self.keys, assets=self.assets, words=self.words, last_id=np.int64(self.last_id),
                     model=np.array(self.model_name))
            part.replace(self.cache_file)

    def _load_cache(self) -> None:
        if self.cache_file is None or not self.cache_file.is_file():
            return
        try:
            with np.load(self.cache_file) as saved:
                if str(saved["model"]) != self.model_name:
                    return
                self.keys, self.assets, self.words = saved["keys"], saved["assets"], saved["words"]
                self.last_id = int(saved["last_id"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning("index cache %s not used (%s): it is made again from the catalog", self.cache_file, exc)
