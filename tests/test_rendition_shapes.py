"""Issue 12: a source whose shape differs from a fixed broadcast frame is letterboxed or pillarboxed in black to the
preset's size (never stretched), and passes QC; the active picture sits where the fitted shape says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from analyzers.probe import probe
from delivery.presets import load_preset
from pipeline.delivery_tasks import check_rendition, source_facts
from transcoders.ffmpeg import ffmpeg_exe
from transcoders.rendition import render

pytestmark = pytest.mark.slow
XDCAM = "broadcast/xdcam-hd422-1080i25"


def _grey(path: Path, size: str, sar: str = "1") -> Path:
    """Two seconds of mid-grey picture (so the active area is measurable) with a stereo tone."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", f"color=c=0x808080:size={size}:rate=25:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
                    "-vf", f"setsar={sar}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-ac", "2", "-timecode", "10:00:00:00", "-t", "2", str(path)],
                   check=True, timeout=60)
    return path


def _active_area(path: Path) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels brighter than black in the first frame (luma > 40)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        luma = frame.to_ndarray(format="gray")
    rows, cols = np.nonzero(luma > 40)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


@pytest.mark.parametrize(("shape", "size", "sar", "area"), [
    ("4:3 pillarboxed", "1440x1080", "1", (240, 0, 1680, 1080)),
    ("2.39:1 letterboxed", "1920x804", "1", (0, 138, 1920, 942)),
    ("anamorphic PAL, SAR 16:11", "720x576", "16/11", (0, 12, 1920, 1068)),
    ("16:9 fills the frame", "1280x720", "1", (0, 0, 1920, 1080)),
])
def test_xdcam_frames_other_shapes_in_black_at_1920x1080(tmp_path: Path, shape: str, size: str, sar: str,
                                                         area: tuple[int, int, int, int]) -> None:
    src = _grey(tmp_path / "source.mp4", size, sar)
    preset = load_preset(XDCAM)
    facts = source_facts(probe(src))

    result = render(src, tmp_path / "out.mxf", preset, source=facts)
    report = check_rendition(result, preset, facts)

    assert report.passed, (shape, report.failures)
    with av.open(str(result.path)) as container:
        video = container.streams.video[0].codec_context
        assert (video.width, video.height) == (1920, 1080)
    found = _active_area(result.path)
    assert all(abs(a - b) <= 2 for a, b in zip(found, area, strict=True)), (shape, found, area)
