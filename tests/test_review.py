"""Review in the browser: comments at frames, the approval rule, what changed, the delivery panel (both catalogs)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from catalog.models import Asset, Collection, DeliveryEvent, MediaInfoRow, Rendition, Review, Version
from catalog.review import ApprovalRule, review_status
from delivery.targets import create_target
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.review import approve
from rushes.errors import ConfigError
from rushes.settings import Settings, WatchFolder, load_settings
from tests.conftest import bearers, ingest_interview, wait_for, wait_version
from tests.media_fixtures import make_clip

PEOPLE = {"alice": "reviewer", "bob": "reviewer", "carol": "reviewer", "ed": "editor", "vera": "viewer",
          "root": "admin"}
WEB, AUDIO = "web/h264-720p", "audio/mp3"


def _version(farm: Farm, *, status: str = "ready", name: str = "clip.mov", number: int = 1,
             content: str = "a" * 64, duration_s: float = 4.0) -> tuple[int, int]:
    """A version made directly in the catalog: 25 fps, start timecode 10:00:00:00, ``duration_s`` long."""
    with farm.transaction() as session:
        collection = (session.scalar(select(Collection).where(Collection.name == "default"))
                      or Collection(name="default"))
        asset = Asset(name=name, source_folder="default", collection=collection, status=status)
        session.add(asset)
        session.flush()
        version = Version(asset_id=asset.id, number=number, content_hash=content, size=1, original_name=name,
                          source_folder="default", source_path=f"/x/{name}", stored_path="/x/original.mov",
                          status=status)
        session.add(version)
        session.flush()
        session.add(MediaInfoRow(version_id=version.id, container="mov", duration_s=duration_s, width=1920,
                                 height=1080, frame_rate="25", video_codec="h264", audio_codec="aac",
                                 start_timecode="10:00:00:00", info={}))
        return asset.id, version.id


@pytest.fixture
def make_farm(make_settings: Callable[..., Settings], db_url: str) -> Iterator[Callable[..., Farm]]:
    """Farms on this test's catalog with other settings (e.g. the approval rule)."""
    farms: list[Farm] = []

    def make(**overrides: Any) -> Farm:
        farms.append(Farm(make_settings(database_url=db_url, **overrides)))
        return farms[-1]

    yield make
    for made in farms:
        made.close()


@pytest.fixture
def api(client: TestClient, farm: Farm) -> tuple[TestClient, dict[str, dict[str, str]]]:
    return client, bearers(farm, PEOPLE)


# ------------------------------------------------------------------------------------------ comments


def test_a_comment_at_a_frame_has_seconds_and_source_timecode_ranges_and_replies(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, version_id = _version(farm)
    url = f"/api/v1/assets/{asset_id}/versions/1/comments"
    made = client.post(url, json={"text": "  too dark here  ", "frame": 30}, headers=tokens["alice"])
    assert made.status_code == 201, made.text
    first = made.json()
    assert (first["version_id"], first["version"], first["author"], first["text"]) == (version_id, 1, "alice",
                                                                                      "too dark here")
    assert (first["start_frame"], first["start_s"], first["start_tc"]) == (30, 1.2, "10:00:01:05")
    assert first["end_frame"] is None and first["end_s"] is None and first["end_tc"] is None
    assert first["resolved"] is False and first["replies"] == [] and first["parent_id"] is None

    ranged = client.post(url, json={"text": "music too loud", "frame": 10, "end_frame": 75},
                         headers=tokens["ed"]).json()
    assert (ranged["start_s"], ranged["end_s"], ranged["start_tc"], ranged["end_tc"]) == (
        0.4, 3.0, "10:00:00:10", "10:00:03:00")
    reply = client.post(url, json={"text": "agreed", "parent_id": first["id"]}, headers=tokens["bob"]).json()
    assert (reply["parent_id"], reply["start_frame"], reply["start_tc"]) == (first["id"], 30, "10:00:01:05")
    to_reply = client.post(url, json={"text": "fixed in v2", "parent_id": reply["id"]}, headers=tokens["alice"])
    assert to_reply.json()["parent_id"] == first["id"]  # threads are one level deep

    listed = client.get(url, headers=tokens["vera"]).json()
    assert (listed["asset_id"], listed["version"]) == (asset_id, 1)
    assert [c["id"] for c in listed["comments"]] == [ranged["id"], first["id"]]  # by frame
    assert [r["text"] for r in listed["comments"][1]["replies"]] == ["agreed", "fixed in v2"]
    detail = client.get(f"/api/v1/assets/{asset_id}", headers=tokens["vera"]).json()["versions"][0]
    assert detail["comment_count"] == 2 and detail["review_status"] == "not_reviewed"


def test_comments_are_checked_and_only_reviewers_write(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _version(farm)  # 4 s at 25 fps: frames 0..99
    other_id, _ = _version(farm, name="other.mov", content="b" * 64)
    url = f"/api/v1/assets/{asset_id}/versions/1/comments"
    ok = client.post(url, json={"text": "last frame", "frame": 99, "end_frame": 100}, headers=tokens["alice"])
    assert ok.status_code == 201
    outside = client.post(url, json={"text": "x", "frame": 100}, headers=tokens["alice"])
    assert outside.status_code == 400 and "frame 100 is outside" in outside.json()["error"]
    assert "0 to 99" in outside.json()["error"]
    too_long = client.post(url, json={"text": "x", "frame": 90, "end_frame": 101}, headers=tokens["alice"])
    assert too_long.status_code == 400 and "at most 100" in too_long.json()["error"]
    assert client.post(url, json={"text": "x", "frame": 5, "end_frame": 5}, headers=tokens["alice"]).status_code == 422
    assert client.post(url, json={"text": "x", "frame": -1}, headers=tokens["alice"]).status_code == 422
    blank = client.post(url, json={"text": "   ", "frame": 1}, headers=tokens["alice"])
    assert blank.status_code == 422 and "text" in blank.json()["error"]
    assert client.post(url, json={"text": "x" * 5001, "frame": 1}, headers=tokens["alice"]).status_code == 422
    no_frame = client.post(url, json={"text": "where?"}, headers=tokens["alice"])
    assert no_frame.status_code == 400 and "needs a frame" in no_frame.json()["error"]
    viewer = client.post(url, json={"text": "x", "frame": 1}, headers=tokens["vera"])
    assert viewer.status_code == 403 and "viewer" in viewer.json()["error"]
    elsewhere = client.post(f"/api/v1/assets/{other_id}/versions/1/comments",
                            json={"text": "x", "parent_id": ok.json()["id"]}, headers=tokens["alice"])
    assert elsewhere.status_code == 400 and "is not on version 1" in elsewhere.json()["error"]
    missing = client.get("/api/v1/assets/999/versions/1/comments", headers=tokens["vera"])
    assert missing.status_code == 404 and "no asset 999" in missing.json()["error"]
    no_version = client.get(f"/api/v1/assets/{asset_id}/versions/7/comments", headers=tokens["vera"])
    assert no_version.status_code == 404 and "has no version 7" in no_version.json()["error"]


def test_comments_are_resolved_reopened_and_filtered(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _version(farm)
    url = f"/api/v1/assets/{asset_id}/versions/1/comments"
    first, second = (client.post(url, json={"text": t, "frame": f}, headers=tokens["alice"]).json()
                     for t, f in (("a", 1), ("b", 2)))
    assert client.post(f"/api/v1/comments/{first['id']}/resolve", headers=tokens["vera"]).status_code == 403
    done = client.post(f"/api/v1/comments/{first['id']}/resolve", headers=tokens["bob"])
    assert done.status_code == 200 and done.json()["resolved"] is True and done.json()["resolved_by"] == "bob"
    assert done.json()["resolved_at"]
    assert [c["id"] for c in client.get(f"{url}?resolved=false", headers=tokens["vera"]).json()["comments"]] == [
        second["id"]]
    assert [c["id"] for c in client.get(f"{url}?resolved=true", headers=tokens["vera"]).json()["comments"]] == [
        first["id"]]
    detail = client.get(f"/api/v1/assets/{asset_id}", headers=tokens["vera"]).json()["versions"][0]
    assert detail["comment_count"] == 1
    reopened = client.post(f"/api/v1/comments/{first['id']}/resolve", json={"resolved": False},
                           headers=tokens["bob"]).json()
    assert reopened["resolved"] is False and reopened["resolved_by"] is None
    assert client.post("/api/v1/comments/999/resolve", headers=tokens["bob"]).status_code == 404


def test_comment_exports_parse_at_source_timecode(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _version(farm)
    url = f"/api/v1/assets/{asset_id}/versions/1/comments"
    first = client.post(url, json={"text": "=too dark", "frame": 30}, headers=tokens["alice"]).json()
    client.post(url, json={"text": "agreed", "parent_id": first["id"]}, headers=tokens["bob"])
    client.post(url, json={"text": "loud", "frame": 50, "end_frame": 75}, headers=tokens["carol"])

    rows = list(csv.DictReader(io.StringIO(client.get(f"{url}.csv", headers=tokens["vera"]).text)))
    assert list(rows[0]) == ["id", "parent_id", "author", "start_tc", "end_tc", "start_s", "end_s", "resolved",
                             "text", "created_at"]
    assert [(r["author"], r["start_tc"], r["end_tc"], r["text"]) for r in rows] == [
        ("alice", "10:00:01:05", "", "'=too dark"), ("bob", "10:00:01:05", "", "agreed"),
        ("carol", "10:00:02:00", "10:00:03:00", "loud")]
    assert rows[1]["parent_id"] == str(first["id"]) and rows[0]["resolved"] == "no"

    edl = client.get(f"{url}.edl", headers=tokens["vera"])
    assert edl.status_code == 200 and "attachment" in edl.headers["content-disposition"]
    assert "001  clip     V     C        10:00:00:00 10:00:04:00 10:00:00:00 10:00:04:00" in edl.text
    assert "* LOC: 10:00:01:05 RED     alice - =too dark | bob: agreed" in edl.text
    assert "* LOC: 10:00:02:00 RED     carol - loud" in edl.text

    timeline = otio.adapters.read_from_string(client.get(f"{url}.otio", headers=tokens["vera"]).text, "otio_json")
    [clip] = list(timeline.find_clips())
    markers = {m.name: m for m in clip.markers}
    start = (10 * 3600) * 25
    assert markers["alice"].marked_range.start_time.to_frames() == start + 30
    assert markers["carol"].marked_range.duration.to_frames() == 25
    assert otio.opentime.to_timecode(markers["carol"].marked_range.start_time, 25) == "10:00:02:00"


# ------------------------------------------------------------------------------------------ the rule


def test_the_rule_is_a_pure_function_of_the_latest_decisions() -> None:
    default, strict = ApprovalRule(), ApprovalRule(("alice", "bob"), 3)
    assert default.met({"x": "approve"}) and not default.met({}) and not default.met({"x": "approve", "y": "changes"})
    assert not strict.met({"alice": "approve", "bob": "approve"})
    assert strict.met({"alice": "approve", "bob": "approve", "zed": "approve"})
    assert strict.missing({"alice": "approve", "bob": "changes"}) == ["bob"]
    assert strict.text == ("A version is approved when alice and bob approve, at least 3 reviewers approve and "
                           "nobody's latest decision is 'changes'.")
    assert default.text == ("A version is approved when at least 1 reviewer approves and nobody's latest "
                            "decision is 'changes'.")
    assert ApprovalRule(("alice",), 1).text == ("A version is approved when alice approves and nobody's latest "
                                                "decision is 'changes'.")
    assert review_status({"a": "approve"}, True) == "approved"
    assert review_status({"a": "approve", "b": "changes"}, False) == "changes_requested"
    assert review_status({"a": "approve"}, False) == "in_review" and review_status({}, False) == "not_reviewed"


def test_the_rule_settings_are_validated_and_read_from_the_environment(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSHES_APPROVAL_REQUIRED_REVIEWERS", '["alice", "bob"]')
    monkeypatch.setenv("RUSHES_APPROVAL_MIN_APPROVALS", "2")
    settings = load_settings(data_dir=tmp_path)
    assert (settings.approval_required_reviewers, settings.approval_min_approvals) == (["alice", "bob"], 2)
    monkeypatch.setenv("RUSHES_APPROVAL_MIN_APPROVALS", "0")
    with pytest.raises(ConfigError, match="approval_min_approvals"):
        load_settings(data_dir=tmp_path)
    monkeypatch.setenv("RUSHES_APPROVAL_MIN_APPROVALS", "1")
    monkeypatch.setenv("RUSHES_APPROVAL_REQUIRED_REVIEWERS", '["alice", "alice"]')
    with pytest.raises(ConfigError, match="unique"):
        load_settings(data_dir=tmp_path)


def test_by_default_one_approval_approves_and_is_logged(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, version_id = _version(farm)
    url = f"/api/v1/assets/{asset_id}/versions/1/reviews"
    before = client.get(url, headers=tokens["vera"]).json()
    assert before["status"] == "not_reviewed" and before["decisions"] == [] and before["approved_at"] is None
    assert before["rule"]["min_approvals"] == 1 and before["rule"]["required_reviewers"] == []
    assert client.post(url, json={"decision": "approve"}, headers=tokens["vera"]).status_code == 403
    assert client.post(url, json={"decision": "maybe"}, headers=tokens["alice"]).status_code == 422
    after = client.post(url, json={"decision": "approve", "note": " lovely "}, headers=tokens["alice"])
    assert after.status_code == 200, after.text
    body = after.json()
    assert body["status"] == "approved" and body["approved_by"] == "alice" and body["approved_at"]
    assert body["decisions"] == [{"reviewer": "alice", "decision": "approve", "note": "lovely",
                                  "created_at": body["history"][0]["created_at"]}]
    detail = client.get(f"/api/v1/assets/{asset_id}", headers=tokens["vera"]).json()["versions"][0]
    assert (detail["review_status"], detail["approved_by"]) == ("approved", "alice")
    with farm.sessions() as session:
        events = session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id)).all()
        assert [(e.actor, e.action) for e in events] == [("alice", "approve")]
        assert f"version {version_id}" in events[0].detail
    # the old route and the function behind `rushes approve` record a review too
    legacy = client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["ed"]).json()
    assert legacy["approved"] is True and legacy["review_status"] == "approved"
    assert approve(farm, version_id, "cli") == "approved"
    with farm.sessions() as session:
        assert [r.reviewer for r in session.scalars(select(Review).order_by(Review.id))] == ["alice", "ed", "cli"]


def test_required_reviewers_must_all_approve_and_changes_unapprove(make_farm: Callable[..., Farm]) -> None:
    farm = make_farm(approval_required_reviewers=["alice", "bob"])
    asset_id, version_id = _version(farm)
    with farm.transaction() as session:
        session.add(Rendition(version_id=version_id, preset=WEB, preset_hash="p" * 64, tools="t", key="k" * 64,
                              status="ready", path="/x/web.mp4", size=1, sha256="s" * 64))
        _, token = create_target(session, "broadcaster", "pull", [WEB])
    target = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(farm)) as client:
        tokens = bearers(farm, PEOPLE)
        url = f"/api/v1/assets/{asset_id}/versions/1/reviews"

        def feed() -> list[int]:
            return [r["id"] for r in client.get("/api/v1/targets/broadcaster/feed", headers=target).json()
                    ["renditions"]]

        alice = client.post(url, json={"decision": "approve"}, headers=tokens["alice"]).json()
        assert (alice["status"], alice["missing"], feed()) == ("in_review", ["bob"], [])
        assert "alice and bob approve" in alice["rule"]["text"]
        carol = client.post(url, json={"decision": "approve"}, headers=tokens["carol"]).json()
        assert (carol["status"], carol["missing"]) == ("in_review", ["bob"])
        bob = client.post(url, json={"decision": "approve"}, headers=tokens["bob"]).json()
        assert (bob["status"], bob["missing"], bob["approved_by"]) == ("approved", [], "bob")
        assert len(feed()) == 1

        changes = client.post(url, json={"decision": "changes", "note": "logo is wrong"}, headers=tokens["carol"])
        body = changes.json()
        assert body["status"] == "changes_requested" and body["approved_at"] is None and body["approved_by"] is None
        assert feed() == []  # no longer deliverable
        assert [d["reviewer"] for d in body["decisions"]] == ["alice", "bob", "carol"]
        assert [(h["reviewer"], h["decision"]) for h in body["history"]] == [
            ("alice", "approve"), ("carol", "approve"), ("bob", "approve"), ("carol", "changes")]
        again = client.post(url, json={"decision": "approve"}, headers=tokens["carol"]).json()
        assert again["status"] == "approved" and len(feed()) == 1
    with farm.sessions() as session:
        actions = [e.action for e in session.scalars(select(DeliveryEvent).where(DeliveryEvent.actor == "carol"))]
        assert actions == ["approve", "request changes", "approve"]


def test_min_approvals_counts_distinct_reviewers(make_farm: Callable[..., Farm]) -> None:
    farm = make_farm(approval_min_approvals=2)
    asset_id, version_id = _version(farm)
    assert approve(farm, version_id, "alice") == "in_review"
    assert approve(farm, version_id, "alice") == "in_review"  # the same reviewer twice is still one
    assert approve(farm, version_id, "bob") == "approved"
    with farm.sessions() as session:
        assert session.get(Version, version_id).approved_by == "bob"


def test_only_a_ready_version_is_reviewed(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _version(farm, status="processing")
    refused = client.post(f"/api/v1/assets/{asset_id}/versions/1/reviews", json={"decision": "approve"},
                          headers=tokens["alice"])
    assert refused.status_code == 409 and "is processing; only a ready version can be reviewed" in refused.json()[
        "error"]
    legacy = client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=tokens["ed"])
    assert legacy.status_code == 409
    render = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": "web/h264-720p"},
                         headers=tokens["ed"])  # the same state answers the same on every route
    assert render.status_code == 409 and "only a ready version can be rendered" in render.json()["error"]
    assert client.get(f"/api/v1/assets/{asset_id}/versions/1/reviews", headers=tokens["vera"]).json()[
        "history"] == []


def test_the_first_version_has_nothing_to_compare_with(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _version(farm)
    first = client.get(f"/api/v1/assets/{asset_id}/versions/1/changes", headers=tokens["vera"])
    assert first.status_code == 400 and "give ?against=N" in first.json()["error"]
    itself = client.get(f"/api/v1/assets/{asset_id}/versions/1/changes?against=1", headers=tokens["vera"]).json()
    assert itself["changes"] == [] and itself["same_content"] is True
    assert client.get(f"/api/v1/assets/{asset_id}/versions/1/changes?against=4",
                      headers=tokens["vera"]).status_code == 404


def test_the_openapi_document_describes_the_review_routes(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    base = "/api/v1/assets/{asset_id}/versions/{number}"
    for path, method in [(f"{base}/comments", "get"), (f"{base}/comments", "post"), (f"{base}/reviews", "post"),
                         ("/api/v1/comments/{comment_id}/resolve", "post"), (f"{base}/changes", "get"),
                         (f"{base}/delivery", "get"), (f"{base}/comments.edl", "get")]:
        operation = paths[path][method]
        assert operation["tags"] == ["review"] and operation["summary"] and operation["description"], path
    assert "requestBody" in paths[f"{base}/comments"]["post"]


# ------------------------------------------------------------------------------------------ real clips


@pytest.fixture
def real(running_farm: Farm, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], int]]:
    """A real clip ingested and analysed: 25 fps, 3 s, start timecode 10:00:00:00."""
    result = ingest_interview(running_farm, tmp_path)
    with TestClient(create_app(running_farm)) as client:
        yield client, bearers(running_farm, PEOPLE), result.asset_id


@pytest.mark.slow
def test_changes_between_two_real_versions(real, running_farm: Farm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = real
    folder = WatchFolder(name="default")
    (tmp_path / "second").mkdir()
    second = make_clip(tmp_path / "second" / "interview.mov", seconds=2, size="320x240", timecode="11:00:00:00",
                       audio=False)
    drop = running_farm.settings.watch_path(folder) / "interview.mov"
    shutil.copyfile(second, drop)
    result = Ingester(running_farm).ingest(drop, folder)
    assert result.kind == "version" and result.asset_id == asset_id
    assert wait_version(running_farm, result.version_id, timeout=120).status == "ready"

    body = client.get(f"/api/v1/assets/{asset_id}/versions/2/changes", headers=tokens["vera"]).json()
    assert (body["version"], body["against"], body["same_content"]) == (2, 1, False)
    changed = {c["field"]: (c["before"], c["after"]) for c in body["changes"]}
    assert {"content_hash", "size", "duration_s", "resolution", "start_timecode", "audio_codec",
            "audio_channels", "audio_sample_rate"} <= set(changed), changed
    assert changed["resolution"] == ("640×360", "320×240")
    assert changed["start_timecode"] == ("10:00:00:00", "11:00:00:00")
    assert changed["audio_codec"] == ("aac", None) and changed["audio_channels"] == (2, None)
    assert "frame_rate" not in changed and "video_codec" not in changed and "original_name" not in changed
    assert all(c["label"] for c in body["changes"])


@pytest.mark.slow
def test_delivery_panel_and_downloads_wait_for_approval(real, running_farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, tokens, asset_id = real
    client.post("/api/v1/targets", json={"name": "archive", "kind": "pull", "presets": [AUDIO]},
                headers=tokens["root"])
    client.post("/api/v1/targets", json={"name": "web", "kind": "pull", "presets": [WEB, AUDIO]},
                headers=tokens["root"])
    rendition_id = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": AUDIO},
                               headers=tokens["ed"]).json()["id"]  # rendering before approval is allowed
    wait_for(lambda: client.get(f"/api/v1/renditions/{rendition_id}", headers=tokens["ed"]).json()["status"]
             == "ready", timeout=120, interval=0.3, what="the rendition")

    panel = client.get(f"/api/v1/assets/{asset_id}/versions/1/delivery", headers=tokens["vera"]).json()
    assert (panel["approved"], panel["review_status"]) == (False, "not_reviewed")
    presets = {p["name"]: p for p in panel["presets"]}
    assert {WEB, AUDIO} <= set(presets) and presets[AUDIO]["category"] == "audio" and presets[AUDIO]["title"]
    assert panel["targets"] == [{"name": "archive", "kind": "pull", "presets": [AUDIO]},
                                {"name": "web", "kind": "pull", "presets": [WEB, AUDIO]}]
    [rendition] = panel["renditions"]
    assert (rendition["id"], rendition["status"], rendition["targets"]) == (rendition_id, "ready", ["archive", "web"])

    refused = client.get(f"/api/v1/renditions/{rendition_id}/download", headers=tokens["ed"])
    assert refused.status_code == 409
    assert refused.json()["error"] == ("version 1 of interview.mov is not approved; "
                                       "only approved versions can be delivered")
    client.post(f"/api/v1/assets/{asset_id}/versions/1/reviews", json={"decision": "approve"},
                headers=tokens["alice"])
    assert client.get(f"/api/v1/assets/{asset_id}/versions/1/delivery", headers=tokens["vera"]).json()["approved"]
    taken = client.get(f"/api/v1/renditions/{rendition_id}/download", headers=tokens["ed"])
    assert taken.status_code == 200 and taken.headers["x-checksum-sha256"] == rendition["sha256"]

    # a comment on the real clip lands on its source timecode
    comment = client.post(f"/api/v1/assets/{asset_id}/versions/1/comments", json={"text": "cut here", "frame": 30},
                          headers=tokens["bob"]).json()
    assert (comment["start_s"], comment["start_tc"]) == (1.2, "10:00:01:05")
    edl = client.get(f"/api/v1/assets/{asset_id}/versions/1/comments.edl", headers=tokens["vera"]).text
    assert "* LOC: 10:00:01:05 RED     bob - cut here" in edl
