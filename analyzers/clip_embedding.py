"""Text-to-picture ("describe the picture"): an image-text model (CLIP family) run from a local folder with
onnxruntime. No CLIP weights ship in a package this project can install (every CLIP package downloads from a model
hub at run time), so this is a plug-in point: ``RUSHES_CLIP_MODEL`` names a folder, and nothing is downloaded.

The folder is laid out as the OpenCLIP ONNX exports made for Immich are (e.g. ``ViT-B-32__openai``, fetched on a
machine that can reach the hub and copied here)::

    config.json                      {"embed_dim": 512, "text_cfg": {"context_length": 77, ...}, ...}
    visual/model.onnx                image tower: "image" float32 N x 3 x S x S -> N x embed_dim
    visual/preprocess_cfg.json       {"size": [224, 224], "mean": [...], "std": [...], "interpolation": "bicubic",
                                      "resize_mode": "shortest"}
    textual/model.onnx               text tower: "text" int32/int64 N x context_length -> N x embed_dim
                                     (or "input_ids" + "attention_mask", as M-CLIP's)
    textual/tokenizer.json           its tokenizer (Hugging Face ``tokenizers`` format)
    textual/tokenizer_config.json    {"pad_token": "<|endoftext|>", ...}

A keyframe is resized so its shorter side is ``size`` and centre-cropped ("shortest"), or squashed ("squash"),
then scaled to 0-1 and normalised by ``mean``/``std``. Both towers' outputs are L2-normalised: the cosine of a
picture and a description is their dot product, ranked by the same vector index as "shots like this".
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from analyzers.onnx_session import cpu_session
from analyzers.picture_embedding import open_picture
from rushes.errors import ConfigError

__all__ = ["ClipModel", "load_clip"]

RESAMPLING = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
              "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS}
LAYOUT = ("config.json, visual/model.onnx, visual/preprocess_cfg.json, textual/model.onnx, textual/tokenizer.json "
          "and textual/tokenizer_config.json (an OpenCLIP ONNX export as made for Immich)")


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"CLIP model: {path} is missing; the folder needs {LAYOUT}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"CLIP model: {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"CLIP model: {path} must hold a JSON object")
    return data


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class ClipModel:
    """Pictures and descriptions in, unit vectors in one space out."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.folder = folder
        config = _json(folder / "config.json")
        pre = _json(folder / "visual" / "preprocess_cfg.json")
        tokenizer_cfg = _json(folder / "textual" / "tokenizer_config.json")
        size = pre.get("size", 224)
        self.size = int(size[0] if isinstance(size, list) else size)
        try:
            self.mean = np.asarray(pre.get("mean", [0.48145466, 0.4578275, 0.40821073]), dtype=np.float32)
            self.std = np.asarray(pre.get("std", [0.26862954, 0.26130258, 0.27577711]), dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"CLIP model: mean/std in {folder / 'visual' / 'preprocess_cfg.json'}: {exc}") from None
        interpolation = str(pre.get("interpolation", "bicubic"))
        if interpolation not in RESAMPLING:
            raise ConfigError(f"CLIP model: interpolation {interpolation!r} in preprocess_cfg.json is not one of "
                              f"{', '.join(RESAMPLING)}")
        self.resampling = RESAMPLING[interpolation]
        self.resize_mode = str(pre.get("resize_mode", "shortest"))
        if self.resize_mode not in ("shortest", "squash"):
            raise ConfigError(f"CLIP model: resize_mode {self.resize_mode!r} in preprocess_cfg.json is not "
                              f"'shortest' or 'squash'")
        self.context_length = int((config.get("text_cfg") or {}).get("context_length", 77))
        self.visual = self._session(folder / "visual" / "model.onnx", threads)
        self.textual = self._session(folder / "textual" / "model.onnx", threads)
        self.tokenizer = self._tokenizer(folder / "textual" / "tokenizer.json", tokenizer_cfg)
        self._image_input = self.visual.get_inputs()[0].name
        text_inputs = {i.name: i for i in self.textual.get_inputs()}
        self._text_names = [name for name in ("text", "input_ids", "attention_mask") if name in text_inputs]
        if not self._text_names:
            self._text_names = [next(iter(text_inputs))]
        self._text_types = {name: np.int64 if "int64" in text_inputs[name].type else np.int32
                            for name in self._text_names}
        self.dim = int(self.embed_text(["a picture"]).shape[1])
        picture_dim = int(self._run_visual(np.zeros((1, 3, self.size, self.size), dtype=np.float32)).shape[1])
        if picture_dim != self.dim:
            raise ConfigError(f"CLIP model {folder}: the image tower gives {picture_dim} values and the text tower "
                              f"{self.dim}: they must share one space")
        digest = hashlib.sha256()
        for part in ("visual/model.onnx", "textual/model.onnx"):  # size and head: cheap, and a new export differs
            with open(folder / part, "rb") as handle:
                digest.update((folder / part).stat().st_size.to_bytes(8, "little") + handle.read(1 << 20))
        self.name = f"clip:{folder.name}:{digest.hexdigest()[:8]}"  # a changed model is re-embedded

    @staticmethod
    def _session(path: Path, threads: int) -> Any:
        if not path.is_file():
            raise ConfigError(f"CLIP model: {path} is missing; the folder needs {LAYOUT}")
        try:
            return cpu_session(path, threads)
        except Exception as exc:  # onnxruntime raises its own types
            raise ConfigError(f"CLIP model: cannot load {path}: {exc}") from None

    def _tokenizer(self, path: Path, cfg: dict[str, Any]) -> Any:
        from tokenizers import Tokenizer

        if not path.is_file():
            raise ConfigError(f"CLIP model: {path} is missing; the folder needs {LAYOUT}")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception
            raise ConfigError(f"CLIP model: cannot read the tokenizer {path}: {exc}") from None
        pad = cfg.get("pad_token")
        if isinstance(pad, dict):  # {"content": "<pad>", ...}
            pad = pad.get("content")
        pad_id = tokenizer.token_to_id(pad) if isinstance(pad, str) else None
        if pad_id is None:
            raise ConfigError(f"CLIP model: pad_token {pad!r} of tokenizer_config.json is not in {path}")
        tokenizer.enable_padding(length=self.context_length, pad_id=pad_id, pad_token=pad)
        tokenizer.enable_truncation(max_length=self.context_length)
        return tokenizer

    # ------------------------------------------------------------------------------------------------ pictures

    def preprocess(self, image: Image.Image) -> np.ndarray:
        if self.resize_mode == "squash":
            image = image.resize((self.size, self.size), self.resampling)
        else:
            scale = self.size / min(image.size)
            width, height = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
            image = image.resize((width, height), self.resampling)
            left, top = (width - self.size) // 2, (height - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        return np.ascontiguousarray(((array - self.mean) / self.std).transpose(2, 0, 1))

    def _run_visual(self, batch: np.ndarray) -> np.ndarray:
        return _unit(self.visual.run(None, {self._image_input: batch.astype(np.float32)})[0])

    def embed(self, images: Sequence[Image.Image | str | os.PathLike[str]]) -> np.ndarray:
        """``len(images) x dim`` unit rows (the picture side); ``MediaError``: not an image."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._run_visual(self.preprocess(open_picture(item, self.size))[None])
                               for item in images])

    # ------------------------------------------------------------------------------------------------ words

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """``len(texts) x dim`` unit rows (the description side)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = []
        for text in texts:
            encoding = self.tokenizer.encode(" ".join(text.lower().split()))
            values = {"text": encoding.ids, "input_ids": encoding.ids, "attention_mask": encoding.attention_mask}
            feeds = {name: np.asarray([values.get(name, encoding.ids)], dtype=self._text_types[name])
                     for name in self._text_names}
            rows.append(_unit(self.textual.run(None, feeds)[0]))
        return np.concatenate(rows)

    def __repr__(self) -> str:
        return f"<ClipModel {self.name} dim={self.dim} size={self.size}>"


_LOCK = threading.Lock()


@cache
def _load(folder: Path, threads: int) -> ClipModel:
    return ClipModel(folder, threads)


def load_clip(path: str | os.PathLike[str], threads: int = 1) -> ClipModel:
    """The CLIP model in ``path`` (see the module docstring), loaded once per process; ``ConfigError`` names what
    is missing or wrong."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"RUSHES_CLIP_MODEL: {folder} is not a folder; it needs {LAYOUT}")
    with _LOCK:
        return _load(folder, threads)
