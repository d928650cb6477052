"""Ingest: new assets, versions, duplicates, sidecars and quarantine, against a real catalog."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.models import Asset, Duplicate, Step, Version
from pipeline.farm import Farm
from pipeline.ingest import Ingester, copy_and_hash
from pipeline.workflow import WORKFLOW
from rushes.settings import WatchFolder

FOLDER = WatchFolder(name="default")


def _drop(farm: Farm, source: Path, name: str) -> Path:
    target = farm.settings.watch_path(FOLDER) / name
    shutil.copyfile(source, target)
    return target


def test_copy_and_hash_reads_once_and_matches_sha256(tmp_path: Path, clips: dict[str, Path]) -> None:
    size, digest = copy_and_hash(clips["short"], tmp_path / "copy")[::-1]
    assert digest == hashlib.sha256(clips["short"].read_bytes()).hexdigest()
    assert size == clips["short"].stat().st_size == (tmp_path / "copy").stat().st_size


@pytest.mark.analysis
def test_new_duplicate_and_version(farm: Farm, clips: dict[str, Path]) -> None:
    ingester = Ingester(farm)
    first = ingester.ingest(_drop(farm, clips["short"], "A001.mov"), FOLDER)
    again = ingester.ingest(_drop(farm, clips["short"], "A001_copy.mov"), FOLDER)
    second = ingester.ingest(_drop(farm, clips["other"], "A001.mov"), FOLDER)

    assert (first.kind, again.kind, second.kind) == ("new", "duplicate", "version")
    assert again.version_id == first.version_id and second.asset_id == first.asset_id
    with farm.sessions() as session:
        versions = session.scalars(select(Version).order_by(Version.number)).all()
        assert [v.number for v in versions] == [1, 2]
        assert Path(versions[0].stored_path).read_bytes() == clips["short"].read_bytes()
        assert versions[0].stored_path.endswith(f"/library/{first.asset_id}/1/original.mov")
        dup = session.scalar(select(Duplicate))
        assert dup.original_name == "A001_copy.mov" and dup.version_id == first.version_id
        assert session.scalar(select(Asset).where(Asset.name == "A001_copy.mov")) is None
        steps = session.scalars(select(Step).where(Step.version_id == second.version_id)).all()
        assert {s.kind: s.status for s in steps} == {k: "queued" if k == "probe" else "pending" for k in WORKFLOW}
    assert not list(farm.settings.watch_path(FOLDER).iterdir())  # consumed
    assert not list(farm.settings.incoming_dir.iterdir())  # no copies left behind


def test_sidecar_metadata_rides_along(farm: Farm, clips: dict[str, Path]) -> None:
    source = _drop(farm, clips["short"], "B002.mov")
    source.with_name("B002.mov.json").write_text('{"scene": "42", "take": 3, "language": "en"}')
    result = Ingester(farm).ingest(source, FOLDER)
    with farm.sessions() as session:
        assert session.get(Version, result.version_id).sidecar == {"scene": "42", "take": 3, "language": "en"}
    assert not source.with_name("B002.mov.json").exists()


def test_an_empty_file_is_quarantined_with_its_reason_and_shown_failed(farm: Farm) -> None:
    source = farm.settings.watch_path(FOLDER) / "empty.mov"
    source.touch()
    result = Ingester(farm).ingest(source, FOLDER)
    assert result.kind == "quarantined" and "empty" in result.reason
    [reason_file] = farm.settings.quarantine_dir.glob("*.reason.txt")
    assert "empty file (0 bytes)" in reason_file.read_text()
    assert not source.exists()
    with farm.sessions() as session:
        asset = session.get(Asset, result.asset_id)
        assert asset.status == "failed" and "empty file" in asset.error and "quarantine/" in asset.error


def test_cli_style_ingest_leaves_the_original_in_place(farm: Farm, clips: dict[str, Path]) -> None:
    result = Ingester(farm).ingest(clips["other"], FOLDER, consume=False)
    assert result.kind == "new" and clips["other"].exists()


def test_a_big_file_shows_as_arriving_while_it_is_copied_and_no_more_after(
        farm: Farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file from SHOWN_FROM_BYTES up has an ``incoming`` row while its bytes are copied (here 1 byte up, a
    chunk of 64 KiB, every chunk written): the farm report lists it with growing bytes; it is gone afterwards."""
    from pipeline import incoming, ingest
    from pipeline.report import farm_report

    monkeypatch.setattr(incoming, "SHOWN_FROM_BYTES", 1)
    monkeypatch.setattr(incoming, "EVERY_S", 0.0)
    monkeypatch.setattr(ingest, "CHUNK", 64 * 1024)
    source = tmp_path / "A001C003_camera.mov"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: 16 chunks
    seen: list[list[dict[str, object]]] = []
    copied = incoming.Arrival.copied

    def watch(self: incoming.Arrival, done: int) -> None:
        copied(self, done)
        with farm.sessions() as session:
            seen.append(farm_report(session, 15)["arriving"])

    monkeypatch.setattr(incoming.Arrival, "copied", watch)
    result = Ingester(farm).ingest(source, WatchFolder(name="cam"), consume=False)
    assert result.kind == "new"
    assert len(seen) == 16 and all(len(rows) == 1 for rows in seen)
    assert [rows[0]["copied"] for rows in seen] == [64 * 1024 * k for k in range(1, 17)]
    first = seen[0][0]
    assert (first["name"], first["folder"], first["size"], first["stalled"]) == (source.name, "cam", 1 << 20, False)
    assert first["process"] == farm.name
    with farm.sessions() as session:
        assert farm_report(session, 15)["arriving"] == []


def test_small_files_are_not_announced_and_stale_arrivals_are_forgotten(
        farm: Farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from catalog.models import Incoming, utcnow
    from pipeline import incoming

    source = tmp_path / "small.mov"
    source.write_bytes(b"x" * 1000)
    arrival = incoming.Arrival(farm, source.name, "cam", 1000)
    assert arrival.row_id is None  # below SHOWN_FROM_BYTES: no catalog write at all
    with farm.transaction() as session:
        session.add(Incoming(name="dead.mov", folder="cam", size=10, copied=5, process="gone/1/x",
                             updated_at=utcnow() - timedelta(seconds=incoming.FORGOTTEN_AFTER_S + 5)))
        session.add(Incoming(name="live.mov", folder="cam", size=10, copied=5, process="here/1/x"))
    with farm.transaction() as session:
        assert incoming.forget_stale(session) == 1
        assert [row.name for row in session.scalars(select(Incoming))] == ["live.mov"]
