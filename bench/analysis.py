"""The full analysis ingest against doing the same work the naive way, tool by tool.

For a 60 s 1080p25 H.264 clip with speech and five hard cuts (six 10 s shots of distinct lavfi
sources, the two bundled speech recordings looped under them, generated once into bench/out/), time:

1. **Rushes**: ``rushes --data <fresh dir> ingest <clip>`` (probe, proxy + poster, audio loudness +
   speech WAV + waveform, scenes + black/freeze on the proxy, keyframes + contact sheet, transcript,
   tags), then check in the catalog (``rushes assets show 1``) that the asset is ready and print the
   steps' own timings;
2. **the naive way**: the same outputs, each made separately from the camera original, one after the
   other: the very same proxy command plus a poster, PySceneDetect ``AdaptiveDetector`` (OpenCV
   backend, default downscale), faster-whisper on the original (``analyzers.transcript.transcribe``,
   same default model), one ffmpeg pass each for loudness (``ebur128``), ``blackdetect``,
   ``freezedetect`` and the waveform (``showwavespic``), one ffmpeg per scene for its keyframe, then
   the same tagging (``analyzers.tags.tag_image``) and contact sheet (``analyzers.keyframes.contact_sheet``).

The naive parts run in a fresh Python process per repetition (so model loads are paid every time, as
Rushes pays them); the naive figure is the sum of its timed parts (its interpreter start-up is left
out, which favours the naive way). Runs are interleaved, their order alternating. Each repetition ends with a
table of every Rushes step beside its naive twin(s), so where the time goes is visible (Rushes' steps overlap on
the worker's threads: their sum exceeds the wall time). Goal (issue 11): median rushes/naive <= 0.5.
``--without-tags`` leaves tagging out of both sides, as the independent check of issue 11 did.

    .venv/bin/python bench/analysis.py [--reps 2] [--without-tags]
    .venv/bin/python bench/analysis.py --embed-cost [--reps 3]

``--embed-cost`` times ``rushes ingest`` with every step and without the ``embed`` step (sentence and keyframe
vectors), interleaved, and prints what embedding adds (goal, issue 14: at most 10 %).

Needs PySceneDetect without its opencv-python dependency (opencv-python-headless provides cv2):
    .venv/bin/python -m pip install --no-deps scenedetect==0.7.2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version
from transcoders.proxy import ProxySpec, poster_args, poster_time, proxy_args

HERE = Path(__file__).resolve().parent
RUSHES = str(Path(sys.executable).with_name("rushes"))
SPEECH = HERE.parent / "tests" / "media" / "speech"
SPEECH_FILES = ("jfk.flac", "librispeech-2412-153948-0000.flac")
SECONDS = 60
SHOT_S = 10
RATE = 25
SIZE = "1920x1080"
TIMECODE = "10:00:00:00"
GOAL = 0.5
# Rushes' step kinds beside the naive parts that make the same outputs
TWINS = {
    "probe": (),
    "proxy": ("proxy+poster",),
    "scenes": ("scenes (PySceneDetect)", "blackdetect", "freezedetect"),
    "audio": ("loudness (ebur128)", "waveform"),
    "keyframes": ("keyframes (ffmpeg per scene)", "contact sheet"),
    "transcript": ("transcript (whisper)",),
    "tags": ("tags",),
}
INSTALL_SCENEDETECT = f"{sys.executable} -m pip install --no-deps scenedetect==0.7.2"

# Six shots, each a distinct lavfi source, each exactly SHOT_S seconds of SIZE at RATE.
_TRIM = f"trim=end_frame={SHOT_S * RATE},setpts=PTS-STARTPTS"
SHOTS = (
    f"testsrc2=size={SIZE}:rate={RATE}:duration={SHOT_S}",
    f"smptebars=size={SIZE}:rate={RATE}:duration={SHOT_S}",
    f"mandelbrot=size={SIZE}:rate={RATE}:maxiter=1024,{_TRIM}",
    f"rgbtestsrc=size={SIZE}:rate={RATE}:duration={SHOT_S}",
    f"color=c=0x606060:size={SIZE}:rate={RATE}:duration={SHOT_S},noise=alls=70:allf=t+u:all_seed=7",
    # life's first frame is a random fill that looks like a cut of its own: start 10 frames in. Cells of
    # 8x8 pixels, no mold: with one-pixel cells at 8 Mb/s the encoder starves and each GOP's first frame
    # looks like a cut to PySceneDetect (4 false cuts in 10 s; 4x4 cells with mold still gave one).
    f"life=size=240x135:rate={RATE}:ratio=0.1:seed=11:life_color=#00ff00:death_color=#c83232,"
    f"trim=start_frame=10:end_frame={10 + SHOT_S * RATE},setpts=PTS-STARTPTS,scale={SIZE}:flags=neighbor",
)


# --------------------------------------------------------------------------- the clip


def make_source(path: Path) -> Path:
    """The 60 s clip: six shots with hard cuts, speech looped to 60 s, AAC stereo 48 kHz, timecode 10:00:00:00."""
    if path.exists():
        return path
    missing = [name for name in SPEECH_FILES if not (SPEECH / name).is_file()]
    if missing:
        sys.exit(f"speech recordings missing in {SPEECH}: {', '.join(missing)}")
    video = [f"{source},format=yuv420p,setsar=1[v{i}]" for i, source in enumerate(SHOTS)]
    video.append("".join(f"[v{i}]" for i in range(len(SHOTS))) + f"concat=n={len(SHOTS)}:v=1:a=0[v]")
    copies = 3  # jfk + librispeech is ~22.7 s: three of each is more than 60 s
    inputs: list[str] = []
    for _ in range(copies):
        for name in SPEECH_FILES:
            inputs += ["-i", str(SPEECH / name)]
    audio = [f"[{k}:a]aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[a{k}]"
             for k in range(len(inputs) // 2)]
    audio.append("".join(f"[a{k}]" for k in range(len(inputs) // 2))
                 + f"concat=n={len(inputs) // 2}:v=0:a=1,atrim=duration={SECONDS}[a]")
    part = path.with_name(f".{path.stem}.part{path.suffix}")
    print(f"generating {path.name} (once) ...", flush=True)
    started = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inputs,
                    "-filter_complex", ";".join(video + audio), "-map", "[v]", "-map", "[a]",
                    "-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M",
                    "-g", "50", "-pix_fmt", "yuv420p", "-r", str(RATE),
                    "-c:a", "aac", "-b:a", "192k", "-ac", "2", "-ar", "48000",
                    "-t", str(SECONDS), "-timecode", TIMECODE, "-f", "mp4", str(part)], check=True)
    part.rename(path)
    print(f"generated in {time.perf_counter() - started:.1f}s", flush=True)
    return path


# --------------------------------------------------------------------------- Rushes


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def run_rushes(source: Path, out: Path, env: dict[str, str]) -> tuple[float, list[str], dict[str, float]]:
    """Wall time of ``rushes ingest`` in a fresh data dir, lines describing its steps (checked: ready) and
    each step's seconds."""
    with tempfile.TemporaryDirectory(dir=out, prefix="rushes-") as data:
        started = time.perf_counter()
        done = subprocess.run([RUSHES, "--data", data, "ingest", str(source)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"rushes ingest failed ({done.returncode}):\n{done.stderr[-3000:]}")
        shown = subprocess.run([RUSHES, "--data", data, "assets", "show", "1"], capture_output=True, text=True)
        if shown.returncode != 0:
            sys.exit(f"rushes assets show 1 failed:\n{shown.stderr[-3000:]}")
        asset = json.loads(shown.stdout)
        keyframes = len(list(Path(data, "library").glob("**/keyframes/scene-*.jpg")))
    if asset.get("status") != "ready":
        sys.exit(f"the asset ended {asset.get('status')!r}, not ready: {asset.get('error')}")
    steps = asset.get("steps") or []
    starts = [t for s in steps if (t := _when(s.get("started_at")))]
    origin = min(starts) if starts else None
    finishes = [t for s in steps if (t := _when(s.get("finished_at")))]
    lines = [f"  {keyframes} scenes (keyframes written)"]
    seconds: dict[str, float] = {}
    if origin is not None and finishes:
        span = (max(finishes) - origin).total_seconds()
        lines.append(f"  steps: {span:.2f}s from the first start to the last finish, "
                     f"{wall - span:.2f}s of the wall time outside them (start-up, hash-copy, shut-down)")
    for step in sorted(steps, key=lambda s: s.get("started_at") or ""):
        begin, end = _when(step.get("started_at")), _when(step.get("finished_at"))
        if begin is None or end is None or origin is None:
            lines.append(f"  {step['kind']:<11} {step['status']:<8} (no times)")
            continue
        seconds[step["kind"]] = (end - begin).total_seconds()
        lines.append(f"  {step['kind']:<11} {step['status']:<8} {seconds[step['kind']]:7.2f}s  "
                     f"(from +{(begin - origin).total_seconds():.2f}s to +{(end - origin).total_seconds():.2f}s)")
    return wall, lines, seconds


def side_by_side(steps: dict[str, float], parts: dict[str, float]) -> list[str]:
    """Each Rushes step beside the naive parts making the same outputs, and the difference."""
    lines = [f"  {'rushes step':<11} {'rushes':>8}   {'naive twin(s)':<52} {'naive':>8} {'rushes-naive':>13}"]
    for kind, twins in TWINS.items():
        if kind not in steps:
            continue
        naive_s = sum(parts.get(name, 0.0) for name in twins)
        lines.append(f"  {kind:<11} {steps[kind]:7.2f}s   {' + '.join(twins) or '-':<52} {naive_s:7.2f}s "
                     f"{steps[kind] - naive_s:+12.2f}s")
    return lines


# --------------------------------------------------------------------------- the naive way (child process)


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _seconds(timecode: object) -> float:
    """A PySceneDetect FrameTimecode in seconds (``seconds`` since 0.7, ``get_seconds()`` before)."""
    value = getattr(timecode, "seconds", None)
    return float(value if value is not None else timecode.get_seconds())  # type: ignore[attr-defined]


def naive(source: Path, work: Path, with_tags: bool = True) -> dict[str, object]:
    """Each output made separately from the original, in turn; seconds per part (and a few facts)."""
    times: dict[str, float] = {}
    facts: dict[str, object] = {}

    def part(name: str):  # type: ignore[no-untyped-def]
        class _Timer:
            def __enter__(self) -> None:
                self.started = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                times[name] = time.perf_counter() - self.started
                print(f"    naive {name}: {times[name]:.2f}s", file=sys.stderr, flush=True)

        return _Timer()

    with part("proxy+poster"):
        _ffmpeg(*proxy_args(source, work / "proxy.mp4", width=1920, height=1080, sar=Fraction(1), rotation=0,
                            frame_rate=Fraction(RATE), has_audio=True, start_timecode=TIMECODE, spec=ProxySpec()))
        _ffmpeg(*poster_args(source, work / "poster.jpg", at_s=poster_time(SECONDS)))

    with part("scenes (PySceneDetect)"):
        from scenedetect import AdaptiveDetector, detect

        found = detect(str(source), AdaptiveDetector(), backend="opencv")
        scenes = [(_seconds(start), _seconds(end)) for start, end in found] or [(0.0, float(SECONDS))]
    facts["scenes"] = len(scenes)
    facts["cuts at"] = " ".join(f"{start:.2f}" for start, _end in scenes[1:])

    with part("transcript (whisper)"):
        from analyzers.transcript import transcribe

        transcript = transcribe(source)
    facts["words"] = sum(len(s.words) for s in transcript.segments)

    with part("loudness (ebur128)"):
        _ffmpeg("-i", str(source), "-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-")
    with part("blackdetect"):
        _ffmpeg("-i", str(source), "-map", "0:v:0", "-vf", "blackdetect=d=0.5", "-f", "null", "-")
    with part("freezedetect"):
        _ffmpeg("-i", str(source), "-map", "0:v:0", "-vf", "freezedetect=d=2", "-f", "null", "-")
    with part("waveform"):
        _ffmpeg("-i", str(source), "-filter_complex",
                "[0:a:0]aformat=channel_layouts=mono,showwavespic=s=1800x240:colors=0x5ad1ff[wave]",
                "-map", "[wave]", "-frames:v", "1", "-update", "1", "-c:v", "png", str(work / "waveform.png"))

    with part("keyframes (ffmpeg per scene)"):
        frames = work / "keyframes"
        frames.mkdir()
        picked = []
        for index, (start_s, end_s) in enumerate(scenes):
            middle = (start_s + end_s) / 2
            path = frames / f"scene-{index + 1:04d}.jpg"
            _ffmpeg("-ss", f"{middle:.3f}", "-i", str(source), "-frames:v", "1", "-q:v", "2", str(path))
            picked.append((index, middle, path))

    if with_tags:
        with part("tags"):
            from analyzers.tags import tag_image

            tags = [tag_image(path).to_dict() for _index, _middle, path in picked]
        facts["tagged"] = len(tags)

    with part("contact sheet"):
        from analyzers.keyframes import Keyframe, contact_sheet

        contact_sheet([Keyframe(index, middle, path, 0.0, 0.5, False) for index, middle, path in picked],
                      work / "contact.jpg")
    return {"times": times, "facts": facts}


def run_naive(source: Path, out: Path, with_tags: bool) -> tuple[float, dict[str, float], dict[str, object]]:
    """The naive parts in a fresh process; (sum of parts, parts, facts)."""
    with tempfile.TemporaryDirectory(dir=out, prefix="naive-") as work:
        done = subprocess.run([sys.executable, __file__, "--naive-child", str(source), work,
                               *([] if with_tags else ["--without-tags"])],
                              stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.exit(f"the naive run failed ({done.returncode})")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    times = result["times"]
    return sum(times.values()), times, result["facts"]


# --------------------------------------------------------------------------- main


def check_scenedetect() -> None:
    try:
        import scenedetect  # noqa: F401
    except ImportError:
        sys.exit("bench/analysis.py needs PySceneDetect. Install it without its opencv-python dependency "
                 "(opencv-python-headless already provides cv2):\n    " + INSTALL_SCENEDETECT)


def embed_cost(reps: int) -> None:
    """``rushes ingest`` of the clip with every step, and without ``embed``, interleaved."""
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    source = make_source(out / f"analysis-{SECONDS}s-1080p25-speech-cuts.mp4")
    from pipeline.workflow import WORKFLOW

    without = dict(os.environ, RUSHES_STEPS=json.dumps([kind for kind in WORKFLOW if kind != "embed"]))
    walls: dict[str, list[float]] = {"with embed": [], "without embed": []}
    embed_s: list[float] = []
    for rep in range(1, reps + 1):
        order = ("with embed", "without embed") if rep % 2 else ("without embed", "with embed")
        for label in order:
            wall, _lines, seconds = run_rushes(source, out, dict(os.environ) if label == "with embed" else without)
            walls[label].append(wall)
            if "embed" in seconds:
                embed_s.append(seconds["embed"])
            print(f"rep {rep}: {label}: {wall:.2f}s" + (f" (embed step {seconds['embed']:.2f}s)"
                                                       if "embed" in seconds else ""), flush=True)
    with_, without_ = statistics.median(walls["with embed"]), statistics.median(walls["without embed"])
    print(f"\n{os.cpu_count()} CPUs, {SECONDS}s 1080p25 clip, {reps} rep(s), load average {os.getloadavg()[0]:.2f}")
    print(f"median rushes ingest: with embed {with_:.2f}s, without {without_:.2f}s; the embed step "
          f"{statistics.median(embed_s) if embed_s else 0:.2f}s; embedding adds {100 * (with_ / without_ - 1):+.1f} % "
          f"(goal <= +10 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--without-tags", action="store_true", help="leave tagging out of both sides")
    parser.add_argument("--embed-cost", action="store_true", help="what the embed step adds to rushes ingest")
    parser.add_argument("--naive-child", nargs=2, metavar=("SOURCE", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embed_cost:
        embed_cost(args.reps)
        return
    check_scenedetect()
    with_tags = not args.without_tags
    if args.naive_child:
        result = naive(Path(args.naive_child[0]), Path(args.naive_child[1]), with_tags)
        print(json.dumps(result))
        return

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    import scenedetect

    print(f"{os.cpu_count()} CPUs, ffmpeg {ffmpeg_version()} ({ffmpeg_exe()}), PySceneDetect {scenedetect.__version__}")
    source = make_source(out / f"analysis-{SECONDS}s-1080p25-speech-cuts.mp4")
    print(f"clip: {source} ({source.stat().st_size / 1e6:.1f} MB), {args.reps} rep(s)", flush=True)

    env = dict(os.environ)
    if not with_tags:
        env["RUSHES_STEPS"] = json.dumps([kind for kind in TWINS if kind != "tags"])
    ratios, rushes_walls, naive_sums = [], [], []
    for rep in range(1, args.reps + 1):
        order = ("rushes", "naive") if rep % 2 else ("naive", "rushes")
        for who in order:
            print(f"rep {rep}: {who} ...", flush=True)
            if who == "rushes":
                wall, step_lines, step_seconds = run_rushes(source, out, env)
            else:
                total, parts, facts = run_naive(source, out, with_tags)
        ratio = wall / total
        ratios.append(ratio)
        rushes_walls.append(wall)
        naive_sums.append(total)
        print(f"rep {rep}: Rushes steps (asset ready):")
        print("\n".join(step_lines))
        print(f"rep {rep}: naive parts ({', '.join(f'{k} {v}' for k, v in facts.items())}):")
        for name, seconds in parts.items():
            print(f"  {name:<30} {seconds:7.2f}s")
        print(f"  {'naive sum':<30} {total:7.2f}s")
        print(f"  {'rushes ingest (wall)':<30} {wall:7.2f}s")
        print(f"rep {rep}: each step beside its naive twin:")
        print("\n".join(side_by_side(step_seconds, parts)))
        print(f"rep {rep}: ratio rushes/naive {ratio:.3f}", flush=True)

    print()
    print(f"{os.cpu_count()} CPUs, ffmpeg {ffmpeg_version()}, {SECONDS}s 1080p25 H.264 + speech, {args.reps} rep(s)"
          f"{', without tags' if args.without_tags else ''}, load average {os.getloadavg()[0]:.2f}")
    print(f"median naive sum: {statistics.median(naive_sums):.2f}s; "
          f"median rushes ingest: {statistics.median(rushes_walls):.2f}s")
    print(f"median ratio rushes/naive: {statistics.median(ratios):.3f} (goal <= {GOAL})")


if __name__ == "__main__":
    main()
