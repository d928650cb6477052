from __future__ import annotations

import json
import random
import subprocess
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from analyzers.probe import AudioStream, MediaInfo, VideoStream, probe
from rushes.errors import MediaError, NotMediaError
from rushes.timecode import seconds_to_timecode, timecode_to_frames
from tests.media_fixtures import MEDIA

PROBE_DIR = MEDIA / "probe"
NTSC = Fraction(30000, 1001)
FILM = Fraction(24000, 1001)


def approx(value: float, tol: float = 0.02) -> Any:
    return pytest.approx(value, abs=tol)


# What tests/media/README.md states about each file, as attribute paths on MediaInfo.
EXPECTED: dict[str, dict[str, Any]] = {
    "bigbuckbunny.mp4": {
        "primary_video.codec": "h264",
        "primary_video.width": 1280,
        "primary_video.height": 720,
        "primary_video.frames": 132,
        "primary_video.frame_rate": 25,
        "primary_video.vfr": False,
        "duration_s": approx(5.312),
        "audio.0.codec": "aac",
        "audio.0.channels": 6,
        "audio.0.channel_layout": "5.1",
    },
    "many_tracks.mp4": {
        "size": 208534,
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "primary_video.codec": "h264",
        "primary_video.width": 640,
        "primary_video.height": 360,
        "primary_video.frame_rate": 10,
        "primary_video.frames": 101,
        "subtitles": 100,
        "has_audio": False,
        "tags.title": "Big Buck Bunny, Sunflower version",
    },
    "moviepy/fire2.mp4": {
        "primary_video.width": 1280,
        "primary_video.height": 720,
        "primary_video.frames": 25,
        "primary_video.rotation": 180,
        "primary_video.vfr": True,
        "primary_video.avg_frame_rate": approx(10.51, 0.01),
        "duration_s": approx(2.38),
    },
    "moviepy/no_duration.webm": {
        "container": "matroska,webm",
        "duration_estimated": True,
        "duration_s": approx(4.9, 0.1),
        "primary_video.codec": "vp9",
        "primary_video.frames": 74,
        "audio.0.codec": "opus",
    },
    "moviepy/video_with_failing_audio.mp4": {
        "primary_video.width": 640,
        "primary_video.height": 360,
        "primary_video.frame_rate": 25,
        "primary_video.frames": 280,
        "audio.0.codec": "mp3",
        "audio.0.sample_rate": 44100,
        "audio.0.bit_rate": approx(127_500, 1000),
    },
    "moviepy/with-attached-pic.mp3": {
        "has_video": False,
        "attached_pictures": 1,
        "audio.0.codec": "mp3",
        "audio.0.sample_rate": 44100,
        "audio.0.bit_rate": 320_000,
        "tags.__len__": 7,
    },
    "photon-imf/AUDIO_b285d8f3-0294-4207-8ea8-4f0b72314213.mxf": {
        "container": "mxf",
        "has_video": False,
        "audio.0.codec": "pcm_s24le",
        "audio.0.sample_rate": 48000,
        "audio.0.channels": 2,
        "audio.0.bit_depth": 24,
        "audio.0.duration_s": approx(64064 / 48000, 0.001),
    },
    "photon-imf/VIDEO_6ed567b7-c030-46d6-9c1c-0f09bab4b962.mxf": {
        "container": "mxf",
        "primary_video.codec": "jpeg2000",
        "primary_video.width": 1920,
        "primary_video.height": 1080,
        "primary_video.pix_fmt": "rgb48le",
        "primary_video.frame_rate": Fraction(60000, 1001),
        "primary_video.frames": 80,
        "duration_s": approx(1.3347, 0.001),
        "start_timecode": "00:00:00:00",
    },
    "pymediainfo/aac_he_v2.aac": {
        "audio.0.profile": "HE-AACv2",
        "audio.0.channels": 2,
        "duration_s": approx(1.2),
    },
    "pymediainfo/issue55.flv": {
        "has_video": False,
        "audio.0.codec": "aac",
        "audio.0.sample_rate": 48000,
        "audio.0.channels": 2,
        "duration_s": approx(1.075, 0.001),
    },
    "pymediainfo/mp4-with-audio.mp4": {
        "has_video": False,
        "audio.0.codec": "aac",
        "duration_s": approx(0.046, 0.002),
    },
    "pymediainfo/sample.mp4": {
        "primary_video.width": 1920,
        "primary_video.height": 1080,
        "primary_video.frame_rate": FILM,
        "primary_video.frames": 23,
        "primary_video.start_s": approx(0.083, 0.001),
        "primary_video.duration_s": approx(0.958, 0.002),
        "audio.0.duration_s": approx(0.980, 0.002),
    },
    "pymediainfo/vbr_requires_parsespeed_1.mp4": {
        "has_video": False,
        "audio.0.codec": "vorbis",
        "audio.0.channels": 2,
        "audio.1.codec": "vorbis",
        "audio.1.channels": 1,
    },
    "timecodekit/TimecodeTrack_23_976_Start-00-00-00-00.mov": {
        "has_video": False,
        "has_audio": False,
        "start_timecode": "00:00:00:00",
        "timecode_rate": FILM,
        "drop_frame": False,
    },
    "timecodekit/TimecodeTrack_23_976_Start-00-58-40-00.mov": {
        "has_video": False,
        "has_audio": False,
        "start_timecode": "00:58:40:00",
        "timecode_rate": FILM,
        "drop_frame": False,
    },
    "timecodekit/TimecodeTrack_24_Start-00-58-40-00.mov": {
        "has_video": False,
        "start_timecode": "00:58:40:00",
        "timecode_rate": 24,
        "drop_frame": False,
    },
    "timecodekit/TimecodeTrack_29_97d_Start_00-00-00-00.mov": {
        "has_video": False,
        "drop_frame": True,
        "start_timecode": "00:59:49;00",  # what ffmpeg and MediaInfo read, whatever the file name says
        "timecode_rate": NTSC,
    },
    "timecodekit/VideoAndTimecodeTrack_29_97i_Start-00-00-00-00.mov": {
        "primary_video.codec": "h264",
        "primary_video.width": 720,
        "primary_video.height": 480,
        "primary_video.frame_rate": NTSC,
        "primary_video.frames": 10,
        "primary_video.scan_type": "MBAFF",
        "primary_video.field_order": "tff",  # the H.264 decoder says top first; MediaInfo's 'fiel' says BFF
        "start_timecode": "00:00:00:00",
        "timecode_rate": NTSC,
        "data_streams": 1,
    },
    "timecodekit/VideoTrack_25_VFR_1sec.mov": {
        "primary_video.codec": "hevc",
        "primary_video.width": 3840,
        "primary_video.height": 2160,
        "primary_video.vfr": True,
        "primary_video.frame_rate": 25,
        "primary_video.frames": 33,  # samples in the container; 25 frames come out of the decoder
        "duration_s": approx(1.0, 0.001),
    },
    "timecodekit/VideoTrack_25_VFR_2sec.mov": {
        "primary_video.codec": "hevc",
        "primary_video.width": 3840,
        "primary_video.vfr": True,
        "primary_video.frame_rate": 25,
        "primary_video.frames": 56,  # samples in the container; 50 frames come out of the decoder
        "duration_s": approx(2.0, 0.001),
    },
    "timecodekit/VideoTrack_29_97_Start-00-00-00-00.mp4": {
        "primary_video.codec": "h264",
        "primary_video.width": 640,
        "primary_video.height": 360,
        "primary_video.frame_rate": NTSC,
        "primary_video.field_order": "progressive",
        "primary_video.vfr": False,
        "start_timecode": None,
        "duration_s": approx(10.01, 0.001),
    },
}

# Files that are not media, and the words the error must contain.
NOT_MEDIA: dict[str, str] = {
    "pymediainfo/mp3.mp3": "Invalid data found",
    "pymediainfo/mpeg4.mp4": "the container lists no streams",
    "pymediainfo/sample.mkv": "End of file",
    "pymediainfo/sample_with_cover.mp3": "Invalid data found",
    "photon-imf/CPL_67be5fc8-87f1-4172-8d52-819ca14c7a20.xml": "Invalid data found",
    "moviepy/LICENSE": "Invalid data found",
    "photon-imf/LICENSE": "Invalid data found",
    "pymediainfo/LICENSE": "Invalid data found",
    "timecodekit/LICENSE": "Invalid data found",
    "LICENSE-bigbuckbunny.txt": "a text file",
    "LICENSE-many_tracks.txt": "a text file",
}

PROBE_FILES = sorted(p.relative_to(PROBE_DIR).as_posix() for p in PROBE_DIR.rglob("*") if p.is_file())


def attr(info: MediaInfo, dotted: str) -> Any:
    value: Any = info
    for part in dotted.split("."):
        if part == "__len__":
            value = len(value)
        elif part.isdigit():
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            value = getattr(value, part)
    return value


@pytest.mark.parametrize("name", PROBE_FILES)
def test_probe_reports_what_the_media_readme_states(name: str) -> None:
    path = PROBE_DIR / name
    assert name in EXPECTED or name in NOT_MEDIA, f"{name}: add what tests/media/README.md states about it"
    if name in NOT_MEDIA:
        with pytest.raises(NotMediaError, match=f"not a media file: {path.name}: .*{NOT_MEDIA[name]}"):
            probe(path)
        return

    info = probe(path)

    for dotted, expected in EXPECTED[name].items():
        assert attr(info, dotted) == expected, dotted
    json.dumps(info.to_dict())


def test_timecode_tracks_line_up_with_their_known_frame_numbers() -> None:
    info = probe(PROBE_DIR / "timecodekit/TimecodeTrack_23_976_Start-00-58-40-00.mov")

    assert info.start_timecode is not None and info.timecode_rate is not None
    assert timecode_to_frames(info.start_timecode, info.timecode_rate) == 84480
    assert info.duration_s is not None
    assert seconds_to_timecode(info.duration_s, info.timecode_rate) == "00:24:10:19"


def test_29_97_clip_without_timecode_lasts_ten_seconds_of_timecode() -> None:
    info = probe(PROBE_DIR / "timecodekit/VideoTrack_29_97_Start-00-00-00-00.mp4")

    assert info.primary_video is not None and info.duration_s is not None
    assert seconds_to_timecode(info.duration_s, info.primary_video.frame_rate) == "00:00:10:00"


def test_cover_art_is_not_video() -> None:
    info = probe(PROBE_DIR / "moviepy/with-attached-pic.mp3")

    assert (info.has_video, info.has_audio, info.primary_video, info.attached_pictures) == (
        False,
        True,
        None,
        1,
    )


# --- a clip made in the test -----------------------------------------------------------------------------


def run_ffmpeg(*args: str) -> None:
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def generated_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "test clip 25p.mov"
    run_ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"),
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"),
        *("-timecode", "01:00:00:00", "-metadata", "title=Rushes probe test", "-shortest", str(path)),
    )
    return path


def test_generated_clip_every_field(generated_clip: Path) -> None:
    info = probe(generated_clip)

    video, audio = info.primary_video, info.audio[0]
    assert isinstance(video, VideoStream) and isinstance(audio, AudioStream)
    assert (info.path, info.size) == (str(generated_clip), generated_clip.stat().st_size)
    assert (info.container, info.container_long) == ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV")
    assert (info.duration_s, info.duration_estimated) == (approx(2.0, 0.05), False)
    assert info.bit_rate is not None and info.bit_rate > 0
    assert (info.start_timecode, info.drop_frame, info.timecode_rate) == ("01:00:00:00", False, 25)
    assert (len(info.video), len(info.audio), info.attached_pictures) == (1, 1, 0)
    assert (info.subtitles, info.data_streams) == (0, 1)  # the tmcd track
    assert info.tags["title"] == "Rushes probe test"
    assert (info.has_video, info.has_audio) == (True, True)

    assert (video.index, video.codec, video.profile) == (0, "h264", "High")
    assert (video.width, video.height, video.sar, video.dar) == (320, 240, 1, Fraction(4, 3))
    assert (video.frame_rate, video.avg_frame_rate, video.vfr, video.frames) == (25, 25, False, 50)
    assert (video.field_order, video.scan_type, video.rotation) == ("progressive", "Progressive", 0)
    assert (video.pix_fmt, video.bit_depth) == ("yuv420p", 8)
    assert (video.duration_s, video.start_s) == (approx(2.0, 0.001), 0.0)
    assert video.bit_rate is not None and video.bit_rate > 0
    assert video.language is None

    assert (audio.index, audio.codec, audio.profile) == (1, "aac", "LC")
    assert (audio.channels, audio.channel_layout, audio.sample_rate) == (1, "mono", 48000)
    assert audio.bit_depth is None  # lossy: no meaningful bit depth
    assert audio.bit_rate == approx(96_000, 10_000)
    assert audio.duration_s == approx(2.0, 0.05)
    assert audio.language is None


@pytest.mark.parametrize(
    ("name", "rate", "seconds"),
    [("ntsc.mkv", "30000/1001", 14), ("pal.mp4", "25", 16)],  # more than the 300 packets the scan reads
)
def test_constant_rate_clips_with_b_frames_are_not_vfr(
    tmp_path: Path, name: str, rate: str, seconds: int
) -> None:
    path = tmp_path / name
    source = f"testsrc2=size=160x120:rate={rate}:duration={seconds}"
    run_ffmpeg("-f", "lavfi", "-i", source, "-c:v", "libx264", "-bf", "3", str(path))

    video = probe(path).primary_video

    assert video is not None and video.frame_rate == Fraction(rate)
    assert (video.vfr, video.duration_s) == (False, approx(seconds, 0.05))
    assert video.frames == round(seconds * Fraction(rate))


def test_to_dict_is_json_with_fractions_as_strings(generated_clip: Path) -> None:
    data = json.loads(json.dumps(probe(generated_clip).to_dict()))

    assert data["timecode_rate"] == "25/1" and data["timecode_rate_float"] == 25.0
    assert data["video"][0]["dar"] == "4/3"
    assert data["video"][0]["frame_rate_float"] == 25.0
    assert data["audio"][0]["sample_rate"] == 48000
    assert (data["has_video"], data["has_audio"]) == (True, True)


def test_display_rotation_is_read_clockwise(generated_clip: Path, tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.mov"
    # ffmpeg's -display_rotation is counter-clockwise: 90 ccw is 270 clockwise
    run_ffmpeg("-display_rotation", "90", "-i", str(generated_clip), "-c", "copy", str(rotated))

    video = probe(rotated).primary_video

    assert video is not None and video.rotation == 270


# --- what is not media --------------------------------------------------------------------------------------


def test_text_file_is_not_media(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("shot list\n1. wide\n2. close-up\n")

    with pytest.raises(NotMediaError, match="not a media file: notes.txt: no audio or video stream"):
        probe(text)


def test_empty_file_is_not_media(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mov"
    empty.touch()

    with pytest.raises(NotMediaError, match="empty file"):
        probe(empty)


def test_missing_file_and_directory_are_not_media(tmp_path: Path) -> None:
    with pytest.raises(NotMediaError, match="cannot read it"):
        probe(tmp_path / "gone.mov")
    with pytest.raises(NotMediaError, match="is a directory"):
        probe(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "bigbuckbunny.mp4",
        "pymediainfo/sample.mp4",
        "moviepy/no_duration.webm",
        "photon-imf/VIDEO_6ed567b7-c030-46d6-9c1c-0f09bab4b962.mxf",
    ],
)
@pytest.mark.parametrize("damage", ["cut at 5%", "cut at 40%", "zeros in the middle", "noise in the middle"])
def test_damaged_media_never_leaks_library_errors(tmp_path: Path, name: str, damage: str) -> None:
    data = bytearray((PROBE_DIR / name).read_bytes())
    if damage.startswith("cut"):
        del data[len(data) * int(damage[7:-1]) // 100 :]
    else:
        filler = bytes(4096) if damage.startswith("zeros") else random.Random(7).randbytes(4096)
        data[len(data) // 2 : len(data) // 2 + 4096] = filler
    damaged = tmp_path / f"damaged{Path(name).suffix}"
    damaged.write_bytes(bytes(data))

    try:
        info = probe(damaged)
    except MediaError as exc:
        assert isinstance(exc, NotMediaError) and damaged.name in str(exc)
    else:
        assert info.has_video or info.has_audio


def test_probe_of_4k_hevc_vfr_is_quick() -> None:
    path = PROBE_DIR / "timecodekit/VideoTrack_25_VFR_2sec.mov"
    probe(path)  # load libmediainfo once

    started = time.perf_counter()
    probe(path)
    elapsed = time.perf_counter() - started

    print(f"probe of {path.name}: {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0


@pytest.mark.parametrize("name", [n for n in PROBE_FILES if n not in NOT_MEDIA])
def test_what_the_catalog_stores_reads_back_as_the_same_media_info(name: str) -> None:
    """Tasks get a MediaInfo from the stored JSON, not the JSON itself: the round trip loses nothing."""
    info = probe(PROBE_DIR / name)
    stored = json.loads(json.dumps(info.to_dict()))
    assert MediaInfo.from_dict(stored) == info
