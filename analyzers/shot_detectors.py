"""PySceneDetect's detectors as :class:`analyzers.shots.ShotFinder` uses them (imported only when one is made, so a
missing PySceneDetect is a clear error there, not an import failure of the whole farm)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scenedetect import AdaptiveDetector, ContentDetector, HashDetector, HistogramDetector, ThresholdDetector
from scenedetect.common import FrameTimecode
from scenedetect.detector import SceneDetector

__all__ = ["make_detector"]


class _EdgeAdaptive(AdaptiveDetector):
    """PySceneDetect's adaptive detector, also judging the first and last ``window_width`` frames.

    The stock detector needs ``window_width`` scored frames on both sides of a frame before it judges it, so a
    shot of a frame or two at either end of a clip is never found; here those frames are judged against the
    neighbours they have.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scores: list[tuple[FrameTimecode, float]] = []
        self._offset = 0  # index in the whole clip of self._scores[0]
        self._judged = 0  # how many scored frames were judged

    def process_frame(self, timecode: FrameTimecode, frame_img: np.ndarray) -> list[FrameTimecode]:
        ContentDetector.process_frame(self, timecode=timecode, frame_img=frame_img)  # sets self._frame_score
        if self._frame_score is None or timecode.frame_num == 0:  # the first frame has no change to score
            return []
        self._scores.append((timecode, self._frame_score))
        found: list[FrameTimecode] = []
        while self._judged + self.window_width < self._offset + len(self._scores):
            found += self._judge(self._judged)
        return found

    def post_process(self, timecode: FrameTimecode) -> list[FrameTimecode]:
        found: list[FrameTimecode] = []
        while self._judged < self._offset + len(self._scores):
            found += self._judge(self._judged)
        return found

    def _judge(self, position: int) -> list[FrameTimecode]:
        self._judged = position + 1
        width = self.window_width
        first = max(self._offset, position - width)
        window = self._scores[first - self._offset:position + width + 1 - self._offset]
        target_timecode, target = self._scores[position - self._offset]
        others = [score for i, (_, score) in enumerate(window, first) if i != position]
        drop = max(0, position + 1 - width - self._offset)  # what no later judgement needs
        del self._scores[:drop]
        self._offset += drop
        if not others:
            return []
        average = sum(others) / len(others)
        ratio = 255.0 if average < 1e-5 else min(target / average, 255.0)
        if ratio >= self.adaptive_threshold and target >= self.min_content_val:
            return [target_timecode]
        return []


def make_detector(kind: str, threshold: float, adaptive_min_content: float) -> SceneDetector:
    """PySceneDetect's detector ``kind`` at ``threshold``, reporting every proposal (the caller judges them)."""
    makers: dict[str, Callable[[], SceneDetector]] = {
        "adaptive": lambda: _EdgeAdaptive(adaptive_threshold=threshold, min_content_val=adaptive_min_content,
                                          min_scene_len=1),
        "content": lambda: ContentDetector(threshold=threshold, min_scene_len=1),
        "threshold": lambda: ThresholdDetector(threshold=threshold, min_scene_len=1),
        "hash": lambda: HashDetector(threshold=threshold, min_scene_len=1),
        "histogram": lambda: HistogramDetector(threshold=threshold, min_scene_len=1),
    }
    return makers[kind]()
