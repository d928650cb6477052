"""Transcription speed: real-time factor of the default model (tiny.en, int8) on this machine's cores.

The two speech files in tests/media/speech are joined and looped to --seconds of 16 kHz mono
audio (what the audio step hands the transcript step). The model is loaded once before timing, as a
worker keeps it loaded. Goal: at least 15x faster than real time (RTF <= 0.067) on 2 cores.

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
    start = time.perf_counter()
    transcribe(wav, cpu_threads=args.threads)  # load the model once, as a running worker has it
    print(f"first run incl. model load: {time.perf_counter() - start:.2f}s")
    factors = []
    for rep in range(args.reps):
        start = time.perf_counter()
        transcript = transcribe(wav, cpu_threads=args.threads)
        elapsed = time.perf_counter() - start
        factors.append(elapsed / args.seconds)
        print(f"rep {rep + 1}: {elapsed:.2f}s for {args.seconds}s of speech, RTF {factors[-1]:.3f} "
              f"({1 / factors[-1]:.1f}x real time), {len(transcript.segments)} segments")
    median = statistics.median(factors)
    print(f"{os.cpu_count()} cores, model {transcript.model}: median RTF {median:.3f} = "
          f"{1 / median:.1f}x faster than real time (goal >= 15x)")


if __name__ == "__main__":
    main()
