"""What the farm adds to ffmpeg's own work.

For a 60 s 1080p25 H.264 clip with audio, time `rushes ingest` with RUSHES_STEPS=["probe", "proxy"]
(hash-copy, probe, proxy, poster, catalog) against the bare ffmpeg command that makes the same proxy
(the argv comes from
transcoders.proxy.proxy_args, the single source of the proxy command), in the same run, a few
repetitions each, interleaved; print the median ratio. Goal: <= 1.10.

    .venv/bin/python bench/ingest_overhead.py [--reps 3] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version
from transcoders.proxy import ProxySpec, proxy_args

HERE = Path(__file__).resolve().parent
RUSHES = str(Path(sys.executable).with_name("rushes"))
# ingest = hash-copy, probe and proxy (+ poster): the analysis steps are measured by bench/analysis.py
PROXY_ONLY = {**os.environ, "RUSHES_STEPS": '["probe", "proxy"]'}


def make_source(path: Path, seconds: int) -> Path:
    if not path.exists():
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-g", "50", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-ac", "2", "-timecode", "10:00:00:00", str(path)], check=True)
    return path


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    source = make_source(out / f"source-{args.seconds}s-1080p25.mp4", args.seconds)
    bare_argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *proxy_args(
        source, out / "bare-proxy.mp4", width=1920, height=1080, sar=Fraction(1), rotation=0,
        frame_rate=Fraction(25), has_audio=True, start_timecode="10:00:00:00", spec=ProxySpec())]
    bare, farm = [], []
    for rep in range(args.reps):
        bare.append(timed(bare_argv))
        with tempfile.TemporaryDirectory(dir=out) as data:
            farm.append(timed([RUSHES, "--data", data, "ingest", str(source)], env=PROXY_ONLY))
        print(f"rep {rep + 1}: bare ffmpeg {bare[-1]:.2f}s, rushes ingest {farm[-1]:.2f}s, "
              f"ratio {farm[-1] / bare[-1]:.3f}", flush=True)
    ratio = statistics.median(f / b for f, b in zip(farm, bare, strict=True))
    print(f"ffmpeg {ffmpeg_version()}, {args.seconds}s 1080p25 source -> 720p proxy, {args.reps} reps")
    print(f"median bare ffmpeg: {statistics.median(bare):.2f}s; median rushes ingest: {statistics.median(farm):.2f}s")
    print(f"median ratio rushes/bare: {ratio:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
