"""Watch folders: stable files only, once; temp names ignored; bad files never stop the watcher."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.models import Asset, Version
from pipeline.farm import Farm
from pipeline.watch import Watcher, is_candidate
from tests.conftest import wait_for


@pytest.mark.parametrize("name", ["clip.mov.part", "x.tmp", "x.mov~", "._clip.mov", ".DS_Store",
                                  "a.crdownload", "clip.mov.json", ".hidden.mov"])
def test_temporary_and_sidecar_names_are_not_candidates(name: str) -> None:
    assert not is_candidate(name)


def test_media_names_are_candidates() -> None:
    assert is_candidate("A001_C002.MOV") and is_candidate("interview take 3.mxf")


@pytest.mark.slow
def test_a_growing_file_is_ingested_once_after_it_stops_growing(make_settings, db_url: str,
                                                                clips: dict[str, Path]) -> None:
    farm = Farm(make_settings(database_url=db_url, settle_s=1.0))
    watcher = Watcher(farm)
    target = farm.settings.watch_path(farm.settings.watch_folders[0]) / "growing.mp4"
    data = clips["long"].read_bytes()
    chunks = [data[i:i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    results = []
    with target.open("wb") as out:  # written in chunks over many polls, slower than the settle time
        for chunk in chunks:
            out.write(chunk)
            out.flush()
            for _ in range(2):  # two polls between chunks, well inside the settle time
                results += watcher.poll_once()
                time.sleep(0.1)
    assert results == [], "a file must not be taken while it grows"
    wait_for(lambda: watcher.poll_once() or None, timeout=10, what="the settled file to be ingested")
    for _ in range(5):
        assert watcher.poll_once() == []
        time.sleep(0.1)
    with farm.sessions() as session:
        [version] = session.scalars(select(Version)).all()
        assert version.size == len(data)
        assert Path(version.stored_path).read_bytes() == data
    farm.close()


def test_the_watcher_survives_a_bad_file_and_goes_on(farm: Farm, clips: dict[str, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    watch_dir = farm.settings.watch_path(farm.settings.watch_folders[0])
    watcher = Watcher(farm)
    original = watcher.ingester.ingest

    def explode_once(path: Path, *args: object, **kwargs: object) -> object:
        if path.name == "bad.mov":
            raise RuntimeError("disk on fire")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(watcher.ingester, "ingest", explode_once)
    (watch_dir / "bad.mov").write_bytes(b"x" * 100)
    (watch_dir / "good.mov").write_bytes(clips["short"].read_bytes())
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        def both_seen() -> bool:
            with farm.sessions() as session:
                return session.scalar(select(func.count(Asset.id))) == 2
        wait_for(both_seen, timeout=10, what="both files to be handled")
    finally:
        watcher.stop()
        thread.join(5)
    with farm.sessions() as session:
        bad = session.scalar(select(Asset).where(Asset.name == "bad.mov"))
        good = session.scalar(select(Asset).where(Asset.name == "good.mov"))
        assert bad.status == "failed" and "disk on fire" in bad.error
        assert good.versions and good.status in ("queued", "processing")
    assert list(farm.settings.quarantine_dir.glob("*bad.mov.reason.txt"))


def test_files_in_subfolders_keep_their_relative_name(farm: Farm, clips: dict[str, Path]) -> None:
    sub = farm.settings.watch_path(farm.settings.watch_folders[0]) / "day1" / "cam-a"
    sub.mkdir(parents=True)
    (sub / "A001.mov").write_bytes(clips["short"].read_bytes())
    watcher = Watcher(farm)
    wait_for(lambda: watcher.poll_once() or None, timeout=10, what="ingest")
    with farm.sessions() as session:
        assert session.scalar(select(Asset.name)) == "day1/cam-a/A001.mov"
