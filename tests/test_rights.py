"""Rights that block delivery: verdicts in words, effective rights (version over asset), gated feeds, downloads and
pushes, the expiring list, the rights API (both catalogs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from catalog.models import Asset, Collection, DeliveryEvent, Rendition, Rights, Target, Version
from catalog.rights import (
    RightsError,
    channel_names,
    delivery_channel,
    effective,
    effective_for,
    expiring,
    set_rights,
    territory_code,
    territory_codes,
    verdict,
)
from delivery.pushes import push_all_due
from delivery.targets import create_target, deliverable
from pipeline.farm import Farm
from pipeline.renditions import deliver_due
from pipeline.review import approve
from tests.conftest import bearers, ingest_interview, wait_for

PEOPLE = {"root": "admin", "ed": "editor", "alice": "reviewer", "vera": "viewer"}
WEB, AUDIO, SOCIAL = "web/h264-720p", "audio/mp3", "social/square-1x1"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _rights(**fields: Any) -> Rights:
    return Rights(asset_id=1, **fields)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------ pure verdicts


@pytest.mark.parametrize(("fields", "channel", "territory", "allowed", "reason"), [
    ({}, "web", None, True, None),
    ({"window_start": _day("2027-01-01")}, "web", "GB", False, "not yet in its rights window (opens 2027-01-01)"),
    ({"window_end": _day("2026-06-01")}, "web", "GB", False, "rights window closed on 2026-06-01"),
    ({"window_end": _day("2026-06-01T12:00:01")}, "web", "GB", True, None),  # open until its last second
    ({"window_start": _day("2026-01-01")}, "web", "GB", True, None),  # open-ended
    ({"window_end": _day("2026-12-01")}, "web", "GB", True, None),  # open start
    ({"window_start": _day("2026-01-01"), "window_end": _day("2026-03-01")}, "web", None, False,
     "rights window closed on 2026-03-01"),
    ({"channels": ["broadcast", "web"]}, "social", "GB", False,
     "channel 'social' not licensed (licensed: broadcast, web)"),
    ({"channels": ["broadcast", "web"]}, "web", "GB", True, None),
    ({"territories": ["GB", "IE"]}, "web", "US", False, "territory 'US' not licensed (licensed: GB, IE)"),
    ({"territories": ["GB", "IE"]}, "web", "IE", True, None),
    ({"territories": ["GB", "IE"]}, "web", None, False, "worldwide target, rights only for GB, IE"),
    ({"territories": None, "channels": None}, "social", None, True, None),  # none recorded: worldwide, all
])
def test_verdicts_say_why_in_words(fields: dict[str, Any], channel: str, territory: str | None, allowed: bool,
                                   reason: str | None) -> None:
    found = verdict(_rights(**fields), channel=channel, territory=territory, at=NOW)
    assert (found.allowed, found.reason) == (allowed, reason)


def test_no_rights_recorded_is_unrestricted_and_a_naive_time_is_utc() -> None:
    assert verdict(None, channel="social", territory=None, at=NOW).allowed
    naive = _rights(window_end=datetime(2026, 6, 1, 12, 0))  # SQLite gives back naive UTC
    assert not verdict(naive, channel="web", territory="GB", at=NOW).allowed


def test_the_channel_of_a_delivery_and_the_codes_accepted() -> None:
    assert delivery_channel(None, "audio") == "broadcast"
    assert delivery_channel(None, "social") == "social"
    assert delivery_channel("web", "broadcast") == "web"  # the target's own channel wins
    assert territory_codes(["ie", " gb ", "GB"]) == ["GB", "IE"] and territory_codes([]) is None
    assert channel_names(["web", "broadcast", "web"]) == ["broadcast", "web"] and channel_names([]) is None
    with pytest.raises(RightsError, match="'UK' is not an ISO 3166-1 alpha-2 country code .the United Kingdom is GB"):
        territory_code("UK")
    with pytest.raises(RightsError, match="unknown channel 'tv': use broadcast, web or social"):
        channel_names(["tv"])


# ------------------------------------------------------------------------------------------ catalog helpers


def _asset(farm: Farm, name: str = "clip.mov", collection: str = "c", versions: int = 1,
           approved: bool = False) -> tuple[int, list[int]]:
    """An asset with ready versions, made directly in the catalog."""
    with farm.transaction() as session:
        found = session.scalar(select(Collection).where(Collection.name == collection))
        asset = Asset(name=name, source_folder="default", collection=found or Collection(name=collection),
                      status="ready")
        session.add(asset)
        session.flush()
        ids = []
        for number in range(1, versions + 1):
            version = Version(asset_id=asset.id, number=number,
                              content_hash=hashlib.sha256(f"{name}{number}".encode()).hexdigest(), size=1,
                              original_name=name, source_folder="default", source_path=f"/x/{name}",
                              stored_path="/x/original.mov", status="ready",
                              approved_at=NOW if approved else None, approved_by="root" if approved else None)
            session.add(version)
            session.flush()
            ids.append(version.id)
        return asset.id, ids


def _rendition(farm: Farm, version_id: int, preset: str, folder: Path) -> int:
    """A ready, QC-passed rendition with a real file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version_id}-{preset.replace('/', '-')}.{'mp3' if preset == AUDIO else 'mp4'}"
    path.write_bytes(b"\x00rendition of " + preset.encode() * 50)
    with farm.transaction() as session:
        rendition = Rendition(version_id=version_id, preset=preset, preset_hash="p" * 64, tools="t",
                              key=hashlib.sha256(f"{version_id}{preset}".encode()).hexdigest(), status="ready",
                              path=str(path), size=path.stat().st_size,
                              sha256=hashlib.sha256(path.read_bytes()).hexdigest(), qc={"passed": True, "checks": []},
                              finished_at=NOW)
        session.add(rendition)
        session.flush()
        return rendition.id


@pytest.fixture
def api(client: TestClient, farm: Farm) -> tuple[TestClient, dict[str, dict[str, str]]]:
    return client, bearers(farm, PEOPLE, "c")


def test_a_versions_own_rights_beat_its_assets(farm: Farm) -> None:
    asset_id, (v1, v2) = _asset(farm, versions=2)
    with farm.transaction() as session:
        version = session.get(Version, v1)
        assert effective(session, version) == (None, None)
        set_rights(session, asset_id, None, {"licence": "RM", "territories": ["gb"]}, "ed")
        set_rights(session, asset_id, v2, {"licence": "RF", "channels": ["web"]}, "ed")
    with farm.sessions() as session:
        first, second = session.get(Version, v1), session.get(Version, v2)
        rights, level = effective(session, first)
        assert (rights.licence, rights.territories, level) == ("RM", ["GB"], "asset")
        rights, level = effective(session, second)
        assert (rights.licence, rights.channels, rights.territories, level) == ("RF", ["web"], None, "version")
        bulk = effective_for(session, [(v1, asset_id), (v2, asset_id)])
        assert (bulk[v1].licence, bulk[v2].licence) == ("RM", "RF")
    with farm.transaction() as session, pytest.raises(RightsError, match="ends .2026-01-01. before it starts"):
        set_rights(session, asset_id, None, {"window_start": _day("2026-02-01"), "window_end": _day("2026-01-01")},
                   "ed")


# ------------------------------------------------------------------------------------------ the API


def test_editors_set_rights_readers_see_them_with_each_targets_verdict(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _asset(farm, versions=2)
    with farm.transaction() as session:
        create_target(session, "bbc", "pull", [WEB, AUDIO], territory="GB")
        create_target(session, "tiktok", "pull", [SOCIAL])
    url = f"/api/v1/assets/{asset_id}/rights"
    empty = client.get(url, headers=tokens["vera"]).json()
    assert (empty["version"], empty["level"], empty["summary"], empty["rights"]) == (2, None, "no rights recorded",
                                                                                    None)
    assert all(t["allowed"] for t in empty["targets"])

    body = {"licence": "Getty RM", "source": "Getty Images", "usage": "News use only", "territories": ["gb", "IE"],
            "channels": ["broadcast", "web"], "window_start": "2020-01-01", "window_end": "2999-01-01",
            "model_release": True}
    assert client.put(url, json=body, headers=tokens["vera"]).status_code == 403
    assert client.put(url, json=body, headers=tokens["alice"]).status_code == 403
    saved = client.put(url, json=body, headers=tokens["ed"])
    assert saved.status_code == 200, saved.text
    shown = client.get(url, headers=tokens["vera"]).json()
    assert shown["level"] == "asset" and shown["rights"] == shown["asset_rights"] and shown["version_rights"] is None
    rights = shown["rights"]
    assert (rights["territories"], rights["channels"], rights["model_release"], rights["location_release"],
            rights["updated_by"]) == (["GB", "IE"], ["broadcast", "web"], True, False, "ed")
    assert rights["window_start"].startswith("2020-01-01T00:00:00") and rights["window_end"].startswith("2999-01-01")
    assert "Getty RM" in shown["summary"] and "territories GB, IE" in shown["summary"]
    verdicts = {t["name"]: t for t in shown["targets"]}
    assert verdicts["bbc"]["allowed"] and [p["channel"] for p in verdicts["bbc"]["presets"]] == ["web", "broadcast"]
    assert not verdicts["tiktok"]["allowed"]
    assert verdicts["tiktok"]["reason"] == "channel 'social' not licensed (licensed: broadcast, web)"

    # a version of its own: the override wins for that version only; removing it brings the asset's back
    own = client.put(f"/api/v1/assets/{asset_id}/versions/1/rights", json={"licence": "CC BY 4.0"},
                     headers=tokens["ed"]).json()
    assert (own["version"], own["level"], own["rights"]["licence"], own["asset_rights"]["licence"]) == (
        1, "version", "CC BY 4.0", "Getty RM")
    assert all(t["allowed"] for t in own["targets"])
    assert client.get(url, headers=tokens["vera"]).json()["level"] == "asset"  # the newest, v2, follows the asset
    assert client.get(f"{url}?version=1", headers=tokens["vera"]).json()["level"] == "version"
    removed = client.delete(f"/api/v1/assets/{asset_id}/versions/1/rights", headers=tokens["ed"])
    assert removed.status_code == 200 and removed.json()["level"] == "asset"
    again = client.delete(f"/api/v1/assets/{asset_id}/versions/1/rights", headers=tokens["ed"])
    assert again.status_code == 404 and "has no rights of its own" in again.json()["error"]
    assert client.delete(f"/api/v1/assets/{asset_id}/versions/1/rights", headers=tokens["vera"]).status_code == 403
    assert client.get(f"{url}?version=7", headers=tokens["vera"]).status_code == 404
    assert client.get("/api/v1/assets/9999/rights", headers=tokens["root"]).status_code == 404


@pytest.mark.parametrize(("body", "message"), [
    ({"channels": ["tv"]}, "unknown channel 'tv': use broadcast, web or social"),
    ({"territories": ["GB", "XX"]}, "territory 'XX' is not an ISO 3166-1 alpha-2 country code"),
    ({"territories": ["UK"]}, "the United Kingdom is GB"),
    ({"window_start": "2026-05-01", "window_end": "2026-04-01"},
     "the rights window ends (2026-04-01) before it starts (2026-05-01)"),
    ({"window_end": "next tuesday"}, "body.window_end"),
])
def test_bad_rights_are_refused_with_a_clear_422(farm: Farm, api, body: dict[str, Any], message: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, _ = _asset(farm)
    refused = client.put(f"/api/v1/assets/{asset_id}/rights", json=body, headers=tokens["ed"])
    assert refused.status_code == 422 and message in refused.json()["error"], refused.json()
    with farm.sessions() as session:
        assert session.scalars(select(Rights)).all() == []


def test_targets_take_a_channel_and_a_territory(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    made = client.post("/api/v1/targets", json={"name": "rte", "kind": "pull", "presets": [WEB], "channel": "broadcast",
                                                "territory": "ie"}, headers=tokens["root"])
    assert made.status_code == 201 and (made.json()["channel"], made.json()["territory"]) == ("broadcast", "IE")
    listed = client.get("/api/v1/targets", headers=tokens["root"]).json()["targets"]
    assert [(t["name"], t["channel"], t["territory"]) for t in listed] == [("rte", "broadcast", "IE")]
    for bad, message in (({"channel": "radio"}, "unknown channel 'radio'"), ({"territory": "EU"}, "'EU' is not")):
        refused = client.post("/api/v1/targets", json={"name": "x", "kind": "pull", "presets": [WEB], **bad},
                              headers=tokens["root"])
        assert refused.status_code == 422 and message in refused.json()["error"]


def test_the_cli_adds_a_target_with_a_channel_and_territory(farm: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    from rushes.cli import main

    monkeypatch.setenv("RUSHES_DATABASE_URL", farm.settings.database_url)
    runner = CliRunner()
    data = str(farm.settings.data_dir)
    done = runner.invoke(main, ["--data", data, "targets", "add", "nrk", "--preset", WEB, "--territory", "no",
                                "--channel", "web"])
    assert done.exit_code == 0, done.output
    bad = runner.invoke(main, ["--data", data, "targets", "add", "zz", "--preset", WEB, "--territory", "ZZ"])
    assert bad.exit_code != 0 and "'ZZ' is not an ISO 3166-1 alpha-2 country code" in bad.output
    with farm.sessions() as session:
        target = session.scalar(select(Target).where(Target.name == "nrk"))
        assert (target.channel, target.territory) == ("web", "NO")


def test_what_expires_soon_is_listed_soonest_first(farm: Farm, api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    now = datetime.now(UTC)
    soon, later, gone = (_asset(farm, name=n) for n in ("soon.mov", "later.mov", "gone.mov"))
    versioned, (v1,) = _asset(farm, name="versioned.mov")
    hidden, _ = _asset(farm, name="hidden.mov", collection="secret")
    with farm.transaction() as session:
        set_rights(session, soon[0], None, {"licence": "RM", "window_end": now + timedelta(days=10)}, "ed")
        set_rights(session, later[0], None, {"window_end": now + timedelta(days=40)}, "ed")
        set_rights(session, gone[0], None, {"window_end": now - timedelta(days=1)}, "ed")
        set_rights(session, versioned, v1, {"window_end": now + timedelta(days=5)}, "ed")
        set_rights(session, hidden, None, {"window_end": now + timedelta(days=3)}, "ed")
        assert [r["asset"] for r in expiring(session, 30)] == ["hidden.mov", "versioned.mov", "soon.mov"]
    listed = client.get("/api/v1/rights/expiring", headers=tokens["vera"]).json()
    assert listed["days"] == 30
    assert [(r["asset"], r["level"], r["version"], r["days_left"]) for r in listed["rights"]] == [
        ("versioned.mov", "version", 1, 5), ("soon.mov", "asset", None, 10)]  # not hidden.mov: not granted
    assert listed["rights"][1]["ends_on"] == (now + timedelta(days=10)).date().isoformat()
    assert listed["rights"][1]["licence"] == "RM"
    assert len(client.get("/api/v1/rights/expiring?days=45", headers=tokens["root"]).json()["rights"]) == 4
    for days in (0, 3651):
        refused = client.get(f"/api/v1/rights/expiring?days={days}", headers=tokens["vera"])
        assert refused.status_code == 422 and "days" in refused.json()["error"]


def test_the_openapi_document_describes_the_rights_routes(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [("/api/v1/assets/{asset_id}/rights", "get"), ("/api/v1/assets/{asset_id}/rights", "put"),
                         ("/api/v1/assets/{asset_id}/versions/{number}/rights", "put"),
                         ("/api/v1/assets/{asset_id}/versions/{number}/rights", "delete"),
                         ("/api/v1/rights/expiring", "get")]:
        operation = paths[path][method]
        assert operation["tags"] == ["rights"] and operation["summary"] and operation["description"], path
        assert "$ref" in json.dumps(operation["responses"]["200"]), path
    assert "requestBody" in paths["/api/v1/assets/{asset_id}/rights"]["put"]


# ------------------------------------------------------------------------------------------ delivery gating


def test_a_closing_window_takes_a_rendition_out_of_a_pull_feed(farm: Farm, api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    asset_id, (version_id,) = _asset(farm, approved=True)
    rendition_id = _rendition(farm, version_id, WEB, tmp_path / "renditions")
    with farm.transaction() as session:
        _, token = create_target(session, "broadcaster", "pull", [WEB], territory="GB")
    target = {"Authorization": f"Bearer {token}"}

    def feed() -> list[int]:
        return [r["id"] for r in client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"]]

    assert feed() == [rendition_id]
    assert client.get(f"/api/v1/targets/broadcaster/renditions/{rendition_id}", headers=target).status_code == 200
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    saved = client.put(f"/api/v1/assets/{asset_id}/rights", headers=tokens["ed"],
                       json={"licence": "RM", "territories": ["GB"], "window_end": yesterday.isoformat()})
    assert saved.status_code == 200
    reason = f"rights window closed on {yesterday.isoformat()}"
    assert saved.json()["targets"][0]["reason"] == reason

    assert feed() == []  # no job ran: the feed is judged when it is read
    rss = ET.fromstring(client.get("/api/v1/targets/broadcaster/feed.rss", headers=target).text)
    assert rss.findall("channel/item") == []
    refused = client.get(f"/api/v1/targets/broadcaster/renditions/{rendition_id}", headers=target)
    assert refused.status_code == 403
    assert refused.json() == {"error": f"rendition {rendition_id} may not go to broadcaster: {reason}", "status": 403}
    # the editors' own download keeps only the approval gate
    assert client.get(f"/api/v1/renditions/{rendition_id}/download", headers=tokens["ed"]).status_code == 200
    panel = client.get(f"/api/v1/assets/{asset_id}/versions/1/delivery", headers=tokens["vera"]).json()
    [item] = panel["renditions"]
    assert (item["targets"], item["refused"]) == ([], [{"target": "broadcaster", "reason": reason}])
    with farm.sessions() as session:
        log = [(e.action, e.target, e.rendition_id, e.detail) for e in session.scalars(
            select(DeliveryEvent).where(DeliveryEvent.action == "refused"))]
        assert log == [("refused", "broadcaster", rendition_id, reason)]
        target_row = session.scalar(select(Target).where(Target.name == "broadcaster"))
        before = datetime.combine(yesterday, datetime.min.time(), UTC) - timedelta(hours=1)
        assert [r.id for r in deliverable(session, target_row, at=before)] == [rendition_id]  # a clock parameter

    # a territory the rights do not cover, and a worldwide target
    client.put(f"/api/v1/assets/{asset_id}/rights", json={"territories": ["IE"]}, headers=tokens["ed"])
    assert feed() == []
    with farm.transaction() as session:
        _, anywhere = create_target(session, "anywhere", "pull", [WEB])
    worldwide = client.get(f"/api/v1/targets/anywhere/renditions/{rendition_id}",
                           headers={"Authorization": f"Bearer {anywhere}"})
    assert worldwide.status_code == 403 and "worldwide target, rights only for IE" in worldwide.json()["error"]
    client.put(f"/api/v1/assets/{asset_id}/rights", json={"territories": ["IE", "GB"]}, headers=tokens["ed"])
    assert feed() == [rendition_id]


def test_a_push_outside_the_rights_is_refused_logged_and_sent_once_they_allow_it(farm: Farm, api,  # type: ignore[no-untyped-def]
                                                                                  tmp_path: Path) -> None:
    client, tokens = api
    asset_id, (version_id,) = _asset(farm)
    rendition_id = _rendition(farm, version_id, AUDIO, tmp_path / "renditions")
    outbox = tmp_path / "outbox"
    with farm.transaction() as session:
        create_target(session, "us-archive", "push", [AUDIO], str(outbox), territory="US")
        set_rights(session, asset_id, None, {"territories": ["GB"], "channels": ["broadcast"]}, "ed")
    assert approve(farm, version_id, "alice") == "approved"  # pushes what is due, after the commit
    deliver_due(farm)  # and again: the same refusal is not logged twice
    assert not outbox.exists() or list(outbox.iterdir()) == []

    def events() -> list[tuple[str, str | None]]:
        with farm.sessions() as session:
            return [(e.action, e.detail) for e in session.scalars(
                select(DeliveryEvent).where(DeliveryEvent.target == "us-archive").order_by(DeliveryEvent.id))]

    assert events() == [("refused", "territory 'US' not licensed (licensed: GB)")]
    fixed = client.put(f"/api/v1/assets/{asset_id}/rights", json={"territories": ["GB", "US"]}, headers=tokens["ed"])
    assert fixed.status_code == 200
    media = outbox / "clip_v1_audio-mp3.mp3"
    assert media.is_file() and json.loads((outbox / "clip_v1_audio-mp3.mp3.json").read_text())["rendition_id"] == (
        rendition_id)
    assert events() == [("refused", "territory 'US' not licensed (licensed: GB)"), ("push", "ok")]
    assert push_all_due(farm.sessions).written == []  # idempotent


def test_a_push_copies_while_the_farm_writes_and_two_sweeps_push_a_pair_once(farm: Farm, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is copied with no catalog transaction open (on SQLite one held the farm's only write lock for the
    whole copy), and sweeps at once still push each pair once (the push lock)."""
    import threading
    import time

    from sqlalchemy import update

    from delivery import pushes

    asset_id, (version_id,) = _asset(farm, approved=True)
    rendition_id = _rendition(farm, version_id, AUDIO, tmp_path / "renditions")
    with farm.transaction() as session:
        create_target(session, "outbox", "push", [AUDIO], str(tmp_path / "outbox"))
    copy_out, writes = pushes.copy_out, []

    def copy_while_the_farm_writes(push: pushes.Push):  # type: ignore[no-untyped-def]
        def write() -> None:  # a worker's heartbeat, a person's save: any writer of the farm
            with farm.transaction() as session:
                session.execute(update(Asset).where(Asset.id == asset_id).values(name="renamed.mov"))

        started = time.monotonic()
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        writes.append(time.monotonic() - started)
        time.sleep(0.3)  # the other sweep waits at the push lock meanwhile
        return copy_out(push)

    monkeypatch.setattr(pushes, "copy_out", copy_while_the_farm_writes)
    sweeps = [threading.Thread(target=push_all_due, args=(farm.sessions,)) for _ in range(2)]
    for sweep in sweeps:
        sweep.start()
    for sweep in sweeps:
        sweep.join(60)
    assert len(writes) == 1 and writes[0] < 5, f"copies made: {len(writes)}; the write during it took {writes}"
    assert (tmp_path / "outbox" / "clip_v1_audio-mp3.mp3").is_file()
    with farm.readers() as session:
        assert [(e.action, e.detail) for e in session.scalars(select(DeliveryEvent).where(
            DeliveryEvent.rendition_id == rendition_id))] == [("push", "ok")]
        assert session.get(Asset, asset_id).name == "renamed.mov"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ a real clip


@pytest.fixture
def real(running_farm: Farm, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], int]]:
    result = ingest_interview(running_farm, tmp_path)
    with running_farm.sessions() as session:
        collection = session.get(Asset, result.asset_id).collection.name
    with TestClient(create_app(running_farm)) as client:
        yield client, bearers(running_farm, PEOPLE, collection), result.asset_id


@pytest.mark.slow
def test_a_real_rendition_leaves_the_feed_when_its_window_closes_and_a_push_waits_for_rights(  # type: ignore[no-untyped-def]
        real, tmp_path: Path) -> None:
    client, tokens, asset_id = real
    outbox = tmp_path / "outbox"
    token = client.post("/api/v1/targets", json={"name": "broadcaster", "kind": "pull", "presets": [AUDIO]},
                        headers=tokens["root"]).json()["token"]
    target = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/targets", json={"name": "social-desk", "kind": "push", "presets": [AUDIO],
                                         "folder": str(outbox), "channel": "social"}, headers=tokens["root"])
    rights_url = f"/api/v1/assets/{asset_id}/rights"
    assert client.put(rights_url, json={"licence": "RM", "channels": ["broadcast"]},
                      headers=tokens["ed"]).status_code == 200
    rendition_id = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": AUDIO},
                               headers=tokens["ed"]).json()["id"]
    wait_for(lambda: client.get(f"/api/v1/renditions/{rendition_id}", headers=tokens["ed"]).json()["status"]
             == "ready", timeout=120, interval=0.3, what="the rendition")
    assert client.post(f"/api/v1/assets/{asset_id}/versions/1/reviews", json={"decision": "approve"},
                       headers=tokens["alice"]).json()["status"] == "approved"

    [item] = client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"]
    assert item["id"] == rendition_id  # audio counts as broadcast
    taken = client.get(item["download_url"], headers=target)
    assert taken.status_code == 200 and hashlib.sha256(taken.content).hexdigest() == item["sha256"]
    refusal = "channel 'social' not licensed (licensed: broadcast)"
    log = client.get("/api/v1/deliveries", headers=tokens["root"]).json()["events"]
    assert ("refused", "social-desk", rendition_id, refusal) in {
        (e["action"], e["target"], e["rendition_id"], e["detail"]) for e in log}
    assert not outbox.exists() or list(outbox.iterdir()) == []

    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    client.put(rights_url, json={"licence": "RM", "channels": ["broadcast", "social"], "window_end": yesterday},
               headers=tokens["ed"])
    assert client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"] == []
    refused = client.get(item["download_url"], headers=target)
    assert refused.status_code == 403 and f"rights window closed on {yesterday}" in refused.json()["error"]
    assert not outbox.exists() or list(outbox.iterdir()) == []

    client.put(rights_url, json={"licence": "RM", "channels": ["broadcast", "social"]}, headers=tokens["ed"])
    [manifest] = wait_for(lambda: list(outbox.glob("*.json")), timeout=30, what="the push")
    assert json.loads(manifest.read_text())["sha256"] == item["sha256"]
    assert len(client.get("/api/v1/targets/broadcaster/feed", headers=target).json()["renditions"]) == 1
