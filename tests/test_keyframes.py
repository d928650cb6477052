"""Keyframes per scene, contact sheets and waveform pictures, on clips made here with ffmpeg's lavfi sources."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from analyzers import keyframes
from analyzers.keyframes import Keyframe, candidate_times, contact_sheet, pick_keyframes, waveform_image
from rushes.errors import Interrupted, MediaError, NotMediaError
from tests.media_fixtures import ffmpeg

SCENES = [(0.0, 1.0), (1.0, 3.0), (3.0, 5.0)]
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]


def _lavfi(source: str) -> list[str]:
    return ["-f", "lavfi", "-i", f"{source}:size=320x180:rate=25"]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keyframe-media")
    three_scenes = folder / "three scenes.mp4"  # 1 s black, 2 s testsrc2, 2 s smptebars
    ffmpeg(*_lavfi("color=c=black:duration=1"), *_lavfi("testsrc2=duration=2"), *_lavfi("smptebars=duration=2"),
           "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", *_X264, str(three_scenes))
    half_blurred = folder / "half_blurred.mp4"  # testsrc2, blurred for its first second
    ffmpeg(*_lavfi("testsrc2=duration=2"), "-vf", "boxblur=luma_radius=10:luma_power=3:enable='lt(t,1)'", *_X264,
           str(half_blurred))
    long = folder / "long.mp4"
    ffmpeg(*_lavfi("testsrc2=duration=30"), *_X264, str(long))
    tone = folder / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", str(tone))
    return {"three_scenes": three_scenes, "half_blurred": half_blurred, "long": long, "tone": tone}


# --------------------------------------------------------------------------- keyframes


def test_one_jpeg_per_scene_with_times_inside_their_scenes(media: dict[str, Path], tmp_path: Path) -> None:
    progress: list[float] = []
    frames = pick_keyframes(media["three_scenes"], SCENES, tmp_path, on_progress=progress.append)

    assert [k.scene_index for k in frames] == [0, 1, 2]
    assert progress == [1 / 3, 2 / 3, 1.0]  # a long programme's many shots show the step moving
    assert [k.path.name for k in frames] == ["scene-0001.jpg", "scene-0002.jpg", "scene-0003.jpg"]
    for keyframe, (start_s, end_s) in zip(frames, SCENES, strict=True):
        assert start_s + 0.1 * (end_s - start_s) <= keyframe.time_s <= end_s - 0.1 * (end_s - start_s)
        with Image.open(keyframe.path) as picture:
            assert (picture.format, picture.size) == ("JPEG", (320, 180))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene-0001.jpg", "scene-0002.jpg", "scene-0003.jpg"]


def test_an_all_black_scene_still_gets_a_frame_flagged_black(media: dict[str, Path], tmp_path: Path) -> None:
    black, pattern, bars = pick_keyframes(media["three_scenes"], SCENES, tmp_path)

    assert black.black and black.mean_luma < keyframes.BLACK_LUMA and black.path.is_file()
    assert not pattern.black and not bars.black
    assert pattern.sharpness > black.sharpness


def test_the_sharp_half_of_a_half_blurred_scene_wins(media: dict[str, Path], tmp_path: Path) -> None:
    (keyframe,) = pick_keyframes(media["half_blurred"], [(0.0, 2.0)], tmp_path)

    assert keyframe.time_s >= 1.0


def test_width_scales_the_jpeg_keeping_the_aspect_ratio(media: dict[str, Path], tmp_path: Path) -> None:
    (keyframe,) = pick_keyframes(media["three_scenes"], [(1.0, 3.0)], tmp_path, width=160, candidates=1)

    with Image.open(keyframe.path) as picture:
        assert picture.size == (160, 90)
    assert keyframe.time_s == pytest.approx(2.0, abs=0.05)  # one candidate: the middle of the scene


def test_candidates_avoid_the_first_and_last_tenth() -> None:
    times = candidate_times(10.0, 20.0, 4)

    assert times == pytest.approx([12.0, 14.0, 16.0, 18.0])
    assert all(11.0 <= t <= 19.0 for t in times)


def test_one_seek_per_scene(media: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeks = _count_decoding(monkeypatch)

    pick_keyframes(media["three_scenes"], SCENES, tmp_path)

    assert seeks["seeks"] == 3


def test_a_long_scene_is_not_decoded_whole(media: dict[str, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyframes, "RESEEK_S", 2.0)
    seeks = _count_decoding(monkeypatch)

    (keyframe,) = pick_keyframes(media["long"], [(0.0, 30.0)], tmp_path, candidates=3)

    assert 3.0 <= keyframe.time_s <= 27.0
    assert seeks["seeks"] == 3
    assert seeks["frames"] < 200  # of 750: each seek decodes at most a GOP (25 frames) plus a few


def _count_decoding(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"seeks": 0, "frames": 0}
    real = keyframes._decode_from

    def counting(*args: object) -> Iterator[object]:
        counts["seeks"] += 1
        for frame in real(*args):  # type: ignore[arg-type]
            counts["frames"] += 1
            yield frame

    monkeypatch.setattr(keyframes, "_decode_from", counting)
    return counts


def test_a_scene_past_the_end_is_a_media_error(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no frame decoded in scene 0"):
        pick_keyframes(media["three_scenes"], [(50.0, 60.0)], tmp_path)


def test_a_file_without_video_is_not_media(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(NotMediaError, match="no video stream"):
        pick_keyframes(media["tone"], SCENES, tmp_path)
    text = tmp_path / "notes.mp4"
    text.write_text("not a movie\n")
    with pytest.raises(NotMediaError):
        pick_keyframes(text, SCENES, tmp_path)


def test_cancel_stops_before_writing(media: dict[str, Path], tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()

    with pytest.raises(Interrupted):
        pick_keyframes(media["three_scenes"], SCENES, tmp_path / "out", cancel=cancel)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scenes", [[(2.0, 1.0)], [(-1.0, 1.0)], [(1.0, 1.0)]])
def test_a_scene_must_have_start_before_end(media: dict[str, Path], tmp_path: Path,
                                            scenes: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="start < end"):
        pick_keyframes(media["three_scenes"], scenes, tmp_path)


# --------------------------------------------------------------------------- contact sheet


def test_contact_sheet_has_a_cell_per_keyframe(media: dict[str, Path], tmp_path: Path) -> None:
    frames = pick_keyframes(media["three_scenes"], SCENES, tmp_path / "frames")

    sheet = contact_sheet(frames, tmp_path / "sheet.jpg", columns=2, thumb_width=128)

    margin, label = keyframes.SHEET_MARGIN, keyframes.SHEET_LABEL_HEIGHT
    with Image.open(sheet) as picture:  # 2 columns x 2 rows of 128x72 pictures with a label under each
        assert picture.format == "JPEG"
        assert picture.size == (2 * 128 + 3 * margin, 2 * (72 + label) + 3 * margin)
        assert picture.size == keyframes.sheet_size(3, (320, 180), columns=2, thumb_width=128)


def test_contact_sheet_with_one_row_and_own_labels_as_png(media: dict[str, Path], tmp_path: Path) -> None:
    frames = pick_keyframes(media["three_scenes"], SCENES, tmp_path / "frames")

    sheet = contact_sheet(frames, tmp_path / "sheet.png", labels=["a", "b", "c"], thumb_width=64)

    with Image.open(sheet) as picture:
        assert picture.format == "PNG"
        assert picture.size == (3 * 64 + 4 * keyframes.SHEET_MARGIN, 36 + keyframes.SHEET_LABEL_HEIGHT
                                + 2 * keyframes.SHEET_MARGIN)


def test_contact_sheet_rejects_labels_that_do_not_match(tmp_path: Path) -> None:
    keyframe = Keyframe(0, 0.5, tmp_path / "scene-0001.jpg", 1.0, 0.5, False)

    with pytest.raises(ValueError, match="2 label"):
        contact_sheet([keyframe], tmp_path / "sheet.jpg", labels=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        contact_sheet([], tmp_path / "sheet.jpg")


# --------------------------------------------------------------------------- waveform


def test_waveform_is_a_png_of_the_size_asked(media: dict[str, Path], tmp_path: Path) -> None:
    out = waveform_image(media["tone"], tmp_path / "wave.png", width=600, height=120)

    with Image.open(out) as picture:
        assert (picture.format, picture.size) == ("PNG", (600, 120))
        assert picture.convert("L").getextrema()[1] > 0  # something was drawn
    assert [p.name for p in tmp_path.iterdir()] == ["wave.png"]


def test_waveform_default_size(media: dict[str, Path], tmp_path: Path) -> None:
    out = waveform_image(media["tone"], tmp_path / "wave.png")

    with Image.open(out) as picture:
        assert picture.size == (1800, 240)


def test_waveform_columns_follow_the_sound_loud_then_silent_then_quiet(tmp_path: Path) -> None:
    """4 s of a stereo tone peaking at 0.9, 4 s of digital silence, 4 s at 0.09 (lavfi's sine is 1/8 of full
    scale: ×7.2 and ×0.72). Mixed to mono the usual way (−3 dB a channel: 0.64 and 0.064), the picture's thirds
    are 64 % of its height, a one-pixel line, and 6 %."""
    source = tmp_path / "loud-silent-quiet.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=12",
           "-af", "volume='if(lt(t,4),7.2,if(lt(t,8),0,0.72))':eval=frame", "-ac", "2", str(source))
    out = waveform_image(source, tmp_path / "wave.png", width=300, height=100)

    with Image.open(out) as picture:
        alpha = picture.getchannel("A")
        heights = [sum(1 for y in range(100) if alpha.getpixel((x, y))) for x in range(300)]
    loud, silent, quiet = heights[10:90], heights[110:190], heights[210:290]
    assert 61 <= min(loud) and max(loud) <= 67
    assert set(silent) <= {1, 2}
    assert 5 <= min(quiet) and max(quiet) <= 9


def test_waveform_memory_does_not_grow_with_every_sample(tmp_path: Path) -> None:
    """Ten minutes of 48 kHz stereo (57.6 M samples) keep one (min, max) pair per 10 ms: 60 000 pairs."""
    source = tmp_path / "ten-minutes.flac"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=sample_rate=48000:amplitude=0.3:duration=600", "-ac", "2", str(source))
    lows, highs = keyframes._wave_blocks(source, None, None)
    assert lows.size == highs.size and abs(lows.size - 60_000) <= 1
    assert -0.35 <= lows.min() < -0.2 and 0.2 < highs.max() <= 0.35


def test_waveform_of_a_silent_video_is_not_media(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(NotMediaError, match="no audio stream"):
        waveform_image(media["three_scenes"], tmp_path / "wave.png")
    assert not (tmp_path / "wave.png").exists()
