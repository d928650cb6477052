"""Delivery end to end: renditions keyed and QC-checked, approval gating, pull and push targets, the log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.auth import create_token
from catalog.models import Rendition
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.settings import WatchFolder
from tests.conftest import ingest_interview, person, wait_for, wait_version
from tests.media_fixtures import make_clip

pytestmark = pytest.mark.slow
WEB = "web/h264-720p"
AUDIO = "audio/mp3"


@pytest.fixture
def setup(running_farm: Farm, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], int]]:
    result = ingest_interview(running_farm, tmp_path)
    with running_farm.transaction() as session:
        tokens = {role: {"Authorization": f"Bearer {create_token(session, person(session, role, role))}"}
                  for role in ("admin", "editor", "viewer")}
    with TestClient(create_app(running_farm)) as client:
        yield client, tokens, result.asset_id


def _ready(client: TestClient, headers: dict[str, str], rendition_id: int) -> dict:
    def done() -> dict | None:
        body = client.get(f"/api/v1/renditions/{rendition_id}", headers=headers).json()
        return body if body["status"] in ("ready", "rejected", "failed") else None

    return wait_for(done, timeout=120, interval=0.3, what=f"rendition {rendition_id}")


def test_presets_are_listed_and_shown(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = setup
    listed = client.get("/api/v1/presets", headers=tokens["viewer"]).json()["presets"]
    names = {p["name"] for p in listed}
    assert {"broadcast/xdcam-hd422-1080i25", WEB, "web/hls-ladder", "social/vertical-9x16", AUDIO} <= names
    shown = client.get(f"/api/v1/presets/{WEB}", headers=tokens["viewer"]).json()
    assert shown["definition"]["video"]["codec"] == "h264" and len(shown["hash"]) == 64
    assert client.get("/api/v1/presets/web/nope", headers=tokens["viewer"]).status_code == 404


def test_a_rendition_is_rendered_once_checked_and_only_editors_ask(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = setup
    denied = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": WEB}, headers=tokens["viewer"])
    assert denied.status_code == 403
    first = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": WEB}, headers=tokens["editor"])
    assert first.status_code == 202 and first.json()["new"] is True
    done = _ready(client, tokens["editor"], first.json()["id"])
    assert done["status"] == "ready", done
    assert done["qc"]["passed"] is True and len(done["sha256"]) == 64
    again = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": WEB}, headers=tokens["editor"])
    assert again.json()["id"] == first.json()["id"] and again.json()["new"] is False
    bad = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": "web/nope"}, headers=tokens["editor"])
    assert bad.status_code == 400 and "web/nope" in bad.json()["error"]


def test_a_pull_target_sees_only_approved_renditions_of_its_presets(setup, running_farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = setup
    made = client.post("/api/v1/targets", json={"name": "broadcaster", "kind": "pull", "presets": [WEB]},
                       headers=tokens["admin"])
    assert made.status_code == 201
    target = {"Authorization": f"Bearer {made.json()['token']}"}
    other = client.post("/api/v1/targets", json={"name": "other", "kind": "pull", "presets": [AUDIO]},
                        headers=tokens["admin"]).json()
    url = f"/api/v1/assets/{asset_id}/renditions"
    ids = [client.post(url, json={"preset": p}, headers=tokens["editor"]).json()["id"] for p in (WEB, AUDIO)]
    for rendition_id in ids:
        assert _ready(client, tokens["editor"], rendition_id)["status"] == "ready"

    assert client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"] == []  # not approved
    assert client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["viewer"]).status_code == 403
    assert client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["editor"]).status_code == 200

    feed = client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"]
    assert [(item["id"], item["preset"]) for item in feed] == [(ids[0], WEB)]
    whole = client.get(feed[0]["download_url"], headers=target)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == feed[0]["sha256"]
    assert whole.headers["x-checksum-sha256"] == feed[0]["sha256"]
    part = client.get(feed[0]["download_url"], headers={**target, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]
    rss = ET.fromstring(client.get("/api/v1/targets/broadcaster/feed.rss", headers=target).text)
    content = rss.find("channel/item/{http://search.yahoo.com/mrss/}content")
    assert content is not None and content.get("url").endswith(feed[0]["download_url"])

    # the target's token reaches nothing else
    assert client.get(f"/api/v1/targets/broadcaster/renditions/{ids[1]}", headers=target).status_code == 404
    assert client.get("/api/v1/targets/other/feed", headers=target).status_code == 404
    assert client.get("/api/v1/assets", headers=target).status_code == 403
    assert client.get(f"/api/v1/renditions/{ids[0]}/download", headers=target).status_code == 403
    assert client.get("/api/v1/targets/broadcaster/feed",
                      headers={"Authorization": f"Bearer {other['token']}"}).status_code == 404
    log = client.get("/api/v1/deliveries", headers=tokens["admin"]).json()["events"]
    assert {("broadcaster", "download", ids[0])} <= {(e["target"], e["action"], e["rendition_id"]) for e in log}


def test_a_push_target_receives_whole_files_and_manifests(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = setup
    outbox = tmp_path / "outbox"
    made = client.post("/api/v1/targets", json={"name": "archive", "kind": "push", "presets": [AUDIO],
                                                 "folder": str(outbox)}, headers=tokens["admin"])
    assert made.status_code == 201 and made.json()["token"] is None
    assert client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["editor"]).status_code == 200
    rendition_id = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": AUDIO},
                               headers=tokens["editor"]).json()["id"]
    done = _ready(client, tokens["editor"], rendition_id)
    [manifest_path] = wait_for(lambda: list(outbox.glob("*.json")), timeout=30, what="the push")
    manifest = json.loads(manifest_path.read_text())
    files = sorted(p.name for p in outbox.iterdir())
    assert not [n for n in files if n.startswith(".")], files
    media = next(p for p in outbox.iterdir() if p.suffix == ".mp3")
    assert hashlib.sha256(media.read_bytes()).hexdigest() == manifest["sha256"] == done["sha256"]
    assert manifest["preset"] == AUDIO and manifest["qc"]["passed"] is True and manifest["version"] == 1
    assert manifest_path.name == media.name + ".json" and media.name.startswith("interview_v1_")


def test_a_rendition_that_fails_qc_is_never_published(setup, running_farm: Farm, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A house copy of the XDCAM preset that keeps a 4:3 source's shape instead of pillarboxing it (``reframe:
    none``) renders 1440x1080: QC rejects the width, and the rendition never reaches the target."""
    from delivery import presets
    from pipeline import delivery_tasks, renditions

    client, tokens, _ = setup
    four_three = make_clip(tmp_path / "archive-4x3.mov", seconds=2, size="640x480")
    result = Ingester(running_farm).ingest(four_three, WatchFolder(name="default"), consume=False)
    assert wait_version(running_farm, result.version_id, timeout=120).status == "ready"
    preset = "broadcast/xdcam-hd422-1080i25"
    xdcam = presets.load_preset(preset)
    unpadded = xdcam.model_copy(update={"video": xdcam.video.model_copy(update={"reframe": "none"})})

    def house(name: str) -> presets.Preset:  # the requester and the embedded workers read the same copy
        return unpadded if name == preset else presets.load_preset(name)

    monkeypatch.setattr(renditions, "load_preset", house)
    monkeypatch.setattr(delivery_tasks, "load_preset", house)
    made = client.post("/api/v1/targets", json={"name": "playout", "kind": "pull", "presets": [preset]},
                       headers=tokens["admin"]).json()
    client.post(f"/api/v1/assets/{result.asset_id}/versions/1/approve", headers=tokens["editor"])
    rendition_id = client.post(f"/api/v1/assets/{result.asset_id}/renditions", json={"preset": preset},
                               headers=tokens["editor"]).json()["id"]
    done = _ready(client, tokens["editor"], rendition_id)
    assert done["status"] == "rejected" and done["qc"]["passed"] is False
    assert "width" in done["error"]
    feed = client.get("/api/v1/targets/playout/feed", headers={"Authorization": f"Bearer {made['token']}"}).json()
    assert feed["renditions"] == []
    with running_farm.sessions() as session:
        assert session.get(Rendition, rendition_id).status == "rejected"


def test_an_hls_package_is_pulled_file_by_file_and_nothing_outside_it(setup) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = setup
    hls = "web/hls-ladder"
    token = client.post("/api/v1/targets", json={"name": "ott", "kind": "pull", "presets": [hls]},
                        headers=tokens["admin"]).json()["token"]
    target = {"Authorization": f"Bearer {token}"}
    client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["editor"])
    rendition_id = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": hls},
                               headers=tokens["editor"]).json()["id"]
    assert _ready(client, tokens["editor"], rendition_id)["status"] == "ready"
    [item] = client.get("/api/v1/targets/ott/feed", headers=target).json()["renditions"]
    master = client.get(item["download_url"], headers=target)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U")
    base = item["download_url"].rsplit("/", 1)[0]
    variant = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    playlist = client.get(f"{base}/{variant}", headers=target)
    segment = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    assert client.get(f"{base}/{segment}", headers=target).content[:1] == b"G"  # an MPEG-TS sync byte
    assert client.get(f"{base}/..%2F..%2Foriginal.mov", headers=target).status_code == 404


def test_changing_the_preset_renders_again(setup, running_farm: Farm, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from delivery import presets
    from pipeline import delivery_tasks, renditions

    client, tokens, asset_id = setup
    version_id = client.get(f"/api/v1/assets/{asset_id}", headers=tokens["viewer"]).json()["versions"][0]["id"]
    first, _ = renditions.request_rendition(running_farm, version_id, AUDIO, "test")
    original = presets.load_preset(AUDIO)
    louder = original.model_copy(update={"loudness": original.loudness.model_copy(update={"integrated": -14.0})})
    # the changed preset, as the requester and the embedded workers both read it (else a worker fails the
    # rendition as "preset changed", and a failed rendition is queued again by the next request)
    monkeypatch.setattr(renditions, "load_preset", lambda name: louder)
    monkeypatch.setattr(delivery_tasks, "load_preset", lambda name: louder)
    second, new = renditions.request_rendition(running_farm, version_id, AUDIO, "test")
    assert new and second != first
    third, again = renditions.request_rendition(running_farm, version_id, AUDIO, "test")
    assert (third, again) == (second, False)


def test_a_clip_without_sound_or_speech_is_delivered_by_the_farm(running_farm: Farm, tmp_path: Path) -> None:
    """Issue 12, end to end: a camera clip without a microphone track is ingested by the running farm and rendered
    to web/h264-720p and the captioned social/vertical-9x16: both ready, QC passed with the loudness note."""
    clip = make_clip(tmp_path / "C0099 no microphone.mp4", size="1280x720", seconds=3, audio=False,
                     timecode="10:00:00:00")
    result = Ingester(running_farm).ingest(clip, WatchFolder(name="default"), consume=False)
    assert result.version_id is not None
    wait_version(running_farm, result.version_id)
    with running_farm.transaction() as session:
        editor = {"Authorization": f"Bearer {create_token(session, person(session, 'ed', 'editor'))}"}
    with TestClient(create_app(running_farm)) as client:
        for preset in (WEB, "social/vertical-9x16"):
            asked = client.post(f"/api/v1/assets/{result.asset_id}/renditions", json={"preset": preset},
                                headers=editor)
            assert asked.status_code == 202, asked.text
            done = _ready(client, editor, asked.json()["id"])
            assert done["status"] == "ready", (preset, done.get("error"))
            loudness = next(c for c in done["qc"]["checks"] if c["name"] == "integrated loudness")
            assert loudness["passed"] and loudness["actual"].startswith("loudness not applicable: the source has no")
