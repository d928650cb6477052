"""Lifecycle policies per collection on a running farm (both catalogs): retention from ingest applied to the assets
there and to those that come (extended, never shortened), originals nobody used archived while a used or held one
stays, originals archived after their first delivery, and assets past their retention proposed for deletion to
admins — never deleted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from catalog.audit import entries
from catalog.models import Asset, DeliveryEvent, Rendition, Version, utcnow
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.settings import WatchFolder
from tests.conftest import bearers, wait_for
from tests.media_fixtures import make_clip

pytestmark = pytest.mark.slow


def _ingest(farm: Farm, tmp_path: Path, name: str, seconds: float = 1.0) -> Any:
    from tests.conftest import wait_version

    result = Ingester(farm).ingest(make_clip(tmp_path / name, seconds=seconds, size="320x240"),
                                   WatchFolder(name="default"), consume=False)
    assert wait_version(farm, result.version_id).status == "ready"
    return result


def _age(farm: Farm, asset_id: int, days: int) -> None:
    """As if the asset had come in ``days`` ago."""
    then = utcnow() - timedelta(days=days)
    with farm.transaction() as session:
        session.execute(update(Asset).where(Asset.id == asset_id).values(created_at=then))
        session.execute(update(Version).where(Version.asset_id == asset_id).values(created_at=then))


def _storage(farm: Farm, version_id: int) -> str:
    with farm.sessions() as session:
        return session.get(Version, version_id).storage  # type: ignore[union-attr]


def _retained(farm: Farm, asset_id: int) -> Any:
    with farm.sessions() as session:
        return session.get(Asset, asset_id).retain_until  # type: ignore[union-attr]


def test_retention_comes_from_the_collections_policy_and_only_grows(running_farm: Farm, client: Any,
                                                                    tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    before = _ingest(farm, tmp_path, "A001.mov")
    assert _retained(farm, before.asset_id) is None
    body = {"retention_years": 7, "at_retention_end": "propose_deletion"}
    assert client.put("/api/v1/collections/default/policy", json=body, headers=people["ed"]).status_code == 403
    answer = client.put("/api/v1/collections/default/policy", json=body, headers=people["boss"])
    assert answer.status_code == 200 and answer.json()["retention_years"] == 7
    # the asset already there is kept 7 years from its ingest; one that comes now too
    with farm.sessions() as session:
        created = session.get(Asset, before.asset_id).created_at  # type: ignore[union-attr]
    assert _retained(farm, before.asset_id).year == created.year + 7
    after = _ingest(farm, tmp_path, "A002.mov", seconds=1.2)
    assert _retained(farm, after.asset_id).year == utcnow().year + 7
    # a shorter policy later shortens nobody's retention
    client.put("/api/v1/collections/default/policy", json={"retention_years": 2}, headers=people["boss"])
    assert _retained(farm, after.asset_id).year == utcnow().year + 7
    with farm.sessions() as session:
        assert any("assets_extended" in (e.detail or "") for e in entries(session, action="lifecycle policy"))


def test_unused_and_delivered_originals_are_archived_used_and_held_ones_stay(running_farm: Farm, client: Any,
                                                                             tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    unused, used, held, delivered = (_ingest(farm, tmp_path, f"B00{n}.mov", 1 + n / 5) for n in range(1, 5))
    for result in (unused, used, held):
        _age(farm, result.asset_id, 40)
    client.get(f"/api/v1/assets/{used.asset_id}", headers=people["ed"])  # someone looked at it today
    client.post("/api/v1/holds", json={"asset_id": held.asset_id, "reason": "Case 12"}, headers=people["boss"])
    with farm.transaction() as session:  # a target took a rendition of the fourth 10 days ago
        rendition = Rendition(version_id=delivered.version_id, preset="web/h264-720p", preset_hash="p", tools="t",
                              key="k-delivered", requested_by="ed", status="ready")
        session.add(rendition)
        session.flush()
        session.add(DeliveryEvent(actor="cms", action="download", target="cms", rendition_id=rendition.id,
                                  at=utcnow() - timedelta(days=10)))
    client.put("/api/v1/collections/default/policy", json={"archive_unused_days": 30, "archive_delivered_days": 7},
               headers=people["boss"])
    ran = client.post("/api/v1/lifecycle/apply", headers=people["boss"])
    assert ran.status_code == 200, ran.text
    queued = {q["asset_id"]: q["why"] for q in ran.json()["queued"]}
    assert queued == {unused.asset_id: "unused for 30 days", delivered.asset_id: "delivered 7 days ago or more"}
    wait_for(lambda: _storage(farm, unused.version_id) == "archive" == _storage(farm, delivered.version_id),
             timeout=60, what="the policy's archives")
    assert _storage(farm, used.version_id) == _storage(farm, held.version_id) == "library"
    with farm.sessions() as session:
        actors = {e.actor for e in entries(session, action="archive")}
    assert actors == {"policy:default"}
    # run again: nothing more is due
    assert client.post("/api/v1/lifecycle/apply", headers=people["boss"]).json()["queued"] == []


def test_assets_past_their_retention_are_proposed_for_deletion_not_deleted(farm: Farm, client: Any) -> None:
    from tests.test_metadata import _asset

    people = bearers(farm, {"boss": "admin"})
    old, held, kept = _asset(farm, "old.mov"), _asset(farm, "held.mov"), _asset(farm, "kept.mov")
    client.put("/api/v1/collections/default/policy", json={"retention_years": 1}, headers=people["boss"])
    with farm.transaction() as session:
        session.execute(update(Asset).where(Asset.id.in_([old, held])).values(
            retain_until=utcnow() - timedelta(days=1)))
    client.post("/api/v1/holds", json={"asset_id": held, "reason": "Case 4"}, headers=people["boss"])
    proposed = client.get("/api/v1/lifecycle/proposals", headers=people["boss"]).json()["assets"]
    assert [p["asset_id"] for p in proposed] == [old]
    # a policy that keeps them proposes nothing; nothing was deleted either way
    client.put("/api/v1/collections/default/policy", json={"retention_years": 1, "at_retention_end": "keep"},
               headers=people["boss"])
    assert client.get("/api/v1/lifecycle/proposals", headers=people["boss"]).json()["assets"] == []
    with farm.sessions() as session:
        assert set(session.scalars(select(Asset.id))) == {old, held, kept}


def test_the_cli_sets_lists_and_applies_policies(farm: Farm) -> None:
    import os

    from tests.conftest import run
    from tests.farmproc import RUSHES
    from tests.test_metadata import _asset

    asset_id = _asset(farm, "C001.mov")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATABASE_URL"] = farm.settings.db_url

    def cli(*args: str) -> Any:
        return run([RUSHES, "--data", str(farm.settings.data), *args], env=env)

    done = cli("policy", "set", "default", "--retention-years", "3", "--archive-unused-days", "90")
    assert done.returncode == 0, done.stderr
    assert "retention 3 y, then propose_deletion" in cli("policy", "list").stdout
    assert _retained(farm, asset_id) is not None
    assert cli("policy", "apply").returncode == 0 and cli("policy", "proposals").stdout == ""
    bad = cli("policy", "set", "nowhere", "--retention-years", "3")
    assert bad.returncode == 3 and "no collection" in bad.stderr
