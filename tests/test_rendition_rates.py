"""Issue 12: a source at another frame rate reaches the preset's rate the way the preset chooses — converted (frames
blended, dropped or repeated; same length) or sped up (film 23.976 to PAL 25: every frame kept, 4 % shorter, the
sound time-stretched with its pitch kept) — and QC, working the expectation out on its own, agrees."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from analyzers.probe import probe
from delivery.presets import Preset, load_preset
from pipeline.delivery_tasks import check_rendition, source_facts
from tests.media_fixtures import ffmpeg, first_channel
from transcoders.rendition import render

pytestmark = pytest.mark.slow
SECONDS = 3
TONE_HZ = 1000


def _source(folder: Path, rate: str) -> Path:
    out = folder / f"film-{rate.replace('/', '_')}.mov"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={rate}:duration={SECONDS}",
           "-f", "lavfi", "-i", f"sine=frequency={TONE_HZ}:sample_rate=48000:duration={SECONDS}",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
           "-timecode", "01:00:00:00", "-shortest", str(out))
    return out


def _speed_up(name: str) -> Preset:
    preset = load_preset(name)
    assert preset.video is not None
    return preset.model_copy(update={"video": preset.video.model_copy(update={"rate_change": "speed-up"})})


def _pitch(path: Path) -> float:
    """The strongest frequency of the first audio track."""
    samples, rate = first_channel(path)
    spectrum = np.abs(np.fft.rfft(samples[: rate * 2]))
    return float(np.fft.rfftfreq(rate * 2, 1 / rate)[int(np.argmax(spectrum))])


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize("rate", ["24000/1001", "24"])
def test_film_sped_up_to_pal_keeps_every_frame_and_the_pitch(tmp_path: Path, rate: str) -> None:
    src = _source(tmp_path, rate)
    facts = source_facts(probe(src))
    preset = _speed_up("broadcast/xdcam-hd422-1080i25")

    result = render(src, tmp_path / "out.mxf", preset, source=facts)
    report = check_rendition(result, preset, facts)

    assert report.passed, [c.sentence() for c in report.failures]
    speed = 25 / (facts.frame_rate or 1)
    assert abs(result.duration_s - SECONDS / float(speed)) < 0.05  # 2.877 s from 3 s of 23.976
    assert "speed-up from" in report.check("frame rate").expected
    # every frame kept, none blended, dropped or repeated (a conversion would make 75 of 3 s); at most the last
    # one held to the container's length (3 s of sound over 71 frames of 23.976)
    assert _frames(result.path) - _frames(src) in (0, 1)
    assert abs(_pitch(result.path) - TONE_HZ) < 5  # time-stretched, not pitched up by 4 %


def test_a_rate_too_far_to_speed_up_is_converted(tmp_path: Path) -> None:
    src = _source(tmp_path, "30000/1001")
    facts = source_facts(probe(src))
    preset = _speed_up("broadcast/xdcam-hd422-1080i25")  # 29.97 -> 25 is 17 % off: converted, same length

    result = render(src, tmp_path / "out.mxf", preset, source=facts)
    report = check_rendition(result, preset, facts)

    assert report.passed, [c.sentence() for c in report.failures]
    assert abs(result.duration_s - SECONDS) < 0.05
    assert "speed-up" not in report.check("frame rate").expected


def test_the_default_converts_film_to_pal_at_the_same_length(tmp_path: Path) -> None:
    src = _source(tmp_path, "24000/1001")
    facts = source_facts(probe(src))
    preset = load_preset("broadcast/xdcam-hd422-1080i25")

    result = render(src, tmp_path / "out.mxf", preset, source=facts)
    report = check_rendition(result, preset, facts)

    assert report.passed, [c.sentence() for c in report.failures]
    assert abs(result.duration_s - SECONDS) < 0.05 and abs(_pitch(result.path) - TONE_HZ) < 5


def test_speed_up_needs_a_rate_to_speed_up_to() -> None:
    from pydantic import ValidationError

    from delivery.presets import VideoSpec

    with pytest.raises(ValidationError, match="rate_change speed-up needs a frame_rate"):
        VideoSpec(codec="h264", rate_change="speed-up")
