"""Atomic outputs, verification, the review proxy and the poster, against the real ffmpeg."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest

from rushes.errors import FFmpegError, OutputError
from tests.media_fixtures import BIG_BUCK_BUNNY, Clips
from transcoders.outputs import atomic_output, clean_stale_parts, verify_media
from transcoders.proxy import (
    ProxyResult,
    ProxySpec,
    make_poster,
    make_proxy,
    poster_time,
    proxy_args,
    proxy_geometry,
)

SQUARE = Fraction(1)
HD = {"width": 1920, "height": 1080, "sar": SQUARE, "rotation": 0, "frame_rate": Fraction(25)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return Clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxies")


def proxy_of(src: Path, dst: Path, **source) -> ProxyResult:
    params = {
        "sar": SQUARE,
        "rotation": 0,
        "frame_rate": Fraction(25),
        "has_audio": True,
        "start_timecode": None,
        "duration_s": 2.0,
        **source,
    }
    return make_proxy(src, dst, **params)


def top_level_atoms(path: Path) -> list[str]:
    atoms, offset, data = [], 0, path.read_bytes()
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return atoms


def parts_in(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".part" in p.name]


# --------------------------------------------------------------------------- atomic outputs


def test_atomic_output_appears_only_on_success(tmp_path):
    final = tmp_path / "clip.mp4"

    with atomic_output(final) as part:
        assert part.parent == tmp_path
        assert part.name.startswith(".clip.") and part.name.endswith(".part.mp4")
        part.write_bytes(b"data")
        assert not final.exists()

    assert final.read_bytes() == b"data"
    assert parts_in(tmp_path) == []


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "clip.mp4"
    final.write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_output(final) as part:
        part.write_bytes(b"half")
        raise RuntimeError("transcode failed")

    assert final.read_bytes() == b"old"
    assert parts_in(tmp_path) == []


def test_atomic_output_that_was_never_written_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="not written"), atomic_output(tmp_path / "clip.mp4"):
        pass

    assert list(tmp_path.iterdir()) == []


def test_clean_stale_parts_removes_only_the_parts_of_that_stem(tmp_path):
    stale = [tmp_path / ".clip.0123abcd.part.mp4", tmp_path / ".clip.deadbeef.part"]
    kept = [tmp_path / name for name in ("clip.mp4", ".clip.proxy.0123abcd.part.mp4", ".clipx.0123abcd.part")]
    for path in stale + kept:
        path.write_bytes(b"x")

    removed = clean_stale_parts(tmp_path, "clip")

    assert sorted(removed) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


# --------------------------------------------------------------------------- verification


def test_verify_media_describes_a_good_file(clips):
    media = verify_media(
        clips.small,
        expect_video=True,
        expect_audio=True,
        expect_duration_s=2.0,
        video_codec="h264",
        audio_codec="aac",
        audio_channels=2,
    )

    assert (media.width, media.height) == (320, 240)
    assert media.duration_s == pytest.approx(2.0, abs=0.1)
    assert media.size == clips.small.stat().st_size


def test_verify_media_lists_what_is_wrong(clips):
    with pytest.raises(OutputError) as caught:
        verify_media(
            clips.silent, expect_video=True, expect_audio=True, expect_duration_s=5.0, video_codec="hevc"
        )

    message = str(caught.value)
    assert "no audio stream" in message
    assert "video codec is h264, expected hevc" in message
    assert "duration is 2.000 s" in message


def test_verify_media_rejects_a_non_media_file(clips):
    with pytest.raises(OutputError, match="cannot be read as media"):
        verify_media(clips.not_media, expect_video=True, expect_audio=False, expect_duration_s=None)


# --------------------------------------------------------------------------- geometry and arguments


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1920, 1080, SQUARE, 0), (1280, 720)),
        ((640, 480, SQUARE, 0), (640, 480)),
        ((720, 576, Fraction(64, 45), 0), (1024, 576)),
        ((720, 480, Fraction(8, 9), 0), (640, 480)),
        ((1920, 1080, SQUARE, 90), (404, 720)),
        ((1920, 1080, SQUARE, -90), (404, 720)),
        ((1920, 1080, SQUARE, 180), (1280, 720)),
        ((640, 360, SQUARE, 270), (360, 640)),
        ((3840, 2160, Fraction(0), 0), (1280, 720)),
        ((999, 501, SQUARE, 0), (998, 500)),
        ((1, 1, SQUARE, 0), (2, 2)),
    ],
)
def test_proxy_geometry(source, expected):
    assert proxy_geometry(*source, max_height=720) == expected


def test_proxy_args_follow_the_spec():
    args = proxy_args("/in/a.mov", "/out/a.mp4", **HD, has_audio=True, start_timecode="01:00:00:00")

    joined = " ".join(args)
    assert args[:2] == ["-i", "/in/a.mov"] and args[-1] == "/out/a.mp4"
    assert "-map 0:v:0 -vf scale=1280:720,setsar=1 -map 0:a:0" in joined
    assert "-c:v libx264 -preset veryfast -crf 23 -profile:v high -pix_fmt yuv420p" in joined
    assert "-g 12 -keyint_min 12 -sc_threshold 0" in joined
    assert "-c:a aac -b:a 128k -ac 2 -ar 48000" in joined
    assert "-map_metadata -1" in joined
    assert "-metadata timecode=01:00:00:00 -timecode 01:00:00:00" in joined
    assert "-movflags +faststart" in joined and "-threads 0" in joined


def test_proxy_args_without_audio_or_frame_rate():
    args = proxy_args("a.mov", "a.mp4", **{**HD, "frame_rate": None}, has_audio=False, start_timecode=None)

    assert "0:a:0" not in args and "-an" in args
    assert "-timecode" not in args
    assert args[args.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*0.5)"


def test_proxy_args_ignore_a_malformed_timecode():
    args = proxy_args("a.mov", "a.mp4", **HD, has_audio=True, start_timecode="yesterday")

    assert "-timecode" not in args


def test_keyint_follows_the_frame_rate():
    spec = ProxySpec()
    assert spec.keyint(Fraction(25)) == 12
    assert spec.keyint(Fraction(30000, 1001)) == 15
    assert spec.keyint(Fraction(1)) == 1
    assert spec.keyint(None) is None


# --------------------------------------------------------------------------- the HD proxy


@pytest.fixture(scope="module")
def hd_proxy(clips, out_dir) -> ProxyResult:
    fractions: list[float] = []
    result = proxy_of(
        clips.hd_25p,
        out_dir / "hd.mp4",
        width=1920,
        height=1080,
        start_timecode="01:00:00:00",
        on_progress=fractions.append,
    )
    assert fractions[-1] == 1.0
    return result


def test_hd_proxy_is_720p_h264_with_stereo_aac(hd_proxy):
    media = verify_media(hd_proxy.path, expect_video=True, expect_audio=True, expect_duration_s=2.0)

    assert (hd_proxy.width, hd_proxy.height) == (1280, 720)
    assert (media.width, media.height) == (1280, 720)
    assert (media.video_codec, media.audio_codec, media.audio_channels) == ("h264", "aac", 2)
    assert hd_proxy.size == hd_proxy.path.stat().st_size
    assert parts_in(hd_proxy.path.parent) == []


def test_hd_proxy_is_high_profile_yuv420p_48k(hd_proxy):
    with av.open(str(hd_proxy.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.profile == "High"
        assert video.codec_context.format.name == "yuv420p"
        assert audio.codec_context.sample_rate == 48000


def test_hd_proxy_is_faststart(hd_proxy):
    atoms = top_level_atoms(hd_proxy.path)

    assert atoms.index("moov") < atoms.index("mdat")


def test_hd_proxy_has_a_short_gop(hd_proxy):
    with av.open(str(hd_proxy.path)) as container:
        keyframes = [
            i for i, packet in enumerate(container.demux(video=0)) if packet.size and packet.is_keyframe
        ]

    gaps = [b - a for a, b in zip(keyframes, keyframes[1:], strict=False)]
    assert len(keyframes) >= 4
    assert max(gaps) <= 13


def test_hd_proxy_carries_the_timecode(hd_proxy):
    with av.open(str(hd_proxy.path)) as container:
        tags = [container.metadata.get("timecode")] + [s.metadata.get("timecode") for s in container.streams]
        kinds = [s.type for s in container.streams]

    assert "01:00:00:00" in tags
    assert "data" in kinds  # the tmcd track


def test_hd_proxy_keeps_no_source_metadata(hd_proxy):
    with av.open(str(hd_proxy.path)) as container:
        assert "title" not in container.metadata
        assert container.streams.video[0].metadata.get("handler_name") == "VideoHandler"


# --------------------------------------------------------------------------- other sources


def test_small_source_is_not_upscaled(clips, tmp_path):
    result = proxy_of(clips.vga, tmp_path / "vga.mp4", width=640, height=480)

    assert (result.width, result.height) == (640, 480)


def test_anamorphic_source_comes_out_with_square_pixels(clips, tmp_path):
    result = proxy_of(clips.anamorphic_pal, tmp_path / "pal.mp4", width=720, height=576, sar=Fraction(64, 45))

    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1024, 576)
        assert video.sample_aspect_ratio in (None, Fraction(1))


def test_rotated_source_comes_out_portrait_without_rotation(clips, tmp_path):
    result = proxy_of(clips.rotated_90, tmp_path / "phone.mp4", width=640, height=360, rotation=90)

    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        frame = next(container.decode(video))
        assert (video.codec_context.width, video.codec_context.height) == (360, 640)
        assert frame.rotation == 0


def test_source_without_audio_gives_a_video_only_proxy(clips, tmp_path):
    result = proxy_of(clips.silent, tmp_path / "silent.mp4", width=320, height=240, has_audio=False)

    with av.open(str(result.path)) as container:
        assert len(container.streams.video) == 1
        assert len(container.streams.audio) == 0


def test_surround_audio_is_downmixed_to_stereo(tmp_path):
    with av.open(str(BIG_BUCK_BUNNY)) as source:
        assert source.streams.audio[0].codec_context.channels == 6

    result = proxy_of(BIG_BUCK_BUNNY, tmp_path / "bbb.mp4", width=1280, height=720, duration_s=5.3)

    media = verify_media(result.path, expect_video=True, expect_audio=True, expect_duration_s=5.3)
    assert media.audio_channels == 2
    assert (media.width, media.height) == (1280, 720)


def test_failed_proxy_leaves_no_file(clips, tmp_path):
    dst = tmp_path / "broken.mp4"

    with pytest.raises(FFmpegError, match="Invalid data"):
        proxy_of(clips.not_media, dst, width=320, height=240)

    assert list(tmp_path.iterdir()) == []


def test_proxy_shorter_than_the_source_fails_verification(clips, tmp_path):
    with pytest.raises(OutputError, match="duration"):
        proxy_of(clips.small, tmp_path / "short.mp4", width=320, height=240, duration_s=10.0)

    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- poster


def test_make_poster_writes_a_jpeg(clips, tmp_path):
    poster = make_poster(clips.anamorphic_pal, tmp_path / "poster.jpg", at_s=0.5)

    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    media = verify_media(poster, expect_video=True, expect_audio=False, expect_duration_s=None)
    assert (media.width, media.height) == (1024, 576)


def test_make_poster_scales_to_the_width(clips, tmp_path):
    poster = make_poster(clips.hd_25p, tmp_path / "poster.jpg", at_s=1.0, width=320)

    media = verify_media(poster, expect_video=True, expect_audio=False, expect_duration_s=None)
    assert (media.width, media.height) == (320, 180)


def test_poster_past_the_end_is_an_output_error(clips, tmp_path):
    with pytest.raises(OutputError):
        make_poster(clips.small, tmp_path / "poster.jpg", at_s=30.0)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("duration", "expected"), [(None, 0.0), (0.0, 0.0), (5.0, 0.5), (600.0, 10.0)])
def test_poster_time(duration, expected):
    assert poster_time(duration) == expected
