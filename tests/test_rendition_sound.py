"""Issue 12: every preset delivers sources whose sound is silent or absent — silent tracks in the preset's layout,
QC saying the loudness target does not apply — and QC still rejects sound that does not come from the source."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from analyzers.probe import probe
from delivery.presets import Preset, load_preset
from delivery.qc import QCReport, check
from pipeline.delivery_tasks import check_rendition, source_facts
from tests.media_fixtures import BIG_BUCK_BUNNY, first_channel
from transcoders.ffmpeg import ffmpeg_exe
from transcoders.rendition import render
from transcoders.rendition.specs import RenditionResult

pytestmark = pytest.mark.slow
SECONDS = 2
PRESETS = ("web/h264-720p", "broadcast/xdcam-hd422-1080i25", "social/vertical-9x16")


def _make(path: Path, *audio: str) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SECONDS}", *audio,
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-timecode", "10:00:00:00", "-t", str(SECONDS), str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sound")
    return {
        "no sound": _make(folder / "camera without microphone.mp4"),
        "silent": _make(folder / "security camera, silent track.mp4",
                        "-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:sample_rate=48000:duration={SECONDS}"),
        "tone": _make(folder / "tone.mp4", "-f", "lavfi", "-i",
                      f"sine=frequency=440:sample_rate=48000:duration={SECONDS},volume=6,pan=stereo|c0=c0|c1=c0"),
    }


def _render(src: Path, name: str, folder: Path) -> tuple[Preset, RenditionResult, QCReport]:
    preset = load_preset(name)
    facts = source_facts(probe(src))
    result = render(src, folder / f"{name.replace('/', '-')}.{preset.extension}", preset, source=facts)
    report = check_rendition(result, preset, facts)
    return preset, result, report


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("kind", ["no sound", "silent"])
def test_silent_or_soundless_sources_get_silent_tracks_in_the_presets_layout_and_pass(
        sources: dict[str, Path], tmp_path: Path, name: str, kind: str) -> None:
    preset, result, report = _render(sources[kind], name, tmp_path)

    assert report.passed, report.failures
    assert result.sound == ("none" if kind == "no sound" else "silent")
    loudness = next(c for c in report.checks if c.name == "integrated loudness")
    why = "the source has no sound" if kind == "no sound" else "the source is silent"
    assert loudness.actual == f"loudness not applicable: {why}; the rendition is silent"
    assert preset.audio is not None
    with av.open(str(result.path)) as container:
        tracks = container.streams.audio
        layout = [t.codec_context.channels for t in tracks]
        assert layout == ([1] * 8 if preset.container == "mxf" else [preset.audio.channels])
        assert all(t.codec_context.sample_rate == preset.audio.sample_rate for t in tracks)
        audio_s = float(tracks[0].duration * tracks[0].time_base) if tracks[0].duration else None
    assert audio_s is None or abs(audio_s - SECONDS) < 0.1, "the silent tracks last as long as the picture"


def test_qc_rejects_sound_that_cannot_come_from_a_silent_source(sources: dict[str, Path], tmp_path: Path) -> None:
    """A rendition carrying a tone, checked as the rendition of a silent source: the loudness check fails."""
    preset, result, normal = _render(sources["tone"], "web/h264-720p", tmp_path)
    assert normal.passed and result.sound is None, normal.failures  # an audible source is normalised as before

    report = check(result.path, preset, expected_duration_s=SECONDS, source_start_timecode="10:00:00:00",
                   source_sound="silent")

    failed = {c.name: c for c in report.failures}
    assert "integrated loudness" in failed
    assert "does not come from the source" in failed["integrated loudness"].actual
    with pytest.raises(ValueError, match="source_sound"):
        check(result.path, preset, expected_duration_s=SECONDS, source_start_timecode=None, source_sound="quiet")


# --------------------------------------------------------------------------- loudness on real programme


def test_sound_a_plain_gain_cannot_lift_goes_through_a_true_peak_limiter_and_meets_the_target(tmp_path: Path) -> None:
    """Big Buck Bunny's 5.1 mix (-34 LUFS, peaks 20 dB over its loudness) to -14 LUFS for social: a plain gain
    would peak at +6.6 dBTP; the limiter holds -1 dBTP and the target is met, and QC says which way."""
    preset, result, report = _render(BIG_BUCK_BUNNY, "social/square-1x1", tmp_path)

    assert report.passed, [c.sentence() for c in report.failures]
    assert result.normalization == "limited" and result.leveling is not None
    assert result.leveling.unlimited_peak_dbtp is not None and result.leveling.unlimited_peak_dbtp > 0
    loudness = report.check("integrated loudness")
    assert "through a true-peak limiter" in loudness.actual, loudness.actual
    assert abs(float(loudness.actual.split()[0]) - -14.0) <= 0.5  # well inside the ±1 LU tolerance
    assert float(report.check("true peak").actual.split()[0]) <= -1.0


def test_sound_a_plain_gain_can_lift_is_only_gained(sources: dict[str, Path], tmp_path: Path) -> None:
    _, result, report = _render(sources["tone"], "audio/bwf-wav", tmp_path)
    assert report.passed and result.normalization == "linear"
    assert report.check("integrated loudness").actual.endswith("(linear gain " + f"{result.leveling.gain_db:+.1f} dB)")


def test_the_limiter_keeps_the_sound_in_time(tmp_path: Path) -> None:
    """A quiet take with a loud clap at exactly 1.000 s: limited to -23 LUFS, the clap is still at 1.000 s."""
    src = tmp_path / "clap.wav"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "aevalsrc='0.03*sin(2*PI*300*t)+if(between(t,1,1.004),0.95,0)':s=48000:d=3",
                    "-ac", "2", "-c:a", "pcm_s24le", str(src)], check=True, timeout=60)
    preset, result, report = _render(src, "audio/bwf-wav", tmp_path)
    assert result.normalization == "limited", result.leveling
    samples, _ = first_channel(result.path)
    onset = int(np.argmax(np.abs(samples) > 0.5 * np.abs(samples).max()))
    assert abs(onset / 48000 - 1.0) < 0.001, onset / 48000


def test_qc_rejects_sound_that_ends_before_the_picture(tmp_path: Path) -> None:
    """A file muxed by hand with 3 s of picture and 1.5 s of sound: QC names the sound's length and what to do."""
    short = tmp_path / "short.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=3",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1.5,volume=3",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                    "-c:a", "aac", "-ac", "2", str(short)], check=True, timeout=60)

    report = check(short, load_preset("web/h264-720p"), expected_duration_s=3.0, source_start_timecode=None)

    length = report.check("sound length")
    assert not length.passed and length.actual.startswith("1.5"), length
    assert "plays to its end" in length.advice
