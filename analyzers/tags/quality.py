"""``quality``: black-frame and blur flags, no model.

* ``black``: mean luma below ``BLACK_MEAN`` (16/255, video black level) and luma standard deviation below
  ``BLACK_STD``, so a dark but detailed night shot is not black.
* ``sharpness``: variance of the Laplacian of the luma, computed after resizing the frame to
  ``NORM_WIDTH`` pixels wide so the value does not depend on the resolution.
* ``blurry``: ``sharpness`` below ``BLUR_THRESHOLD``, and not black (a black frame has no edges to judge).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ._frame import Frame

__all__ = ["QualityTagger", "laplacian_variance"]

BLACK_MEAN = 16.0
BLACK_STD = 8.0
NORM_WIDTH = 640
BLUR_THRESHOLD = 100.0


def laplacian_variance(luma: np.ndarray, width: int = NORM_WIDTH) -> float:
    """Variance of the Laplacian of a ``H x W`` uint8 image resized to ``width`` pixels wide."""
    height = max(1, round(luma.shape[0] * width / luma.shape[1]))
    resized = cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(resized, cv2.CV_64F).var())


class QualityTagger:
    """Black and blurry flags plus a resolution-independent sharpness value."""

    name = "quality"

    def __init__(self, blur_threshold: float = BLUR_THRESHOLD) -> None:
        self.blur_threshold = blur_threshold

    def tag(self, frame: Frame) -> dict[str, Any]:
        luma = frame.luma
        black = float(luma.mean()) < BLACK_MEAN and float(luma.std()) < BLACK_STD
        sharpness = laplacian_variance(luma)
        return {
            "black": black,
            "blurry": not black and sharpness < self.blur_threshold,
            "sharpness": round(sharpness, 2),
        }
