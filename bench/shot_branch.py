"""What shot detection costs riding on the proxy pass, against PySceneDetect on the camera original, same run.

On the 60 s 1080p25 clip of ``bench/analysis.py`` (six 10 s shots, five hard cuts), each repetition times, in
alternating order:

1. **proxy alone**: the proxy transcode without the analysis branch;
2. **proxy + analysis**: the very same transcode with ``analyzers.picture.PictureTap`` riding along (the picture
   scaled to 256 wide, black/freeze filters, frames piped back to PySceneDetect's adaptive detector);
3. **PySceneDetect on the original**: ``scenedetect.detect(original, AdaptiveDetector())`` (OpenCV backend,
   default downscale), the way a team would run it alone.

Cost = CPU seconds (this process and its children: ffmpeg, the reading thread) and wall seconds. The branch's cost
is (2) - (1); the goal (issue 13) is branch CPU <= 20 % of (3)'s CPU. Also checks both find the five cuts.

    .venv/bin/python bench/shot_branch.py [--reps 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from analysis import HERE, RATE, SECONDS, make_source  # bench/analysis.py: the same clip

from analyzers.picture import PictureReports, PictureTap, read_picture
from transcoders.ffmpeg import ffmpeg_version, run_ffmpeg
from transcoders.proxy import ProxySpec, proxy_args

GOAL = 0.20
CUTS = 5


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(work: Callable[[], int]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, cuts found) of ``work``."""
    cpu, wall = _cpu(), time.perf_counter()
    cuts = work()
    return _cpu() - cpu, time.perf_counter() - wall, cuts


def proxy(source: Path, folder: Path, with_analysis: bool) -> int:
    common = dict(width=1920, height=1080, sar=Fraction(1), rotation=0, frame_rate=Fraction(RATE), has_audio=True,
                  start_timecode=None, spec=ProxySpec())
    target = folder / "proxy.mp4"
    if not with_analysis:
        run_ffmpeg(proxy_args(source, target, **common))
        return -1
    with PictureTap(PictureReports.in_folder(folder)) as tap:
        run_ffmpeg(proxy_args(source, target, analysis=tap, **common), pass_fds=tap.hand_over())
    return len(read_picture(tap.reports, duration_s=SECONDS, frame_rate=Fraction(RATE)).scenes) - 1


def pyscenedetect(source: Path) -> int:
    from scenedetect import AdaptiveDetector, detect

    return max(0, len(detect(str(source), AdaptiveDetector(), backend="opencv")) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    import scenedetect

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    source = make_source(out / f"analysis-{SECONDS}s-1080p25-speech-cuts.mp4")
    print(f"ffmpeg {ffmpeg_version()}, PySceneDetect {scenedetect.__version__}, clip {source.name}, {args.reps} reps")
    runs: dict[str, list[tuple[float, float, int]]] = {"proxy alone": [], "proxy + analysis": [],
                                                         "PySceneDetect on the original": []}
    for rep in range(args.reps):
        names = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for name in names:
            with tempfile.TemporaryDirectory(dir=out) as folder:
                work = {"proxy alone": lambda: proxy(source, Path(folder), False),
                        "proxy + analysis": lambda: proxy(source, Path(folder), True),
                        "PySceneDetect on the original": lambda: pyscenedetect(source)}[name]
                result = timed(work)
            runs[name].append(result)
            print(f"rep {rep + 1}: {name:<30} cpu {result[0]:6.2f}s  wall {result[1]:6.2f}s"
                  + (f"  cuts {result[2]}" if result[2] >= 0 else ""), flush=True)
    median = {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
              for name, rs in runs.items()}
    branch_cpu = median["proxy + analysis"][0] - median["proxy alone"][0]
    branch_wall = median["proxy + analysis"][1] - median["proxy alone"][1]
    psd_cpu, psd_wall = median["PySceneDetect on the original"]
    print(f"analysis branch: cpu {branch_cpu:.2f}s, wall {branch_wall:.2f}s (medians)")
    print(f"PySceneDetect on the original: cpu {psd_cpu:.2f}s, wall {psd_wall:.2f}s")
    ratio = branch_cpu / psd_cpu
    print(f"branch / PySceneDetect: cpu {ratio:.3f}, wall {branch_wall / psd_wall:.3f} (goal cpu <= {GOAL})")
    found = {name: {r[2] for r in rs} for name, rs in runs.items() if name != "proxy alone"}
    print(f"cuts found: {found} (expected {CUTS})")
    sys.exit(0 if ratio <= GOAL and all(f == {CUTS} for f in found.values()) else 1)


if __name__ == "__main__":
    main()
