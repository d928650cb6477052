"""How many renditions of awkward real-world footage come back usable: every shipped preset (or --presets) ×
every source of ``tests/awkward_media.py`` (silent and soundless, 4:3, 2.39:1, a rotated phone, anamorphic
interlaced PAL, 190x240 MPEG-4 Part 2, VFR, 29.97, 23.976, sound shorter than picture, a TS starting at 10 s,
VP8/Vorbis WebM) and the repository's real clips. Each is rendered with ``transcoders.rendition.render`` and
checked by QC; prints one line per rendition (time, how the loudness was met, or what failed) and the count.

    .venv/bin/python bench/preset_matrix.py [--presets web/h264-720p,broadcast/xdcam-hd422-1080i25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path, and its name is the delivery package's
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from analyzers.probe import probe  # noqa: E402
from delivery.presets import load_preset, load_presets  # noqa: E402
from pipeline.delivery_tasks import check_rendition, source_facts  # noqa: E402
from rushes.errors import RushesError  # noqa: E402
from tests.awkward_media import build, real_files  # noqa: E402
from transcoders.rendition import render  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=None, help="comma-separated preset names (default: all)")
    args = parser.parse_args()
    names = args.presets.split(",") if args.presets else sorted(load_presets())
    (HERE / "out").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=HERE / "out") as tmp:
        folder = Path(tmp)
        sources = [*build(folder / "sources"), *real_files()]
        usable = total = 0
        for source in sources:
            facts = source_facts(probe(source.path))
            for name in names:
                preset = load_preset(name)
                total += 1
                out = folder / f"{source.path.stem}-{name.replace('/', '-')}"
                target = out / "master.m3u8" if preset.container == "hls" else out.with_suffix(f".{preset.extension}")
                start = time.perf_counter()
                try:
                    result = render(source.path, target, preset, source=facts)
                    report = check_rendition(result, preset, facts)
                except RushesError as exc:
                    print(f"FAILED   {source.name:42} {name:34} {exc}", flush=True)
                    continue
                took = time.perf_counter() - start
                if report.passed:
                    usable += 1
                    how = result.leveling.describe() if result.leveling else (result.sound or "no sound asked")
                    print(f"ready    {source.name:42} {name:34} {took:5.1f}s  {how}", flush=True)
                else:
                    print(f"REJECTED {source.name:42} {name:34} "
                          + "; ".join(f"{c.name}: {c.actual}" for c in report.failures), flush=True)
        print(f"{usable} of {total} renditions usable ({len(sources)} sources x {len(names)} presets)")


if __name__ == "__main__":
    main()
