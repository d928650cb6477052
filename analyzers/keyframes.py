"""Pictures of a video: one keyframe per scene, a contact sheet of them, a waveform of the audio.

    frames = pick_keyframes("proxy.mp4", [(0.0, 4.2), (4.2, 9.0)], "thumbs/")
    contact_sheet(frames, "thumbs/sheet.jpg")
    waveform_image("proxy.mp4", "thumbs/waveform.png")

:func:`pick_keyframes` decodes with PyAV, one seek per scene: to the keyframe before the first
candidate, then forward (a new seek only when the next candidate is more than ``RESEEK_S`` ahead,
so a long scene is not decoded whole). The candidates are spread over the middle 80 % of the scene,
away from the cut and any fade at either end. Each is scored on a grey copy at most
``ANALYSIS_WIDTH`` wide: a mean luma below ``BLACK_LUMA`` is black; among the others the one with
the largest variance of the Laplacian (the sharpest) wins. A scene that is black throughout still
gets its sharpest frame, flagged ``black``. Scene times count from the first frame of the video.

Every file is written through :func:`transcoders.outputs.atomic_output`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.error
import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from analyzers.sound import mono_samples
from rushes.errors import Interrupted, MediaError, NotMediaError, OutputError
from transcoders.outputs import atomic_output

logger = logging.getLogger(__name__)

__all__ = ["BLACK_LUMA", "Keyframe", "contact_sheet", "pick_keyframes", "sheet_size", "waveform_image"]

#: Mean luma (0..1) below which a frame counts as black: 20 of 255.
BLACK_LUMA = 20 / 255
#: Width of the grey copy a candidate is scored on (never upscaled).
ANALYSIS_WIDTH = 320
#: Part of a scene left out at each end when placing candidates.
EDGE_FRACTION = 0.1
#: Seek again rather than decode forward when the next candidate is further ahead than this.
RESEEK_S = 10.0
JPEG_QUALITY = 90

#: Contact sheet layout, in pixels: space around and between cells, height of the label under a picture.
SHEET_MARGIN = 8
SHEET_LABEL_HEIGHT = 20
_SHEET_BACKGROUND = (24, 24, 24)
_LABEL_COLOUR = (230, 230, 230)
_BLACK_LABEL_COLOUR = (255, 96, 96)
_WAVE_COLOUR = "0x5ad1ff"


@dataclass(frozen=True, slots=True)
class Keyframe:
    """The frame chosen for one scene and how it scored."""

    scene_index: int  # position in the scene list given, from 0
    time_s: float  # from the first frame of the video
    path: Path
    sharpness: float  # variance of the Laplacian of the grey analysis copy
    mean_luma: float  # 0..1
    black: bool

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": os.fspath(self.path)}


@dataclass(frozen=True, slots=True)
class _Score:
    time_s: float
    sharpness: float
    mean_luma: float

    @property
    def black(self) -> bool:
        return self.mean_luma < BLACK_LUMA


# --------------------------------------------------------------------------- keyframes


def pick_keyframes(
    video_path: str | os.PathLike[str],
    scenes: Sequence[tuple[float, float]],
    out_dir: str | os.PathLike[str],
    *,
    candidates: int = 5,
    width: int | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[Keyframe, ...]:
    """Write ``scene-0001.jpg``... into ``out_dir``, one per ``(start_s, end_s)`` scene, and describe them.
    ``on_progress`` gets the share of scenes done after each one.

    ``width`` scales the JPEGs (the height follows the display aspect ratio); by default they have the
    video's display size. Raises :class:`NotMediaError` when the file has no video to read,
    :class:`MediaError` when a scene holds no decodable frame (e.g. it lies past the end) or decoding
    fails, and :class:`Interrupted` once ``cancel`` is set.
    """
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1, got {candidates}")
    if width is not None and width < 1:
        raise ValueError(f"width must be positive, got {width}")
    for index, (start_s, end_s) in enumerate(scenes):
        if not 0 <= start_s < end_s:
            raise ValueError(f"scene {index} must have 0 <= start < end, got ({start_s}, {end_s})")
    path = Path(video_path)
    folder = Path(out_dir)
    picked = []
    with _video(path) as (container, stream):
        clock = _Clock.of(stream)
        for index, (start_s, end_s) in enumerate(scenes):
            _check(cancel)
            score, frame = _best_frame(container, stream, clock, start_s, end_s, candidates, cancel)
            if score is None or frame is None:
                raise MediaError(f"{path.name}: no frame decoded in scene {index} ({start_s:.3f}-{end_s:.3f} s)")
            out = folder / f"scene-{index + 1:04d}.jpg"
            _write_jpeg(frame, out, _output_size(frame, stream, width))
            picked.append(Keyframe(index, score.time_s, out, score.sharpness, score.mean_luma, score.black))
            if on_progress is not None:
                on_progress((index + 1) / len(scenes))
            logger.debug("%s scene %d: frame at %.3f s (sharpness %.1f, luma %.3f%s)", path.name, index,
                         score.time_s, score.sharpness, score.mean_luma, ", black" if score.black else "")
    logger.info("%s: %d keyframe(s) written to %s", path.name, len(picked), folder)
    return tuple(picked)


def candidate_times(start_s: float, end_s: float, count: int) -> list[float]:
    """``count`` times at the centres of equal slots of the scene's middle ``1 - 2 * EDGE_FRACTION``."""
    inner = (end_s - start_s) * (1 - 2 * EDGE_FRACTION)
    first = start_s + (end_s - start_s) * EDGE_FRACTION
    return [first + inner * (k + 0.5) / count for k in range(count)]


def _best_frame(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    clock: _Clock,
    start_s: float,
    end_s: float,
    count: int,
    cancel: threading.Event | None,
) -> tuple[_Score | None, av.VideoFrame | None]:
    best: tuple[_Score | None, av.VideoFrame | None] = (None, None)
    for time_s, frame in _frames_at(container, stream, clock, candidate_times(start_s, end_s, count), end_s, cancel):
        score = _score(frame, time_s)
        if best[0] is None or _rank(score) > _rank(best[0]):
            best = (score, frame)
    return best


def _rank(score: _Score) -> tuple[bool, float]:
    return (not score.black, score.sharpness)


def _frames_at(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    clock: _Clock,
    targets: Sequence[float],
    end_s: float,
    cancel: threading.Event | None,
) -> Iterator[tuple[float, av.VideoFrame]]:
    """The first frame at or after each target time (one frame serves close targets once), before ``end_s``."""
    pending = deque(sorted(targets))
    decoded: Iterator[av.VideoFrame] | None = None
    last_s = -math.inf
    while pending:
        if decoded is None or pending[0] - last_s > RESEEK_S:
            decoded = _decode_from(container, stream, clock, pending[0])
        for frame in decoded:
            _check(cancel)
            time_s = clock.seconds(frame)
            if time_s is None:
                continue
            last_s = time_s
            if time_s >= end_s - clock.half_frame_s:  # the next scene has begun
                return
            if time_s >= pending[0] - clock.half_frame_s:
                yield time_s, frame
                while pending and pending[0] - clock.half_frame_s <= time_s:
                    pending.popleft()
                if not pending:
                    return
                if pending[0] - time_s > RESEEK_S:
                    break  # seek again instead of decoding the gap
        else:
            return  # end of the file


def _decode_from(
    container: av.container.InputContainer, stream: av.VideoStream, clock: _Clock, time_s: float
) -> Iterator[av.VideoFrame]:
    """Seek to the keyframe at or before ``time_s`` and decode forward from there."""
    container.seek(clock.pts(time_s), stream=stream, backward=True, any_frame=False)
    return container.decode(stream)


@dataclass(frozen=True, slots=True)
class _Clock:
    """Stream timestamps <-> seconds from the first frame."""

    time_base: Fraction
    start_pts: int
    half_frame_s: float

    @classmethod
    def of(cls, stream: av.VideoStream) -> _Clock:
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or 25
        time_base = Fraction(stream.time_base or Fraction(1, 90000))
        return cls(time_base, stream.start_time or 0, float(0.5 / Fraction(rate)))

    def seconds(self, frame: av.VideoFrame) -> float | None:
        return None if frame.pts is None else float((frame.pts - self.start_pts) * self.time_base)

    def pts(self, seconds: float) -> int:
        return self.start_pts + math.floor(Fraction(seconds) / self.time_base)


def _score(frame: av.VideoFrame, time_s: float) -> _Score:
    grey = _grey(frame)
    return _Score(time_s, laplacian_variance(grey), float(grey.mean()) / 255)


def _grey(frame: av.VideoFrame) -> np.ndarray:
    width = min(ANALYSIS_WIDTH, frame.width)
    height = max(1, round(frame.height * width / frame.width))
    return frame.reformat(width=width, height=height, format="gray").to_ndarray().astype(np.float32)


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D grey image: larger is sharper."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * centre
    return float(laplacian.var())


def _output_size(frame: av.VideoFrame, stream: av.VideoStream, width: int | None) -> tuple[int, int]:
    sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio or Fraction(1)
    display_width = frame.width * Fraction(sar)
    if width is None:
        return max(1, round(display_width)), frame.height
    return width, max(1, round(width * frame.height / display_width))


def _write_jpeg(frame: av.VideoFrame, out: Path, size: tuple[int, int]) -> None:
    image = frame.to_image(width=size[0], height=size[1])
    with atomic_output(out) as part:
        image.save(part, format="JPEG", quality=JPEG_QUALITY)


@contextmanager
def _video(path: Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """The opened file and its first video stream; PyAV errors become ours."""
    try:
        container = av.open("file:" + os.path.abspath(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise NotMediaError(f"cannot read {path.name}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        if not container.streams.video:
            raise NotMediaError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode {path.name}: {exc.strerror or exc}") from exc
    finally:
        container.close()


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Interrupted("cancelled")


# --------------------------------------------------------------------------- contact sheet


def sheet_size(
    count: int, picture_size: tuple[int, int], *, columns: int = 6, thumb_width: int = 256
) -> tuple[int, int]:
    """Pixel size of a contact sheet of ``count`` pictures of ``picture_size`` (width, height)."""
    if count < 1 or columns < 1 or thumb_width < 1:
        raise ValueError("a contact sheet needs at least one picture, one column and a positive width")
    used_columns = min(columns, count)
    rows = math.ceil(count / columns)
    cell_height = _thumb_height(picture_size, thumb_width) + SHEET_LABEL_HEIGHT
    return (
        used_columns * thumb_width + (used_columns + 1) * SHEET_MARGIN,
        rows * cell_height + (rows + 1) * SHEET_MARGIN,
    )


def contact_sheet(
    keyframes: Sequence[Keyframe],
    out_path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    columns: int = 6,
    thumb_width: int = 256,
) -> Path:
    """Lay the keyframes' pictures out in a grid, each with a label under it; write JPEG or PNG by suffix.

    The default label is the scene number and time; black scenes are labelled in red. Cells are sized
    for the first picture (all keyframes of a video share a size); see :func:`sheet_size`.
    """
    if not keyframes:
        raise ValueError("a contact sheet needs at least one keyframe")
    if labels is not None and len(labels) != len(keyframes):
        raise ValueError(f"{len(labels)} label(s) for {len(keyframes)} keyframe(s)")
    out = Path(out_path)
    image_format = _image_format(out)
    texts = list(labels) if labels is not None else [_default_label(k) for k in keyframes]
    pictures = [_open_picture(k.path) for k in keyframes]
    thumb_height = _thumb_height(pictures[0].size, thumb_width)
    sheet = Image.new("RGB", sheet_size(len(pictures), pictures[0].size, columns=columns, thumb_width=thumb_width),
                      _SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for position, (picture, keyframe, text) in enumerate(zip(pictures, keyframes, texts, strict=True)):
        row, column = divmod(position, columns)
        x = SHEET_MARGIN + column * (thumb_width + SHEET_MARGIN)
        y = SHEET_MARGIN + row * (thumb_height + SHEET_LABEL_HEIGHT + SHEET_MARGIN)
        sheet.paste(picture.resize((thumb_width, thumb_height), Image.Resampling.LANCZOS), (x, y))
        colour = _BLACK_LABEL_COLOUR if keyframe.black else _LABEL_COLOUR
        draw.text((x + 2, y + thumb_height + 4), _fit(draw, font, text, thumb_width - 4), fill=colour, font=font)
    with atomic_output(out) as part:
        sheet.save(part, format=image_format, **({"quality": JPEG_QUALITY} if image_format == "JPEG" else {}))
    return out


def _thumb_height(size: tuple[int, int], thumb_width: int) -> int:
    width, height = size
    return max(1, round(thumb_width * height / width))


def _default_label(keyframe: Keyframe) -> str:
    minutes, seconds = divmod(keyframe.time_s, 60)
    hours, minutes = divmod(int(minutes), 60)
    label = f"#{keyframe.scene_index + 1}  {hours:d}:{minutes:02d}:{seconds:06.3f}"
    return f"{label}  black" if keyframe.black else label


def _fit(draw: ImageDraw.ImageDraw, font: Any, text: str, width: int) -> str:
    """``text`` on one line, cut with an ellipsis to fit ``width`` pixels."""
    text = " ".join(text.split())
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _open_picture(path: Path) -> Image.Image:
    try:
        with Image.open(path) as picture:
            return picture.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"cannot read keyframe {path.name}: {exc}") from exc


def _image_format(path: Path) -> str:
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format not in ("JPEG", "PNG"):
        raise ValueError(f"{path.name}: a picture must be .jpg or .png")
    return image_format


# --------------------------------------------------------------------------- waveform


WAVE_BLOCK_S = 0.01  # the waveform keeps one (min, max) pair per 10 ms: 1.4 MB an hour, whatever the rate


def waveform_image(
    audio_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    width: int = 1800,
    height: int = 240,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """A PNG of the first audio stream's waveform (all channels mixed to one): each column spans the lowest
    and highest sample of its stretch of time, on a transparent background.

    The sound is decoded as it streams and only a (min, max) pair per 10 ms is kept, so memory does not grow
    with the length (ffmpeg's ``showwavespic`` held every sample: 238 MB for an hour, ~2 GB for nine).
    Raises :class:`NotMediaError` when the file has no audio, :class:`MediaError` when its audio cannot be
    decoded, :class:`Interrupted` once ``cancel`` is set or ``timeout`` seconds have passed, and
    :class:`OutputError` when the picture written is not a ``width`` x ``height`` PNG.
    """
    if width < 1 or height < 1:
        raise ValueError(f"waveform size must be positive, got {width}x{height}")
    source = Path(audio_path)
    _require_audio(source)
    lows, highs = _wave_blocks(source, timeout, cancel)
    out = Path(out_path)
    with atomic_output(out) as part:
        _draw_wave(lows, highs, width, height).save(part, format="PNG")
        _verify_png(part, out.name, (width, height))
    return out


def _wave_blocks(source: Path, timeout: float | None, cancel: threading.Event | None,
                 rate: int = 16_000) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest sample (-1..1) of each :data:`WAVE_BLOCK_S` of the first audio stream, mixed to
    mono at ``rate``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    block = max(1, int(rate * WAVE_BLOCK_S))
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    carry: np.ndarray = np.zeros(0, dtype=np.int16)
    try:
        for decoded in mono_samples(source, rate):  # a damaged packet leaves a gap in the picture, not an error
            if (cancel is not None and cancel.is_set()) or (deadline is not None and time.monotonic() > deadline):
                raise Interrupted(f"waveform of {source.name} stopped")
            samples = np.concatenate((carry, decoded))
            whole = samples.size - samples.size % block
            if whole:
                blocks = samples[:whole].reshape(-1, block)
                lows.append(blocks.min(axis=1))
                highs.append(blocks.max(axis=1))
            carry = samples[whole:]
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot draw the waveform of {source.name}: its audio cannot be decoded "
                         f"({getattr(exc, 'strerror', None) or exc})") from exc
    if carry.size:
        lows.append(carry.min(keepdims=True))
        highs.append(carry.max(keepdims=True))
    if not lows:
        raise MediaError(f"cannot draw the waveform of {source.name}: its audio stream holds no decodable samples")
    return np.concatenate(lows) / 32768.0, np.concatenate(highs) / 32768.0


def _draw_wave(lows: np.ndarray, highs: np.ndarray, width: int, height: int) -> Image.Image:
    """Columns from each stretch's lowest to its highest sample, centred on silence (a one-pixel line)."""
    edges = np.linspace(0, lows.size, width + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)  # fewer blocks than columns: neighbours share a block
    edges = np.minimum(edges, lows.size)
    starts = np.minimum(edges[:-1], lows.size - 1)
    low = np.minimum.reduceat(lows, starts)
    high = np.maximum.reduceat(highs, starts)
    middle = (height - 1) / 2
    top = np.floor(middle - high * middle)
    bottom = np.ceil(middle - low * middle)
    rows = np.arange(height)[:, None]
    drawn = (rows >= np.minimum(top, np.floor(middle))) & (rows <= np.maximum(bottom, np.ceil(middle)))
    colour = tuple(int(_WAVE_COLOUR[i:i + 2], 16) for i in (2, 4, 6))
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    pixels[drawn] = (*colour, 255)
    return Image.fromarray(pixels, "RGBA")


def _require_audio(path: Path) -> None:
    try:
        with av.open("file:" + os.path.abspath(path)) as container:
            has_audio = bool(container.streams.audio)
    except (av.error.FFmpegError, OSError) as exc:
        raise NotMediaError(f"cannot read {path.name}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not has_audio:
        raise NotMediaError(f"{path.name} has no audio stream")


def _verify_png(path: Path, name: str, size: tuple[int, int]) -> None:
    try:
        with Image.open(path) as picture:
            found = (picture.format, picture.size)
    except (OSError, UnidentifiedImageError) as exc:
        raise OutputError(f"{name} is not a picture: {exc}") from exc
    if found != ("PNG", size):
        width, height = found[1]
        raise OutputError(f"{name} is a {found[0]} of {width}x{height}, expected a PNG of {size[0]}x{size[1]}")
