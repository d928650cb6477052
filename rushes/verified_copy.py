"""Copy a file to other storage and prove it arrived: the copy is read back from that storage and its SHA-256
compared with the one the file was ingested with, before anything may delete the source.

The bytes go through the kernel (``copy_file_range``, else ``sendfile``) into ``.<name>.part`` beside the target,
64 MB at a time, each chunk's write-back started at once (``sync_file_range``); a second thread waits until the chunk
is written, drops its pages from the cache (``posix_fadvise``), reads it back from the storage and hashes it while
the next chunk is copied (SHA-256 is slower than a local disk: on two cores the hash runs beside the copy, not after
it); the part is ``fsync``'d at the end. Only a part whose
hash matches is renamed to the target.
A target already there with the right hash is taken as it is (a move that stopped after its rename).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from rushes.errors import ChecksumMismatch, Interrupted

CHUNK = 64 * 1024 * 1024  # bytes per kernel copy call: progress and cancel are looked at in between
READ = 4 * 1024 * 1024


def sha256_of(path: Path, *, drop_cache: bool = False, cancel: threading.Event | None = None,
              on_bytes: Callable[[int], None] | None = None) -> str:
    """The SHA-256 of ``path``; with ``drop_cache``, read from the storage rather than the page cache."""
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        if drop_cache:
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        buffer = bytearray(READ)
        view = memoryview(buffer)
        while n := fh.readinto(buffer):
            digest.update(view[:n])
            if on_bytes is not None:
                on_bytes(n)
            if cancel is not None and cancel.is_set():
                raise Interrupted(f"stopped while reading {path.name}")
    return digest.hexdigest()


def part_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _kernel_copy(src: int, dst: int, size: int, cancel: threading.Event | None,
                 on_bytes: Callable[[int], None]) -> None:
    """Copy ``size`` bytes in the kernel, ``CHUNK`` at a time, starting each chunk's write-back as it is copied."""
    done = 0
    use_range = hasattr(os, "copy_file_range")
    while done < size:
        if cancel is not None and cancel.is_set():
            raise Interrupted("stopped while copying")
        want = min(CHUNK, size - done)
        try:
            n = os.copy_file_range(src, dst, want, done, done) if use_range else \
                os.sendfile(dst, src, done, want)
        except OSError:  # EXDEV, ENOSYS, EINVAL: not between these file systems; sendfile works everywhere
            if not use_range:
                raise
            use_range = False
            continue
        if n == 0:
            raise OSError(f"the source ended at {done} of {size} bytes")
        _sync_range(dst, done, n, SYNC_START)  # its write-back starts now, beside the next chunk's copy
        done += n
        on_bytes(n)


# sync_file_range(2) flags: start a range's write-back; wait until it is written
SYNC_START = 2  # SYNC_FILE_RANGE_WRITE
SYNC_WAIT = 1 | 2 | 4  # WAIT_BEFORE | WRITE | WAIT_AFTER
_LIBC: ctypes.CDLL | None
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _LIBC.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
except (OSError, AttributeError):  # not Linux: fdatasync (the whole file, the final fsync does the rest)
    _LIBC = None


def _sync_range(fd: int, offset: int, length: int, flags: int) -> None:
    if _LIBC is None or _LIBC.sync_file_range(fd, offset, length, flags) != 0:
        if flags == SYNC_WAIT:
            os.fdatasync(fd)


class _ReadBack(threading.Thread):
    """Hashes the copy as it lands: each durable chunk's pages are dropped from the cache and read back from the
    storage, on a second core while the next chunk is copied."""

    def __init__(self, path: Path, cancel: threading.Event | None, on_bytes: Callable[[int], None],
                 from_storage: bool) -> None:
        super().__init__(name="read-back", daemon=True)
        self.path, self.cancel, self.on_bytes, self.from_storage = path, cancel, on_bytes, from_storage
        self.chunks: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            buffer = bytearray(READ)
            view = memoryview(buffer)
            fd = os.open(self.path, os.O_RDONLY)
            try:
                while (chunk := self.chunks.get()) is not None:
                    offset, length = chunk
                    if self.from_storage:  # written out, then out of the cache: the read comes from the storage
                        _sync_range(fd, offset, length, SYNC_WAIT)
                        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
                    end = offset + length
                    while offset < end:
                        n = os.preadv(fd, [view[:min(READ, end - offset)]], offset)
                        if n == 0:
                            raise OSError(f"{self.path} ended at {offset} bytes while read back")
                        self.digest.update(view[:n])
                        offset += n
                        self.on_bytes(n)
                    if self.cancel is not None and self.cancel.is_set():
                        raise Interrupted(f"stopped while reading back {self.path.name}")
            finally:
                os.close(fd)
        except BaseException as exc:  # handed to the copying thread, which raises it
            self.error = exc


def copy_verified(source: Path, target: Path, sha256: str, *, cancel: threading.Event | None = None,
                  on_progress: Callable[[float], None] | None = None, read_back: str = "storage") -> None:
    """Put a verified copy of ``source`` at ``target`` (its SHA-256 must be ``sha256``); the source is untouched.

    ``read_back="storage"`` reads the copy back from the target's storage (its cached pages dropped first);
    ``"cache"`` hashes what the file system holds for it after ``fsync`` (the page cache: catches a short or wrong
    write, a changed source, a bug, not a disk that stores other bits than it was given).

    Raises :class:`ChecksumMismatch` (nothing left at ``target``) when the copy read back from its storage does
    not match, and when ``source`` itself no longer matches."""
    size = source.stat().st_size
    total = max(2 * size, 1)  # the copy, then the read-back
    moved = 0

    def count(n: int) -> None:
        nonlocal moved
        moved += n
        if on_progress is not None:
            on_progress(min(moved / total, 1.0))

    if target.exists():
        if target.stat().st_size == size and \
                sha256_of(target, drop_cache=read_back == "storage", cancel=cancel) == sha256:
            return  # an earlier move got this far
        target.unlink()  # not this file: never trusted, never kept
    part = part_of(target)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.unlink(missing_ok=True)
    try:
        with source.open("rb") as src, part.open("wb") as dst:
            reader = _ReadBack(part, cancel, count, from_storage=read_back == "storage")
            reader.start()

            copied = 0

            def landed(n: int) -> None:
                nonlocal copied
                count(n)
                reader.chunks.put((copied, n))
                copied += n

            try:
                _kernel_copy(src.fileno(), dst.fileno(), size, cancel, landed)
                os.fsync(dst.fileno())
            finally:
                reader.chunks.put(None)
                reader.join()
            if reader.error is not None:
                raise reader.error
        found = reader.digest.hexdigest()
        if found != sha256:
            if sha256_of(source, cancel=cancel) != sha256:
                raise ChecksumMismatch(f"{source} is damaged: its SHA-256 is not the ingested {sha256[:12]}… (changed "
                                       "or rotted on its storage since); nothing was copied")
            raise ChecksumMismatch(f"{target}: the copy read back from its storage differs from the source (SHA-256 "
                                   f"{found[:12]}…, ingested {sha256[:12]}…); the source is kept")
        os.replace(part, target)
        _fsync_dir(target.parent)
    finally:
        part.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
