"""analyzers.loudness: one ffmpeg pass for EBU R128 loudness and black / freeze / silence / clipping QC."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import av
import pytest

from analyzers.loudness import LoudnessQC, Segment, measure
from rushes.errors import FFmpegError
from tests.media_fixtures import FFMPEG, JFK, ffmpeg

TOLERANCE_S = 0.2


def _sine(amplitude: str) -> str:
    """An aevalsrc stereo expression: a 1 kHz sine whose peak amplitude is the expression ``amplitude``."""
    one = f"({amplitude})*sin(2*PI*1000*t)".replace(",", r"\,")  # a comma would end the filter option
    return f"aevalsrc={one}|{one}:s=48000"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loudness")
    tone = folder / "tone.wav"  # 4 s of a 1 kHz stereo sine at -20 dBFS peak (amplitude 0.1)
    ffmpeg("-f", "lavfi", "-i", _sine("0.1") + ":d=4", "-c:a", "pcm_s16le", str(tone))

    tail = folder / "tail.wav"  # 1 s of tone, then silence to the end at 3 s
    ffmpeg("-f", "lavfi", "-i", _sine("0.1*lt(t,1)") + ":d=3", "-c:a", "pcm_s16le", str(tail))

    # 8 s of picture and sound:
    #   video: black 0-1 s, moving test pattern 1-3 s, frozen frame 3-6 s, moving again 6-8 s
    #   audio: tone 0-2 s, silence 2-5 s, tone 5-6 s, clipped tone 6-7 s (amplitude 4 -> s16 full scale), tone 7-8 s
    qc = folder / "qc.mkv"
    amplitude = "if(between(t,2,5),0,if(between(t,6,7),4,0.1))"
    ffmpeg(
        "-f", "lavfi", "-i", "color=black:s=320x240:r=25:d=1",
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4",
        "-f", "lavfi", "-i", _sine(amplitude) + ":d=8",
        "-filter_complex",
        "[1:v]split[p1][p2];"
        "[p1]trim=end=2,setpts=PTS-STARTPTS,tpad=stop_mode=clone:stop_duration=3[frozen];"
        "[p2]trim=start=2:end=4,setpts=PTS-STARTPTS[moving];"
        "[0:v][frozen][moving]concat=n=3:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-map", "2:a",
        # lossless, so the frozen frames are identical and not refined by the encoder
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "pcm_s16le",
        str(qc),
    )  # fmt: skip

    video_only = folder / "video_only.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(video_only),
    )  # fmt: skip
    return {"tone": tone, "tail": tail, "qc": qc, "video_only": video_only}


def ffmpeg_integrated_lufs(path: Path) -> float:
    """ffmpeg's own reading: a plain ``-af ebur128`` run, independent of the analyzer."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    summary = done.stderr.rpartition("Summary:")[2]
    match = re.search(r"^\s*I:\s*(-?[\d.]+)\s*LUFS", summary, re.MULTILINE)
    assert match, done.stderr[-2000:]
    return float(match.group(1))


def assert_segments(found: tuple[Segment, ...], expected: list[tuple[float, float]]) -> None:
    assert len(found) == len(expected), found
    for segment, (start, end) in zip(found, expected, strict=True):
        assert segment.start_s == pytest.approx(start, abs=TOLERANCE_S), found
        assert segment.end_s == pytest.approx(end, abs=TOLERANCE_S), found


# --- loudness ---------------------------------------------------------------------------------------


def test_tone_loudness_matches_ffmpeg_and_theory(media: dict[str, Path]) -> None:
    # Given a stereo 1 kHz sine at amplitude 0.1 (-20 dBFS peak)
    # When it is measured
    qc = measure(media["tone"])

    # Then it agrees with ffmpeg's own separate ebur128 reading
    assert qc.integrated_lufs is not None
    assert qc.integrated_lufs == pytest.approx(ffmpeg_integrated_lufs(media["tone"]), abs=0.1)
    # And with BS.1770 theory: the K-weighting and its -0.691 offset are calibrated so that a full-scale
    # 997 Hz (~1 kHz) sine in one channel reads 10*log10(mean square 1/2) = -3.01 LUFS. Loudness sums the
    # channels' mean squares (L and R weigh 1), so two channels of amplitude A give 10*log10(2 * A**2 / 2)
    # = 20*log10(A) = -20 LUFS for A = 0.1. A steady tone passes both gates, so nothing is gated out.
    assert qc.integrated_lufs == pytest.approx(-20.0, abs=0.5)
    # A steady tone has no loudness range, and its true peak is its amplitude, -20 dBFS
    assert qc.loudness_range_lu == pytest.approx(0.0, abs=0.5)
    assert qc.true_peak_dbtp == pytest.approx(-20.0, abs=0.5)


def test_speech_loudness_matches_ffmpeg() -> None:
    # Given real speech
    assert JFK.is_file(), f"test media not found at {JFK}"
    # When it is measured, Then the integrated loudness is ffmpeg's plain ebur128 reading
    qc = measure(JFK)
    assert qc.integrated_lufs is not None
    assert qc.integrated_lufs == pytest.approx(ffmpeg_integrated_lufs(JFK), abs=0.1)
    assert qc.loudness_range_lu is not None and qc.loudness_range_lu > 0
    assert qc.true_peak_dbtp is not None and qc.true_peak_dbtp < 0


# --- QC segments ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qc(media: dict[str, Path]) -> LoudnessQC:
    return measure(media["qc"])


def test_black_at_the_start_is_found(qc: LoudnessQC) -> None:
    assert_segments(qc.black, [(0.0, 1.0)])


def test_frozen_picture_is_found(qc: LoudnessQC) -> None:
    assert_segments(qc.freeze, [(3.0, 6.0)])


def test_silence_between_tones_is_found(qc: LoudnessQC) -> None:
    assert_segments(qc.silence, [(2.0, 5.0)])


def test_clipped_tone_is_found(qc: LoudnessQC) -> None:
    assert_segments(qc.clipping, [(6.0, 7.0)])
    assert qc.true_peak_dbtp is not None and qc.true_peak_dbtp > -0.5


def test_clean_tone_has_no_clipping_and_no_silence(media: dict[str, Path]) -> None:
    qc = measure(media["tone"])
    assert qc.clipping == ()
    assert qc.silence == ()


def test_silence_open_at_the_end_ends_at_the_duration(media: dict[str, Path]) -> None:
    qc = measure(media["tail"])
    assert_segments(qc.silence, [(1.0, 3.0)])


def test_options_are_passed_to_the_detectors(media: dict[str, Path]) -> None:
    # A 3 s silence is not one when at least 4 s are asked for; 1 s of black is not when 2 s are
    qc = measure(media["qc"], silence_min_s=4.0, black_min_s=2.0)
    assert qc.silence == ()
    assert qc.black == ()


# --- missing streams, results, errors ------------------------------------------------------------------


def test_video_only_clip_has_no_audio_measures(media: dict[str, Path]) -> None:
    qc = measure(media["video_only"])
    assert (qc.integrated_lufs, qc.loudness_range_lu, qc.true_peak_dbtp) == (None, None, None)
    assert qc.silence == () and qc.clipping == ()


def test_audio_only_file_has_no_video_segments(media: dict[str, Path]) -> None:
    qc = measure(media["tone"])
    assert qc.black == () and qc.freeze == ()
    assert qc.integrated_lufs is not None


def test_to_dict_is_json_ready(qc: LoudnessQC) -> None:
    data = json.loads(json.dumps(qc.to_dict(), allow_nan=False))
    assert set(data) == {
        "integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "black", "freeze", "silence", "clipping",
    }  # fmt: skip
    assert data["black"][0]["start_s"] == pytest.approx(0.0, abs=TOLERANCE_S)
    assert LoudnessQC(None, None, float("-inf")).to_dict()["true_peak_dbtp"] is None


def test_progress_reaches_one(media: dict[str, Path]) -> None:
    seen: list[float] = []
    measure(media["qc"], on_progress=seen.append)
    assert seen and seen[-1] == 1.0


def test_cancel_surfaces_as_ffmpeg_error(media: dict[str, Path]) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FFmpegError):
        measure(media["qc"], cancel=cancel)


def test_the_speech_wav_comes_from_the_same_decode_and_loudness_is_unchanged(tmp_path: Path) -> None:
    speech = JFK
    alone = measure(speech)
    wav = tmp_path / "audio16k.wav"
    shared = measure(speech, extract_wav=wav)
    assert shared.integrated_lufs == alone.integrated_lufs


    with av.open(str(wav)) as container:
        stream = container.streams.audio[0]
        assert (stream.rate, stream.channels, stream.codec_context.name) == (16000, 1, "pcm_s16le")
        assert abs(float(container.duration / 1_000_000) - 11.0) < 0.1
    assert not list(tmp_path.glob(".*part*"))
