"""Search that understands (both catalogs): sentence vectors of real transcripts, hybrid ranking that finds
paraphrases full text cannot, every hit saying how it matched; shots like this and near-duplicates from real
keyframes; search by a still; the index keeping up with new and re-made documents; the CLIP plug-in point."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from analyzers.transcript import transcribe
from catalog.models import PictureVector, Scene, SearchDoc, TextVector, Version
from catalog.vector_index import TEXT, VectorIndex, simhash
from pipeline.embed_tasks import work_backlog
from pipeline.farm import Farm
from tests.conftest import SHARED_MODEL_CACHE, bearers
from tests.media_fixtures import ffmpeg
from tests.retrieval_set import PASSAGES, QUERIES, recall_and_mrr, script
from tests.test_metadata import _asset

MEDIA = Path(__file__).parent / "media"
STOP = {"a", "an", "the", "in", "at", "on", "of", "to", "and", "is", "are", "by", "with", "his", "her", "for"}


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[float, float, str]]:
    """The retrieval set's passages read by espeak-ng and transcribed by the farm's Whisper (tiny.en): the real
    segments with their times, plus JFK's and LibriSpeech's recordings as other footage."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is missing: `make test` installs it (apt-get install espeak-ng)"
    folder = tmp_path_factory.mktemp("speech")
    reading = folder / "reading.wav"
    subprocess.run([espeak, "-v", "en", "-s", "150", "-g", "12", "-w", str(reading), script()], check=True,
                   timeout=120)
    segments = []
    for path in (reading, MEDIA / "speech" / "jfk.flac", MEDIA / "speech" / "librispeech-2412-153948-0000.flac"):
        result = transcribe(path, language="en", cache_dir=SHARED_MODEL_CACHE)
        segments += [(s.start_s, s.end_s, s.text.strip()) for s in result.segments]
    return segments


def _documents(farm: Farm, segments: list[tuple[float, float, str]]) -> dict[int, str]:
    """The segments as transcript documents of one asset; doc id → the passage it holds (or "other")."""
    asset_id = _asset(farm, "reading.mov", seconds=200)
    owner: dict[int, str] = {}
    with farm.transaction() as session:
        version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
        for start, end, text in segments:
            doc = SearchDoc(asset_id=asset_id, version_id=version_id, kind="transcript", start_s=start,
                            end_s=end, text=text, language="en")
            session.add(doc)
            session.flush()
            words = set(re.findall(r"\w+", text.lower()))
            owner[doc.id] = next((p.key for p in PASSAGES if p.marker in words), "other")
    return owner


def _embed_all(farm: Farm) -> None:
    while work_backlog(farm.sessions, farm.settings):
        pass


def _ranked(client: TestClient, headers: dict[str, str], owner: dict[int, str], mode: str) -> dict[str, list[str]]:
    """Each query's passages, best first, as the API ranks them in ``mode``."""
    out = {}
    for query, _passage, _paraphrase in QUERIES:
        reply = client.get("/api/v1/search", params={"q": query, "mode": mode, "limit": 20}, headers=headers)
        assert reply.status_code == 200, reply.text
        hits = reply.json()["hits"]
        out[query] = list(dict.fromkeys(owner.get(h["doc_id"], "other") for h in hits))
    return out


@pytest.mark.slow
def test_hybrid_search_finds_paraphrases_that_full_text_cannot(farm: Farm, client: TestClient,
                                                               spoken: list[tuple[float, float, str]]) -> None:
    owner = _documents(farm, spoken)
    found = {key for key in owner.values() if key != "other"}
    assert found == {p.key for p in PASSAGES}, f"the transcript lost passages: {sorted(found)}"
    for query, passage, paraphrase in QUERIES:  # the set is honest: a paraphrase shares no content word
        words = set(re.findall(r"\w+", query.lower())) - STOP
        text = " ".join(t for d, t in zip(owner, (s[2] for s in spoken), strict=True) if owner[d] == passage)
        assert not paraphrase or not words & set(re.findall(r"\w+", text.lower())), (query, text)
    headers = bearers(farm, {"vera": "viewer"})["vera"]
    before = client.get("/api/v1/search", params={"q": "cyclist"}, headers=headers).json()
    assert before["mode"] == "words"  # no vectors yet: words alone, and no model loaded for it
    _embed_all(farm)
    with farm.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TextVector)) == len(owner)

    wanted = {query: passage for query, passage, _ in QUERIES}
    words = _ranked(client, headers, owner, "words")
    hybrid = _ranked(client, headers, owner, "hybrid")
    recall_words, mrr_words = recall_and_mrr(words, wanted)
    recall_hybrid, mrr_hybrid = recall_and_mrr(hybrid, wanted)
    paraphrases = {q: p for q, p, paraphrase in QUERIES if paraphrase}
    print(f"\nretrieval set ({len(wanted)} queries, {len(paraphrases)} paraphrases): words alone recall@10 "
          f"{recall_words:.2f} MRR {mrr_words:.2f}; hybrid recall@10 {recall_hybrid:.2f} MRR {mrr_hybrid:.2f}; "
          f"paraphrases: words {recall_and_mrr(words, paraphrases)[0]:.2f}, "
          f"hybrid {recall_and_mrr(hybrid, paraphrases)[0]:.2f}")
    assert recall_and_mrr(words, paraphrases)[0] == 0.0  # full text cannot find a paraphrase
    assert recall_and_mrr(hybrid, paraphrases)[0] >= 0.8
    assert recall_hybrid >= 0.9 and mrr_hybrid > mrr_words

    reply = client.get("/api/v1/search", params={"q": "a man riding a bike in the dark"}, headers=headers).json()
    top = reply["hits"][0]
    assert reply["mode"] == "hybrid" and owner[top["doc_id"]] == "cyclist"
    assert top["matched"] == ["meaning"] and top["similarity"] > 0.3 and top["timecode"]
    both = client.get("/api/v1/search", params={"q": "cyclist at night"}, headers=headers).json()["hits"][0]
    assert owner[both["doc_id"]] == "cyclist" and both["matched"] == ["words", "meaning"]


def test_the_index_keeps_up_with_new_and_remade_documents(farm: Farm, client: TestClient) -> None:
    headers = bearers(farm, {"ed": "editor", "vera": "viewer"})
    asset_id = _asset(farm, "derby.mov")
    url = f"/api/v1/assets/{asset_id}/metadata"
    client.patch(url, headers=headers["ed"], json={"revision": 0, "set": {"location": "the velodrome"}})
    _embed_all(farm)
    first = client.get("/api/v1/search", params={"q": "cycling track", "mode": "meaning"},
                       headers=headers["vera"]).json()["hits"]
    assert [(h["asset_id"], h["kind"]) for h in first] == [(asset_id, "field")]
    # an edit re-makes the asset's document: the old vector goes with it, the new one is made by the backlog
    client.patch(url, headers=headers["ed"], json={"revision": 1, "set": {"location": "a snowy mountain pass"}})
    assert client.get("/api/v1/search", params={"q": "cycling track", "mode": "meaning"},
                      headers=headers["vera"]).json()["hits"] == []
    _embed_all(farm)
    hits = client.get("/api/v1/search", params={"q": "winter in the alps", "mode": "meaning"},
                      headers=headers["vera"]).json()["hits"]
    assert [h["asset_id"] for h in hits] == [asset_id] and "snowy" in hits[0]["text"]
    status = client.get("/api/v1/search/status", headers=headers["vera"]).json()
    assert status["semantic"] and status["coverage"]["text"]["embedded"] == status["coverage"]["text"]["total"] == 1


def test_the_vector_index_answers_as_an_exact_search_does(farm: Farm) -> None:
    """The SimHash pass then the exact re-rank: the same ten nearest as ranking every vector, on clustered data."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 3000)] + 0.6 * rng.standard_normal((3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    asset_id = _asset(farm, "many.mov")
    with farm.transaction() as session:
        version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
        docs = [SearchDoc(asset_id=asset_id, version_id=version_id, kind="transcript", text=f"d{i}")
                for i in range(len(vectors))]
        session.add_all(docs)
        session.flush()
        hashes = simhash(vectors)
        session.add_all(TextVector(doc_id=doc.id, asset_id=asset_id, model="m", vector=v.astype(np.float16).tobytes(),
                                   bits=h.tobytes()) for doc, v, h in zip(docs, vectors, hashes, strict=True))
        ids = np.array([doc.id for doc in docs])
    index = VectorIndex(TEXT, "m")
    stored = vectors.astype(np.float16).astype(np.float32)
    agree = 0
    with farm.sessions() as session:
        for q in rng.integers(0, len(vectors), 20):
            query = vectors[q] + 0.03 * rng.standard_normal(384).astype(np.float32)  # cosine ~0.85 to it
            query /= np.linalg.norm(query)
            exact = ids[np.argsort(-(stored @ query))[:10]].tolist()  # over the vectors as stored (float16)
            found = [key for key, _ in index.nearest(session, query, 10)]
            agree += len(set(exact) & set(found))
    assert agree / 200 >= 0.95


def _keyframes(folder: Path) -> dict[str, Path]:
    """Real keyframes: two frames of one Big Buck Bunny shot, one of another, one of the football field."""
    out = {}
    for name, source, at in (("bunny-a", "probe/bigbuckbunny.mp4", "0.5"), ("bunny-b", "probe/bigbuckbunny.mp4", "1.0"),
                             ("field", "probe/many_tracks.mp4", "5")):
        out[name] = folder / f"{name}.jpg"
        ffmpeg("-ss", at, "-i", str(MEDIA / source), "-frames:v", "1", "-q:v", "3", str(out[name]))
    return out


def test_shots_like_this_and_near_duplicates_from_real_keyframes(farm: Farm, client: TestClient,
                                                                 tmp_path: Path) -> None:
    frames = _keyframes(tmp_path)
    # the same material in two files: a copy of the first frame at half size, re-encoded at JPEG quality 60
    Image.open(frames["bunny-a"]).resize((640, 360)).save(tmp_path / "copy.jpg", quality=60)
    headers = bearers(farm, {"ed": "editor"})["ed"]
    shots: dict[str, int] = {}
    for asset_name, pictures in (("bunny.mov", ["bunny-a", "bunny-b"]), ("field.mov", ["field"]),
                                 ("bunny-copy.mov", ["copy"])):
        asset_id = _asset(farm, asset_name)
        with farm.transaction() as session:
            version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
            for index, picture in enumerate(pictures):
                path = frames.get(picture, tmp_path / f"{picture}.jpg")
                scene = Scene(version_id=version_id, index=index, start_s=index * 2.0, end_s=index * 2.0 + 2,
                              start_frame=index * 50, end_frame=index * 50 + 50, keyframe_path=str(path))
                session.add(scene)
                session.flush()
                shots[picture] = scene.id
    _embed_all(farm)
    with farm.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PictureVector)) == 4

    similar = client.get(f"/api/v1/scenes/{shots['bunny-a']}/similar", params={"min_similarity": 0.3},
                         headers=headers).json()["shots"]
    order = [s["scene_id"] for s in similar]
    assert order[0] == shots["copy"] and similar[0]["near_duplicate"] is True
    assert order[1] == shots["bunny-b"]  # another frame of the same shot, before the other picture
    assert similar[0]["keyframe_url"] and similar[0]["start_tc"]
    assert shots["bunny-a"] not in order
    duplicates = client.get(f"/api/v1/assets/{_asset_of(farm, shots['copy'])}/near-duplicates",
                            headers=headers).json()["shots"]
    assert [d["same_as"][0]["scene_id"] for d in duplicates] == [shots["bunny-a"]]

    still = io.BytesIO()
    Image.open(frames["field"]).save(still, format="PNG")
    by_still = client.post("/api/v1/search/picture", headers={**headers, "Content-Type": "image/png"},
                           content=still.getvalue()).json()["shots"]
    assert by_still[0]["scene_id"] == shots["field"] and by_still[0]["similarity"] > 0.95
    bad = client.post("/api/v1/search/picture", headers={**headers, "Content-Type": "image/png"}, content=b"nope")
    assert bad.status_code == 400 and "not a picture" in bad.json()["error"]


def _asset_of(farm: Farm, scene_id: int) -> int:
    with farm.sessions() as session:
        return session.scalar(select(Version.asset_id).join(Scene, Scene.version_id == Version.id)
                              .where(Scene.id == scene_id)) or 0


def test_describing_the_picture_says_it_is_not_configured(farm: Farm, client: TestClient) -> None:
    headers = bearers(farm, {"vera": "viewer"})["vera"]
    reply = client.get("/api/v1/search/describe", params={"q": "a red car on a bridge"}, headers=headers)
    assert reply.status_code == 409 and "RUSHES_CLIP_MODEL" in reply.json()["error"]
