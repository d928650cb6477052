"""Archive and restore on a running farm (both catalogs): the original moves to the archive location after its copy
there is read back and verified, proxies and search stay online, a render or a download of an archived original
waits for one restore, a corrupted copy never costs the original, and legal holds and retention hold for admins too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.audit import entries
from catalog.models import Rendition, Step, Version
from pipeline.farm import Farm
from pipeline.lifecycle import WAITING_FOR_RESTORE
from pipeline.workers import Workers
from rushes.errors import ChecksumMismatch
from rushes.verified_copy import copy_verified, part_of
from tests.conftest import bearers, ingest_interview, run, wait_for
from tests.farmproc import RUSHES

pytestmark = pytest.mark.slow


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def version_row(farm: Farm, version_id: int) -> Version:
    with farm.sessions() as session:
        version = session.get(Version, version_id)
        assert version is not None
        session.expunge(version)
        return version


def lifecycle_steps(farm: Farm, version_id: int) -> dict[str, tuple[str, int, str | None]]:
    with farm.sessions() as session:
        return {s.kind: (s.status, s.attempts, s.error) for s in session.scalars(
            select(Step).where(Step.version_id == version_id, Step.kind.in_(("archive", "restore"))))}


def wait_moved(farm: Farm, version_id: int, kind: str, status: str = "done", timeout: float = 60) -> None:
    wait_for(lambda: lifecycle_steps(farm, version_id).get(kind, ("",))[0] == status, timeout=timeout,
             what=f"the {kind} of version {version_id} to be {status} ({lifecycle_steps(farm, version_id)})")


def archived(farm: Farm, client: Any, headers: dict[str, str], tmp_path: Path) -> tuple[int, int, Path, Path]:
    """An analysed interview, archived: (asset id, version id, library path, archive path)."""
    result = ingest_interview(farm, tmp_path)
    library = Path(version_row(farm, result.version_id).stored_path or "")
    answer = client.post(f"/api/v1/assets/{result.asset_id}/archive", headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["queued"] == [result.version_id]
    wait_moved(farm, result.version_id, "archive")
    version = version_row(farm, result.version_id)
    return result.asset_id, result.version_id, library, Path(version.archive_path or "")


def test_an_archived_asset_stays_searchable_and_reviewable_and_a_render_waits_for_one_restore(
        farm: Farm, client: Any, tmp_path: Path) -> None:
    people = bearers(farm, {"ed": "editor", "boss": "admin"})
    # Given an analysed interview archived by an editor
    workers = Workers(farm)
    workers.start()
    try:
        asset_id, version_id, library, archive = archived(farm, client, people["ed"], tmp_path)
    finally:
        workers.stop()
    version = version_row(farm, version_id)
    # Then the original left the library for the archive location, and the copy there is the file ingested
    assert version.storage == "archive" and version.archive_location == "archive"
    assert not library.exists() and archive.is_file() and archive.is_relative_to(farm.settings.data / "archive")
    assert sha256(archive) == version.content_hash
    assert not part_of(archive).exists()
    # and the proxy still plays, the search still finds it, the asset page's data says where the original is
    assert client.get(f"/api/v1/versions/{version_id}/proxy", headers=people["ed"]).status_code == 200
    hits = client.get("/api/v1/search", params={"q": "interview"}, headers=people["ed"]).json()
    assert asset_id in {hit["asset_id"] for hit in hits["hits"]}
    storage = client.get(f"/api/v1/assets/{asset_id}/storage", headers=people["ed"]).json()
    assert storage["versions"][0]["tier"] == "archive" and storage["versions"][0]["location"] == "archive"
    # and the storage report counts its bytes in the archive tier, none in the library
    report = {(r["collection"], r["tier"]): r for r in
              client.get("/api/v1/storage", headers=people["boss"]).json()["rows"]}
    assert report[("default", "archive:archive")]["bytes"] == version.size == archive.stat().st_size
    assert ("default", "library") not in report
    assert report[("default", "proxies")]["files"] == 1

    # When two renders and a download of the original ask for it (the farm's workers busy elsewhere for now)
    renders = [client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": preset}, headers=people["ed"])
               for preset in ("audio/mp3", "web/h264-720p")]
    assert all(r.status_code == 202 for r in renders), [r.text for r in renders]
    download = client.get(f"/api/v1/versions/{version_id}/original", headers=people["ed"])
    assert download.status_code == 202 and download.headers["retry-after"] == "10"
    assert download.json()["status"] == "restoring"
    # Then the renders wait for the original, and one restore is queued for all three
    with farm.sessions() as session:
        waiting = session.scalars(select(Step).where(Step.version_id == version_id,
                                                     Step.rendition_id.is_not(None))).all()
        assert [(s.status, s.error) for s in waiting] == [("pending", WAITING_FOR_RESTORE)] * 2
    assert lifecycle_steps(farm, version_id)["restore"][0] == "queued"
    assert client.get(f"/api/v1/assets/{asset_id}/storage", headers=people["ed"]).json()["versions"][0][
        "waiting"] == 2
    # and once the workers are back, one restore brings it back, verified, and both renders are made from it
    workers = Workers(farm)
    workers.start()
    try:
        wait_moved(farm, version_id, "restore")
        for render in renders:
            wait_for(lambda r=render: client.get(f"/api/v1/renditions/{r.json()['id']}", headers=people["ed"])
                     .json()["status"] in ("ready", "failed"), timeout=120, what="the render")
    finally:
        workers.stop()
    assert lifecycle_steps(farm, version_id)["restore"][1] == 1  # one attempt of one step: one restore
    for render in renders:
        assert client.get(f"/api/v1/renditions/{render.json()['id']}", headers=people["ed"]).json()["status"] \
            == "ready"
    version = version_row(farm, version_id)
    assert version.storage == "library" and library.is_file() and sha256(library) == version.content_hash
    assert not archive.exists(), "a restored original is in exactly one place"
    got = client.get(f"/api/v1/versions/{version_id}/original", headers=people["ed"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == version.content_hash
    with farm.sessions() as session:
        trail = [(e.action, e.actor, e.subject) for e in entries(session) if e.action in ("archive", "restore")]
    assert ("archive", "ed", "to archive") in trail
    assert any(action == "restore" and "waits for it" in (subject or "") for action, _, subject in trail)


def test_a_corrupted_archive_copy_is_caught_and_the_original_is_kept(running_farm: Farm, client: Any,
                                                                      tmp_path: Path) -> None:
    farm = running_farm
    headers = bearers(farm, {"ed": "editor"})["ed"]
    asset_id, version_id, library, archive = archived(farm, client, headers, tmp_path)
    content_hash = version_row(farm, version_id).content_hash
    # Given the archive copy rotted on its storage (one byte changed in the middle)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    # When it is restored
    assert client.post(f"/api/v1/assets/{asset_id}/restore", headers=headers).status_code == 202
    wait_moved(farm, version_id, "restore", "failed")
    # Then the restore fails with the reason, nothing half-made is in the library, and the archive copy is kept
    status, attempts, error = lifecycle_steps(farm, version_id)["restore"]
    assert attempts == 1 and "SHA-256" in (error or "") and "damaged" in (error or ""), error
    assert not library.exists() and not part_of(library).exists()
    assert archive.is_file() and version_row(farm, version_id).storage == "archive"
    storage = client.get(f"/api/v1/assets/{asset_id}/storage", headers=headers).json()["versions"][0]
    assert storage["tier"] == "archive" and "SHA-256" in storage["error"]
    assert sha256(archive) != content_hash


def test_a_copy_that_lands_corrupted_in_the_archive_keeps_the_original_in_the_library(
        running_farm: Farm, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given archive storage that flips a byte of what is written to it (the kernel copy, in this process's workers)
    import rushes.verified_copy as verified_copy

    real = verified_copy._kernel_copy

    def flaky(src: int, dst: int, size: int, cancel: Any, on_bytes: Any) -> None:
        real(src, dst, size, cancel, on_bytes)
        os.pwrite(dst, bytes([os.pread(src, 1, size // 2)[0] ^ 0xFF]), size // 2)

    monkeypatch.setattr(verified_copy, "_kernel_copy", flaky)
    farm = running_farm
    headers = bearers(farm, {"ed": "editor"})["ed"]
    result = ingest_interview(farm, tmp_path)
    version = version_row(farm, result.version_id)
    library = Path(version.stored_path or "")
    # When the asset is archived
    assert client.post(f"/api/v1/assets/{result.asset_id}/archive", headers=headers).status_code == 202
    wait_moved(farm, result.version_id, "archive", "failed")
    # Then the move fails on the read-back, and the library keeps the original, whole
    error = lifecycle_steps(farm, result.version_id)["archive"][2] or ""
    assert "differs from the source" in error, error
    assert version_row(farm, result.version_id).storage == "library"
    assert library.is_file() and sha256(library) == version.content_hash
    assert not any(p.is_file() for p in (farm.settings.data / "archive").rglob("*")), "nothing left in the archive"


def test_a_legal_hold_blocks_archiving_for_an_admin_until_lifted_with_a_reason(
        running_farm: Farm, client: Any, tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    result = ingest_interview(farm, tmp_path)
    # Given a legal hold on the collection the asset is in
    hold = client.post("/api/v1/holds", json={"collection": "default", "reason": "Case 42 v. Acme"},
                       headers=people["boss"])
    assert hold.status_code == 201, hold.text
    # When an admin archives it (alone, and in a selection)
    refused = client.post(f"/api/v1/assets/{result.asset_id}/archive", headers=people["boss"])
    selection = client.post("/api/v1/archive", json={"assets": [result.asset_id]}, headers=people["boss"])
    # Then it is refused, saying which hold, and the refusal is in the audit trail
    assert refused.status_code == 409 and "Case 42 v. Acme" in refused.json()["error"]
    assert selection.status_code == 202 and selection.json()["queued"] == []
    assert "legal hold" in selection.json()["refused"][str(result.version_id)]
    with farm.sessions() as session:
        denied = [e for e in entries(session) if e.action == "archive" and e.outcome == "denied"]
        placed = [e for e in entries(session) if e.action == "legal hold"]
    assert denied and denied[-1].actor == "boss" and "Case 42" in (denied[-1].subject or "")
    assert placed and "Case 42" in (placed[0].detail or "")
    assert version_row(farm, result.version_id).storage == "library"
    # and an editor may not lift it; lifting needs a reason
    hold_id = hold.json()["id"]
    assert client.post(f"/api/v1/holds/{hold_id}/lift", json={"reason": "x"}, headers=people["ed"]).status_code \
        == 403
    assert client.post(f"/api/v1/holds/{hold_id}/lift", json={"reason": " "}, headers=people["boss"]).status_code \
        == 400
    lifted = client.post(f"/api/v1/holds/{hold_id}/lift", json={"reason": "settled"}, headers=people["boss"])
    assert lifted.status_code == 200 and lifted.json()["lift_reason"] == "settled"
    # Once lifted, the archive goes through
    assert client.post(f"/api/v1/assets/{result.asset_id}/archive", headers=people["ed"]).json()["queued"] \
        == [result.version_id]
    wait_moved(farm, result.version_id, "archive")
    assert client.get("/api/v1/holds", headers=people["boss"]).json() == []
    assert len(client.get("/api/v1/holds?all=true", headers=people["boss"]).json()) == 1


def test_retention_is_extended_never_shortened(farm: Farm, client: Any, tmp_path: Path) -> None:
    from tests.test_metadata import _asset

    people = bearers(farm, {"boss": "admin", "ed": "editor"})
    asset_id = _asset(farm, "keep.mov")
    url = f"/api/v1/assets/{asset_id}/retention"
    assert client.put(url, json={"until": "2031-01-01"}, headers=people["ed"]).status_code == 403
    assert client.put(url, json={"until": "2031-01-01"}, headers=people["boss"]).status_code == 200
    assert client.put(url, json={"until": "2033-06-30"}, headers=people["boss"]).status_code == 200
    shorter = client.put(url, json={"until": "2032-01-01"}, headers=people["boss"])
    assert shorter.status_code == 409 and "never shortened" in shorter.json()["error"]
    storage = client.get(f"/api/v1/assets/{asset_id}/storage", headers=people["boss"]).json()
    assert storage["retain_until"].startswith("2033-06-30")


def test_only_archivers_archive(farm: Farm, client: Any) -> None:
    from tests.test_metadata import _asset

    people = bearers(farm, {"rev": "reviewer", "ed": "editor"})
    asset_id = _asset(farm, "clip.mov")
    assert client.post(f"/api/v1/assets/{asset_id}/archive", headers=people["rev"]).status_code == 403
    assert client.post(f"/api/v1/assets/{asset_id}/restore", headers=people["rev"]).status_code == 403
    assert client.get("/api/v1/storage", headers=people["rev"]).status_code == 403
    assert client.post("/api/v1/holds", json={"asset_id": asset_id, "reason": "x"},
                       headers=people["ed"]).status_code == 403


# ------------------------------------------------------------------------------------------ the copy itself


def test_a_verified_copy_is_whole_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    digest = sha256(source)
    target = tmp_path / "archive" / "x" / "a.bin"
    copy_verified(source, target, digest)
    assert sha256(target) == digest and source.is_file()
    copy_verified(source, target, digest)  # there already, whole: taken as it is
    # a target that is not this file is replaced, never trusted
    target.write_bytes(b"something else")
    copy_verified(source, target, digest)
    assert sha256(target) == digest
    # a source that changed since it was ingested is not copied
    other = tmp_path / "b.bin"
    other.write_bytes(b"changed")
    with pytest.raises(ChecksumMismatch, match="is damaged"):
        copy_verified(other, tmp_path / "archive" / "b.bin", digest)
    assert not (tmp_path / "archive" / "b.bin").exists() and not part_of(tmp_path / "archive" / "b.bin").exists()


# ------------------------------------------------------------------------------------------ the command line


def test_the_cli_holds_archives_keeps_and_reports(farm: Farm) -> None:
    from tests.test_metadata import _asset

    asset_id = _asset(farm, "A001.mov")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATABASE_URL"] = farm.settings.db_url

    def cli(*args: str) -> Any:
        return run([RUSHES, "--data", str(farm.settings.data), *args], env=env)

    placed = cli("hold", "place", "--collection", "default", "--reason", "Case 7")
    assert placed.returncode == 0 and "legal hold 1 placed" in placed.stdout, placed.stderr
    refused = cli("archive", str(asset_id))
    assert refused.returncode == 4 and "legal hold 1" in refused.stderr and "Case 7" in refused.stderr
    listed = cli("hold", "list")
    assert "collection default" in listed.stdout and "Case 7" in listed.stdout
    assert cli("hold", "lift", "1", "--reason", "settled").returncode == 0
    assert cli("hold", "list").stdout == "" and "settled" in cli("hold", "list", "--all").stdout
    archived = cli("archive", "--collection", "default")
    assert archived.returncode == 0 and "archive: 1 version(s) queued" in archived.stdout, archived.stderr
    with farm.sessions() as session:
        version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
    assert lifecycle_steps(farm, version_id)["archive"][0] == "queued"  # the running farm's workers move it
    assert cli("retention", str(asset_id), "--until", "2030-01-01").returncode == 0
    shorter = cli("retention", str(asset_id), "--until", "2029-01-01")
    assert shorter.returncode == 4 and "never shortened" in shorter.stderr
    report = cli("storage")
    assert report.returncode == 0 and "default" in report.stdout and "library" in report.stdout
    with farm.sessions() as session:
        actions = {(e.action, e.actor.startswith("cli:")) for e in entries(session)}
    assert {("legal hold", True), ("archive", True), ("retention change", True)} <= actions


def test_a_new_version_of_a_held_asset_is_kept_aside_not_taken_in(farm: Farm, tmp_path: Path) -> None:
    from catalog.holds import place_hold
    from pipeline.ingest import Ingester
    from rushes.settings import WatchFolder
    from tests.media_fixtures import make_clip

    folder = WatchFolder(name="default")
    first = Ingester(farm).ingest(make_clip(tmp_path / "A001.mov", seconds=1, size="320x240"), folder,
                                  consume=False)
    with farm.transaction() as session:
        place_hold(session, by="counsel", role="admin", reason="Case 3", asset_id=first.asset_id)
    # the same name with other pictures: a new version, refused while the hold stands, kept in quarantine
    (tmp_path / "other").mkdir()
    other = make_clip(tmp_path / "other" / "A001.mov", seconds=1, size="320x240", pattern="smptebars")
    second = Ingester(farm).ingest(other, folder, consume=True)
    assert second.kind == "quarantined" and "legal hold" in (second.reason or "") and "Case 3" in second.reason
    with farm.sessions() as session:
        assert [v.number for v in session.scalars(select(Version).where(Version.asset_id == first.asset_id))] == [1]
    kept = list(farm.settings.quarantine_dir.glob("*A001.mov"))
    assert len(kept) == 1 and not other.exists(), "the file is kept aside, never lost"


def test_renditions_go_to_the_archive_with_their_original_and_come_back_for_a_download_or_a_push(
        running_farm: Farm, client: Any, tmp_path: Path) -> None:
    farm = running_farm
    people = bearers(farm, {"ed": "editor", "boss": "admin"})
    result = ingest_interview(farm, tmp_path)
    asset_id, version_id = result.asset_id, result.version_id
    assert client.post(f"/api/v1/assets/{asset_id}/versions/1/approve", headers=people["ed"]).status_code == 200
    rendition_id = client.post(f"/api/v1/assets/{asset_id}/renditions", json={"preset": "audio/mp3"},
                               headers=people["ed"]).json()["id"]
    wait_for(lambda: client.get(f"/api/v1/renditions/{rendition_id}", headers=people["ed"]).json()["status"]
             in ("ready", "failed"), timeout=120, what="the render")
    made = client.get(f"/api/v1/renditions/{rendition_id}", headers=people["ed"]).json()
    assert made["status"] == "ready", made

    def rendition_row() -> tuple[str, Path, Path | None]:
        with farm.sessions() as session:
            r = session.get(Rendition, rendition_id)
            assert r is not None
            return r.storage, Path(r.path or ""), Path(r.archive_path) if r.archive_path else None

    _, rendered, _ = rendition_row()
    assert rendered.is_file() and sha256(rendered) == made["sha256"]

    # archived with its renditions (the request says so; the farm's setting is off)
    assert not farm.settings.archive_renditions
    answer = client.post("/api/v1/archive", json={"assets": [asset_id], "renditions": True}, headers=people["ed"])
    assert answer.status_code == 202 and answer.json()["queued"] == [version_id], answer.text
    wait_moved(farm, version_id, "archive")
    storage, library_copy, archived_copy = rendition_row()
    assert storage == "archive" and not rendered.exists() and archived_copy is not None
    assert archived_copy.is_relative_to(farm.settings.data / "archive") and sha256(archived_copy) == made["sha256"]
    view = client.get(f"/api/v1/assets/{asset_id}/storage", headers=people["ed"]).json()["versions"][0]
    assert view["tier"] == "archive" and view["renditions"] == {"library": 0, "archive": 1}
    report = {(r["collection"], r["tier"]): r for r in
              client.get("/api/v1/storage", headers=people["boss"]).json()["rows"]}
    original_size = version_row(farm, version_id).size
    assert report[("default", "archive:archive")]["bytes"] == original_size + archived_copy.stat().st_size
    assert report[("default", "archive:archive")]["files"] == 2 and ("default", "renditions") not in report

    # a person's download of it waits for one restore, which brings both back, verified
    waiting = client.get(f"/api/v1/renditions/{rendition_id}/download", headers=people["ed"])
    assert waiting.status_code == 202 and waiting.json()["status"] == "restoring", waiting.text
    wait_moved(farm, version_id, "restore")
    storage, library_copy, archived_left = rendition_row()
    assert storage == "library" and archived_left is None and not archived_copy.exists()
    got = client.get(f"/api/v1/renditions/{rendition_id}/download", headers=people["ed"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == made["sha256"]

    # archived again; a push target that takes the preset then gets it once it is back
    assert client.post(f"/api/v1/assets/{asset_id}/archive?renditions=true", headers=people["ed"]).status_code == 202
    wait_for(lambda: rendition_row()[0] == "archive", timeout=60, what="the rendition to be archived again")
    outbox = tmp_path / "outbox"
    target = client.post("/api/v1/targets", json={"name": "cms", "kind": "push", "presets": ["audio/mp3"],
                                                  "folder": str(outbox)}, headers=people["boss"])
    assert target.status_code == 201, target.text
    from pipeline.renditions import deliver_due

    deliver_due(farm)  # as the reconciler's sweep does: the push asks for the restore
    [pushed] = wait_for(lambda: list(outbox.glob("*.mp3")), timeout=60, what="the push after the restore")
    assert sha256(pushed) == made["sha256"] and rendition_row()[0] == "library"
    with farm.sessions() as session:
        trail = [e.subject for e in entries(session, action="restore")]
    assert f"a push of rendition {rendition_id} waits for it" in trail


def test_a_rendition_damaged_in_the_archive_fails_the_restore_and_nothing_moves(running_farm: Farm, client: Any,
                                                                                tmp_path: Path) -> None:
    farm = running_farm
    headers = bearers(farm, {"ed": "editor"})["ed"]
    result = ingest_interview(farm, tmp_path)
    rendition_id = client.post(f"/api/v1/assets/{result.asset_id}/renditions", json={"preset": "audio/mp3"},
                               headers=headers).json()["id"]
    wait_for(lambda: client.get(f"/api/v1/renditions/{rendition_id}", headers=headers).json()["status"] == "ready",
             timeout=120, what="the render")
    assert client.post(f"/api/v1/assets/{result.asset_id}/archive?renditions=true",
                       headers=headers).status_code == 202
    wait_moved(farm, result.version_id, "archive")
    with farm.sessions() as session:
        rendition = session.get(Rendition, rendition_id)
        assert rendition is not None and rendition.storage == "archive"
        archived_copy, library_path = Path(rendition.archive_path or ""), Path(rendition.path or "")
    data = bytearray(archived_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archived_copy.write_bytes(bytes(data))
    library = Path(version_row(farm, result.version_id).stored_path or "")
    assert client.post(f"/api/v1/assets/{result.asset_id}/restore", headers=headers).status_code == 202
    wait_moved(farm, result.version_id, "restore", "failed")
    error = lifecycle_steps(farm, result.version_id)["restore"][2] or ""
    assert "damaged" in error, error
    # the original's copy back was removed with the failure: each file is in exactly one place, the archive
    assert not library.exists() and not library_path.exists() and archived_copy.is_file()
    assert version_row(farm, result.version_id).storage == "archive"
