"""Render time per delivery preset against the bare ffmpeg commands for the same output, in the same run.

For each preset: Rushes = ``transcoders.rendition.render`` (loudness pass 1, the render, verification,
atomic rename) + ``delivery.qc.check`` (the QC report); bare = the same pass-1 measurement and the very
same pass-2 ffmpeg argv (``RenditionResult.argv``) run alone. Two sources: proxy-sized (1280x720) and
full-size (1920x1080) 25p with speech, --seconds long. Prints each ratio and the median per source.
Goal: <= 1.05.

    .venv/bin/python bench/delivery.py [--seconds 20] [--presets web/h264-720p,audio/mp3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

# run as a script, this file's folder comes first on sys.path, and its name is the delivery package's
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from delivery.presets import load_preset, load_presets  # noqa: E402
from pipeline.delivery_tasks import check_rendition  # noqa: E402
from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version  # noqa: E402
from transcoders.rendition import SourceFacts, calibrate_limiter, measure_loudness, render  # noqa: E402

HERE = Path(__file__).resolve().parent
SPEECH = HERE.parent / "tests" / "media" / "speech" / "jfk.flac"


def make_source(size: str, seconds: int) -> Path:
    out = HERE / "out" / f"delivery-source-{size}-{seconds}s.mov"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                        "-stream_loop", "-1", "-i", str(SPEECH), "-map", "0:v", "-map", "1:a", "-t", str(seconds),
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-ac", "2", "-ar", "48000", "-timecode", "10:00:00:00", str(out)], check=True)
    return out


def bench_one(name: str, src: Path, facts: SourceFacts, folder: Path) -> tuple[float, float]:
    preset = load_preset(name)
    ext = "m3u8" if preset.container == "hls" else preset.extension
    start = time.perf_counter()
    result = render(src, folder / ("hls" if preset.container == "hls" else "r") / f"out.{ext}", preset,
                    source=facts)
    report = check_rendition(result, preset, facts)
    rushes = time.perf_counter() - start
    if not report.passed:
        print(f"  ! {name}: QC failed: {[c.name for c in report.failures]}")
    bare_dir = folder / "bare"
    bare_dir.mkdir(exist_ok=True)
    argv = [a.replace(str(result.path.parent), str(bare_dir)) for a in result.argv]
    for arg in argv:  # an HLS run writes into a staging folder that Rushes renamed away
        if ".part/" in arg:
            Path(arg).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if preset.audio is not None and preset.loudness is not None:
        measure_loudness(src, preset, facts, duration_s=facts.duration_s)
        if result.leveling is not None and result.leveling.limit_dbtp is not None:  # the same calibration pass
            calibrate_limiter(src, preset, facts, result.leveling, duration_s=facts.duration_s)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the runner's argv
    bare = time.perf_counter() - start
    return rushes, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--presets", default=None, help="comma-separated preset names (default: all)")
    args = parser.parse_args()
    names = args.presets.split(",") if args.presets else list(load_presets())
    print(f"ffmpeg {ffmpeg_version()}, {args.seconds}s sources, presets: {len(names)}")
    for size in ("1280x720", "1920x1080"):
        src = make_source(size, args.seconds)
        width, height = (int(x) for x in size.split("x"))
        facts = SourceFacts(width=width, height=height, frame_rate=Fraction(25), duration_s=float(args.seconds),
                            start_timecode="10:00:00:00", audio_channels=2)
        ratios = []
        print(f"source {size}:")
        for name in names:
            with tempfile.TemporaryDirectory(dir=HERE / "out") as tmp:
                rushes, bare = bench_one(name, src, facts, Path(tmp))
            ratios.append(rushes / bare)
            print(f"  {name:<34} rushes {rushes:7.2f}s  bare {bare:7.2f}s  ratio {rushes / bare:.3f}", flush=True)
        print(f"  median ratio {statistics.median(ratios):.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
