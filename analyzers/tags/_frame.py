"""One decoded keyframe, shared by every tagger of one ``tag_image`` call."""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from rushes.errors import MediaError

__all__ = ["Frame", "open_frame"]


class Frame:
    """An RGB image with the array views the taggers need, each computed once."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image

    @cached_property
    def rgb(self) -> np.ndarray:
        """``H x W x 3`` uint8, RGB order."""
        return np.asarray(self.image, dtype=np.uint8)

    @cached_property
    def bgr(self) -> np.ndarray:
        """``H x W x 3`` uint8, BGR order (OpenCV), contiguous."""
        return np.ascontiguousarray(self.rgb[:, :, ::-1])

    @cached_property
    def luma(self) -> np.ndarray:
        """``H x W`` uint8, ITU-R 601 luma (PIL's ``L`` mode)."""
        return np.asarray(self.image.convert("L"), dtype=np.uint8)


def open_frame(path: str | os.PathLike[str]) -> Frame:
    """Read an image file, honour its EXIF orientation, convert to RGB; ``MediaError`` if it is not an image."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(f"cannot read image {os.fspath(path)!r}: {exc}") from exc
    return Frame(image)
