"""Picture analysis in one decode: cuts, black and freeze, alone or riding along in the proxy pass."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from analyzers.picture import PictureReports, PictureTap, analyze_picture, read_picture
from tests.media_fixtures import ffmpeg, make_rotated
from tests.shot_clips import make_sequence
from transcoders.proxy import make_proxy


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s black, 3 s testsrc2, 3 s of one frozen bars frame, 2 s mandelbrot at 320x180 25p: cuts at 1, 4, 7 s."""
    out = tmp_path_factory.mktemp("reel") / "reel.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=black:size=320x180:rate=25:duration=1",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
        "-f", "lavfi", "-i", "smptebars=size=320x180:rate=25:duration=3",
        "-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=25",
        "-filter_complex", "[3:v]trim=duration=2[m];[0:v][1:v][2:v][m]concat=n=4:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", str(out),
    )  # fmt: skip
    return out


def test_one_pass_finds_the_cuts_the_black_and_the_freeze(reel: Path) -> None:
    picture = analyze_picture(reel, duration_s=9.0, frame_rate=Fraction(25))
    assert [(s.start_frame, s.end_frame) for s in picture.scenes] == [(0, 25), (25, 100), (100, 175), (175, 225)]
    assert [(round(b.start_s, 2), round(b.end_s, 2)) for b in picture.black] == [(0.0, 1.0)]
    [freeze] = picture.freeze
    assert abs(freeze.start_s - 4.0) <= 0.1 and abs(freeze.end_s - 7.0) <= 0.1


def test_the_proxy_pass_carries_the_same_analysis_and_still_makes_a_good_proxy(reel: Path, tmp_path: Path) -> None:
    reports = PictureReports.in_folder(tmp_path)
    with PictureTap(reports) as tap:
        result = make_proxy(reel, tmp_path / "proxy.mp4", width=320, height=180, sar=Fraction(1), rotation=0,
                            frame_rate=Fraction(25), has_audio=False, start_timecode=None, duration_s=9.0,
                            analysis=tap)
    carried = read_picture(reports, duration_s=9.0, frame_rate=Fraction(25))
    alone = analyze_picture(reel, duration_s=9.0, frame_rate=Fraction(25))
    assert carried == alone
    assert (result.width, result.height) == (320, 180) and abs(result.duration_s - 9.0) < 0.1


def test_a_rotated_source_gives_an_upright_proxy_with_the_analysis_riding_along(tmp_path: Path) -> None:
    # Given a phone clip held upright (stored landscape, rotated 90° for display) with a cut at frame 30
    landscape = make_sequence(tmp_path / "landscape.mp4", [("testsrc2", 30), ("life", 25)])
    rotated = make_rotated(landscape, tmp_path / "rotated.mp4", 90)
    reports = PictureReports.in_folder(tmp_path)
    # When its proxy is made with the analysis riding along
    with PictureTap(reports) as tap:
        result = make_proxy(rotated, tmp_path / "proxy.mp4", width=320, height=180, sar=Fraction(1), rotation=90,
                            frame_rate=Fraction(25), has_audio=False, start_timecode=None, duration_s=2.2,
                            analysis=tap)
    # Then the proxy is upright and the cut is found on the upright picture
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (180, 320)
    scenes = read_picture(reports, duration_s=2.2, frame_rate=Fraction(25)).scenes
    assert [s.start_frame for s in scenes] == [0, 30]
