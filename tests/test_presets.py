"""Delivery presets: every shipped YAML file is valid and true to its folder; broken ones fail clearly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from delivery.presets import CATEGORIES, PRESETS_DIR, Preset, load_preset, load_presets, parse_preset, preset_files
from rushes.errors import ConfigError

FILES = preset_files()

EXPECTED = {
    "audio/bwf-wav", "audio/mp3",
    "broadcast/dnxhr-hq", "broadcast/prores-422hq", "broadcast/xdcam-hd422-1080i25", "broadcast/xdcam-hd422-1080i2997",
    "social/portrait-4x5", "social/square-1x1", "social/vertical-9x16", "social/vertical-9x16-blur",
    "web/h264-1080p", "web/h264-720p", "web/hls-ladder", "web/vp9-opus",
}

VALID = """\
category: web
title: Test
spec: a test preset
container: mp4
extension: mp4
video:
  codec: h264
  profile: high
  height: 720
  crf: 22
audio:
  codec: aac
  bitrate: 128k
loudness:
  standard: streaming
  integrated: -16
  true_peak: -1
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edited(**changes: object) -> str:
    """VALID with top-level fields replaced (None removes one); ``video__codec`` reaches into a section."""
    data = yaml.safe_load(VALID)
    for key, value in changes.items():
        target, _, field = key.rpartition("__")
        section = data[target] if target else data
        if value is None:
            section.pop(field, None)
        else:
            section[field] = value
    return yaml.safe_dump(data, sort_keys=False)


# --- the shipped presets -------------------------------------------------------------------------------------------

def test_the_expected_presets_ship():
    assert set(FILES) == EXPECTED


@pytest.mark.parametrize("name", sorted(FILES))
def test_preset_loads_and_matches_its_folder(name: str):
    path = FILES[name]
    preset = parse_preset(path, name)
    folder = path.parent.name
    assert folder in CATEGORIES
    assert preset.name == name == f"{folder}/{path.stem}"
    assert preset.category == folder
    assert "name" not in yaml.safe_load(path.read_text(encoding="utf-8")), "the name comes from the path"
    assert preset.title.strip() and len(preset.spec) > 80, "spec says what the preset follows, in words"
    assert preset.extension == preset.extension.lower() and "." not in preset.extension
    assert len(preset.content_hash) == 64


@pytest.mark.parametrize("name", sorted(FILES))
def test_preset_is_coherent(name: str):
    preset = load_preset(name)
    assert preset.audio is not None and preset.loudness is not None, "every delivery has normalised sound"
    if preset.category == "audio":
        assert preset.video is None and preset.container in ("wav", "mp3")
        return
    video = preset.video
    assert video is not None
    if video.frame_rate is not None:
        assert 1 <= Fraction(video.frame_rate) <= 120
    if video.codec in ("h264", "vp9") and preset.container != "hls":
        assert video.crf is not None and video.max_bitrate, "web/social encode to a quality with a ceiling"
    if preset.category in ("web", "social"):
        assert video.pix_fmt == "yuv420p" and video.scan == "progressive"
        assert preset.audio.sample_rate == 48000 and preset.audio.channels == 2
        assert preset.timecode is False
    if preset.category == "social":
        assert preset.container == "mp4" and video.width and video.height and video.reframe != "none"
        assert preset.max_duration_s and preset.loudness.integrated == -14.0
    if preset.category == "broadcast":
        assert preset.audio.codec == "pcm_s24le" and preset.audio.sample_rate == 48000
        assert preset.timecode is True


def test_all_presets_load_together():
    presets = load_presets()
    assert set(presets) == EXPECTED
    assert len({p.content_hash for p in presets.values()}) == len(presets)


def test_broadcast_presets_follow_their_specs():
    pal = load_preset("broadcast/xdcam-hd422-1080i25")
    assert pal.container == "mxf" and pal.video is not None and pal.audio is not None and pal.loudness is not None
    assert (pal.video.codec, pal.video.profile, pal.video.pix_fmt) == ("mpeg2video", "422", "yuv422p")
    assert (pal.video.width, pal.video.height, pal.video.frame_rate, pal.video.scan) == (1920, 1080, "25", "tff")
    assert (pal.video.bitrate, pal.video.max_bitrate, pal.video.gop) == ("50M", "50M", 12)
    assert (pal.loudness.standard, pal.loudness.integrated, pal.loudness.true_peak) == ("EBU R128", -23.0, -1.0)
    assert pal.loudness.tolerance == 0.5

    ntsc = load_preset("broadcast/xdcam-hd422-1080i2997")
    assert ntsc.video is not None and ntsc.loudness is not None
    assert (ntsc.video.frame_rate, ntsc.video.scan, ntsc.video.gop) == ("30000/1001", "tff", 15)
    assert (ntsc.loudness.standard, ntsc.loudness.integrated, ntsc.loudness.true_peak) == ("ATSC A/85", -24.0, -2.0)
    assert "drop-frame" in ntsc.spec

    for name, codec, profile, pix_fmt in [("broadcast/prores-422hq", "prores", "hq", "yuv422p10le"),
                                          ("broadcast/dnxhr-hq", "dnxhd", "dnxhr_hq", "yuv422p")]:
        mezzanine = load_preset(name)
        assert mezzanine.video is not None
        assert (mezzanine.video.codec, mezzanine.video.profile, mezzanine.video.pix_fmt) == (codec, profile, pix_fmt)
        assert (mezzanine.video.width, mezzanine.video.height, mezzanine.video.frame_rate) == (None, None, None)
    assert "OP1a" in load_preset("broadcast/dnxhr-hq").spec


def test_hls_ladder_descends_from_the_top_rung():
    hls = load_preset("web/hls-ladder")
    assert hls.container == "hls" and hls.ladder is not None
    assert hls.ladder[0] == hls.video
    heights = [rung.height or 0 for rung in hls.ladder]
    assert heights == sorted(heights, reverse=True) and len(heights) >= 3
    rates = [int(rung.bitrate.rstrip("k")) for rung in hls.ladder if rung.bitrate]
    assert len(rates) == len(hls.ladder) and rates == sorted(rates, reverse=True)
    assert all(rung.gop_s == 2 for rung in hls.ladder), "aligned 2 s keyframes at every rung"


def test_social_presets_cover_the_shapes_and_captions():
    shapes = {name: (p.video.width, p.video.height, p.video.reframe)
              for name, p in load_presets().items() if p.category == "social" and p.video}
    assert shapes == {
        "social/vertical-9x16": (1080, 1920, "crop"),
        "social/vertical-9x16-blur": (1080, 1920, "blur-pad"),
        "social/square-1x1": (1080, 1080, "crop"),
        "social/portrait-4x5": (1080, 1350, "crop"),
    }
    assert load_preset("social/vertical-9x16").captions.burn_in is True


# --- content hash --------------------------------------------------------------------------------------------------

def test_content_hash_is_stable(tmp_path: Path):
    first = parse_preset(write(tmp_path, "web/a", VALID), "web/a")
    # same meaning, different layout and comments, defaults spelled out
    relaid = "# a comment\n" + edited(video__scan="progressive", timecode=True).replace("  ", "    ")
    second = parse_preset(write(tmp_path, "web/b", relaid), "web/a")
    assert first.content_hash == second.content_hash
    assert parse_preset(write(tmp_path, "web/c", VALID), "web/a").content_hash == first.content_hash
    for name, path in FILES.items():
        assert parse_preset(path, name).content_hash == load_preset(name).content_hash


@pytest.mark.parametrize("change", [
    {"video__crf": 23}, {"video__height": 1080}, {"audio__bitrate": "192k"}, {"loudness__integrated": -14},
    {"spec": "another spec"}, {"timecode": False}, {"captions": {"burn_in": True}},
])
def test_content_hash_changes_with_any_value(tmp_path: Path, change: dict[str, object]):
    base = parse_preset(write(tmp_path, "web/a", VALID), "web/a")
    changed = parse_preset(write(tmp_path, "web/b", edited(**change)), "web/a")
    assert changed != base
    assert changed.content_hash != base.content_hash


def test_content_hash_depends_on_the_name(tmp_path: Path):
    path = write(tmp_path, "web/a", VALID)
    assert parse_preset(path, "web/a").content_hash != parse_preset(path, "web/b").content_hash


# --- broken presets ------------------------------------------------------------------------------------------------

def load_broken(tmp_path: Path, name: str, text: str) -> str:
    write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_presets(tmp_path)
    message = str(info.value)
    assert f"{name}.yaml" in message, "the error names the file"
    return message


def test_bad_codec_lists_the_allowed_codecs(tmp_path: Path):
    message = load_broken(tmp_path, "web/bad-codec", edited(video__codec="h265x"))
    assert "video.codec" in message
    for codec in ("h264", "hevc", "mpeg2video", "prores", "dnxhd", "vp9"):
        assert f"'{codec}'" in message
    assert "allowed:" in message


def test_bad_audio_codec_and_container_list_the_allowed_values(tmp_path: Path):
    message = load_broken(tmp_path, "web/bad-audio", edited(audio__codec="flac", container="avi"))
    assert "audio.codec" in message and "'aac'" in message and "'opus'" in message
    assert "container" in message and "'webm'" in message and "'hls'" in message


def test_missing_required_field(tmp_path: Path):
    message = load_broken(tmp_path, "web/no-spec", edited(spec=None))
    assert "spec" in message and "Field required" in message


def test_missing_loudness_target(tmp_path: Path):
    message = load_broken(tmp_path, "web/no-target", edited(loudness__integrated=None))
    assert "loudness.integrated" in message and "Field required" in message


@pytest.mark.parametrize("text", ["video: [unclosed\n  codec: h264\n", "category: web\n\tbad: tab\n"])
def test_not_yaml(tmp_path: Path, text: str):
    message = load_broken(tmp_path, "web/not-yaml", text)
    assert "not valid YAML" in message


@pytest.mark.parametrize("text", ["just a string\n", "- a\n- list\n", ""])
def test_yaml_that_is_not_a_mapping(tmp_path: Path, text: str):
    message = load_broken(tmp_path, "web/not-mapping", text)
    assert "expected a mapping of fields" in message


def test_video_section_in_a_wav_preset(tmp_path: Path):
    text = edited(category="audio", container="wav", extension="wav", audio={"codec": "pcm_s24le"})
    message = load_broken(tmp_path, "audio/with-video", text)
    assert "a wav preset has no video" in message


def test_video_preset_without_video(tmp_path: Path):
    message = load_broken(tmp_path, "web/no-video", edited(video=None))
    assert "needs a video section" in message


@pytest.mark.parametrize(("rate", "expected"), [
    ("fast", "number or a fraction like 30000/1001"),
    ("30/0", "number or a fraction like 30000/1001"),
    ("0", "between 1 and 120"),
    ("240", "between 1 and 120"),
    ("29.97", "write 30000/1001"),
    (59.94, "write 60000/1001"),
    ("23.976", "write 24000/1001"),
    (True, "number or a fraction"),
])
def test_bad_frame_rate(tmp_path: Path, rate: object, expected: str):
    message = load_broken(tmp_path, "web/bad-rate", edited(video__frame_rate=rate))
    assert "video.frame_rate" in message and expected in message


@pytest.mark.parametrize(("rate", "stored"), [(25, "25"), ("25", "25"), (12.5, "25/2"), ("30000/1001", "30000/1001"),
                                              ("60000/1001", "60000/1001"), ("24000/1001", "24000/1001")])
def test_good_frame_rates_are_normalised(tmp_path: Path, rate: object, stored: str):
    preset = parse_preset(write(tmp_path, "web/rate", edited(video__frame_rate=rate)), "web/rate")
    assert preset.video is not None and preset.video.frame_rate == stored


@pytest.mark.parametrize(("change", "expected"), [
    ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ({"video__bogus": 1}, "video.bogus: Extra inputs are not permitted"),
    ({"video__scan": "interlaced"}, "'progressive', 'tff' or 'bff'"),
    ({"video__reframe": "stretch"}, "'none', 'pad', 'crop' or 'blur-pad'"),
    ({"video__crf": 99}, "video.crf"),
    ({"video__width": 8}, "video.width"),
    ({"video__gop": 48, "video__gop_s": 2}, "not both"),
    ({"loudness__standard": "R128"}, "'EBU R128', 'ATSC A/85' or 'streaming'"),
    ({"loudness__true_peak": 1}, "loudness.true_peak"),
    ({"max_duration_s": 0}, "max_duration_s"),
    ({"category": "cinema"}, "'broadcast', 'web', 'social' or 'audio'"),
    ({"category": "broadcast"}, "does not match the preset's folder 'web'"),
    ({"ladder": [{"codec": "h264"}]}, "only an hls preset has a ladder"),
    ({"container": "hls", "ladder": [{"codec": "h264", "height": 480}]}, "ladder[0] must be the top rung"),
    ({"name": "web/other"}, "multiple values for keyword argument 'name'"),
])
def test_invalid_values_name_the_field(tmp_path: Path, change: dict[str, object], expected: str):
    message = load_broken(tmp_path, "web/broken", edited(**change))
    assert expected in message


def test_one_bad_file_stops_the_load_and_is_named(tmp_path: Path):
    write(tmp_path, "web/good", VALID)
    write(tmp_path, "web/zz-bad", edited(video__codec="h265x"))
    with pytest.raises(ConfigError, match=r"zz-bad\.yaml"):
        load_presets(tmp_path)
    assert isinstance(load_preset("web/good", tmp_path), Preset)


def test_unknown_preset_lists_the_known_ones(tmp_path: Path):
    write(tmp_path, "web/good", VALID)
    with pytest.raises(ConfigError, match=r"no preset 'web/nope'; known: web/good"):
        load_preset("web/nope", tmp_path)


def test_unreadable_preset(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read preset"):
        parse_preset(tmp_path / "web" / "missing.yaml", "web/missing")


def test_presets_dir_is_the_package_data_folder():
    assert PRESETS_DIR.name == "presets" and (PRESETS_DIR / "__init__.py").is_file()
    assert {path.parent.name for path in FILES.values()} == set(CATEGORIES)
