"""Transcription speed: real-time factor of the default model (tiny.en, int8) on this machine's cores, and what the
farm's default adds by finding the language of each stretch of speech.

The two speech files in tests/media/speech are joined and looped to --seconds of 16 kHz mono
audio (what the audio step hands the transcript step). Models are loaded once before timing, as a
worker keeps them loaded. Two ways, interleaved:

- **tiny.en**: the bare model (an English-only model is told "en": no detection);
- **farm default**: ``transcribe(wav, cache_dir=...)`` as the transcript step runs it with no language given:
  Silero VAD cuts the speech into stretches, the multilingual base model detects each one's language, and each
  run of English goes to tiny.en.

Goal: at least 15x faster than real time (RTF <= 0.067) on 2 cores for the farm's default.

    .venv/bin/python bench/transcription.py [--seconds 60] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from analyzers.transcript import transcribe
from transcoders.ffmpeg import ffmpeg_exe

HERE = Path(__file__).resolve().parent
SPEECH = HERE.parent / "tests" / "media" / "speech"


def speech_wav(seconds: int) -> Path:
    out = HERE / "out" / f"speech-{seconds}s-16k.wav"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        files = [SPEECH / "jfk.flac", SPEECH / "librispeech-2412-153948-0000.flac"]
        inputs = [arg for f in files for arg in ("-i", str(f))]
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex",
                        "[0:a]aresample=16000,aformat=channel_layouts=mono[a];"
                        "[1:a]aresample=16000,aformat=channel_layouts=mono[b];"
                        "[a][b]concat=n=2:v=0:a=1,aloop=loop=-1:size=2e9", "-t", str(seconds),
                        "-c:a", "pcm_s16le", str(out)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CTranslate2 threads (0: all cores)")
    args = parser.parse_args()
    wav = speech_wav(args.seconds)
    cache = HERE / "out" / "models"
    ways = {"tiny.en": dict(cpu_threads=args.threads),
            "farm default": dict(cpu_threads=args.threads, cache_dir=cache)}
    for name, options in ways.items():
        start = time.perf_counter()
        transcribe(wav, **options)  # load the models once, as a running worker has them
        print(f"{name}: first run incl. model load: {time.perf_counter() - start:.2f}s")
    factors: dict[str, list[float]] = {name: [] for name in ways}
    for rep in range(args.reps):
        for name in (list(ways) if rep % 2 == 0 else list(reversed(ways))):
            start = time.perf_counter()
            transcript = transcribe(wav, **ways[name])
            elapsed = time.perf_counter() - start
            factors[name].append(elapsed / args.seconds)
            print(f"rep {rep + 1}: {name:<13} {elapsed:.2f}s for {args.seconds}s of speech, "
                  f"RTF {factors[name][-1]:.3f} ({1 / factors[name][-1]:.1f}x real time), "
                  f"{len(transcript.segments)} segments, languages {transcript.languages}")
    medians = {name: statistics.median(values) for name, values in factors.items()}
    for name, median in medians.items():
        print(f"{os.cpu_count()} cores, {name}: median RTF {median:.3f} = {1 / median:.1f}x faster than real time")
    print(f"language per stretch adds {medians['farm default'] / medians['tiny.en'] - 1:+.1%} "
          f"(goal: farm default >= 15x real time)")


if __name__ == "__main__":
    main()
