"""The review proxy (H.264/AAC MP4, short GOP for scrubbing) and the poster frame.

:func:`proxy_args` is the single source of the proxy command: :func:`make_proxy` runs it through
the runner into an atomic, verified output, and a benchmark can run the very same arguments bare.

ffmpeg autorotates by default: it turns the frames upright and drops the rotation side data, so the
scale is computed for the rotated picture and players do not rotate a second time.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from rushes.errors import OutputError
from transcoders.ffmpeg import ProgressCallback, SideOutput, media_arg, run_ffmpeg
from transcoders.outputs import VerifiedMedia, atomic_output, verify_media

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

_TIMECODE = re.compile(r"\d{2}:\d{2}:\d{2}[:;.]\d{2,3}")
POSTER_FRACTION = 0.1
POSTER_MAX_S = 10.0


@dataclass(frozen=True)
class ProxySpec:
    """How proxies look. ``gop_s`` is the keyframe spacing, short so scrubbing is instant."""

    max_height: int = 720
    crf: int = 23
    x264_preset: str = "veryfast"
    gop_s: float = 0.5
    audio_bitrate: str = "128k"

    def keyint(self, frame_rate: Fraction | None) -> int | None:
        """Frames between keyframes, or None when the frame rate is unknown."""
        if not frame_rate or frame_rate <= 0:
            return None
        return max(1, round(float(frame_rate) * self.gop_s))


@dataclass(frozen=True)
class ProxyResult:
    """A proxy written and verified."""

    path: Path
    width: int
    height: int
    duration_s: float
    size: int
    elapsed_s: float


# --------------------------------------------------------------------------- the command


def proxy_geometry(width: int, height: int, sar: Fraction, rotation: int, max_height: int) -> tuple[int, int]:
    """Output size: square pixels, upright, fitted into ``max_height`` (never upscaled), both even.

    ``sar`` 0 (unknown) counts as square; ``rotation`` is in degrees, any sign (90 and 270 swap).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid frame size {width}x{height}")
    pixel_aspect = Fraction(sar) if sar and sar > 0 else Fraction(1)
    display_w, display_h = Fraction(width) * pixel_aspect, Fraction(height)
    if round(rotation / 90) % 2:
        display_w, display_h = display_h, display_w
    scale = min(Fraction(1), Fraction(max_height) / display_h)
    return _even(display_w * scale), _even(display_h * scale)


def _even(size: Fraction) -> int:
    return max(2, 2 * math.floor(size / 2))  # rounding down: never a pixel larger than the source


def proxy_args(
    src: PathLike,
    dst: PathLike,
    *,
    width: int,
    height: int,
    sar: Fraction,
    rotation: int,
    frame_rate: Fraction | None,
    has_audio: bool,
    start_timecode: str | None,
    spec: ProxySpec = ProxySpec(),
    analysis: SideOutput | None = None,
) -> list[str]:
    """The ffmpeg arguments of a proxy (without the runner's common prefix).

    ``analysis`` runs on a copy of the proxy's picture (upright, scaled, before encoding) in the same pass, so the
    original is decoded once for the proxy and the analysis (e.g. :class:`analyzers.picture.PictureTap`).
    """
    out_w, out_h = proxy_geometry(width, height, sar, rotation, spec.max_height)
    picture = f"scale={out_w}:{out_h},setsar=1"
    if analysis is not None:
        # split after the proxy's own scaling: the analysis sees the proxy's picture and scales less
        video = ["-filter_complex", f"[0:v:0]{picture},split=2[pv][analysis];[analysis]{analysis.graph}",
                 "-map", "[pv]"]
        extra_output = analysis.output_args()
    else:
        video, extra_output = ["-map", "0:v:0", "-vf", picture], []
    return [
        "-i", media_arg(src),
        *video,
        *(["-map", "0:a:0"] if has_audio else []),
        "-map_metadata", "-1", "-map_chapters", "-1",
        *_video_args(frame_rate, spec),
        *(_audio_args(spec) if has_audio else ["-an"]),
        "-sn", "-dn",
        *_timecode_args(start_timecode),
        "-movflags", "+faststart",
        "-threads", "0",
        "-f", "mp4", media_arg(dst),
        *extra_output,
    ]  # fmt: skip


def _video_args(frame_rate: Fraction | None, spec: ProxySpec) -> list[str]:
    keyint = spec.keyint(frame_rate)
    if keyint is not None:
        gop = ["-g", str(keyint), "-keyint_min", str(keyint)]
    else:  # unknown rate: force keyframes by time instead
        gop = ["-force_key_frames", f"expr:gte(t,n_forced*{spec.gop_s:g})"]
    return [
        "-c:v", "libx264", "-preset", spec.x264_preset, "-crf", str(spec.crf),
        "-profile:v", "high", "-pix_fmt", "yuv420p",
        *gop, "-sc_threshold", "0",
    ]  # fmt: skip


def _audio_args(spec: ProxySpec) -> list[str]:
    return ["-c:a", "aac", "-b:a", spec.audio_bitrate, "-ac", "2", "-ar", "48000"]


def _timecode_args(start_timecode: str | None) -> list[str]:
    """``-metadata timecode`` and ``-timecode`` make the MP4 muxer write a tmcd track."""
    if not start_timecode:
        return []
    if not _TIMECODE.fullmatch(start_timecode):
        logger.warning("ignoring start timecode %r: not hh:mm:ss:ff", start_timecode)
        return []
    return ["-metadata", f"timecode={start_timecode}", "-timecode", start_timecode]


# --------------------------------------------------------------------------- running it


def make_proxy(
    src: PathLike,
    dst: PathLike,
    *,
    width: int,
    height: int,
    sar: Fraction,
    rotation: int,
    frame_rate: Fraction | None,
    has_audio: bool,
    start_timecode: str | None,
    duration_s: float | None,
    spec: ProxySpec = ProxySpec(),
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    analysis: SideOutput | None = None,
) -> ProxyResult:
    """Transcode ``src`` into a proxy at ``dst``; ``dst`` appears only once the proxy verified.

    The parameters describe the source as probed; the proxy's duration must be within
    max(0.5 s, 2 frames) of ``duration_s``.
    """
    expected_size = proxy_geometry(width, height, sar, rotation, spec.max_height)
    final = Path(dst)
    with atomic_output(final) as part:
        args = proxy_args(
            src,
            part,
            width=width,
            height=height,
            sar=sar,
            rotation=rotation,
            frame_rate=frame_rate,
            has_audio=has_audio,
            start_timecode=start_timecode,
            spec=spec,
            analysis=analysis,
        )
        run = run_ffmpeg(args, duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel,
                         pass_fds=analysis.hand_over() if analysis is not None else ())
        media = verify_media(
            part,
            expect_video=True,
            expect_audio=has_audio,
            expect_duration_s=duration_s,
            tolerance_s=duration_tolerance_s(frame_rate),
            video_codec="h264",
            audio_codec="aac" if has_audio else None,
            audio_channels=2 if has_audio else None,
        )
        _check_picture(media, expected_size, final.name)
    logger.info(
        "proxy %s: %dx%d, %.2f s, %d bytes in %.1f s",
        final,
        media.width,
        media.height,
        media.duration_s or 0.0,
        media.size,
        run.elapsed_s,
    )
    return ProxyResult(
        path=final,
        width=expected_size[0],
        height=expected_size[1],
        duration_s=media.duration_s or 0.0,
        size=media.size,
        elapsed_s=run.elapsed_s,
    )


def audio_proxy_args(src: PathLike, dst: PathLike, *, spec: ProxySpec = ProxySpec()) -> list[str]:
    """The ffmpeg arguments of a sound-only proxy: the first audio stream as stereo AAC in MP4."""
    return ["-i", media_arg(src), "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1", "-vn",
            "-sn", "-dn", *_audio_args(spec), "-movflags", "+faststart", "-f", "mp4", media_arg(dst)]


def make_audio_proxy(src: PathLike, dst: PathLike, *, duration_s: float | None, spec: ProxySpec = ProxySpec(),
                     on_progress: ProgressCallback | None = None, timeout: float | None = None,
                     cancel: threading.Event | None = None) -> ProxyResult:
    """A browser-playable proxy of a sound-only source; ``dst`` appears only once it verified."""
    final = Path(dst)
    with atomic_output(final) as part:
        run = run_ffmpeg(audio_proxy_args(src, part, spec=spec), duration_s=duration_s,
                         on_progress=on_progress, timeout=timeout, cancel=cancel)
        media = verify_media(part, expect_video=False, expect_audio=True, expect_duration_s=duration_s,
                             audio_codec="aac", audio_channels=2)
    return ProxyResult(path=final, width=0, height=0, duration_s=media.duration_s or 0.0, size=media.size,
                       elapsed_s=run.elapsed_s)


def duration_tolerance_s(frame_rate: Fraction | None) -> float:
    """How far a proxy's duration may be from the source's: max(0.5 s, 2 frames)."""
    if not frame_rate or frame_rate <= 0:
        return 0.5
    return max(0.5, float(2 / Fraction(frame_rate)))


def _check_picture(media: VerifiedMedia, expected_size: tuple[int, int], name: str) -> None:
    problems = []
    if (media.width, media.height) != expected_size:
        width, height = expected_size
        problems.append(f"size is {media.width}x{media.height}, expected {width}x{height}")
    if media.rotation % 360:
        problems.append(f"still carries a {media.rotation}° rotation")
    if problems:
        raise OutputError(f"{name}: {'; '.join(problems)}")


# --------------------------------------------------------------------------- poster


def poster_time(duration_s: float | None) -> float:
    """Where to take the poster: 10 % into the clip, at most 10 s in, 0 when the duration is unknown."""
    if not duration_s or duration_s <= 0:
        return 0.0
    return min(duration_s * POSTER_FRACTION, POSTER_MAX_S)


def poster_args(src: PathLike, dst: PathLike, *, at_s: float, width: int | None = None) -> list[str]:
    """The ffmpeg arguments of a one-frame JPEG poster, square pixels and upright.

    ``yuvj420p`` (full range) is named explicitly: left to negotiation, a seek past the end fails in
    the MJPEG encoder instead of simply writing nothing.
    """
    scale = "scale=trunc(iw*sar/2)*2:ih,setsar=1" + (f",scale={width}:-2" if width else "")
    return [
        "-ss", f"{max(at_s, 0.0):.3f}", "-i", media_arg(src),
        "-map", "0:v:0", "-frames:v", "1", "-vf", scale, "-pix_fmt", "yuvj420p", "-q:v", "3",
        "-map_metadata", "-1", "-f", "image2", "-update", "1", media_arg(dst),
    ]  # fmt: skip


def make_poster(
    src: PathLike, dst: PathLike, *, at_s: float, width: int | None = None, timeout: float | None = None
) -> Path:
    """Write one JPEG frame of ``src`` taken at ``at_s`` (fast seek) to ``dst``, atomically."""
    final = Path(dst)
    with atomic_output(final) as part:
        run_ffmpeg(poster_args(src, part, at_s=at_s, width=width), timeout=timeout)
        verify_media(part, expect_video=True, expect_audio=False, expect_duration_s=None, video_codec="mjpeg")
    return final
