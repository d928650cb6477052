"""Watch folders by polling (inotify is blind on NFS/SMB).

A file is ready when its size and mtime stayed the same for ``settle_s`` seconds over at least two
polls and its name matches no temporary pattern. Sidecars (``clip.mov.json``) ride along with their
media file. The watcher never dies on a bad file: the file goes to quarantine, the loop goes on.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.farm import Farm
from pipeline.ingest import Ingester, IngestResult
from rushes.settings import TEMP_PATTERNS, WatchFolder

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Seen:
    key: tuple[int, int]  # (size, mtime_ns)
    since: float  # monotonic time the key was first seen
    polls: int = 1


def is_candidate(name: str) -> bool:
    """Media candidates: not a temporary name, not hidden, not a sidecar (``clip.mov.json``, ``*.xmp``) nor a shoot
    CSV (pipeline/sidecars.py)."""
    if name.startswith(".") or any(fnmatch.fnmatch(name, pat) for pat in TEMP_PATTERNS):
        return False
    if name.lower().endswith((".xmp", ".csv")):
        return False
    return not (name.endswith(".json") and "." in name[:-5])


def scan(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if is_candidate(name):
                yield Path(dirpath) / name


class Watcher:
    """Polls every configured watch folder and ingests files once they are stable."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.settings = farm.settings
        self.ingester = Ingester(farm)
        self.seen: dict[Path, Seen] = {}
        self.done: dict[Path, tuple[int, int]] = {}  # ingested but not removable (read-only share)
        self._halt = threading.Event()

    def poll_once(self) -> list[IngestResult]:
        results: list[IngestResult] = []
        present: set[Path] = set()
        for folder in self.settings.watch_folders:
            root = self.settings.watch_path(folder)
            for path in scan(root):
                present.add(path)
                result = self._check(path, root, folder)
                if result is not None:
                    results.append(result)
        for gone in set(self.seen) - present:
            del self.seen[gone]
        for gone in set(self.done) - present:
            del self.done[gone]
        return results

    def _check(self, path: Path, root: Path, folder: WatchFolder) -> IngestResult | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_size, st.st_mtime_ns)
        if self.done.get(path) == key:
            return None
        now = time.monotonic()
        seen = self.seen.get(path)
        if seen is None or seen.key != key:
            self.seen[path] = Seen(key, now)
            return None
        seen.polls += 1
        if seen.polls < 2 or now - seen.since < self.settings.settle_s:
            return None
        del self.seen[path]
        name = path.relative_to(root).as_posix()
        try:
            result = self.ingester.ingest(path, folder, name=name)
        except Exception as exc:  # the watcher must survive anything one file does
            log.exception("ingest of %s failed", path)
            result = self.ingester.quarantine(path, folder, name, f"ingest failed: {exc}")
        if path.exists():
            self.done[path] = key
        return result

    def run(self) -> None:
        folders = ", ".join(str(self.settings.watch_path(f)) for f in self.settings.watch_folders)
        log.debug("watching %s every %.1fs (settle %.1fs)", folders, self.settings.poll_interval_s,
                 self.settings.settle_s)
        while not self._halt.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("watch poll failed; trying again")
            self._halt.wait(self.settings.poll_interval_s)

    def stop(self) -> None:
        self._halt.set()


def start_watcher(farm: Farm) -> tuple[Watcher, threading.Thread]:
    watcher = Watcher(farm)
    thread = threading.Thread(target=watcher.run, name="watcher", daemon=True)
    thread.start()
    return watcher, thread
