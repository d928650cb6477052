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
