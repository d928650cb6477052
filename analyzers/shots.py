"""Shot cuts from a stream of small frames, found by PySceneDetect's detectors and judged like an editor would.

    finder = ShotFinder(ShotOptions())          # adaptive by default
    for time_s, bgr in frames:                   # small BGR frames (192 wide), in display order
        finder.add(time_s, bgr)
    shots = finder.finish()                      # shots.cuts: [Cut(time_s, score)], shots.transitions

The frames come from the pass that already decodes the picture (the proxy transcode: see
:mod:`analyzers.picture`), so the original is decoded once. A PySceneDetect detector
(``adaptive``, ``content``, ``threshold``, ``hash`` or ``histogram``) proposes cuts; then:

- **Repeated frames** (a 10.5 fps phone clip brought to 25 fps, pulldown, animation on twos, an encoder starved
  of bits) are not shown to the detector while they repeat at most ``MAX_REPEATS`` times: a change after a few
  identical frames would otherwise look like a sudden jump. A longer run (a still shot) is shown as it is.
- **The edges count**: the adaptive detector also judges the first and last frames of the clip against the
  neighbours they have, so a shot of a few frames at the start or the end is found.
- **Flashes** (a photographer's flash, a white frame): two cuts closer than ``min_shot_s`` with the same
  picture before and after, the frames between differing mostly in brightness, are a flash, not two cuts.
- **Dips through black**: a proposal beside a near-black frame whose other side ramps towards black (or is
  black too) is part of a fade, not a cut. A hard cut into or out of black is still a cut.
- **Gradual transitions** are reported, never cut: dissolves and fades (:mod:`analyzers.dissolves`).
- **One-frame shots** are detector noise (a blended frame at a cut): of two cuts on consecutive frames the
  stronger is kept. Any shot of two frames or more between two different pictures is kept: a short shot is
  a real shot.

A cut's score is how much the picture changes across it (mean HSV difference, 0..255), the same measure
PySceneDetect's content detector uses.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import cv2
import numpy as np

from analyzers.dissolves import DissolveFinder, pattern_correlation
from rushes.errors import ConfigError

if TYPE_CHECKING:
    from scenedetect.common import FrameTimecode

__all__ = ["DEFAULT_SHOTS", "DETECTORS", "Cut", "ShotFinder", "ShotOptions", "Shots", "Transition", "default_threshold"]

#: The detector's own threshold when none is set: PySceneDetect's defaults, except adaptive (its 3.0 and minimum
#: content of 15 miss cuts next to a busy shot, e.g. out of noise; on tests/shot_clips.py every threshold from 1.7 to
#: 2.3 finds every cut and nothing else, 1.5 takes a fire's flicker for a cut, 2.6 misses a cut into noise).
DETECTORS: dict[str, float] = {"adaptive": 2.0, "content": 27.0, "threshold": 12.0, "hash": 0.35, "histogram": 0.2}
ADAPTIVE_MIN_CONTENT = 10.0
#: A frame this close to the one before (mean absolute BGR difference, 0..255) repeats it; so does one that
#: changes less than REPEAT_FRACTION of the largest change of the 8 frames before it (a starved encoder's repeats
#: of a noisy picture differ by ~2 where the picture's own changes are ~17).
REPEAT_DIFFERENCE = 1.5
REPEAT_FRACTION = 0.2
MAX_REPEATS = 4
#: Near black: mean HSV value under this (of 255).
DARK = 16.0
#: Pictures this close (mean HSV difference) are the same picture (before and after a flash).
SAME_PICTURE = 12.0
#: Pictures whose brightness patterns correlate this well are one picture made brighter or darker (a fade step).
SAME_PATTERN = 0.9
#: The frames of a flash differ from the picture around them by at least this much in brightness (of 255).
FLASH_BRIGHTNESS = 20.0
_SIGNATURE_WIDTH = 64
_RAMP_FRAMES = 3
_MEMORY = 16  # frames whose signatures are kept: more than any detector's delay in reporting a cut


def default_threshold(detector: str) -> float:
    try:
        return DETECTORS[detector]
    except KeyError:
        raise ValueError(f"unknown shot detector {detector!r}: choose one of {', '.join(DETECTORS)}") from None


@dataclass(frozen=True, slots=True)
class ShotOptions:
    """Which detector, how sensitive (its own threshold: lower finds more), and the flash/noise window."""

    detector: str = "adaptive"
    threshold: float | None = None  # None: the detector's default (DETECTORS)
    min_shot_s: float = 0.5

    def __post_init__(self) -> None:
        default_threshold(self.detector)
        if self.threshold is not None and self.threshold <= 0:
            raise ValueError(f"the {self.detector} threshold must be positive, got {self.threshold}")
        if self.min_shot_s < 0:
            raise ValueError(f"min_shot_s must not be negative, got {self.min_shot_s}")

    @property
    def effective_threshold(self) -> float:
        return self.threshold if self.threshold is not None else DETECTORS[self.detector]


DEFAULT_SHOTS = ShotOptions()


class Cut(NamedTuple):
    """A hard cut: the time of the first frame after it, and how much the picture changes across it (0..255)."""

    time_s: float
    score: float


@dataclass(frozen=True, slots=True)
class Transition:
    """Something that is not a cut, from ``start_s`` to ``end_s``: a ``flash``, a ``dip`` through black, a ``fade``
    (one picture getting brighter or darker, or through black) or a ``dissolve`` (one picture blending into another:
    :mod:`analyzers.dissolves`)."""

    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Shots:
    cuts: list[Cut]
    transitions: list[Transition] = field(default_factory=list)
    frames: int = 0
    detector: str = "adaptive"
    threshold: float = DETECTORS["adaptive"]

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "threshold": self.threshold, "frames": self.frames,
                "cuts": [c._asdict() for c in self.cuts], "transitions": [asdict(t) for t in self.transitions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shots:
        return cls(cuts=[Cut(float(c["time_s"]), float(c["score"])) for c in data["cuts"]],
                   transitions=[Transition(**t) for t in data.get("transitions", [])],
                   frames=int(data.get("frames", 0)), detector=str(data.get("detector", "adaptive")),
                   threshold=float(data.get("threshold", DETECTORS["adaptive"])))


class _Frame(NamedTuple):
    number: int  # in the whole stream, repeated frames included
    time_s: float
    hsv: np.ndarray  # the signature: HSV, _SIGNATURE_WIDTH wide
    value: float  # mean brightness (HSV value), 0..255


@dataclass(slots=True)
class _Proposal:
    index: int  # of the first frame after the cut, in the frames shown to the detector
    before: _Frame
    after: _Frame
    score: float


class ShotFinder:
    """Feed frames with :meth:`add`, then :meth:`finish` once. Not thread-safe: one feeder."""

    def __init__(self, options: ShotOptions = DEFAULT_SHOTS, *, rate: float = 25.0) -> None:
        self.options = options
        try:
            from scenedetect.common import FrameTimecode

            from analyzers.shot_detectors import make_detector
        except ImportError as exc:
            raise ConfigError("shot detection needs PySceneDetect: install it without its opencv-python dependency "
                              "(opencv-python-headless provides cv2): pip install --no-deps scenedetect==0.7.2 "
                              f"(make venv does) [{exc}]") from exc
        self._detector = make_detector(options.detector, options.effective_threshold, ADAPTIVE_MIN_CONTENT)
        self._frame_timecode = FrameTimecode
        self._rate = rate  # only labels FrameTimecodes: times come from the frames themselves
        self._shown: list[float] = []  # brightness of every frame shown to the detector, by index
        self._times: list[float] = []
        self._recent: deque[tuple[int, _Frame]] = deque(maxlen=_MEMORY)
        self._proposals: list[_Proposal] = []
        self._last: np.ndarray | None = None
        self._held: list[tuple[int, float, np.ndarray]] = []  # repeated frames not shown (yet)
        self._still = False
        self._differences: deque[float] = deque(maxlen=8)
        self._gradual = DissolveFinder()
        self._count = 0

    def add(self, time_s: float, bgr: np.ndarray) -> None:
        self._count += 1
        last, self._last = self._last, bgr
        if last is not None and last.shape == bgr.shape and self._repeats(cv2.norm(bgr, last, cv2.NORM_L1) / bgr.size):
            if self._still:
                self._show(self._count, time_s, bgr)
                return
            self._held.append((self._count, time_s, bgr))
            if len(self._held) > MAX_REPEATS:  # a still shot, not a repeated frame: show it as it is
                self._still = True
                for held in self._held:
                    self._show(*held)
                self._held.clear()
            return
        self._held.clear()
        self._still = False
        self._show(self._count, time_s, bgr)

    def _repeats(self, difference: float) -> bool:
        """Whether a frame this different from the last repeats it: nearly identical, or (a starved encoder's
        repeat) a small fraction of the changes just before it."""
        recent = max(self._differences, default=0.0)
        self._differences.append(difference)
        return difference < max(REPEAT_DIFFERENCE, REPEAT_FRACTION * recent)

    def finish(self) -> Shots:
        for held in self._held:
            self._show(*held)
        self._held.clear()
        if self._times:
            self._take(self._detector.post_process(self._timecode(len(self._times) - 1)))
        cuts, transitions = self._judge()
        gradual = [Transition(*g) for g in self._gradual.found()]
        inside = [t for t in transitions  # a fade step or dip already within a gradual transition is part of it
                  if t.kind != "flash" and any(g.start_s <= t.start_s and t.end_s <= g.end_s for g in gradual)]
        transitions = sorted([t for t in transitions if t not in inside] + gradual, key=lambda t: t.start_s)
        return Shots(cuts=cuts, transitions=transitions, frames=self._count, detector=self.options.detector,
                     threshold=self.options.effective_threshold)

    # ------------------------------------------------------------------ feeding the detector

    def _show(self, number: int, time_s: float, bgr: np.ndarray) -> None:
        index = len(self._times)
        step = max(1, bgr.shape[1] // _SIGNATURE_WIDTH)
        hsv = cv2.cvtColor(np.ascontiguousarray(bgr[::step, ::step]), cv2.COLOR_BGR2HSV)  # every step-th pixel
        frame = _Frame(number, time_s, hsv, float(hsv[:, :, 2].mean()))
        self._times.append(time_s)
        self._shown.append(frame.value)
        self._recent.append((index, frame))
        self._gradual.add(time_s, bgr)
        self._take(self._detector.process_frame(self._timecode(index), bgr))

    def _timecode(self, index: int) -> FrameTimecode:
        return self._frame_timecode(index, self._rate)

    def _take(self, found: list[FrameTimecode]) -> None:
        if not found:  # the usual case, once a frame
            return
        frames = dict(self._recent)
        for timecode in found:
            index = timecode.frame_num
            before, after = frames.get(index - 1), frames.get(index)
            if index <= 0 or before is None or after is None:
                continue  # the first frame cannot start a new shot
            self._proposals.append(_Proposal(index, before, after, _distance(before, after)))

    # ------------------------------------------------------------------ judging the proposals

    def _judge(self) -> tuple[list[Cut], list[Transition]]:
        transitions: list[Transition] = []
        proposals: list[_Proposal] = []
        for proposal in sorted(self._proposals, key=lambda p: p.index):
            kind = self._transition(proposal) if self.options.detector != "threshold" else None
            if kind is not None:
                transitions.append(Transition(kind, proposal.before.time_s, proposal.after.time_s))
            else:
                proposals.append(proposal)
        kept: list[_Proposal] = []
        for proposal in proposals:
            previous = kept[-1] if kept else None
            if previous is None or proposal.after.time_s - previous.after.time_s >= self.options.min_shot_s - 1e-6:
                kept.append(proposal)
            elif _is_flash(previous, proposal):
                kept.pop()
                transitions.append(Transition("flash", previous.after.time_s, proposal.after.time_s))
            elif proposal.after.number - previous.after.number <= 1:  # a one-frame shot: noise around one cut
                if proposal.score > previous.score:
                    kept[-1] = proposal
            else:
                kept.append(proposal)  # a short shot between two different pictures
        return [Cut(p.after.time_s, round(p.score, 2)) for p in kept], sorted(transitions, key=lambda t: t.start_s)

    def _transition(self, proposal: _Proposal) -> str | None:
        """``dip``: beside a near-black frame, the other side ramping towards black (or black too); ``fade``: the
        same picture (its pattern of light and dark kept) getting steadily brighter or darker; else None (a cut)."""
        before, after = proposal.before.value, proposal.after.value
        if min(before, after) < DARK:
            if max(before, after) < DARK:
                return "dip"
            if before < after:  # out of black: the frames after must brighten steadily
                ramp = self._shown[proposal.index:proposal.index + _RAMP_FRAMES]
            else:  # into black: the frames before must darken steadily
                ramp = self._shown[max(0, proposal.index - _RAMP_FRAMES):proposal.index][::-1]
            return "dip" if len(ramp) == _RAMP_FRAMES and _rising(ramp) else None
        if _correlation(proposal.before, proposal.after) < SAME_PATTERN:
            return None
        across = after - before
        later = self._shown[proposal.index:proposal.index + _RAMP_FRAMES + 1]  # a fade under way goes on
        earlier = self._shown[max(0, proposal.index - 1 - _RAMP_FRAMES):proposal.index]  # or was going on
        for values in (later, earlier):
            steps = [b - a for a, b in zip(values, values[1:], strict=False)]
            # as steep as the step across (a jump cut inside a slowly darkening shot jumps further than it ramps)
            if len(steps) == _RAMP_FRAMES and all(step * across > 0 and abs(step) >= abs(across) / 2 for step in steps):
                return "fade"
        return None


def _rising(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:], strict=False))


def _correlation(a: _Frame, b: _Frame) -> float:
    """How alike the two pictures' patterns of light and dark are, whatever their brightness (-1..1)."""
    return pattern_correlation(a.hsv[:, :, 2], b.hsv[:, :, 2]) if a.hsv.shape == b.hsv.shape else 0.0


def _is_flash(first: _Proposal, second: _Proposal) -> bool:
    """The same picture before the first cut and after the second, the frames between brighter or darker."""
    same = _distance(first.before, second.after) < SAME_PICTURE
    around = (first.before.value + second.after.value) / 2
    return same and abs(first.after.value - around) >= FLASH_BRIGHTNESS


def _distance(a: _Frame, b: _Frame) -> float:
    if a.hsv.shape != b.hsv.shape:
        return 255.0
    return float(cv2.absdiff(a.hsv, b.hsv).reshape(-1, 3).mean(axis=0).mean())
