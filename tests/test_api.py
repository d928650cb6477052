"""The HTTP API: tokens and roles, assets with steps and media info, proxies with Range, retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.workflow import WORKFLOW
from rushes.settings import WatchFolder
from tests.conftest import bearer, wait_version

FOLDER = WatchFolder(name="default")


@pytest.fixture
def client(client: TestClient, running_farm: Farm) -> TestClient:
    """The API of a farm whose worker threads run (what is dropped gets processed)."""
    return client


@pytest.fixture
def ready_asset(running_farm: Farm, clips: dict[str, Path]) -> int:
    result = Ingester(running_farm).ingest(clips["short"], FOLDER, consume=False)
    assert wait_version(running_farm, result.version_id).status == "ready"
    return result.asset_id


def test_health_needs_no_token(client: TestClient) -> None:
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_api_routes_refuse_missing_or_wrong_tokens_in_json(client: TestClient, headers: dict[str, str]) -> None:
    reply = client.get("/api/v1/assets", headers=headers)
    assert reply.status_code == 401
    assert reply.json()["error"] and reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.analysis
@pytest.mark.slow
def test_assets_list_detail_and_filters(client: TestClient, running_farm: Farm, ready_asset: int) -> None:
    viewer = bearer(running_farm, "vera", "viewer")
    listed = client.get("/api/v1/assets", headers=viewer).json()["assets"]
    assert [(a["id"], a["name"], a["status"], a["collection"]) for a in listed] == [
        (ready_asset, "short.mov", "ready", "default")]
    assert listed[0]["created_at"] and listed[0]["start_timecode"] == "01:00:00:00"
    assert client.get("/api/v1/assets?status=failed", headers=viewer).json()["assets"] == []
    assert client.get("/api/v1/assets?collection=nope", headers=viewer).json()["assets"] == []
    assert client.get("/api/v1/assets?status=bogus", headers=viewer).status_code == 422

    detail = client.get(f"/api/v1/assets/{ready_asset}", headers=viewer).json()
    assert [v["number"] for v in detail["versions"]] == [1]
    assert {s["kind"]: (s["status"], s["progress"]) for s in detail["steps"]} == {
        kind: ("done", 1.0) for kind in WORKFLOW}
    assert detail["media_info"]["video"][0]["width"] == 320
    assert detail["proxy_url"].endswith("/proxy")
    missing = client.get("/api/v1/assets/999999", headers=viewer)
    assert missing.status_code == 404 and "999999" in missing.json()["error"]


def test_the_proxy_plays_with_range_requests(client: TestClient, running_farm: Farm, ready_asset: int) -> None:
    viewer = bearer(running_farm, "vera", "viewer")
    url = client.get(f"/api/v1/assets/{ready_asset}", headers=viewer).json()["proxy_url"]
    whole = client.get(url, headers=viewer)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={**viewer, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    poster = client.get(client.get(f"/api/v1/assets/{ready_asset}", headers=viewer).json()["versions"][0]
                        ["poster_url"], headers=viewer)
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"


def test_retry_needs_an_editor(client: TestClient, running_farm: Farm, ready_asset: int) -> None:
    denied = client.post(f"/api/v1/assets/{ready_asset}/retry", headers=bearer(running_farm, "vera", "viewer"))
    assert denied.status_code == 403 and "viewer" in denied.json()["error"]
    allowed = client.post(f"/api/v1/assets/{ready_asset}/retry", headers=bearer(running_farm, "ed", "editor"))
    assert allowed.status_code == 200 and allowed.json()["retried_steps"] == []
