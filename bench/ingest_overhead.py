"""What the farm adds to ffmpeg's own work.

For a 60 s 1080p25 H.264 clip with audio, time `rushes ingest` with RUSHES_STEPS=["probe", "proxy"]
(hash-copy, probe, proxy, poster, catalog) against the bare ffmpeg command that makes the same proxy
(the argv comes from
transcoders.proxy.proxy_args, the single source of the proxy command), in the same run, a few
repetitions each, interleaved; print the median ratio and its spread (min, quartiles, max), since one
repetition on a busy 2-core machine can swing by 20 %. Goal (issue 11): median <= 1.05.

Two ways of handing the file to the farm, both timed from the hand-over to the asset ready in the catalog:
- ``oneshot``: the ``rushes ingest`` command (a new process, a new catalog: start-up included);
- ``running``: a farm already running (embedded catalog, worker threads started, as after ``rushes up``),
  the file handed to its ingester as the watch folder does once a drop has settled.

    .venv/bin/python bench/ingest_overhead.py [--reps 9] [--seconds 60] [--mode both|oneshot|running|rules]

``--mode rules`` (issue 15: the rules add <= 5 % to ingest): the running farm without rules (handed over -> ready)
against the same farm with ``--rules`` (20) rules in force that all match and act (a CEL condition over the media
facts, a metadata action each) and a webhook subscription to ``version.ready`` (handed over -> the last rule's run
done), interleaved.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the project's packages before bench/'s own modules (bench/delivery.py)

from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version  # noqa: E402
from transcoders.proxy import ProxySpec, proxy_args  # noqa: E402

RUSHES = str(Path(sys.executable).with_name("rushes"))
# ingest = hash-copy, probe and proxy (+ poster): the analysis steps are measured by bench/analysis.py
LOAD = os.getloadavg()
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


def rules_yaml(count: int) -> str:
    lines = ["rules:"]
    for k in range(count):
        lines += [f"  r{k:02d}:", "    trigger: version.ready",
                  "    condition: 'asset.kind == \"video\" && media.duration_s > 1.0 && media.has_audio'",
                  f"    actions: [{{add_metadata: {{keywords: [r{k:02d}]}}}}]"]
    return "\n".join(lines) + "\n"


def running_farm(source: Path, out: Path, rules: int = 0) -> float:
    """Seconds from handing ``source`` to a running embedded farm's ingester to the asset ready: the version's own
    ``ready_at`` in the catalog, so this script's polling (twice a second) neither adds latency nor competes
    for the CPU much (polling every 20 ms cost the farm a second of CPU over a 13 s transcode)."""
    from sqlalchemy import func, select

    from catalog.models import RuleRun, Version
    from pipeline.farm import Farm
    from pipeline.ingest import Ingester
    from pipeline.webhooks.subscriptions import create_webhook
    from pipeline.workers import Workers
    from rushes.oneshot import version_state
    from rushes.settings import WatchFolder, load_settings

    with tempfile.TemporaryDirectory(dir=out) as data:
        if rules:
            (Path(data) / "rules").mkdir()
            (Path(data) / "rules" / "bench.yaml").write_text(rules_yaml(rules))
        farm = Farm(load_settings(data_dir=Path(data), steps=["probe", "proxy"]))
        if rules:  # a subscriber too (nobody listens: its tries fail and wait, as a real outage would)
            with farm.transaction() as session:
                create_webhook(session, "cms", "http://127.0.0.1:9/hook", ["version.ready"], None, "bench", None)
        workers = Workers(farm)
        workers.start()
        workers.warmed.wait()  # a running farm has loaded its code and models long before a file comes
        try:
            handed = time.time()
            result = Ingester(farm).ingest(source, WatchFolder(name="default"), consume=False)
            assert result.version_id is not None, result
            while (status := version_state(farm, result.version_id)[0]) not in ("ready", "failed"):
                time.sleep(0.5)
            if status != "ready":
                sys.exit(f"the running farm failed the file: {version_state(farm, result.version_id)[1]}")
            with farm.sessions() as session:
                version = session.get(Version, result.version_id)
                assert version is not None and version.ready_at is not None
                elapsed = version.ready_at.timestamp() - handed
            while rules:
                with farm.sessions() as session:
                    done = session.scalar(select(func.count()).select_from(RuleRun))
                    if done >= rules:
                        elapsed = session.scalar(select(func.max(RuleRun.at))).timestamp() - handed
                        break
                time.sleep(0.2)
        finally:
            workers.stop()
            farm.close()
    return elapsed


def spread(name: str, farm: list[float], bare: list[float]) -> None:
    ratios = sorted(f / b for f, b in zip(farm, bare, strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    print(f"{name}: median {statistics.median(farm):.2f}s, median difference "
          f"{statistics.median(f - b for f, b in zip(farm, bare, strict=True)):.2f}s; ratio to bare ffmpeg: "
          f"median {statistics.median(ratios):.3f} (goal <= 1.05); min {ratios[0]:.3f}, "
          f"quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}, max {ratios[-1]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--mode", choices=("both", "oneshot", "running", "rules"), default="both")
    parser.add_argument("--rules", type=int, default=20)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    source = make_source(out / f"source-{args.seconds}s-1080p25.mp4", args.seconds)
    bare_argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *proxy_args(
        source, out / "bare-proxy.mp4", width=1920, height=1080, sar=Fraction(1), rotation=0,
        frame_rate=Fraction(25), has_audio=True, start_timecode="10:00:00:00", spec=ProxySpec())]
    bare: list[float] = []
    oneshot: list[float] = []
    running: list[float] = []
    if args.mode == "rules":
        plain, ruled = [], []
        for rep in range(args.reps):
            plain.append(running_farm(source, out))
            ruled.append(running_farm(source, out, args.rules))
            print(f"rep {rep + 1}: running farm {plain[-1]:.2f}s to ready; with {args.rules} rules {ruled[-1]:.2f}s to "
                  f"the last rule's run ({ruled[-1] / plain[-1]:.3f})", flush=True)
        ratios = sorted(r / p for r, p in zip(ruled, plain, strict=True))
        print(f"{args.seconds}s 1080p25 source, {args.reps} reps: without rules median {statistics.median(plain):.2f}s "
              f"(to ready), with {args.rules} rules and a webhook {statistics.median(ruled):.2f}s (to the last run); "
              f"ratio median {statistics.median(ratios):.3f} (goal <= 1.05), min {ratios[0]:.3f}, max {ratios[-1]:.3f}")
        return
    for rep in range(args.reps):
        bare.append(timed(bare_argv))
        line = f"rep {rep + 1}: bare ffmpeg {bare[-1]:.2f}s"
        if args.mode in ("both", "oneshot"):
            with tempfile.TemporaryDirectory(dir=out) as data:
                oneshot.append(timed([RUSHES, "--data", data, "ingest", str(source)], env=PROXY_ONLY))
            line += f", rushes ingest {oneshot[-1]:.2f}s ({oneshot[-1] / bare[-1]:.3f})"
        if args.mode in ("both", "running"):
            running.append(running_farm(source, out))
            line += f", running farm {running[-1]:.2f}s ({running[-1] / bare[-1]:.3f})"
        print(line, flush=True)
    print(f"ffmpeg {ffmpeg_version()}, {args.seconds}s 1080p25 source -> 720p proxy, {args.reps} reps, "
          f"load average before/after {LOAD[0]:.2f}/{os.getloadavg()[0]:.2f}")
    print(f"bare ffmpeg: median {statistics.median(bare):.2f}s")
    if oneshot:
        spread("rushes ingest (one-shot command, start-up included)", oneshot, bare)
    if running:
        spread("running farm (file handed over -> ready)", running, bare)


if __name__ == "__main__":
    main()
