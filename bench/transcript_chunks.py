"""Long recordings are transcribed a chunk at a time (analyzers/transcript.py, CHUNK_S = 300 s, each cut at the
quietest 0.2 s of its last 20 s): does a word get lost or doubled where a chunk ends?

Builds ``--minutes`` of speech from the two bundled recordings (tests/media/speech: JFK's 11 s and a 12 s
LibriSpeech reading, alternating, with pauses of 0.15-1.2 s between them, so the cuts fall at different places
of the speech), whose words are known, then transcribes it twice with the same model: in chunks (the default)
and in one piece (``CHUNK_S`` past the length). Prints each one's word error rate against the known words, every
recording either run did not hear word for word (by time, with the nearest cut), and for every cut the words
within 5 s of it in both transcripts, with the words one has and the other lacks.

    .venv/bin/python bench/transcript_chunks.py [--minutes 20]
"""

from __future__ import annotations

import argparse
import difflib
import re
import resource
import sys
import time
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import av  # noqa: E402
import numpy as np  # noqa: E402

from analyzers import transcript as whisper  # noqa: E402

SPEECH = HERE.parent / "tests" / "media" / "speech"
CLIPS = ("jfk", "librispeech-2412-153948-0000")
PAUSES = (0.35, 1.2, 0.15, 0.8, 0.5, 1.0, 0.25, 0.6, 0.9, 0.4, 0.2, 0.7)  # seconds after each recording
NEAR_S = 5.0
RATE = 16_000


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", text.lower())


def wer(reference: list[str], hypothesis: list[str]) -> float:
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, start=1):
        current = [i]
        for j, h in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(len(reference), 1)


def _decoded(path: Path) -> np.ndarray:
    """The recording as 16 kHz mono 16-bit samples."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(str(path)) as container:
        blocks = [out.to_ndarray().reshape(-1) for frame in [*container.decode(audio=0), None]
                  for out in resampler.resample(frame)]
    return np.concatenate(blocks)


def build(out: Path, minutes: float) -> list[tuple[float, float, list[str]]]:
    """The recording (16 kHz mono WAV) and, for each recording in it, its start and end (s) and known words."""
    samples = {name: _decoded(SPEECH / f"{name}.flac") for name in CLIPS}
    texts = {name: (SPEECH / f"{name}.txt").read_text(encoding="utf-8") for name in CLIPS}
    pieces: list[np.ndarray] = []
    reference: list[tuple[float, float, list[str]]] = []
    total, k = 0, 0
    while total < minutes * 60 * RATE:
        name = CLIPS[k % 2]
        pieces += [samples[name], np.zeros(int(PAUSES[k % len(PAUSES)] * RATE), dtype=np.int16)]
        reference.append((total / RATE, (total + samples[name].size) / RATE, words(texts[name])))
        total += pieces[-2].size + pieces[-1].size
        k += 1
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.concatenate(pieces).tobytes())
    print(f"{out.name}: {k} recordings, {total / RATE / 60:.1f} min, {sum(len(r[2]) for r in reference)} known words")
    return reference


def run(path: Path, chunk_s: float) -> tuple[whisper.Transcript, float, float]:
    whisper.CHUNK_S = chunk_s
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = whisper.transcribe(path)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result, time.perf_counter() - started, cpu


def timed_words(result: whisper.Transcript) -> list[tuple[float, str]]:
    return [(w.start_s, token) for s in result.segments for w in s.words for token in words(w.text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"speech-{args.minutes:g}min.wav"
    recordings = build(path, args.minutes)
    reference = [w for _start, _end, known in recordings for w in known]
    default_chunk = whisper.CHUNK_S
    cuts = [start for start, _audio in whisper._chunks(path, default_chunk)][1:]
    print(f"chunks of {default_chunk:.0f} s: cut at " + ", ".join(f"{c:.2f} s" for c in cuts))

    chunked, chunked_s, chunked_cpu = run(path, default_chunk)
    whole, whole_s, whole_cpu = run(path, 10 ** 9)
    a, b = timed_words(chunked), timed_words(whole)
    for label, result, took, cpu, found in (("chunked", chunked, chunked_s, chunked_cpu, a),
                                             ("one piece", whole, whole_s, whole_cpu, b)):
        print(f"{label:>10}: {len(result.segments)} segments, {len(found)} words, WER against the known words "
              f"{wer(reference, [w for _, w in found]):.3f}, {took:.0f} s wall, {cpu:.0f} s CPU")
    for start, end, known in recordings:  # each recording's words against its text, by time
        heard = {label: [w for t, w in found if start - 0.3 <= t < end + 0.3] for label, found in
                 (("chunked", a), ("one piece", b))}
        if heard["chunked"] != known or heard["one piece"] != known:
            cut = min(cuts, key=lambda c: abs(c - start)) if cuts else None
            print(f"recording at {start:8.2f}-{end:.2f} s (nearest cut {cut:.2f} s): WER chunked "
                  f"{wer(known, heard['chunked']):.3f} ({len(heard['chunked'])} words), one piece "
                  f"{wer(known, heard['one piece']):.3f} ({len(heard['one piece'])} words)")
    for cut in cuts:
        near_a = [w for t, w in a if abs(t - cut) <= NEAR_S]
        near_b = [w for t, w in b if abs(t - cut) <= NEAR_S]
        matcher = difflib.SequenceMatcher(a=near_b, b=near_a, autojunk=False)
        lost = [w for op, i1, i2, _j1, _j2 in matcher.get_opcodes() if op in ("delete", "replace")
                for w in near_b[i1:i2]]
        added = [w for op, _i1, _i2, j1, j2 in matcher.get_opcodes() if op in ("insert", "replace")
                 for w in near_a[j1:j2]]
        print(f"cut at {cut:8.2f} s: {len(near_a)} words within {NEAR_S:.0f} s chunked, {len(near_b)} in one piece; "
              f"only in one piece: {' '.join(lost) or '-'}; only chunked: {' '.join(added) or '-'}")
        print(f"    chunked:   {' '.join(near_a)}")


if __name__ == "__main__":
    main()
