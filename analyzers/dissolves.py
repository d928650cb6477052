"""Gradual transitions found as they happen: a dissolve is a picture that turns into another by blending.

    finder = DissolveFinder()
    for time_s, bgr in frames:        # the frames the shot finder sees
        finder.add(time_s, bgr)
    finder.found()                    # [Transition("dissolve" | "fade", start_s, end_s)]

Over a window of ``k`` frames with ends A and B far apart, the frames between are blends of the two: the middle one
is (A + B) / 2, the quarter points 3/4 A + 1/4 B and 1/4 A + 3/4 B. Fast motion also takes A far from B but its
middle frame is a moved picture, not a blend of the ends (a pan's average of two positions is a double image), so
the test is made on small area-averaged pictures (cheap, and a random-pixel dissolve averages into a blend) and
confirmed at twice their size, where moving detail no longer blends. When A and B are one picture at two
brightnesses, or one end is black, it is a ``fade``. These are reports for the editor: they never make or remove
a cut.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import cv2
import numpy as np

__all__ = ["DissolveFinder", "Gradual", "pattern_correlation"]

SPANS = (8, 16, 24)  # window lengths tried, in frames
FAR = 25.0  # mean difference (0..255) between the ends for a window to be a transition
BLEND = 0.2  # the middle and quarter frames must be within this fraction of FAR-scale of the blend
CONFIRM_BLEND = 0.25
DARK = 16.0
SAME_PATTERN = 0.9
_SMALL = 48
_CONFIRM = 96


class Gradual(NamedTuple):
    kind: str  # "dissolve" or "fade"
    start_s: float
    end_s: float


class _Picture(NamedTuple):
    time_s: float
    small: np.ndarray  # uint8, _SMALL wide, area-averaged
    frame: np.ndarray  # the frame as given: shrunk to _CONFIRM wide only when a window needs confirming

    @property
    def value(self) -> float:
        """Mean brightness (HSV value), 0..255."""
        return float(self.small.max(axis=2).mean())


class _Span(NamedTuple):
    """Overlapping blending windows merged: their first and last pictures and the darkest one between."""

    first: _Picture
    last: _Picture
    darkest: float


class DissolveFinder:
    def __init__(self) -> None:
        self._ring: deque[_Picture] = deque(maxlen=max(SPANS) + 1)
        self._spans: list[_Span] = []

    def add(self, time_s: float, bgr: np.ndarray) -> None:
        small = _shrink(bgr, _SMALL)
        self._ring.append(_Picture(time_s, small, bgr))
        for span in SPANS:
            if len(self._ring) > span and self._blend(span):
                window = list(self._ring)[-1 - span:]
                self._note(_Span(window[0], window[-1], min(p.value for p in window)))
                break

    def found(self) -> list[Gradual]:
        """The transitions seen so far: a ``fade`` when it passes through black or stays one picture."""
        return [Gradual(_kind(span), span.first.time_s, span.last.time_s) for span in self._spans]

    def _blend(self, span: int) -> bool:
        ring = self._ring
        first, last = ring[-1 - span], ring[-1]
        if cv2.norm(first.small, last.small, cv2.NORM_L1) < FAR * first.small.size:
            return False
        points = [(ring[-1 - span + round(span * share)], share) for share in (0.25, 0.5, 0.75)]
        for size, limit in ((_SMALL, BLEND), (_CONFIRM, CONFIRM_BLEND)):
            def picture(p: _Picture, size: int = size) -> np.ndarray:
                return (p.small if size == _SMALL else _shrink(p.frame, _CONFIRM)).astype(np.float32)

            a, b = picture(first), picture(last)
            scale = float(np.abs(a - b).mean())
            for middle, share in points:
                expected = a * (1 - share) + b * share
                if float(np.abs(picture(middle) - expected).mean()) > limit * scale:
                    return False
        return True

    def _note(self, span: _Span) -> None:
        if self._spans and span.first.time_s <= self._spans[-1].last.time_s:
            last = self._spans[-1]
            first = last.first if last.first.time_s <= span.first.time_s else span.first
            self._spans[-1] = _Span(first, span.last, min(last.darkest, span.darkest))
        else:
            self._spans.append(span)


def _shrink(bgr: np.ndarray, width: int) -> np.ndarray:
    height, source_width = bgr.shape[:2]
    return cv2.resize(bgr, (width, max(1, round(height * width / source_width))), interpolation=cv2.INTER_AREA)


def _kind(span: _Span) -> str:
    """``fade`` when it passes through black or both ends are one picture at two brightnesses; else ``dissolve``."""
    if span.darkest < DARK:
        return "fade"
    alike = pattern_correlation(span.first.small.mean(axis=2), span.last.small.mean(axis=2))
    return "fade" if alike >= SAME_PATTERN else "dissolve"


def pattern_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two brightness pictures' patterns of light and dark are, whatever their brightness (-1..1)."""
    x, y = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    x, y = x - x.mean(), y - y.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / norm if norm > 0 else 0.0
