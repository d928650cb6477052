"""Shot detection, measured: precision and recall on clips with known cuts (tests/shot_clips.py).

The clips are built here from ffmpeg's lavfi sources and from the repository's real footage; the report of every
clip is printed (``pytest -s``), and every cut must be found within one frame with nothing else.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import pytest

from analyzers.picture import Picture, PictureReports, PictureTap, analyze_picture, run_picture_pass
from analyzers.scenes import Scene, _probe_video, detect_scenes
from analyzers.shots import DETECTORS, ShotOptions
from rushes.errors import ConfigError, FFmpegInterrupted, NotMediaError
from tests.media_fixtures import ffmpeg
from tests.shot_clips import BUNNY, FIRE, HARD_CUTS, NO_CUTS, make_flash, make_sequence, make_transition

TOLERANCE = 1  # frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenes")


def _score(found: list[int], expected: list[int]) -> tuple[int, int, int]:
    """True cuts found, false cuts, cuts missed (a cut counts when found within TOLERANCE frames)."""
    hits = sum(any(abs(f - e) <= TOLERANCE for f in found) for e in expected)
    false = sum(not any(abs(f - e) <= TOLERANCE for e in expected) for f in found)
    return hits, false, len(expected) - hits


@pytest.fixture(scope="module")
def analysed(clips: Path) -> dict[str, tuple[list[int], Picture]]:
    """Every clip of the set built once and analysed with the default settings: its known cuts and what was found."""
    results = {}
    for name, build in {**HARD_CUTS, **NO_CUTS}.items():
        path, expected = build(clips / f"{name}.mp4")
        duration, rate = _probe_video(path)
        results[name] = expected, analyze_picture(path, duration_s=duration, frame_rate=rate)
    return results


def test_accuracy_report_on_every_clip(analysed: dict[str, tuple[list[int], Picture]]) -> None:
    # Given every clip of the set, with its known cuts, analysed with the default settings
    rows, problems = [], []
    totals = [0, 0, 0]
    for name, (expected, picture) in analysed.items():
        found = [s.start_frame for s in picture.scenes[1:]]
        hits, false, missed = _score(found, expected)
        totals = [totals[0] + hits, totals[1] + false, totals[2] + missed]
        precision = hits / (hits + false) if hits + false else 1.0
        recall = hits / len(expected) if expected else 1.0
        gradual = " ".join(f"{t.kind} {t.start_s:.2f}-{t.end_s:.2f}" for t in picture.transitions)
        rows.append(f"{name:24} {len(expected):3} {len(found):3} {precision:9.2f} {recall:6.2f}  {gradual}")
        if false or missed:
            problems.append(f"{name}: expected {expected}, found {found}")
    hits, false, missed = totals
    print("\nclip                     cuts found precision recall  transitions")
    print("\n".join(rows))
    print(f"all clips: precision {hits / (hits + false):.3f}, recall {hits / (hits + missed):.3f} "
          f"({hits} of {hits + missed} cuts, {false} false)")
    # Then every cut is found within one frame, and nothing else, on every clip
    assert not problems, "\n".join(problems)


def test_dissolves_and_fades_are_reported_as_transitions(analysed: dict[str, tuple[list[int], Picture]]) -> None:
    # Given clips joined by a 1 s cross-fade or fade through black (lavfi at 2 s, real footage at 3 s)
    def reported(name: str, kind: str, start_s: float) -> bool:
        return any(t.kind == kind and t.start_s < start_s + 1.0 and t.end_s > start_s
                   for t in analysed[name][1].transitions)

    # Then each is reported where it is, with its kind
    assert reported("fade_lavfi", "dissolve", 2.0) and reported("dissolve_lavfi", "dissolve", 2.0)
    assert reported("dissolve_real", "dissolve", 3.0)
    assert reported("fadeblack_lavfi", "fade", 2.0) and reported("fadeblack_real", "fade", 3.0)
    # and no dissolve is reported where there is none (fast motion, cuts, flashes, a camera tilt); the field's own
    # slow fade out (from its frame 181) is reported as a fade wherever a clip holds it
    dissolving = {"fade_lavfi", "dissolve_lavfi", "dissolve_real"}
    assert not [(name, t) for name, (_cuts, picture) in analysed.items() if name not in dissolving
                for t in picture.transitions if t.kind == "dissolve"]
    field_fades = {"real_similar_shots", "dissolve_real", "fadeblack_real", "real_tilt_and_fade_out"}
    assert not [(name, t) for name, (_cuts, picture) in analysed.items()
                if name not in field_fades | {"fadeblack_lavfi"} for t in picture.transitions if t.kind == "fade"]


def test_a_cut_out_of_a_whip_pan_is_found(clips: Path) -> None:
    # Given a pan of 32 px a frame over fine detail (each frame differs from the last almost wholly) cut to life:
    # scdet, which scored a cut by its rise over the previous change, missed it
    path, expected = HARD_CUTS["out_of_a_whip_pan"](clips / "whip.mp4")
    # When / Then the cut is found at its frame
    assert [s.start_frame for s in detect_scenes(path)] == [0, *expected] == [0, 60]


def test_short_shots_at_the_start_between_cuts_and_at_the_end_are_kept(clips: Path) -> None:
    # Given shots of 3 frames at the start, 4 in the middle and 2 at the very end
    path = make_sequence(clips / "short.mp4", [("testsrc2", 3), ("smptebars", 30), ("noise", 4), ("life", 30),
                                               ("mandelbrot", 2)])
    # When detected with the default minimum (0.5 s: it judges close cuts, it does not merge real ones)
    scenes = detect_scenes(path)
    # Then every shot is a scene of its own
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, 3), (3, 33), (33, 37), (37, 67), (67, 69)]


def test_a_flash_is_not_a_cut_and_is_reported(clips: Path) -> None:
    # Given a shot with a camera flash on two frames
    path = make_flash(clips / "flash.mp4")
    # When analysed
    picture = analyze_picture(path, duration_s=5.28, frame_rate=Fraction(25))
    # Then it stays one shot, and the flash is reported where it is
    assert len(picture.scenes) == 1
    flashes = picture.to_dict()["flash"]
    assert len(flashes) == 1 and flashes[0]["start_s"] == pytest.approx(2.4, abs=0.05)


def test_a_cut_in_a_variable_frame_rate_phone_clip_is_at_its_time(clips: Path) -> None:
    # Given the 10.5 fps phone clip (uneven frame times) followed by the bunny, timestamps kept as they are
    path = clips / "vfr_then_bunny.mkv"
    ffmpeg("-i", str(FIRE), "-i", str(BUNNY), "-filter_complex",
           "[0:v]scale=640:360,setsar=1,format=yuv420p[a];[1:v]scale=640:360,setsar=1,format=yuv420p[b];"
           "[a][b]concat=n=2:v=1:a=0[out]", "-map", "[out]", "-fps_mode", "vfr", "-c:v", "libx264",
           "-preset", "ultrafast", str(path))
    # When detected
    picture = analyze_picture(path, duration_s=2.38 + 5.28, frame_rate=Fraction(25))
    # Then the one cut is at the first frame of the bunny: the fire's own length
    assert len(picture.scenes) == 2
    assert picture.scenes[1].start_s == pytest.approx(2.38, abs=0.1)


@pytest.mark.parametrize("detector", sorted(set(DETECTORS) - {"threshold"}))
def test_every_detector_can_be_chosen(clips: Path, detector: str) -> None:
    # Given hard cuts between distinct still and moving pictures
    path = make_sequence(clips / "choice.mp4", [("testsrc2", 37), ("smptebars", 52), ("mandelbrot", 40)])
    # When detected with each of PySceneDetect's cut detectors
    scenes = detect_scenes(path, options=ShotOptions(detector=detector))
    # Then each finds the two cuts
    assert [s.start_frame for s in scenes] == [0, 37, 89], detector


def test_the_threshold_detector_splits_at_a_fade_through_black(clips: Path) -> None:
    # Given two shots joined through black: not a cut for the cut detectors, a boundary for the threshold one
    path = make_transition(clips / "dip.mp4", "smptebars", "testsrc2", "fadeblack")
    # When / Then
    assert len(detect_scenes(path)) == 1
    threshold = detect_scenes(path, options=ShotOptions(detector="threshold"))
    assert len(threshold) == 2 and 50 <= threshold[1].start_frame <= 75


def test_sensitivity_is_the_detector_threshold(clips: Path) -> None:
    # Given cuts next to busy shots (noise, cellular automata) and a flickering phone clip of a fire
    busy, expected = HARD_CUTS["seven_sources"](clips / "sensitivity.mp4")
    # When detected at the default threshold (2.0), a stricter one and a more sensitive one
    def cuts(path: Path, threshold: float | None) -> list[int]:
        return [s.start_frame for s in detect_scenes(path, options=ShotOptions(threshold=threshold))[1:]]

    # Then the default finds every cut and no false one; stricter misses the cut out of noise (264);
    # more sensitive takes the fire's flicker for a cut (measured: the default sits between the two)
    assert cuts(busy, None) == expected
    assert 264 not in cuts(busy, 7.0) and set(cuts(busy, 7.0)) < set(expected)
    assert cuts(FIRE, None) == [] and cuts(FIRE, 1.2) != []


def test_a_failing_detector_leaves_no_report_and_ffmpeg_still_ends(clips: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a detector that breaks on its first frame
    def broken(self: object, time_s: float, bgr: object) -> None:
        raise RuntimeError("detector broke")

    monkeypatch.setattr("analyzers.shots.ShotFinder.add", broken)
    path = make_sequence(clips / "broken.mp4", [("testsrc2", 30), ("smptebars", 30)])
    tap = PictureTap(PictureReports.in_folder(clips / "broken-reports"))
    (clips / "broken-reports").mkdir()
    # When the pass runs (the reader keeps draining the pipe, so ffmpeg is never blocked)
    with tap:
        run_picture_pass(path, tap, duration_s=2.4)
    # Then the error is kept and no shot report is written
    assert isinstance(tap.error, RuntimeError) and not tap.reports.shots.exists()
    with pytest.raises(Exception, match="shot detection failed"):
        analyze_picture(path, duration_s=2.4, frame_rate=Fraction(25))


def test_without_pyscenedetect_the_error_says_how_to_install_it(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "scenedetect.common", None)  # as if PySceneDetect were not installed
    monkeypatch.delitem(sys.modules, "analyzers.shot_detectors", raising=False)
    path = make_sequence(clips / "no_pyscenedetect.mp4", [("testsrc2", 20), ("smptebars", 20)])
    with pytest.raises(ConfigError, match="pip install --no-deps scenedetect"):
        analyze_picture(path, duration_s=1.6, frame_rate=Fraction(25))


def test_single_shot_film_is_one_scene() -> None:
    # Given a real single shot (5.3 s of Big Buck Bunny, 1280x720)
    scenes = detect_scenes(BUNNY)
    # Then it is exactly one scene covering the whole clip
    assert len(scenes) == 1
    assert scenes[0].start_frame == 0 and scenes[0].end_s == pytest.approx(5.3, abs=0.1)


def test_frames_map_at_25_fps(clips: Path) -> None:
    # Given a 25 fps clip with cuts at frames 40 and 90, 130 frames long
    path = make_sequence(clips / "rate25.mp4", [("testsrc2", 40), ("smptebars", 50), ("mandelbrot", 40)])
    # When detected with the probed rate, and with a rate given by the caller
    scenes = detect_scenes(path)
    doubled = detect_scenes(path, frame_rate=Fraction(50))
    # Then times and frames agree at each rate
    assert [(s.start_s, s.end_s) for s in scenes] == [(0.0, 1.6), (1.6, 3.6), (3.6, 5.2)]
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, 40), (40, 90), (90, 130)]
    assert [(s.start_frame, s.end_frame) for s in doubled] == [(0, 80), (80, 180), (180, 260)]
    assert scenes[1].to_dict() == {"index": 1, "start_s": 1.6, "end_s": 3.6, "start_frame": 40, "end_frame": 90}


def test_frames_map_at_ntsc_rate(clips: Path) -> None:
    # Given a 29.97 fps clip with cuts at frames 45 and 100, 150 frames long
    rate = Fraction(30000, 1001)
    shots = [("testsrc2", 45), ("smptebars", 55), ("mandelbrot", 50)]
    path = make_sequence(clips / "ntsc.mp4", shots, rate="30000/1001")
    # When detected
    scenes = detect_scenes(path, frame_rate=rate)
    # Then frames are the nearest frames to the cut times
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, 45), (45, 100), (100, 150)]
    assert scenes[1].start_s == pytest.approx(45 / rate, abs=1e-3)
    assert detect_scenes(path) == scenes  # the probed rate is the same


def test_progress_reaches_one_and_duration_is_taken_as_given(clips: Path) -> None:
    path = make_sequence(clips / "progress.mp4", [("testsrc2", 40), ("smptebars", 40)])
    seen: list[float] = []
    scenes = detect_scenes(path, duration_s=3.0, frame_rate=Fraction(25), on_progress=seen.append)
    assert seen[-1] == 1.0
    assert scenes[-1] == Scene(1, 1.6, 3.0, 40, 75)


def test_temporary_path_with_filtergraph_characters(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a temporary folder whose name needs escaping inside a filtergraph
    weird = clips / "a:b,c [d];e'f\\g"
    weird.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(weird))
    path = make_sequence(clips / "escape.mp4", [("testsrc2", 30), ("smptebars", 30)])
    # When / Then the report is still written and read
    assert [s.start_frame for s in detect_scenes(path)] == [0, 30]


def test_not_media_and_bad_options(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    with pytest.raises(NotMediaError):
        detect_scenes(text)
    with pytest.raises(NotMediaError):
        detect_scenes(tmp_path / "missing.mp4")
    audio = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio))
    with pytest.raises(NotMediaError):
        detect_scenes(audio)
    with pytest.raises(ValueError, match="unknown shot detector 'scdet'"):
        ShotOptions(detector="scdet")
    with pytest.raises(ValueError, match="threshold must be positive"):
        ShotOptions(threshold=0)
    with pytest.raises(ValueError, match="min_shot_s"):
        ShotOptions(min_shot_s=-1)


def test_cancel_stops_ffmpeg(clips: Path) -> None:
    path = make_sequence(clips / "cancel.mp4", [("testsrc2", 25)])
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FFmpegInterrupted):
        detect_scenes(path, cancel=cancel)


def test_the_settings_offer_exactly_the_detectors_there_are() -> None:
    # the kernel's settings cannot import analyzers: their list of detector names is kept equal to it here
    from typing import get_args

    from rushes.settings import SceneDetector

    assert set(get_args(SceneDetector)) == set(DETECTORS)
