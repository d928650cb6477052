"""Atomic, verified outputs.

A transcode writes into a hidden ``.{stem}.{uuid8}.part{suffix}`` file next to its final path, the
result is probed with PyAV, and only then renamed onto the final path: a reader never sees half a
file, and a killed job leaves only ``.part`` files that :func:`clean_stale_parts` removes.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import av.container

from rushes.errors import OutputError

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- atomic writes


def part_path(final: Path) -> Path:
    """A fresh temporary name beside ``final``, keeping its suffix last so ffmpeg picks the muxer."""
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.part{final.suffix}")


@contextmanager
def atomic_output(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it onto ``final``, on error delete it.

    The folder of ``final`` is created if needed. The temporary file is fsynced before
    ``os.replace``, so after a crash ``final`` is either the old file or the whole new one.
    """
    final_path = Path(final)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temp = part_path(final_path)
    try:
        yield temp
        _commit(temp, final_path)
    finally:
        temp.unlink(missing_ok=True)  # gone already after a successful commit


def _commit(temp: Path, final: Path) -> None:
    if not temp.is_file():
        raise OutputError(f"{final.name} was not written")
    with temp.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(temp, final)
    _fsync_dir(final.parent)
    logger.debug("wrote %s", final)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_stale_parts(folder: str | os.PathLike[str], stem: str) -> list[Path]:
    """Remove ``.{stem}.{uuid8}.part*`` files left in ``folder`` by a killed run; return them.

    Only call this for an output the caller owns: a concurrent writer of the same stem would lose
    its temporary file.
    """
    own_part = re.compile(rf"\.{re.escape(stem)}\.[0-9a-f]{{8}}\.part(?:\.[^.]+)?")
    removed = []
    for candidate in Path(folder).glob(f".{glob.escape(stem)}.*.part*"):
        if own_part.fullmatch(candidate.name) and candidate.is_file():
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    if removed:
        logger.info("removed %d stale part file(s) of %s in %s", len(removed), stem, folder)
    return removed


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifiedMedia:
    """What a verified output holds. Sizes and codecs are None for a missing stream."""

    width: int | None
    height: int | None
    duration_s: float | None
    video_codec: str | None
    audio_codec: str | None
    audio_channels: int | None
    size: int
    rotation: int = 0  # display rotation of the first video frame, in degrees


def verify_media(
    path: str | os.PathLike[str],
    *,
    expect_video: bool,
    expect_audio: bool,
    expect_duration_s: float | None,
    tolerance_s: float = 0.5,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    audio_channels: int | None = None,
) -> VerifiedMedia:
    """Open ``path`` with PyAV and check it holds what was asked; raise :class:`OutputError` if not.

    ``expect_video``/``expect_audio`` are exact: a stream that should not be there is an error too.
    The first video frame must decode. ``video_codec``, ``audio_codec`` and ``audio_channels`` are
    checked when given (codec names as PyAV gives them: "h264", "aac", "mjpeg").
    """
    file = Path(path)
    size = file.stat().st_size if file.is_file() else 0
    if size == 0:
        raise OutputError(f"{file.name} is missing or empty")
    try:
        with av.open(os.fspath(file)) as container:
            media = _describe(container, size, file.name)
    except av.FFmpegError as exc:
        raise OutputError(f"{file.name} cannot be read as media: {exc}") from exc
    expected = {"video_codec": video_codec, "audio_codec": audio_codec, "audio_channels": audio_channels}
    problems = [
        *_stream_problems(media, expect_video=expect_video, expect_audio=expect_audio),
        *_value_problems(media, expected),
        *_duration_problems(media, expect_duration_s, tolerance_s),
    ]
    if problems:
        raise OutputError(f"{file.name}: {'; '.join(problems)}")
    return media


def _describe(container: av.container.InputContainer, size: int, name: str) -> VerifiedMedia:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    rotation = 0
    if video is not None:
        frame = next(container.decode(video), None)
        if frame is None:
            raise OutputError(f"{name}: no video frame can be decoded")
        rotation = int(frame.rotation)
    return VerifiedMedia(
        width=video.codec_context.width if video else None,
        height=video.codec_context.height if video else None,
        duration_s=_duration_s(container),
        video_codec=video.codec_context.name if video else None,
        audio_codec=audio.codec_context.name if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
        size=size,
        rotation=rotation,
    )


def _duration_s(container: av.container.InputContainer) -> float | None:
    if container.duration is not None:
        return container.duration / av.time_base
    durations = [
        float(s.duration * s.time_base)
        for s in container.streams
        if s.duration is not None and s.time_base is not None
    ]
    return max(durations, default=None)


def _stream_problems(media: VerifiedMedia, *, expect_video: bool, expect_audio: bool) -> list[str]:
    problems = []
    for kind, expected, codec in (
        ("video", expect_video, media.video_codec),
        ("audio", expect_audio, media.audio_codec),
    ):
        if expected and codec is None:
            problems.append(f"no {kind} stream")
        elif not expected and codec is not None:
            problems.append(f"unexpected {kind} stream ({codec})")
    return problems


def _value_problems(media: VerifiedMedia, expected: dict[str, str | int | None]) -> list[str]:
    return [
        f"{name.replace('_', ' ')} is {getattr(media, name)}, expected {want}"
        for name, want in expected.items()
        if want is not None and getattr(media, name) is not None and getattr(media, name) != want
    ]


def _duration_problems(media: VerifiedMedia, expect_s: float | None, tolerance_s: float) -> list[str]:
    if expect_s is None:
        return []
    if media.duration_s is None:
        return [f"duration unknown, expected {expect_s:.3f} s"]
    if abs(media.duration_s - expect_s) > tolerance_s:
        return [f"duration is {media.duration_s:.3f} s, expected {expect_s:.3f} s ± {tolerance_s:g} s"]
    return []
