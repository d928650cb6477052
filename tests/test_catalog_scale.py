"""The hot read paths cost a fixed number of SQL statements a page, and one bad stored row costs one hit.

The catalog is filled by bench/seed.py (the seeder of the scale benchmark), small here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from catalog.models import MediaInfoRow, SearchDoc, Step
from pipeline.farm import Farm
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parents[1]
ASSETS = 120


def _seeder() -> Any:
    spec = importlib.util.spec_from_file_location("bench_seed", ROOT / "bench" / "seed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def seeded(farm: Farm, client: TestClient) -> Iterator[tuple[TestClient, dict[str, str], list[int]]]:
    counts = _seeder().seed(farm.engine.url.render_as_string(hide_password=False), ASSETS, 3)
    assert counts["assets"] == ASSETS and counts["search_docs"] == ASSETS * 4
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    admin = bearer(farm, "ada", "admin")
    assert client.get("/api/v1/me", headers=admin).status_code == 200  # the token's first use is noted once,
    client.app.state.use_notes.flush()  # by a thread behind the request: written before the counting starts
    event.listen(farm.engine, "before_cursor_execute", count)
    yield client, admin, statements
    event.remove(farm.engine, "before_cursor_execute", count)


def _cost(client: TestClient, headers: dict[str, str], statements: list[int], path: str) -> tuple[int, Any]:
    statements[0] = 0
    reply = client.get(path, headers=headers)
    assert reply.status_code == 200, reply.text
    return statements[0], reply.json()


def test_a_page_of_assets_costs_the_same_statements_however_long(seeded) -> None:  # type: ignore[no-untyped-def]
    client, admin, statements = seeded
    small, first = _cost(client, admin, statements, "/api/v1/assets?limit=5")
    large, page = _cost(client, admin, statements, "/api/v1/assets?limit=100")
    assert len(first["assets"]) == 5 and len(page["assets"]) == 100
    assert large == small <= 12, "no statements per asset (versions, media facts, proxy, steps, collection)"
    assert page["assets"][0]["poster_url"] and page["assets"][0]["progress"] == {"done": 7, "total": 7, "running": []}
    collection, _ = _cost(client, admin, statements, "/api/v1/assets?limit=100&collection=production-07")
    assert collection == small


def test_a_page_of_hits_costs_the_same_statements_however_long(seeded) -> None:  # type: ignore[no-untyped-def]
    client, admin, statements = seeded
    small, few = _cost(client, admin, statements, "/api/v1/search?q=mov&limit=5")
    large, many = _cost(client, admin, statements, "/api/v1/search?q=mov&limit=50")
    assert len(few["hits"]) == 5 and len(many["hits"]) == 50
    assert large == small <= 13, "no media facts or scene lookup per hit (one statement: the trash's asset ids)"
    assert all(hit["kind"] == "name" and hit["keyframe_url"] for hit in many["hits"])


def test_one_impossible_stored_timecode_costs_its_hit_not_the_page(seeded, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, admin, _ = seeded
    with farm.transaction() as session:
        for version_id in (3, 4):  # a word spoken in two clips, 12 s in
            session.execute(update(SearchDoc).where(SearchDoc.version_id == version_id, SearchDoc.start_s == 12.0)
                            .values(text="a zebracrossing in the rain"))
        # drop-frame skips 00:01:00;00: no player can show this start, yet such rows reach catalogs
        session.execute(update(MediaInfoRow).where(MediaInfoRow.version_id == 3)
                        .values(start_timecode="00:01:00;00", drop_frame=True, frame_rate="30000/1001"))
    hits = client.get("/api/v1/search?q=zebracrossing", headers=admin)
    assert hits.status_code == 200, hits.text
    timecodes = {hit["version_id"]: hit["timecode"] for hit in hits.json()["hits"]}
    assert timecodes == {3: None, 4: "10:00:12:00"}  # version 4: 1080p25 from 10:00:00:00 (bench/seed.py)
    detail = client.get("/api/v1/assets/3", headers=admin)
    assert detail.status_code == 200 and detail.json()["versions"][0]["clock"]["start_timecode"] == "00:01:00;00"


def test_pages_by_cursor_walk_every_asset_once_newest_first(seeded) -> None:  # type: ignore[no-untyped-def]
    client, admin, statements = seeded
    seen: list[int] = []
    cursor = ""
    while True:
        cost, page = _cost(client, admin, statements, f"/api/v1/assets?limit=50{cursor}")
        seen += [asset["id"] for asset in page["assets"]]
        if page["next"] is None:
            break
        cursor = f"&after={page['next']}"
    assert seen == list(range(ASSETS, 0, -1))
    assert cost <= 12


def test_search_ranks_the_newest_matches_first_and_never_loses_a_rare_collections_hits(
        seeded, farm: Farm, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A word in more documents than the rank window is ranked among its newest matches; a page the window
    cannot fill (a collection whose matches are all older) is ranked over every match instead. On both
    catalogs: ranking has no shortcut on either."""
    from catalog import search as search_module

    client, admin, _ = seeded
    monkeypatch.setattr(search_module, "RANK_WINDOW", {farm.engine.dialect.name: 30})
    newest = client.get("/api/v1/search?q=mov&limit=10", headers=admin).json()["hits"]
    assert {hit["asset_id"] for hit in newest} <= set(range(ASSETS - 29, ASSETS + 1))  # names: one doc an asset
    oldest = client.get("/api/v1/search?q=mov&limit=10&collection=production-02", headers=admin).json()["hits"]
    assert sorted(hit["asset_id"] for hit in oldest) == [1, 21, 41, 61, 81, 101]  # only 101 is in the window
    everything = client.get("/api/v1/search?q=mov&limit=500", headers=admin).json()["hits"]
    assert len(everything) == ASSETS  # more than the window asked for: every match, ranked


def test_collections_count_their_own_and_added_assets_in_few_statements(seeded) -> None:  # type: ignore[no-untyped-def]
    client, admin, statements = seeded
    cost, body = _cost(client, admin, statements, "/api/v1/collections")
    expected = {f"production-{c:02d}": sum(a % 20 + 1 == c for a in range(1, ASSETS + 1))
                + sum((a + 7) % 20 + 1 == c for a in range(1, ASSETS + 1, 10)) for c in range(1, 21)}
    assert {c["name"]: c["assets"] for c in body["collections"]} == expected
    assert sum(expected.values()) == ASSETS + ASSETS // 10 and cost <= 8


def test_metrics_give_the_farm_in_prometheus_text_for_an_admin(seeded, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client.parser import text_string_to_metric_families

    client, admin, _ = seeded
    with farm.transaction() as session:  # a little of everything: a queued proxy, a failed probe
        session.execute(update(Step).where(Step.id == 2).values(status="queued"))
        session.execute(update(Step).where(Step.id == 8).values(status="failed", error="probe: truncated"))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(farm, "ed", "editor")).status_code == 403
    reply = client.get("/metrics", headers=admin)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(reply.text) for s in family.samples}
    assert samples[("rushes_steps", (("kind", "proxy"), ("status", "done")))] == ASSETS - 1
    assert samples[("rushes_steps", (("kind", "probe"), ("status", "failed")))] == 1
    assert samples[("rushes_queue_depth", (("queue", "proxy"),))] == 1
    assert samples[("rushes_queue_depth", (("queue", "render"),))] == 0
    assert samples[("rushes_assets", (("status", "ready"),))] == ASSETS
    assert samples[("rushes_ingested_bytes", ())] == sum(10_000_000 + a for a in range(1, ASSETS + 1))
    assert any(name == "rushes_http_request_duration_seconds_count" and dict(labels)["route"] == "/metrics"
               for name, labels in samples)


def test_rushes_status_says_what_waits_runs_and_failed(seeded, farm: Farm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os

    from tests.conftest import run
    from tests.farmproc import RUSHES

    with farm.transaction() as session:
        session.execute(update(Step).where(Step.id == 9).values(status="queued"))
        session.execute(update(Step).where(Step.id == 15).values(status="failed", error="probe: truncated: 100 bytes"))
    env = {**os.environ, "RUSHES_DATABASE_URL": farm.engine.url.render_as_string(hide_password=False)}
    shown = run([RUSHES, "--data", str(tmp_path / "cli"), "status", "--json"], env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["queues"]["proxy"] == {"queued": 1, "running": 0} and report["assets"] == {"ready": ASSETS}
    assert not any(v["queued"] or v["running"] for q, v in report["queues"].items() if q != "proxy")
    assert report["failures"][0] == {**report["failures"][0], "asset_id": 3, "step": "probe",
                                     "error": "probe: truncated: 100 bytes"}
    text = run([RUSHES, "--data", str(tmp_path / "cli"), "status"], env=env).stdout
    assert "proxy 1 queued / 0 running" in text and "failed: asset 3 A0000003_C003.mov v1 probe" in text


HOT_PATHS = ("/api/v1/assets?limit=50", "/api/v1/assets?limit=50&after={cursor}",
             "/api/v1/assets?limit=50&collection=production-03", "/api/v1/assets?limit=50&status=failed",
             "/api/v1/assets/{asset_id}", "/api/v1/search?q=harbour", "/api/v1/search?q=the",
             '/api/v1/search?q="fellow americans"', "/api/v1/search?q=harbour&collection=production-05",
             "/api/v1/collections")


@pytest.mark.slow
def test_postgresql_plans_the_hot_paths_without_a_sequential_scan(make_settings: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PostgreSQL catalog large enough for the planner to choose (20 000 assets, 220 000 documents,
    ANALYZEd), every statement the list, detail, search and collections requests run — for an admin and for
    an editor limited to two collections — is planned with indexes on every table of 10 000 rows or more.

    The search's rank window is scaled to this catalog (5 000 of 10 M documents is 100 of 220 000): a window
    of 2 % of the table is rightly joined by hashing, which is not what a large catalog sees."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog import search as search_module
    from catalog.auth import ensure_user, grant
    from tests.conftest import create_pg_database, drop_pg_database

    monkeypatch.setattr(search_module, "RANK_WINDOW", {"postgresql": 100})

    url = create_pg_database()
    try:
        farm = Farm(make_settings(database_url=url))
        _seeder().seed(url, 20_000, 10)
        admin = bearer(farm, "ada", "admin")
        editor = bearer(farm, "ed", "editor", collection=None)
        with farm.transaction() as session:
            user = ensure_user(session, "ed", "editor")
            for name in ("production-03", "production-05"):
                grant(session, user, collection=name)
        seen: list[tuple[str, Any]] = []

        def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        with TestClient(create_app(farm), base_url="http://127.0.0.1") as client:
            first = client.get("/api/v1/assets?limit=50", headers=admin).json()
            shared = client.get("/api/v1/assets?limit=10&collection=production-03", headers=admin).json()
            values = {"cursor": first["next"], "asset_id": shared["assets"][7]["id"]}  # the editor's to see
            event.listen(farm.engine, "before_cursor_execute", keep)
            for headers in (admin, editor):
                for path in HOT_PATHS:
                    assert client.get(path.format(**values), headers=headers).status_code == 200, path
            event.remove(farm.engine, "before_cursor_execute", keep)
        scans: dict[str, list[str]] = {}
        with farm.engine.connect() as conn:  # a table of a few thousand rows is rightly read whole
            big = [name for name, in conn.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= 10000")]
            assert {"assets", "versions", "steps", "scenes", "search_docs"} <= set(big), big
            for statement, parameters in dict.fromkeys((s, repr(p)) for s, p in seen):
                params = next(p for s, p in seen if s == statement and repr(p) == parameters)
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
                for table in big:
                    if f"Seq Scan on {table}" in plan:
                        scans.setdefault(table, []).append(f"{statement}\n{plan}")
        assert not scans, "\n\n".join(f"--- {table}\n" + "\n".join(plans) for table, plans in scans.items())
        farm.close()
    finally:
        drop_pg_database(url)


def test_on_sqlite_the_library_reads_while_a_writer_holds_the_lock(farm: Farm, client: TestClient,
                                                                    clips: dict[str, Path]) -> None:
    """A long write (an ingest committing, a reconciler pass) must not stall every page of the library: the
    read-only routes take no write lock, so they answer while another transaction holds it."""
    import threading
    import time

    from catalog.models import Asset
    from pipeline.ingest import Ingester
    from rushes.settings import WatchFolder

    if farm.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers (MVCC); SQLite's write lock is the case here")
    asset_id = Ingester(farm).ingest(clips["short"], WatchFolder(name="default"), consume=False).asset_id
    admin = bearer(farm, "ada", "admin")
    assert client.get("/api/v1/me", headers=admin).status_code == 200  # the token's use is noted now
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with farm.transaction() as session:  # BEGIN IMMEDIATE: the write lock, held until released
            session.execute(update(Asset).where(Asset.id == asset_id).values(error=None))
            holding.set()
            release.wait(20)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        for path in ("/api/v1/assets", "/api/v1/collections", "/api/v1/rights/expiring", "/api/v1/farm",
                     f"/api/v1/versions/{asset_id}/waveform"):
            started = time.monotonic()
            reply = client.get(path, headers=admin)
            assert reply.status_code in (200, 404), (path, reply.text)
            assert time.monotonic() - started < 2, f"{path} waited for the writer"
    finally:
        release.set()
        thread.join()
