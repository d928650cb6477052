"""The whole analysis on one programme: scenes, keyframes, transcript, tags, loudness, search at timecodes.

The programme (tests.media_fixtures.make_programme) has known facts: start timecode 01:00:00:00 at 25p,
hard cuts at frames 100 and 200, a slate reading "SCENE 42 TAKE 3" from 4 s to 8 s, and JFK's
"ask not what your country can do for you" as its sound.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.auth import create_token
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.workers import Workers
from rushes.settings import WatchFolder
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database, farm_settings, person, wait_version
from tests.farmproc import RUSHES
from tests.media_fixtures import FFMPEG, JFK, make_programme

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_programme(tmp_path_factory.mktemp("programme"), JFK)


@pytest.fixture(scope="module", params=BACKENDS)
def analysed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             programme: Path) -> Iterator[tuple[TestClient, dict[str, str], int, Farm]]:
    """The programme ingested and analysed once per catalog backend, shared by this module's tests."""
    data = tmp_path_factory.mktemp("farm")
    url = f"sqlite:///{data / 'catalog.sqlite'}" if request.param == "sqlite" else create_pg_database()
    farm = Farm(farm_settings(data / "data", database_url=url, steps=None))  # the whole analysis
    workers = Workers(farm)
    workers.start()
    try:
        result = Ingester(farm).ingest(programme, WatchFolder(name="default"), consume=False)
        version = wait_version(farm, result.version_id, timeout=300)
        assert version.status == "ready", version.error
        with farm.transaction() as session:
            token = create_token(session, person(session, "vera", "viewer"))
        with TestClient(create_app(farm)) as client:
            yield client, {"Authorization": f"Bearer {token}"}, result.asset_id, farm
    finally:
        workers.stop()
        farm.close()
        if request.param != "sqlite":
            drop_pg_database(url)


def _ebur128_integrated(path: Path) -> float:
    """ffmpeg's own reading, independent of the analyzer."""
    log = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", log)[-1])


def test_scenes_are_the_known_cuts_with_source_timecodes_and_keyframes(analysed) -> None:  # type: ignore[no-untyped-def]
    client, viewer, asset_id, _ = analysed
    scenes = client.get(f"/api/v1/assets/{asset_id}/scenes", headers=viewer).json()["scenes"]
    assert [(s["start_frame"], s["end_frame"]) for s in scenes] == [(0, 100), (100, 200), (200, 275)]
    assert [s["start_tc"] for s in scenes] == ["01:00:00:00", "01:00:04:00", "01:00:08:00"]
    for scene in scenes:
        assert scene["start_s"] <= scene["keyframe_s"] < scene["end_s"]
        image = client.get(scene["keyframe_url"], headers=viewer)
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    assert "SCENE 42" in scenes[1]["tags"]["text"].upper()
    assert scenes[0]["tags"]["labels"] and scenes[1]["faces"] == 0


def test_the_transcript_reads_the_speech_with_word_timings(analysed) -> None:  # type: ignore[no-untyped-def]
    client, viewer, asset_id, _ = analysed
    transcript = client.get(f"/api/v1/assets/{asset_id}/transcript", headers=viewer).json()
    assert transcript["language"] == "en"
    text = " ".join(s["text"] for s in transcript["segments"]).lower()
    assert "ask not what your country can do for you" in re.sub(r"[^\w ]", "", text)
    words = [w for s in transcript["segments"] for w in s["words"]]
    americans = next(w for w in words if "americans" in w["text"].lower())
    assert 1.0 < americans["start_s"] < 2.6
    vtt = client.get(f"/api/v1/assets/{asset_id}/transcript.vtt", headers=viewer)
    srt = client.get(f"/api/v1/assets/{asset_id}/transcript.srt", headers=viewer)
    assert vtt.text.startswith("WEBVTT") and "-->" in vtt.text
    assert srt.text.startswith("1\n") and "," in srt.text.splitlines()[1]


def test_loudness_matches_ffmpeg_and_qc_is_served_with_timecodes(analysed, programme: Path) -> None:  # type: ignore[no-untyped-def]
    client, viewer, asset_id, _ = analysed
    qc = client.get(f"/api/v1/assets/{asset_id}/qc", headers=viewer).json()
    assert abs(qc["integrated_lufs"] - _ebur128_integrated(programme)) <= 0.1
    assert qc["true_peak_dbtp"] < 0 and qc["loudness_range_lu"] >= 0
    assert qc["black"] == [] and qc["clipping"] == []


def test_search_finds_a_spoken_phrase_and_on_screen_text_at_their_timecodes(analysed) -> None:  # type: ignore[no-untyped-def]
    client, viewer, asset_id, _ = analysed
    spoken = client.get("/api/v1/search", params={"q": '"your country"'}, headers=viewer).json()["hits"]
    assert spoken and spoken[0]["kind"] == "transcript" and spoken[0]["asset_id"] == asset_id
    assert spoken[0]["timecode"].startswith("01:00:0") and spoken[0]["keyframe_url"]
    slate = client.get("/api/v1/search", params={"q": "scene 42"}, headers=viewer).json()["hits"]
    ocr = [h for h in slate if h["kind"] == "ocr"]
    assert ocr and ocr[0]["start_s"] == 4.0 and ocr[0]["timecode"] == "01:00:04:00"
    assert ocr[0]["keyframe_url"].endswith("/keyframes/1")
    # a file name is found by its words (it has no embedding: its words mean nothing); by meaning, the speech is
    by_name = client.get("/api/v1/search", params={"q": "programme", "mode": "words"}, headers=viewer).json()["hits"]
    assert [h["kind"] for h in by_name] == ["name"]
    meant = client.get("/api/v1/search", params={"q": "a president addressing his citizens"}, headers=viewer).json()
    assert meant["mode"] == "hybrid" and meant["hits"][0]["kind"] == "transcript"
    assert meant["hits"][0]["matched"] == ["meaning"] and "country" in meant["hits"][0]["text"]
    assert client.get("/api/v1/search", params={"q": "country", "has_faces": True},
                      headers=viewer).json()["hits"] == []
    assert client.get("/api/v1/search", params={"q": "country", "collection": "nope"},
                      headers=viewer).json()["hits"] == []
    assert client.get("/api/v1/search", params={"q": 'NEAR("a" AND ) OR *'}, headers=viewer).status_code == 200


def test_editor_exports_carry_the_cuts_at_source_timecode(analysed) -> None:  # type: ignore[no-untyped-def]
    client, viewer, asset_id, _ = analysed
    edl = client.get(f"/api/v1/assets/{asset_id}/export.edl", headers=viewer).text
    events = [line.split() for line in edl.splitlines() if re.match(r"^\d{3}\s", line)]
    assert [e[4:6] for e in events] == [["01:00:00:00", "01:00:04:00"], ["01:00:04:00", "01:00:08:00"],
                                        ["01:00:08:00", "01:00:11:00"]]
    assert "* LOC:" in edl
    timeline = otio.adapters.read_from_string(client.get(f"/api/v1/assets/{asset_id}/export.otio",
                                                         headers=viewer).text, "otio_json")
    assert len(list(timeline.find_clips())) == 3
    fcp = client.get(f"/api/v1/assets/{asset_id}/export.xml", headers=viewer)
    assert fcp.status_code == 200 and "<xmeml" in fcp.text
    csv = client.get(f"/api/v1/assets/{asset_id}/export.csv", headers=viewer).text
    assert csv.splitlines()[0].startswith("kind,number") and "01:00:04:00" in csv
    contact = client.get(f"/api/v1/versions/{asset_id}/contact-sheet", headers=viewer)
    waveform = client.get(f"/api/v1/versions/{asset_id}/waveform", headers=viewer)
    assert contact.content[:2] == b"\xff\xd8" and waveform.content[:4] == b"\x89PNG"


def test_cli_search_prints_hits_at_timecodes(analysed) -> None:  # type: ignore[no-untyped-def]
    farm = analysed[3]
    env = {**os.environ, "RUSHES_DATABASE_URL": farm.settings.db_url}
    done = subprocess.run([RUSHES, "--data", str(farm.settings.data), "search", "scene 42"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^01:00:04:00\s+ocr\s+programme.mov", done.stdout, re.MULTILINE), done.stdout
