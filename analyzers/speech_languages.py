"""Which language is spoken where: found per stretch of speech, so footage that switches language (an interview
that changes language, a programme with a foreign-language insert) is transcribed in each language it holds.

    runs = language_runs(audio, detect)        # audio: 16 kHz mono float32 of one chunk
    [(r.language, r.start_s, r.end_s) for r in runs]

Speech is found with Silero VAD (faster-whisper's): stretches of at most ``STRETCH_S`` seconds, split at pauses of
``PAUSE_MS`` or more. ``detect`` (the multilingual model's ``detect_language``) names the language of each window of
up to ``WINDOW_S`` of speech (one model pass, the cost of a detection whatever its length); a window detected less
surely than ``VERY_SURE``, or unlike its neighbour, may hold two languages and is looked at stretch by stretch. A
stretch with less than ``MIN_SPEECH_S`` of speech, or whose language is not detected surely (under ``SURE``), keeps
the language around it. Consecutive stretches in one language make a run; the runs cover the whole chunk, each
boundary in the middle of the pause between two languages.

Measured (TOOLCHAIN.md): on an English-then-German reading, one detection over the whole file turned the German
into an English translation; per stretch, each half was found and transcribed in its own language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LanguageRun", "Stretch", "language_runs", "speech_stretches"]

SAMPLE_RATE = 16_000
STRETCH_S = 15.0
PAUSE_MS = 500
MIN_SPEECH_S = 1.0
SURE = 0.5
#: One detection covers up to this much speech (Whisper's 30 s window: a shorter one costs the same)
WINDOW_S = 30.0
#: A window detected less surely than this, or unlike a neighbour, is looked at stretch by stretch
VERY_SURE = 0.8

#: the (language code, probability) of some speech
Detect = Callable[["np.ndarray"], tuple[str, float]]


@dataclass(frozen=True, slots=True)
class Stretch:
    """Speech from ``start_s`` to ``end_s`` (seconds from the chunk's start), and its language once detected."""

    start_s: float
    end_s: float
    language: str | None = None
    probability: float = 0.0


@dataclass(frozen=True, slots=True)
class LanguageRun:
    """``[start_s, end_s)`` of the chunk in one ``language`` (None: no speech in the whole chunk); ``probability``
    is the mean of its stretches' detections weighted by their length; ``speech_s`` how much speech it holds."""

    language: str | None
    start_s: float
    end_s: float
    probability: float
    speech_s: float


def speech_stretches(audio: np.ndarray) -> list[Stretch]:
    """Stretches of speech of at most STRETCH_S, split at pauses of PAUSE_MS or more (Silero VAD)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=PAUSE_MS, max_speech_duration_s=STRETCH_S, speech_pad_ms=100)
    return [Stretch(chunk["start"] / SAMPLE_RATE, chunk["end"] / SAMPLE_RATE)
            for chunk in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)]


def language_runs(audio: np.ndarray, detect: Detect) -> list[LanguageRun]:
    """The chunk ``audio`` cut into runs of one language each (see the module's docstring)."""
    duration = audio.size / SAMPLE_RATE
    stretches = speech_stretches(audio)

    def detect_speech(group: list[Stretch]) -> tuple[str, float]:
        return detect(np.concatenate([audio[int(s.start_s * SAMPLE_RATE):int(s.end_s * SAMPLE_RATE)] for s in group]))

    windows = _windows(stretches)
    found = [detect_speech(window) if _speech(window) >= MIN_SPEECH_S else (None, 0.0) for window in windows]
    labelled: list[Stretch] = []
    for i, (window, (code, probability)) in enumerate(zip(windows, found, strict=True)):
        neighbours = {found[j][0] for j in (i - 1, i + 1) if 0 <= j < len(found) and found[j][1] >= SURE}
        mixed = probability < VERY_SURE or bool(neighbours - {code})
        for stretch in window:
            if mixed and len(window) > 1 and stretch.end_s - stretch.start_s >= MIN_SPEECH_S:
                own, sure = detect_speech([stretch])  # look at each stretch of a window that may hold two languages
                labelled.append(Stretch(stretch.start_s, stretch.end_s, own, float(sure)))
            else:
                labelled.append(Stretch(stretch.start_s, stretch.end_s, code, float(probability)))
    return _runs(_settle(labelled), duration)


def _speech(stretches: list[Stretch]) -> float:
    return sum(s.end_s - s.start_s for s in stretches)


def _windows(stretches: list[Stretch]) -> list[list[Stretch]]:
    """Consecutive stretches grouped into at most WINDOW_S of speech each: one detection a window."""
    windows: list[list[Stretch]] = []
    for stretch in stretches:
        if windows and _speech(windows[-1]) + stretch.end_s - stretch.start_s <= WINDOW_S:
            windows[-1].append(stretch)
        else:
            windows.append([stretch])
    return windows


def _settle(stretches: list[Stretch]) -> list[Stretch]:
    """Every stretch with a language: an unsure or undetected one takes the language before it (or, at the start,
    the first sure one after it)."""
    sure = [s for s in stretches if s.language is not None and s.probability >= SURE]
    fallback = sure[0].language if sure else next((s.language for s in stretches if s.language), None)
    settled, current = [], fallback
    for stretch in stretches:
        if stretch.language is not None and stretch.probability >= SURE:
            current = stretch.language
            settled.append(stretch)
        else:
            settled.append(Stretch(stretch.start_s, stretch.end_s, current, stretch.probability))
    return settled


def _runs(stretches: list[Stretch], duration: float) -> list[LanguageRun]:
    if not stretches or stretches[0].language is None:
        return [LanguageRun(None, 0.0, duration, 0.0, sum(s.end_s - s.start_s for s in stretches))]
    groups: list[list[Stretch]] = []
    for stretch in stretches:
        if groups and groups[-1][-1].language == stretch.language:
            groups[-1].append(stretch)
        else:
            groups.append([stretch])
    runs = []
    for i, group in enumerate(groups):
        start = 0.0 if i == 0 else (groups[i - 1][-1].end_s + group[0].start_s) / 2
        end = duration if i == len(groups) - 1 else (group[-1].end_s + groups[i + 1][0].start_s) / 2
        speech = sum(s.end_s - s.start_s for s in group)
        weighted = sum((s.end_s - s.start_s) * s.probability for s in group)
        runs.append(LanguageRun(group[0].language, start, end, weighted / speech if speech else 0.0, speech))
    return runs
