"""Archive and restore speed against a plain ``cp`` of the same files, measured in the same run.

    .venv/bin/python bench/archive.py [--files 4] [--mb 256] [--reps 3] [--target DIR]

For each repetition, interleaved: ``cp`` of the files into an empty folder (the bare tool), ``cp`` then ``sync``
(the same bytes made durable), ``cp``, ``sync`` and ``sha256sum`` of the copies read back from the storage (a plain
cp with verification, by the bare tools), and Rushes' move (``rushes/verified_copy.copy_verified``: kernel copy,
write-back per chunk, each chunk read back from the storage and hashed beside the copy, SHA-256 checked) — one way
(archive) and back (restore). The sources' pages are dropped before every run, so each starts reading from the
storage. Prints MB/s and the ratio of Rushes' move to each baseline (goal: ≥ 0.90 of plain cp).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rushes.verified_copy import copy_verified


def drop(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def make_files(folder: Path, count: int, mb: int) -> list[tuple[Path, str]]:
    files = []
    block = os.urandom(1024 * 1024)
    for i in range(count):
        path = folder / f"A{i:03d}_C001.mov"
        digest = hashlib.sha256()
        with path.open("wb") as fh:
            for n in range(mb):
                chunk = block[n % 997:] + block[:n % 997]  # every MB different: nothing deduplicates it
                fh.write(chunk)
                digest.update(chunk)
        files.append((path, digest.hexdigest()))
    return files


def timed(run: callable, files: list[tuple[Path, str]]) -> float:  # type: ignore[valid-type]
    for path, _ in files:
        drop(path)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def moves(files: list[tuple[Path, str]], folder: Path, threads: int, read_back: str) -> None:
    """Each file one move, ``threads`` at a time (a farm's worker threads each take one archive step)."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda item: copy_verified(item[0], folder / item[0].name, item[1], read_back=read_back),
                      files))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="moves at a time (RUSHES_WORKER_THREADS' default: 2)")
    parser.add_argument("--verify", choices=["storage", "cache"], default="storage",
                        help="RUSHES_ARCHIVE_VERIFY: read the copy back from the storage (default) or the page cache")
    parser.add_argument("--target", type=Path, default=None, help="the archive storage (default: a temp folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rushes-bench-archive-"))
    target_root = args.target or work
    try:
        library = work / "library"
        library.mkdir()
        files = make_files(library, args.files, args.mb)
        total_mb = args.files * args.mb
        results: dict[str, list[float]] = {"cp": [], "cp+sync": [], "cp+verify": [], "archive": [], "restore": []}
        for rep in range(args.reps):
            for name in results:
                out = target_root / f"out-{rep}-{name.replace('+', '-')}"
                out.mkdir(parents=True)
                if name == "cp":
                    seconds = timed(lambda o=out: subprocess.run(["cp", *[str(p) for p, _ in files], str(o)],
                                                                 check=True), files)
                elif name == "cp+sync":
                    seconds = timed(lambda o=out: (subprocess.run(["cp", *[str(p) for p, _ in files], str(o)],
                                                                  check=True), subprocess.run(["sync"], check=True)),
                                    files)
                elif name == "cp+verify":  # the bare tools' way to a verified copy: cp, sync, sha256sum read back
                    def cp_verify(o: Path = out) -> None:
                        subprocess.run(["cp", *[str(p) for p, _ in files], str(o)], check=True)
                        subprocess.run(["sync"], check=True)
                        for p, _ in files:
                            drop(o / p.name)
                        sums = subprocess.run(["sha256sum", *[str(o / p.name) for p, _ in files]], check=True,
                                              capture_output=True, text=True).stdout.split()[::2]
                        assert sums == [h for _, h in files], "cp made a copy that differs"

                    seconds = timed(cp_verify, files)
                elif name == "archive":
                    seconds = timed(lambda o=out: moves(files, o, args.threads, args.verify), files)
                else:  # restore: from the archive copies just made back into a library folder
                    archived = [(target_root / f"out-{rep}-archive" / p.name, h) for p, h in files]
                    seconds = timed(lambda o=out, a=archived: moves(a, o, args.threads, args.verify), archived)
                results[name].append(total_mb / seconds)
                if name in ("cp", "cp+sync", "cp+verify"):
                    shutil.rmtree(out)
            shutil.rmtree(target_root / f"out-{rep}-archive")
            shutil.rmtree(target_root / f"out-{rep}-restore")
        med = {name: statistics.median(values) for name, values in results.items()}
        print(f"{args.files} files x {args.mb} MB, {args.reps} reps, {args.threads} moves at a time, read back from "
              f"the {args.verify}, medians (MB/s):")
        for name, value in med.items():
            print(f"  {name:<8} {value:8.0f}   runs: {', '.join(f'{v:.0f}' for v in results[name])}")
        for move in ("archive", "restore"):
            print(f"  {move} / cp = {med[move] / med['cp']:.2f}   {move} / (cp + sync) = "
                  f"{med[move] / med['cp+sync']:.2f}   {move} / (cp + sync + sha256sum read back) = "
                  f"{med[move] / med['cp+verify']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
