"""Issue 12: every preset delivers the footage teams really have. Each awkward source (built in
``tests/awkward_media.py``: silent and soundless, 4:3, 2.39:1, a rotated phone, anamorphic interlaced PAL,
190x240 MPEG-4 Part 2, VFR, 29.97, 23.976, sound shorter or longer than picture, a TS starting at 10 s,
VP8/Vorbis) and the repository's real clips go to a web, a broadcast and a social preset; every shipped preset
takes the 2.39:1 take, the built phone clip and the real one (rotated 180°, 10.5 fps, a gap in its sound). Each
rendition must end QC-passed, last as long as its source, and show the picture's true shape: the disc in the
middle stays round, bars are black where the preset pads."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from analyzers.probe import probe
from delivery.presets import load_preset, load_presets
from pipeline.delivery_tasks import check_rendition, source_facts
from tests.awkward_media import Awkward, build, real_files
from transcoders.rendition import render

pytestmark = pytest.mark.slow
FAMILY = ("web/h264-720p", "broadcast/xdcam-hd422-1080i25", "social/vertical-9x16")


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Awkward]:
    made = {a.name: a for a in [*build(tmp_path_factory.mktemp("awkward")), *real_files()]}
    assert sorted(made) == sorted(_NAMES)
    return made


_NAMES = [
    "silent track", "no sound", "4:3", "2.39:1 with timecode", "phone 9:16, rotation metadata",
    "anamorphic PAL interlaced, SAR 16:11", "190x240 MPEG-4 Part 2", "VFR", "29.97 fps", "23.976 fps",
    "sound shorter than picture", "sound longer than picture", "MPEG-TS starting at 10 s", "VP8/Vorbis WebM",
    "phone clip rotated 180, odd rate (fire2)", "Big Buck Bunny 5.1", "4K HEVC VFR", "NTSC 29.97i",
]


def _frame(path: Path) -> tuple[np.ndarray, bool, Fraction]:
    """Luma of a frame a third of the way in (the disc is on every frame), whether it is interlaced, the SAR."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        frame = frames[len(frames) // 3]
        sar = stream.codec_context.sample_aspect_ratio or Fraction(1)
        return frame.to_ndarray(format="gray"), bool(frame.interlaced_frame), Fraction(sar)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _assert_picture(path: Path, source: Awkward, reframe: str, scan: str) -> None:
    """The picture has the source's display aspect (the frame itself, or the active area inside pad bars), or
    fills the frame (crop); the disc stays round; a progressive preset gets progressive frames whatever the
    source's scan. A real clip's own picture (no disc, dark areas) is held to its frame's aspect only."""
    luma, interlaced, sar = _frame(path)
    assert interlaced == (scan != "progressive"), (source.name, "scan", interlaced)
    height, width = luma.shape
    if not source.pattern:
        if reframe == "none":
            frame = Fraction(width, height) * sar
            assert abs(float(frame / source.display_aspect) - 1) < 0.03, (source.name, frame, source.display_aspect)
        return
    left, top, right, bottom = _box(luma > 40)
    active = Fraction(right - left, bottom - top) * sar
    if reframe in ("crop", "blur-pad"):  # filled: by the picture, or by its blurred enlargement
        assert (left, top, right, bottom) == (0, 0, width, height), (source.name, f"{reframe} fills the frame")
    else:
        assert abs(float(active / source.display_aspect) - 1) < 0.03, (source.name, active, source.display_aspect)
        if reframe == "pad":  # bars, if any, are black
            bars = np.concatenate([luma[:, :left].ravel(), luma[:, right:].ravel(),
                                   luma[:top, :].ravel(), luma[bottom:, :].ravel()])
            assert bars.size == 0 or bars.max() <= 20, (source.name, "bars are not black")
    if reframe == "blur-pad":  # the enlarged, blurred disc behind lies under the sharp one: no edge to measure
        return
    d_left, d_top, d_right, d_bottom = _box(luma > 190)
    roundness = Fraction(d_right - d_left, d_bottom - d_top) * sar
    assert abs(float(roundness) - 1) < 0.08, (source.name, "the disc is stretched", float(roundness))


def _deliver(source: Awkward, name: str, folder: Path) -> None:
    preset = load_preset(name)
    facts = source_facts(probe(source.path))
    suffix = "master.m3u8" if preset.container == "hls" else f"out.{preset.extension}"
    result = render(source.path, folder / name.replace("/", "-") / suffix, preset, source=facts)
    report = check_rendition(result, preset, facts)
    assert report.passed, (source.name, name, [c.sentence() for c in report.failures])
    if source.sound != "programme" and preset.audio is not None:
        assert result.sound is not None and result.leveling is None
    if preset.video is not None and preset.container != "hls":
        _assert_picture(result.path, source, preset.video.reframe, preset.video.scan)


@pytest.mark.parametrize("name", FAMILY)
@pytest.mark.parametrize("kind", _NAMES)
def test_every_kind_of_footage_is_delivered_to_web_broadcast_and_social(
        awkward: dict[str, Awkward], tmp_path: Path, kind: str, name: str) -> None:
    _deliver(awkward[kind], name, tmp_path)


@pytest.mark.parametrize("name", sorted(load_presets()))
@pytest.mark.parametrize("kind", ["2.39:1 with timecode", "phone 9:16, rotation metadata",
                                  "phone clip rotated 180, odd rate (fire2)"])
def test_every_shipped_preset_takes_a_scope_take_and_phone_clips(
        awkward: dict[str, Awkward], tmp_path: Path, kind: str, name: str) -> None:
    _deliver(awkward[kind], name, tmp_path)
