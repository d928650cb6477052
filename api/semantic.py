"""Search by meaning and by picture: the API process's vector indexes (made from the catalog's vectors, kept in
step by row id, saved under ``<data>/indexes``), "shots like this", search by an uploaded still, the plug-in point
for "describe the picture" search, and how far the embeddings are."""

from __future__ import annotations

import io
import logging
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Query, Request
from PIL import Image, UnidentifiedImageError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from api.auth import visible_asset
from api.deps import DB, ReadDB, Reader
from api.events import audit
from catalog.db import one_of
from catalog.models import Asset, MediaInfoRow, PictureVector, Scene, TextVector, User, Version
from catalog.permissions import asset_scope, visible_asset_ids
from catalog.vector_index import DESCRIBED, PICTURE_CANDIDATES, PICTURES, TEXT, VectorIndex
from catalog.vectors import coverage
from catalog.views import Clock, keyframe_url
from rushes.errors import ConfigError, InvalidInput, NotConfigured, NotFound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["search"])
NEAR_DUPLICATE = 0.95  # keyframe cosine from which two shots are the same material: the keyframes of a half-size
# re-encode (through its own proxy) score 0.96-0.97 against the original's, at CRF 30 0.96 too; another frame of a
# moving shot 0.79-0.92 here (a static shot's frames come nearer: within one asset they are never flagged)
ASSETS_TTL_S = 30.0
SIMILAR = 0.6  # cosine under which a shot is not offered as "like this one"


class Semantic:
    """The embedders (loaded on first use) and the indexes of one API process."""

    def __init__(self, farm: Any) -> None:
        self.farm = farm
        self._lock = threading.Lock()
        self._text: tuple[Any, VectorIndex] | None = None
        self._pictures: tuple[Any, VectorIndex] | None = None
        self._described: tuple[Any, VectorIndex] | None = None
        self._assets: dict[int, tuple[float, list[int]]] = {}

    def _folder(self) -> Path:
        return self.farm.settings.data / "indexes"

    def text(self) -> tuple[Any, VectorIndex]:
        with self._lock:
            if self._text is None:
                from pipeline.embed_tasks import text_embedder

                embedder = text_embedder(self.farm.settings)
                self._text = embedder, VectorIndex(TEXT, embedder.name, self._folder() / "text.npz")
            return self._text

    def pictures(self) -> tuple[Any, VectorIndex]:
        with self._lock:
            if self._pictures is None:
                from pipeline.embed_tasks import picture_embedder

                embedder = picture_embedder(self.farm.settings)
                self._pictures = embedder, VectorIndex(PICTURES, embedder.name, self._folder() / "pictures.npz",
                                                       candidates=PICTURE_CANDIDATES)
            return self._pictures

    def described(self) -> tuple[Any, VectorIndex]:
        """The image-text model and its index; ``NotConfigured`` without ``RUSHES_CLIP_MODEL``."""
        with self._lock:
            if self._described is None:
                from pipeline.embed_tasks import described_embedder

                try:
                    model = described_embedder(self.farm.settings)
                except ConfigError as exc:
                    raise NotConfigured(f"describe-the-picture search cannot start: {exc}") from None
                if model is None:
                    raise NotConfigured(
                        "describe-the-picture search is not configured: it needs an image-text (CLIP) model, and "
                        "none can be installed from a package; set RUSHES_CLIP_MODEL to a local OpenCLIP ONNX export "
                        "(see the README). Search by words, by meaning (/search) and by a still (/search/picture) "
                        "work without it.")
                self._described = model, VectorIndex(DESCRIBED, model.name, self._folder() / "described.npz",
                                                     candidates=PICTURE_CANDIDATES)
            return self._described

    def visible_assets(self, session: Session, user: User) -> tuple[list[int] | None, Any]:
        """The assets a caller sees (None: an admin), kept 30 s per user: it narrows the indexes' candidates
        only; every answer is checked against the catalog's grants as it is read."""
        if user.role == "admin":
            return None, None
        now = time.monotonic()
        cached = self._assets.get(user.id)
        if cached is None or now - cached[0] > ASSETS_TTL_S:
            cached = self._assets[user.id] = (now, visible_asset_ids(session, user) or [])
        return cached[1], (user.id, cached[0])  # the key of this set: an index keeps its row mask

    def narrowing(self, session: Session, user: User) -> dict[str, Any]:
        """The ``assets``/``assets_key`` arguments of an index's ``nearest`` for this caller."""
        assets, key = self.visible_assets(session, user)
        return {"assets": assets, "assets_key": key}

    def any_text(self, session: Session) -> bool:
        """Whether any document has a vector: without, search is by words alone (and no model is loaded)."""
        return bool(session.scalar(select(exists().where(TextVector.id.is_not(None)))))

    def warm(self) -> None:
        """Load the models and catch the indexes up with the catalog, so the first query does not wait."""
        try:
            with self.farm.readers() as session:
                if session.scalar(select(exists().where(TextVector.id.is_not(None)))):
                    _, index = self.text()
                    index.refresh(session, force=True)
                    index.save()
                if session.scalar(select(exists().where(PictureVector.id.is_not(None)))):
                    _, index = self.pictures()
                    index.refresh(session, force=True)
                    index.save()
                if self.farm.settings.clip_model is not None:
                    _, index = self.described()
                    index.refresh(session, force=True)
                    index.save()
        except Exception:  # search still answers by words; the reason is in the log
            log.exception("semantic indexes not warmed")

    def save(self) -> None:
        for pair in (self._text, self._pictures, self._described):
            if pair is not None:
                pair[1].save()


def semantic_of(request: Request) -> Semantic:
    semantic: Semantic = request.app.state.semantic
    return semantic


# ------------------------------------------------------------------------------------------------ shots like this


def _shot_view(session: Session, rows: list[tuple[int, float]], near_duplicate: float) -> list[dict[str, Any]]:
    if not rows:
        return []
    scores = dict(rows)
    found = session.execute(select(Scene, Version.asset_id, Version.number, Asset.name)
                            .join(Version, Version.id == Scene.version_id).join(Asset, Asset.id == Version.asset_id)
                            .where(Scene.id.in_(list(scores)))).all()
    infos = {info.version_id: info for info in session.scalars(
        select(MediaInfoRow).where(MediaInfoRow.version_id.in_({scene.version_id for scene, *_ in found})))}
    out = []
    for scene, asset_id, number, name in found:
        clock = Clock(infos.get(scene.version_id))
        out.append({"scene_id": scene.id, "asset_id": asset_id, "asset_name": name, "version": number,
                    "index": scene.index, "start_s": scene.start_s, "end_s": scene.end_s,
                    "start_tc": clock(scene.start_s), "end_tc": clock(scene.end_s),
                    "keyframe_url": keyframe_url(scene), "similarity": round(scores[scene.id], 4),
                    "near_duplicate": scores[scene.id] >= near_duplicate})
    return sorted(out, key=lambda shot: -shot["similarity"])


def _visible_scenes(session: Session, user: User) -> Any:
    def allowed(keys: list[int]) -> set[int]:
        return set(session.scalars(select(Scene.id).join(Version, Version.id == Scene.version_id)
                                   .join(Asset, Asset.id == Version.asset_id)
                                   .where(one_of(session, Scene.id, keys), asset_scope(user))))
    return allowed


@router.get("/scenes/{scene_id}/similar", summary="Shots like this one, across the library")
def similar_shots(scene_id: int, request: Request, session: ReadDB, user: Reader,
                  limit: Annotated[int, Query(ge=1, le=200)] = 24,
                  min_similarity: Annotated[float, Query(ge=0, le=1)] = SIMILAR) -> dict[str, Any]:
    """The shots whose keyframes look most like this shot's (cosine of EfficientNet-Lite0 features), best first,
    in what the caller may see; ``near_duplicate`` marks the same material (≥ 0.95): a copy, a re-encode."""
    scene = session.get(Scene, scene_id)
    if scene is None:
        raise NotFound(f"no shot {scene_id}")
    version = session.get(Version, scene.version_id)
    assert version is not None
    visible_asset(session, user, version.asset_id)
    _, index = semantic_of(request).pictures()
    own = session.scalar(select(PictureVector.vector).where(PictureVector.scene_id == scene_id,
                                                            PictureVector.model == index.model_name))
    if not own:
        raise NotFound(f"shot {scene_id} has no picture embedding yet (its embed step has not run, or its "
                       f"keyframe could not be read)")
    query = np.frombuffer(own, dtype=np.float16).astype(np.float32)
    rows = index.nearest(session, query, limit, _visible_scenes(session, user), exclude=[scene_id],
                         min_score=min_similarity, **semantic_of(request).narrowing(session, user))
    return {"scene_id": scene_id, "asset_id": version.asset_id, "index": scene.index,
            "shots": _shot_view(session, rows, NEAR_DUPLICATE)}


@router.get("/assets/{asset_id}/near-duplicates", summary="Shots of other assets that are the same material")
def near_duplicates(asset_id: int, request: Request, session: ReadDB, user: Reader,
                    min_similarity: Annotated[float, Query(ge=0.5, le=1)] = NEAR_DUPLICATE) -> dict[str, Any]:
    """For each shot of the asset's newest version: the shots of other assets whose keyframe is the same picture
    (the same material in two files: cosine ≥ 0.95)."""
    asset = visible_asset(session, user, asset_id)
    if not asset.versions:
        raise NotFound(f"asset {asset_id} has no version")
    version = asset.versions[-1]
    _, index = semantic_of(request).pictures()
    own = session.execute(select(Scene.id, Scene.index, PictureVector.vector)
                          .join(PictureVector, PictureVector.scene_id == Scene.id)
                          .where(Scene.version_id == version.id, PictureVector.model == index.model_name)
                          .order_by(Scene.index)).all()
    allowed = _visible_scenes(session, user)
    mine = {scene_id for scene_id, _, _ in own}
    shots = []
    for scene_id, number, vector in own:
        if not vector:
            continue
        query = np.frombuffer(vector, dtype=np.float16).astype(np.float32)
        rows = [(key, score) for key, score in index.nearest(session, query, 10, allowed, exclude=mine,
                                                             min_score=min_similarity)]
        others = [shot for shot in _shot_view(session, rows, min_similarity) if shot["asset_id"] != asset_id]
        if others:
            shots.append({"scene_id": scene_id, "index": number, "same_as": others})
    return {"asset_id": asset_id, "version": version.number, "shots": shots}


@router.post("/search/picture", summary="Shots that look like an uploaded still")
def search_by_picture(request: Request, session: DB, user: Reader,
                      body: Annotated[bytes, Body(media_type="image/jpeg", description="a JPEG or PNG still")],
                      limit: Annotated[int, Query(ge=1, le=200)] = 24,
                      min_similarity: Annotated[float, Query(ge=0, le=1)] = 0.5) -> dict[str, Any]:
    if not body:
        raise InvalidInput("send the still as the request body (Content-Type image/jpeg or image/png)")
    try:
        still = Image.open(io.BytesIO(body))
        still.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"the body is not a picture Rushes can read: {exc}") from None
    embedder, index = semantic_of(request).pictures()
    query = embedder.embed([still.convert("RGB")])[0]
    rows = index.nearest(session, query, limit, _visible_scenes(session, user), min_score=min_similarity)
    audit(request, session, user, "search", subject="(a still)", detail=f"{len(rows)} shot(s)")
    return {"shots": _shot_view(session, rows, NEAR_DUPLICATE)}


@router.get("/search/describe", summary="Shots whose picture matches a description (needs a CLIP model)")
def describe_the_picture(request: Request, session: ReadDB, user: Reader,
                         q: Annotated[str, Query(min_length=1, max_length=500)],
                         limit: Annotated[int, Query(ge=1, le=200)] = 24,
                         min_similarity: Annotated[float, Query(ge=-1, le=1)] = 0.0) -> dict[str, Any]:
    """Shots whose keyframe an image-text (CLIP) model places nearest to the description, best first, in what the
    caller may see. No such model ships in a package this project can install (every CLIP package downloads its
    weights at run time): 409 says so until ``RUSHES_CLIP_MODEL`` names a local one."""
    model, index = semantic_of(request).described()
    query = model.embed_text([q])[0]
    rows = index.nearest(session, query, limit, _visible_scenes(session, user), min_score=min_similarity,
                         **semantic_of(request).narrowing(session, user))
    return {"query": q, "model": model.name, "shots": _shot_view(session, rows, 2.0)}


@router.get("/search/status", summary="How far the embeddings are (documents and keyframes with vectors)")
def search_status(request: Request, session: ReadDB, user: Reader) -> dict[str, Any]:
    semantic = semantic_of(request)
    if not semantic.any_text(session):
        return {"semantic": False, "reason": "no document has an embedding yet (the embed step has not run)"}
    embedder, index = semantic.text()
    pictures, picture_index = semantic.pictures()
    indexed = {"text": index.size, "pictures": picture_index.size}
    described_name = None
    if request.app.state.farm.settings.clip_model is not None:
        described, described_index = semantic.described()
        described_name, indexed["described"] = described.name, described_index.size
    return {"semantic": True, "coverage": coverage(session, embedder.name, pictures.name, described_name),
            "indexed": indexed}
