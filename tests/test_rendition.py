"""Delivery renditions from the real presets, checked by the QC and independently (PyAV, MediaInfo, ebur128).

One generated source serves every test: testsrc2 1920x1080 25p, 3 s, JFK's speech mixed to stereo at about
-30 LUFS (so normalisation has work to do) and start timecode 10:00:00:00. The slow 1080p web presets (VP9,
HLS ladder) are shrunk to small sizes here; everything else renders exactly as the YAML says.
"""

from __future__ import annotations

import ast
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pymediainfo
import pytest

import delivery.qc as delivery_qc
import transcoders.rendition as rendition_api
import transcoders.rendition.codecs as rendition_codecs
import transcoders.rendition.command as rendition_command
import transcoders.rendition.geometry as rendition_geometry
import transcoders.rendition.graphs as rendition_graphs
import transcoders.rendition.run as rendition_run
from delivery import expect
from delivery.presets import Preset, load_preset, preset_files
from delivery.qc import QCReport, check
from rushes.timecode import seconds_to_timecode, timecode_to_frames
from tests.media_fixtures import FFMPEG, JFK
from transcoders.rendition import (
    RenditionResult,
    SourceFacts,
    output_timecode,
    plan_geometry,
    render,
    render_args,
)

SECONDS = 3.0
START_TC = "10:00:00:00"
SOURCE = SourceFacts(
    width=1920,
    height=1080,
    frame_rate=Fraction(25),
    has_audio=True,
    duration_s=SECONDS,
    start_timecode=START_TC,
    audio_channels=2,
)
SRT = """1
00:00:00,200 --> 00:00:01,800
And so, my fellow Americans,

2
00:00:01,900 --> 00:00:03,000
ask not
"""


# --------------------------------------------------------------------------- helpers


def ffmpeg_log(*args: str) -> str:
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-nostats", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stderr


def ebur128(path: Path, *, pair: bool = False) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by a plain ffmpeg ebur128 run; ``pair`` merges the first two tracks."""
    graph = "[0:a:0][0:a:1]amerge=inputs=2," if pair else "[0:a:0]"
    log = ffmpeg_log(
        "-i",
        str(path),
        "-filter_complex",
        f"{graph}ebur128=peak=true:framelog=quiet[out]",
        "-map",
        "[out]",
        "-f",
        "null",
        "-",
    )
    summary = log[log.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


def shrink(name: str, height: int, **video: object) -> Preset:
    """A real preset with a smaller top rung (and ladder heights / 3) so it encodes quickly on a test box."""
    preset = load_preset(name)
    assert preset.video is not None
    top = preset.video.model_copy(update={"height": height, **video})
    update: dict[str, object] = {"video": top}
    if preset.ladder:
        update["ladder"] = [top, *(r.model_copy(update={"height": (r.height or 720) // 3}) for r in preset.ladder[1:])]
    return preset.model_copy(update=update)


def qc(path: Path, preset: Preset, duration: float = SECONDS) -> QCReport:
    return check(
        path, preset, expected_duration_s=duration, source_start_timecode=START_TC, source_frame_rate=Fraction(25)
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("source")
    speech = f"atrim=0:{SECONDS},asetpts=N/SR/TB,pan=stereo|c0=c0|c1=c0,aresample=48000"
    raw = folder / "speech.wav"
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(JFK),
            "-af",
            speech,
            "-c:a",
            "pcm_s24le",
            str(raw),
        ],
        check=True,
        timeout=60,
    )
    loud, _ = ebur128(raw)
    src = folder / "source.mov"
    subprocess.run([
        FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={SECONDS}", "-i", str(raw),
        "-filter_complex", f"[1:a]volume={-30 - loud:.2f}dB[a]", "-map", "0:v", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s24le",
        "-timecode", START_TC, "-t", str(SECONDS), str(src),
    ], check=True, timeout=120)  # fmt: skip
    return src


@pytest.fixture(scope="module")
def subtitles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    srt = tmp_path_factory.mktemp("subs") / "captions: take 1, [final].srt"  # filtergraph specials in the name
    srt.write_text(SRT, encoding="utf-8")
    return srt


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("renditions")


PRESETS: dict[str, Preset] = {}


def preset(key: str) -> Preset:
    if not PRESETS:
        PRESETS.update(
            {
                "xdcam": load_preset("broadcast/xdcam-hd422-1080i25"),
                "prores": load_preset("broadcast/prores-422hq"),
                "dnxhr": load_preset("broadcast/dnxhr-hq"),
                "h264-720p": load_preset("web/h264-720p"),
                "h264-1080p": load_preset("web/h264-1080p"),
                "vp9": shrink("web/vp9-opus", 360),
                "hls": shrink("web/hls-ladder", 360, bitrate="800k", max_bitrate="1000k"),
                "crop": load_preset("social/vertical-9x16"),
                "blur-pad": load_preset("social/vertical-9x16-blur"),
                "wav": load_preset("audio/bwf-wav"),
                "mp3": load_preset("audio/mp3"),
            }
        )
    return PRESETS[key]


@pytest.fixture(scope="module")
def rendered(source: Path, subtitles: Path, out_dir: Path):  # type: ignore[no-untyped-def]
    """Render a preset once per module: ``rendered("xdcam")`` -> RenditionResult."""
    cache: dict[str, RenditionResult] = {}

    def get(key: str) -> RenditionResult:
        if key not in cache:
            p = preset(key)
            dst = out_dir / key / "master.m3u8" if p.container == "hls" else out_dir / f"{key}.{p.extension}"
            cache[key] = render(source, dst, p, source=SOURCE, subtitles=subtitles, timeout=120)
        return cache[key]

    return get


# --------------------------------------------------------------------------- broadcast


@pytest.mark.slow
def test_xdcam_hd422_is_mpeg2_422_interlaced_cbr_with_normalised_mono_tracks(rendered) -> None:
    result = rendered("xdcam")

    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.profile) == ("mpeg2video", "4:2:2")
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert video.codec_context.pix_fmt == "yuv422p"
        assert next(container.decode(video)).interlaced_frame
        audio = container.streams.audio
        assert [(a.codec_context.name, a.codec_context.sample_rate, a.codec_context.channels) for a in audio] == [
            ("pcm_s24le", 48000, 1)
        ] * 8
    tracks = pymediainfo.MediaInfo.parse(result.path).tracks
    general = next(t for t in tracks if t.track_type == "General")
    mi_video = next(t for t in tracks if t.track_type == "Video")
    assert (general.format, general.format_profile, general.commercial_name) == ("MXF", "OP-1a", "XDCAM HD422")
    assert (mi_video.scan_type, mi_video.scan_order, mi_video.bit_rate_mode) == ("Interlaced", "TFF", "CBR")
    assert abs(int(mi_video.bit_rate) - 50_000_000) < 2_500_000
    assert mi_video.time_code_of_first_frame == START_TC
    integrated, peak = ebur128(result.path, pair=True)
    assert abs(integrated - -23.0) <= 0.5
    assert peak <= -1.0
    assert result.measured is not None and abs(result.measured.integrated_lufs - -30.0) < 0.5
    assert result.normalization == "linear"
    report = qc(result.path, preset("xdcam"))
    assert report.passed, report.failures


@pytest.mark.slow
def test_prores_hq_mov_is_10_bit_422_with_tmcd(rendered) -> None:
    result = rendered("prores")

    with av.open(str(result.path)) as container:
        video = container.streams.video[0].codec_context
        assert (video.name, video.profile, video.pix_fmt) == ("prores", "HQ", "yuv422p10le")
        assert container.streams.audio[0].codec_context.channels == 2
    general = pymediainfo.MediaInfo.parse(result.path).general_tracks[0]
    assert general.format_profile == "QuickTime"
    assert result.timecode == START_TC
    report = qc(result.path, preset("prores"))
    assert report.passed, report.failures
    assert report.check("timecode").actual == START_TC


def test_dnxhr_hq_mxf(rendered) -> None:
    result = rendered("dnxhr")

    with av.open(str(result.path)) as container:
        video = container.streams.video[0].codec_context
        assert (video.name, video.profile, video.width, video.height) == ("dnxhd", "DNXHR HQ", 1920, 1080)
    report = qc(result.path, preset("dnxhr"))
    assert report.passed, report.failures


# --------------------------------------------------------------------------- web


@pytest.mark.slow
def test_h264_720p_mp4_is_faststart_and_loudness_normalised(rendered) -> None:
    result = rendered("h264-720p")

    with av.open(str(result.path)) as container:
        video = container.streams.video[0].codec_context
        assert (video.name, video.profile, video.width, video.height) == ("h264", "High", 1280, 720)
        assert container.streams.audio[0].codec_context.name == "aac"
    head = result.path.read_bytes()[:4096]
    assert head.index(b"moov") < head.find(b"mdat") or b"mdat" not in head  # moov first
    integrated, peak = ebur128(result.path)
    assert abs(integrated - -16.0) <= 1.0 and peak <= -1.0
    report = qc(result.path, preset("h264-720p"))
    assert report.passed, report.failures
    assert report.check("faststart").passed


def test_vp9_opus_webm(rendered) -> None:
    result = rendered("vp9")

    with av.open(str(result.path)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert container.streams.audio[0].codec_context.name == "opus"
    report = qc(result.path, preset("vp9"))
    assert report.passed, report.failures


def test_hls_ladder_master_and_every_variant_play(rendered) -> None:
    result = rendered("hls")

    master = result.path.read_text()
    assert master.startswith("#EXTM3U") and master.count("#EXT-X-STREAM-INF") >= 3
    assert [v.name for v in result.variants] == ["360p.m3u8", "240p.m3u8", "160p.m3u8", "audio.m3u8"]
    for variant in result.variants:
        with av.open(str(variant)) as container:
            stream = (container.streams.video or container.streams.audio)[0]
            assert next(container.decode(stream)) is not None
    assert not list(result.path.parent.parent.glob(".hls.*"))  # the temporary folder is gone
    report = qc(result.path, preset("hls"))
    assert report.passed, report.failures
    assert report.check("variants").actual == "3"


# --------------------------------------------------------------------------- social


@pytest.mark.parametrize("key", ["crop", "blur-pad"])
@pytest.mark.slow
def test_vertical_9x16_fills_1080x1920(rendered, key: str) -> None:
    result = rendered(key)

    with av.open(str(result.path)) as container:
        video = container.streams.video[0].codec_context
        assert (video.width, video.height) == (1080, 1920)
    report = qc(result.path, preset(key))
    assert report.passed, report.failures


def test_burnt_in_captions_use_the_subtitles_filter(source: Path, subtitles: Path, tmp_path: Path) -> None:
    args = render_args(source, tmp_path / "x.mp4", preset("crop"), source=SOURCE, subtitles=subtitles)
    graph = args[args.index("-filter_complex") + 1]

    assert "subtitles=filename=" in graph and r"captions\\: take 1\, \[final\].srt" in graph
    assert "subtitles=" not in " ".join(
        render_args(source, tmp_path / "x.mp4", preset("blur-pad"), source=SOURCE, subtitles=subtitles)
    )


@pytest.mark.slow
def test_a_clip_without_speech_is_delivered_without_captions(source: Path, tmp_path: Path) -> None:
    """Issue 12: a clip with no speech has an empty transcript.srt; the captioned vertical preset used to fail
    with ffmpeg's "Invalid data found when processing input". It renders without captions and passes QC."""
    empty = tmp_path / "transcript.srt"
    empty.write_text("", encoding="utf-8")
    short = preset("crop").model_copy(update={"max_duration_s": 2.0})
    assert short.captions.burn_in

    result = render(source, tmp_path / "no-speech.mp4", short, source=SOURCE, subtitles=empty)

    assert "subtitles=" not in " ".join(result.argv)
    report = qc(result.path, short)
    assert report.passed, report.failures


def test_has_cues_tells_an_srt_with_cues_from_an_empty_or_missing_one(subtitles: Path, tmp_path: Path) -> None:
    from transcoders.rendition.run import has_cues

    (tmp_path / "blank.srt").write_text("\n\n", encoding="utf-8")
    assert has_cues(subtitles)
    assert not has_cues(tmp_path / "blank.srt") and not has_cues(tmp_path / "missing.srt")


@pytest.mark.slow
def test_max_duration_cuts_the_rendition(source: Path, out_dir: Path) -> None:
    short = preset("crop").model_copy(update={"max_duration_s": 2.0, "captions": preset("wav").captions})

    result = render(source, out_dir / "short.mp4", short, source=SOURCE)

    assert abs(result.duration_s - 2.0) <= 0.04
    report = qc(result.path, short)
    assert report.passed, report.failures


# --------------------------------------------------------------------------- audio


def test_bwf_wav_carries_the_timecode_as_time_reference(rendered) -> None:
    result = rendered("wav")

    with av.open(str(result.path)) as container:
        assert container.streams.audio[0].codec_context.name == "pcm_s24le"
        assert container.metadata["time_reference"] == str(10 * 3600 * 48000)
    integrated, peak = ebur128(result.path)
    assert abs(integrated - -23.0) <= 0.5 and peak <= -1.0
    report = qc(result.path, preset("wav"))
    assert report.passed, report.failures


def test_mp3(rendered) -> None:
    result = rendered("mp3")

    with av.open(str(result.path)) as container:
        assert not container.streams.video
        assert container.streams.audio[0].codec_context.sample_rate == 48000
    report = qc(result.path, preset("mp3"))
    assert report.passed, report.failures


# --------------------------------------------------------------------------- QC catches a wrong file


def test_qc_fails_a_720p_file_against_the_1080p_preset(rendered) -> None:
    result = rendered("h264-720p")

    report = qc(result.path, preset("h264-1080p"))

    assert not report.passed
    assert [c.name for c in report.failures] == ["height"]
    height = report.check("height").to_dict()
    assert {k: height[k] for k in ("name", "expected", "actual", "passed")} == {
        "name": "height", "expected": "1080", "actual": "720", "passed": False}
    assert "reframe" in height["advice"]  # what to do about it, for the editor
    assert report.check("video codec").to_dict().get("advice") is None  # a check that passed needs none
    assert report.to_dict()["passed"] is False


def test_qc_fails_loudness_and_timecode_of_the_untouched_source(source: Path) -> None:
    report = qc(source, preset("prores"))

    failed = {c.name for c in report.failures}
    assert {"video codec", "integrated loudness"} <= failed
    assert "timecode" not in failed  # the source does carry 10:00:00:00


# --------------------------------------------------------------------------- plans, no encoding


def test_us_xdcam_from_25p_interlaces_at_2997_with_drop_frame_timecode(source: Path, tmp_path: Path) -> None:
    us = load_preset("broadcast/xdcam-hd422-1080i2997")

    args = render_args(source, tmp_path / "us.mxf", us, source=SOURCE)
    graph = args[args.index("-filter_complex") + 1]

    assert "fps=60000/1001" in graph and "interlace=scan=tff" in graph and "setfield=tff" in graph
    assert args[args.index("-timecode") + 1] == "10:00:00;00"
    assert args[args.index("-g:v") + 1] == "15"
    assert "+ilme+ildct" in args


@pytest.mark.slow
def test_us_xdcam_renders_2997_interlaced_with_drop_frame_timecode(source: Path, out_dir: Path) -> None:
    us = load_preset("broadcast/xdcam-hd422-1080i2997")

    result = render(source, out_dir / "us.mxf", us, source=SOURCE)

    report = qc(result.path, us)
    assert report.passed, report.failures
    assert report.check("timecode").actual == "10:00:00;00"
    assert report.check("frame rate").actual == "30000/1001" and report.check("scan").actual == "tff"
    integrated, peak = ebur128(result.path, pair=True)
    assert abs(integrated - -24.0) <= 0.5 and peak <= -2.0


def test_output_timecode() -> None:
    assert output_timecode("10:00:00:00", Fraction(25), Fraction(25)) == "10:00:00:00"
    assert output_timecode("01:00:00:12", Fraction(25), Fraction(30000, 1001)) == "01:00:00;14"
    assert output_timecode("01:00:00;00", Fraction(30000, 1001), Fraction(30000, 1001)) == "01:00:00;00"
    assert output_timecode("00:01:00:00", Fraction(25), Fraction(30000, 1001)) == "00:01:00;02"  # ;00 is skipped
    assert output_timecode(None, Fraction(25), Fraction(25)) is None


# --------------------------------------------------------------------------- QC expects on its own (issue 10)

NTSC = Fraction(30000, 1001)


def test_qc_works_out_the_start_timecode_from_the_source_and_the_preset() -> None:
    # 29.97 drop-frame 01:00:00;00 into a 25 fps preset: the label rushes/timecode.py gives that instant at 25
    instant = Fraction(timecode_to_frames("01:00:00;00", NTSC)) / NTSC  # 3599.996 s: drop-frame keeps to the clock
    assert expect.start_timecode("01:00:00;00", NTSC, Fraction(25)) == seconds_to_timecode(instant, 25)
    assert seconds_to_timecode(instant, 25) == "01:00:00:00"
    # 25 fps 10:00:00:00 into 29.97: drop-frame, and the programme still starts at 10 o'clock on the label. That
    # is rushes/timecode.py's label for 10:00:00 on the label clock (36000 s counted at the nominal 30 fps)...
    assert expect.start_timecode("10:00:00:00", Fraction(25), NTSC) == "10:00:00;00"
    assert seconds_to_timecode(36000, 30, drop_frame=False) == "10:00:00:00"
    # ...not its label for the wall-clock instant 36000 s at 29.97, which is one frame later (10:00:00;00 is
    # 35999.966 s). The renderer writes ;00 (test_us_xdcam_from_25p_...), so QC expects ;00.
    assert seconds_to_timecode(36000, NTSC, drop_frame=True) == "10:00:00;01"
    # the frame field is re-counted at the new rate, and a label drop-frame skips becomes the first that exists
    assert expect.start_timecode("01:00:00:12", Fraction(25), NTSC) == "01:00:00;14"
    assert expect.start_timecode("00:01:00:00", Fraction(25), NTSC) == "00:01:00;02"
    assert expect.start_timecode("00:10:00:00", Fraction(25), NTSC) == "00:10:00;00"
    assert expect.start_timecode("10:00:00:24", Fraction(25), Fraction(50)) == "10:00:00:48"
    # same rate: the label as it is, drop-frame only where the rate has it
    assert expect.start_timecode("10:00:00:00", Fraction(25), Fraction(25)) == "10:00:00:00"
    assert expect.start_timecode("01:00:00;00", NTSC, NTSC) == "01:00:00;00"
    assert expect.start_timecode("01:00:00:00", NTSC, NTSC, drop_frame=True) == "01:00:00;00"
    assert expect.start_timecode("01:00:00;00", Fraction(25), None) == "01:00:00:00"
    assert expect.start_timecode(None, Fraction(25), Fraction(25)) is None
    assert expect.start_timecode("ten o'clock", Fraction(25), Fraction(25)) is None
    assert expect.start_timecode("10:00:00:27", Fraction(25), NTSC) is None  # no frame 27 at 25 fps
    # BWF time reference: samples since midnight; a drop-frame label at its real rate, a non-drop one at nominal
    assert expect.time_reference("10:00:00:00", Fraction(25), 48000) == 10 * 3600 * 48000
    assert expect.time_reference("01:00:00;00", NTSC, 48000) == round(instant * 48000) == 172_799_827
    assert expect.time_reference("01:00:00:00", NTSC, 48000) == 3600 * 48000
    # one mono track per channel in MXF only
    assert expect.one_track_per_channel(preset("xdcam"))
    assert not expect.one_track_per_channel(preset("prores")) and not expect.one_track_per_channel(preset("wav"))


@pytest.fixture
def broken_renderer(monkeypatch: pytest.MonkeyPatch) -> str:
    """The renderer with a bug in its plan: its output timecode is one frame late, its BWF time reference is
    midnight and it never splits MXF audio into mono tracks. QC must not notice the bug by agreeing with it."""
    wrong = "10:00:00:01"
    bugs = {
        "output_timecode": lambda *args, **kwargs: wrong,
        "timecode_seconds": lambda *args, **kwargs: Fraction(0),
        "mono_tracks": lambda preset: False,
    }
    renderer = (rendition_api, rendition_geometry, rendition_graphs, rendition_codecs, rendition_command, rendition_run)
    for module in renderer:
        for name, bug in bugs.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, bug)
    for module in (delivery_qc, expect):  # and wherever QC would see them, should it ever import them again
        for name, bug in bugs.items():
            monkeypatch.setattr(module, name, bug, raising=False)
    return wrong


def test_qc_imports_nothing_from_the_renderer() -> None:
    for module in (delivery_qc, expect):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [name for name in imported if name.startswith("transcoders.rendition")], module.__name__


@pytest.mark.slow
def test_qc_rejects_the_timecode_of_a_renderer_bug_it_does_not_share(
    broken_renderer: str, source: Path, tmp_path: Path
) -> None:
    prores = preset("prores")
    assert prores.timecode
    result = render(source, tmp_path / "late.mov", prores, source=SOURCE, timeout=120)
    assert result.timecode == broken_renderer  # the bug reached the file...

    report = qc(result.path, prores)

    timecode = report.check("timecode")  # ...and QC, asking no one, turns it away
    assert (timecode.expected, timecode.actual, timecode.passed) == (START_TC, broken_renderer, False)
    assert "timecode" in timecode.advice
    assert [c.name for c in report.failures] == ["timecode"]
    assert qc(source, preset("prores")).check("timecode").passed  # a file that does start at 10:00:00:00 passes


def test_qc_expects_time_reference_and_mono_tracks_without_the_renderer(broken_renderer: str, source: Path) -> None:
    wav = qc(source, preset("wav")).check("time reference")
    assert wav.expected == str(10 * 3600 * 48000) and not wav.passed  # the source .mov has no BWF time reference

    xdcam = preset("xdcam")
    assert xdcam.audio is not None
    tracks = qc(source, xdcam).check("audio tracks")  # KeyError if QC took the renderer's word for the layout
    assert tracks.expected == f"{xdcam.audio.channels} mono" and tracks.actual == "2" and not tracks.passed


def test_geometry_keeps_aspect_unless_reframed() -> None:
    web = load_preset("web/h264-720p").video
    square_box = load_preset("social/square-1x1").video
    blur = load_preset("social/vertical-9x16-blur").video
    four_three = SourceFacts(width=1440, height=1080)
    anamorphic = SourceFacts(width=720, height=576, sar=Fraction(64, 45))

    assert (plan_geometry(four_three, web).width, plan_geometry(four_three, web).height) == (960, 720)
    assert (plan_geometry(anamorphic, web).width, plan_geometry(anamorphic, web).height) == (1280, 720)
    crop = plan_geometry(SOURCE, square_box)
    assert (crop.width, crop.height, crop.fill_width, crop.fill_height) == (1080, 1080, 1920, 1080)
    pad = plan_geometry(SOURCE, blur)
    assert (pad.width, pad.height, pad.fit_width, pad.fit_height) == (1080, 1920, 1080, 608)


def test_a_source_smaller_than_dnxhr_allows_is_enlarged_with_its_shape() -> None:
    dnxhr = load_preset("broadcast/dnxhr-hq").video  # ffmpeg: "input must be at least 256x120"
    small = plan_geometry(SourceFacts(width=190, height=240), dnxhr)
    wide = plan_geometry(SourceFacts(width=640, height=90), dnxhr)
    same = plan_geometry(SourceFacts(width=1280, height=720), dnxhr)

    assert (small.width, small.height) == (256, 324)  # 190x240 at 256/190, rounded up to even
    assert (wide.width, wide.height) == (854, 120)
    assert (same.width, same.height) == (1280, 720)


SHIPPED_KEYS = {preset(key).name: key for key in ("xdcam", "prores", "dnxhr", "h264-720p", "h264-1080p", "crop",
                                                   "blur-pad", "wav", "mp3")}
# the 1080p VP9 and the HLS ladder are slow at full size here: test_vp9_opus_webm and
# test_hls_ladder_master_and_every_variant_play render them shrunk, bench/delivery.py at full size
FULL_SIZE_ELSEWHERE = {"web/vp9-opus", "web/hls-ladder"}


@pytest.mark.parametrize("name", sorted(set(preset_files()) - FULL_SIZE_ELSEWHERE))
@pytest.mark.slow
def test_every_shipped_preset_renders_and_passes_its_own_qc(name: str, rendered, source: Path, subtitles: Path,
                                                              out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Every preset file, rendered from the speech source with a start timecode, measured independently too."""
    spec = load_preset(name)
    if name in SHIPPED_KEYS:
        result = rendered(SHIPPED_KEYS[name])
    else:
        dst = out_dir / f"{name.replace('/', '-')}.{spec.extension}"
        result = render(source, dst, spec, source=SOURCE, subtitles=subtitles, timeout=120)
    report = check(result.path, spec, expected_duration_s=min(SECONDS, spec.max_duration_s or SECONDS),
                   source_start_timecode=START_TC, source_frame_rate=SOURCE.frame_rate)
    assert report.passed, [c for c in report.checks if not c.passed]
    if spec.loudness is not None:
        integrated, peak = ebur128(result.path, pair=spec.container == "mxf")
        assert abs(integrated - spec.loudness.integrated) <= spec.loudness.tolerance
        assert peak <= spec.loudness.true_peak + 0.1
