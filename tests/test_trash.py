"""The trash on a running farm (both catalogs): a deleted asset is hidden from lists, search and its own routes for
everyone, admins included, and comes back whole when taken out; a legal hold blocks deleting and purging for an
admin; retention refuses a purge; a purge removes the files (library and archive) and the rows, and the audit trail
keeps every line, its chain intact; what waited its days in the trash is purged by the farm, what is kept stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from catalog.audit import entries, verify
from catalog.models import Asset, SearchDoc, Version, utcnow
from pipeline.farm import Farm
from pipeline.trash import purge_due
from tests.conftest import bearers, ingest_interview, wait_for

pytestmark = pytest.mark.slow


def _names(client: Any, headers: dict[str, str]) -> list[str]:
    return [a["name"] for a in client.get("/api/v1/assets", headers=headers).json()["assets"]]


def _found(client: Any, headers: dict[str, str], asset_id: int) -> bool:
    hits = client.get("/api/v1/search", params={"q": "interview"}, headers=headers).json()["hits"]
    return asset_id in {h["asset_id"] for h in hits}


def test_a_deleted_asset_is_hidden_from_everyone_and_comes_back_whole(running_farm: Farm, client: Any,
                                                                      tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin", "ed": "editor", "rev": "reviewer"})
    result = ingest_interview(farm, tmp_path)
    assert _found(client, people["boss"], result.asset_id) and _found(client, people["ed"], result.asset_id)
    assert client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["rev"]).status_code == 403
    deleted = client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["ed"])
    assert deleted.status_code == 200 and deleted.json()["deleted_by"] == "ed"
    # hidden: lists, search (an admin's plain search too), the asset and its media
    for who in ("boss", "ed"):
        assert "interview.mov" not in _names(client, people[who])
        assert not _found(client, people[who], result.asset_id)
        assert client.get(f"/api/v1/assets/{result.asset_id}", headers=people[who]).status_code == 404
        assert client.get(f"/api/v1/versions/{result.version_id}/proxy", headers=people[who]).status_code == 404
    # but in the trash, with the day it will be purged
    listed = client.get("/api/v1/trash", headers=people["ed"]).json()
    assert [a["asset_id"] for a in listed["assets"]] == [result.asset_id] and listed["trash_days"] == 30
    assert listed["assets"][0]["kept"] is None
    # taken out, it is all there again
    assert client.post(f"/api/v1/trash/{result.asset_id}/recover", headers=people["ed"]).status_code == 200
    assert _found(client, people["boss"], result.asset_id) and "interview.mov" in _names(client, people["ed"])
    assert client.get(f"/api/v1/versions/{result.version_id}/proxy", headers=people["ed"]).status_code == 200
    with farm.sessions() as session:
        subjects = [e.subject for e in entries(session, action="delete")]
    assert "interview.mov: to the trash" in subjects and "interview.mov: taken out of the trash" in subjects


def test_a_hold_blocks_deleting_and_purging_and_retention_refuses_a_purge(running_farm: Farm, client: Any,
                                                                          tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin"})
    result = ingest_interview(farm, tmp_path)
    hold = client.post("/api/v1/holds", json={"asset_id": result.asset_id, "reason": "Case 77"},
                       headers=people["boss"]).json()
    refused = client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["boss"])
    assert refused.status_code == 409 and "Case 77" in refused.json()["error"]
    # placed after the delete, a hold keeps it in the trash: no purge, by a person or by the farm
    client.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "settled"}, headers=people["boss"])
    assert client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["boss"]).status_code == 200
    hold = client.post("/api/v1/holds", json={"asset_id": result.asset_id, "reason": "Case 78"},
                       headers=people["boss"]).json()
    assert hold["reason"] == "Case 78", hold
    blocked = client.post(f"/api/v1/trash/{result.asset_id}/purge", headers=people["boss"])
    assert blocked.status_code == 409 and "Case 78" in blocked.json()["error"]
    with farm.transaction() as session:
        session.execute(update(Asset).where(Asset.id == result.asset_id)
                        .values(deleted_at=utcnow() - timedelta(days=31)))
    assert purge_due(farm)["purged"] == []
    # lifted, retention still keeps it
    client.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "settled"}, headers=people["boss"])
    kept_until = client.put(f"/api/v1/assets/{result.asset_id}/retention", json={"until": "2040-01-01"},
                            headers=people["boss"])
    assert kept_until.status_code == 200, kept_until.text
    kept = client.post(f"/api/v1/trash/{result.asset_id}/purge", headers=people["boss"])
    assert kept.status_code == 409 and "2040-01-01" in kept.json()["error"]
    assert "retention" in client.get("/api/v1/trash", headers=people["boss"]).json()["assets"][0]["kept"]
    with farm.sessions() as session:
        assert session.get(Asset, result.asset_id) is not None


def test_a_purge_removes_files_and_rows_and_the_trail_keeps_its_lines(running_farm: Farm, client: Any,
                                                                      tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    result = ingest_interview(farm, tmp_path)
    client.post(f"/api/v1/assets/{result.asset_id}/archive", headers=people["ed"])
    with farm.sessions() as session:
        version = session.get(Version, result.version_id)
        folder = Path(version.stored_path or "").parent  # type: ignore[union-attr]
    def archived_yet() -> bool:
        with farm.sessions() as session:
            return session.get(Version, result.version_id).storage == "archive"  # type: ignore[union-attr]

    wait_for(archived_yet, timeout=60, what="the archive")
    with farm.sessions() as session:
        archived = Path(session.get(Version, result.version_id).archive_path or "")  # type: ignore[union-attr]
        lines_before = len(entries(session, asset_id=result.asset_id, limit=None))
    assert archived.is_file() and (folder / "proxy.mp4").is_file()
    client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["ed"])
    assert client.post(f"/api/v1/trash/{result.asset_id}/purge", headers=people["ed"]).status_code == 403
    purged = client.post(f"/api/v1/trash/{result.asset_id}/purge", headers=people["boss"])
    assert purged.status_code == 200, purged.text
    assert not folder.exists() and not archived.exists()
    with farm.sessions() as session:
        assert session.get(Asset, result.asset_id) is None and session.get(Version, result.version_id) is None
        assert session.scalar(select(SearchDoc.id).where(SearchDoc.asset_id == result.asset_id)) is None
        trail = entries(session, asset_id=result.asset_id, limit=None)
        assert len(trail) == lines_before + 2  # the delete and the purge, added; nothing taken away
        assert trail[0].action == "purge" and result.version_id and "sha256" in (trail[0].detail or "")
        assert verify(session).ok
    assert client.get("/api/v1/trash", headers=people["boss"]).json()["assets"] == []


def test_the_farm_purges_what_waited_its_days(running_farm: Farm, client: Any, tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"ed": "editor"})
    result = ingest_interview(farm, tmp_path)
    client.delete(f"/api/v1/assets/{result.asset_id}", headers=people["ed"])
    assert purge_due(farm) == {"purged": [], "kept": []}  # a day in the trash: not yet
    with farm.transaction() as session:
        session.execute(update(Asset).where(Asset.id == result.asset_id)
                        .values(deleted_at=utcnow() - timedelta(days=31)))
    assert purge_due(farm)["purged"] == [result.asset_id]
    with farm.sessions() as session:
        assert session.get(Asset, result.asset_id) is None
        assert entries(session, action="purge")[0].actor == "trash"


def test_the_cli_deletes_recovers_and_purges(farm: Farm) -> None:
    import os

    from tests.conftest import run
    from tests.farmproc import RUSHES
    from tests.test_metadata import _asset

    asset_id = _asset(farm, "D001.mov")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATABASE_URL"] = farm.settings.db_url

    def cli(*args: str) -> Any:
        return run([RUSHES, "--data", str(farm.settings.data), *args], env=env)

    assert cli("delete", str(asset_id)).returncode == 0
    assert "D001.mov" in cli("trash", "list").stdout
    assert cli("trash", "recover", str(asset_id)).returncode == 0 and cli("trash", "list").stdout == ""
    assert cli("delete", str(asset_id)).returncode == 0
    done = cli("trash", "purge", str(asset_id))
    assert done.returncode == 0 and f"asset {asset_id} purged" in done.stdout, done.stderr
    gone = cli("trash", "purge", str(asset_id))
    assert gone.returncode == 3 and "not in the trash" in gone.stderr
    held, free = _asset(farm, "D002.mov"), _asset(farm, "D003.mov")
    assert cli("hold", "place", "--asset", str(held), "--reason", "Case 5").returncode == 0
    some = cli("delete", str(held), str(free))
    assert some.returncode == 0 and "1 refused" in some.stdout and "Case 5" in some.stderr, some.stderr
    none = cli("delete", str(held))
    assert none.returncode == 4 and "legal hold" in none.stderr


def test_facet_counts_leave_out_the_trash_for_an_admin_too(farm: Farm, client: Any) -> None:
    from tests.test_metadata import _asset

    people = bearers(farm, {"boss": "admin"})
    ids = [_asset(farm, name) for name in ("a.mov", "b.mov")]
    for asset_id in ids:
        assert client.patch(f"/api/v1/assets/{asset_id}/metadata", headers=people["boss"],
                            json={"revision": 0, "set": {"camera": "A cam"}}).status_code == 200

    def a_cam() -> int:
        facets = client.get("/api/v1/assets", params={"facets": "camera"}, headers=people["boss"]).json()["facets"]
        return next(v["assets"] for v in facets["camera"] if v["value"] == "A cam")

    assert a_cam() == 2
    client.delete(f"/api/v1/assets/{ids[0]}", headers=people["boss"])
    assert a_cam() == 1
    client.post(f"/api/v1/trash/{ids[0]}/recover", headers=people["boss"])
    assert a_cam() == 2


def test_a_selection_is_held_and_deleted_asset_by_asset(farm: Farm, client: Any) -> None:
    from tests.test_metadata import _asset

    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    ids = [_asset(farm, name) for name in ("s1.mov", "s2.mov", "s3.mov")]
    assert client.post("/api/v1/hold", json={"assets": ids[:1], "reason": "Case 12"},
                       headers=people["ed"]).status_code == 403, "holds are admins'"
    held = client.post("/api/v1/hold", json={"assets": ids[:1], "reason": "Case 12"}, headers=people["boss"])
    assert held.status_code == 201 and [h["asset_id"] for h in held.json()["holds"]] == ids[:1]
    assert client.post("/api/v1/hold", json={"assets": ids[:1], "reason": " "},
                       headers=people["boss"]).status_code == 400, "a hold needs a reason"

    done = client.post("/api/v1/delete", json={"assets": ids[:2]}, headers=people["ed"])
    assert done.status_code == 200, done.text
    assert done.json()["deleted"] == [ids[1]] and "Case 12" in done.json()["refused"][str(ids[0])]
    assert [a["asset_id"] for a in client.get("/api/v1/trash", headers=people["ed"]).json()["assets"]] == [ids[1]]
    with farm.sessions() as session:
        refusals = [e for e in entries(session, action="delete") if e.outcome == "denied"]
    assert [(e.asset_id, e.actor) for e in refusals] == [(ids[0], "ed")]

    # a collection's assets, in one go (the held one stays)
    done = client.post("/api/v1/delete", json={"collection": "default"}, headers=people["boss"])
    assert done.json()["deleted"] == [ids[2]] and list(done.json()["refused"]) == [str(ids[0])]
    assert client.post("/api/v1/delete", json={"assets": ids, "collection": "default"},
                       headers=people["boss"]).status_code == 422, "one or the other"
