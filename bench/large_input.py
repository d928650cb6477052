"""Large inputs: an hour of 1080p25 H.264 with speech, and 4K 10-bit 4:2:2 ProRes, through ``rushes ingest``.

Two sources are made once and cached in ``--cache`` (default /tmp/rushes-large):

1. **long**: ``--minutes`` (60) of 1920x1080 25p H.264 High (x264 ultrafast with CABAC and 8x8 transforms,
   10 Mb/s, GOP 50) + AAC stereo 48 kHz in MOV, start timecode 10:00:00:00. The picture is shots of 20-60 s,
   each a different lavfi pattern, with hard cuts between them; to keep making it cheap, a block of
   ``--block-seconds`` (300) of such shots is encoded once and repeated by stream copy (the seam between
   two blocks is a hard cut too). The sound is the repository's two speech recordings
   (tests/media/speech: jfk.flac + librispeech-2412-153948-0000.flac, 22.7 s) looped to the full length.
2. **prores**: ``--prores-seconds`` (60) of 3840x2160 25p ProRes 422 HQ (prores_ks profile 3,
   yuv422p10le; intra-only, so a 10 s block of three shots is encoded once and repeated by stream copy)
   + stereo PCM 24-bit 48 kHz of the same speech, in MOV, start timecode 10:00:00:00.

Each goes through ``rushes --data <fresh dir> ingest <file>`` the way a user runs it (embedded SQLite,
in-process broker): the long source with every default step and default settings (no ``RUSHES_*``
variable is passed on), the ProRes source with
``RUSHES_STEPS=["probe","proxy","scenes","keyframes","audio","tags"]`` (no transcript). While it runs:

* every ``--sample-s`` (0.5 s) the RSS (``VmRSS``, and the kernel's high-water mark ``VmHWM``) of the rushes
  process and of every descendant (ffmpeg ...) is read from /proc (psutil is not a dependency); children
  are found through /proc/<pid>/task/*/children where the kernel has it, else by scanning /proc/*/stat;
  the rusage of the reaped rushes process (``wait4``: the largest RSS of it and every descendant it reaped)
  cross-checks the samples;
* every ``--catalog-s`` (2 s) the catalog's ``steps`` table (kind, status, progress, started_at,
  finished_at) is read, read-only, from <data>/catalog.sqlite: the progress values each step went through,
  and the longest stretch in which no step's progress or status changed (goal: progress keeps moving).

Then it checks the catalog (every step done or skipped, the version ready), the proxy with PyAV (H.264,
8-bit 4:2:0, at the proxy height, same duration as the source), and the shots found against the cuts made.
The summary table ends the output; the exit code is 1 when a process reached 2 GB of RSS, a step failed,
the ingest failed or the proxy is wrong. Every sample and catalog reading is written to
``<cache>/large_input-<run>.json``, the ingest's own output to ``<cache>/large_input-<run>.log``. The data
dirs are removed at the end (``--keep`` keeps them); the sources stay cached.

    .venv/bin/python bench/large_input.py [--minutes 60] [--prores-seconds 60] [--cache /tmp/rushes-large]
    .venv/bin/python bench/large_input.py --minutes 2 --prores-seconds 5     # a quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import av

from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version

HERE = Path(__file__).resolve().parent
RUSHES = str(Path(sys.executable).with_name("rushes"))
SPEECH = HERE.parent / "tests" / "media" / "speech"
SPEECH_FILES = ("jfk.flac", "librispeech-2412-153948-0000.flac")
RATE = 25
TIMECODE = "10:00:00:00"
LIMIT_BYTES = 2_000_000_000  # every process must stay below 2 GB of RSS
PROXY_HEIGHT = 720  # RUSHES_PROXY_MAX_HEIGHT's default
PRORES_STEPS = ["probe", "proxy", "scenes", "keyframes", "audio", "tags"]
CUT_TOLERANCE_S = 0.1  # a shot found within this of a cut made counts as that cut


# --------------------------------------------------------------------------- the sources


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def _patterns(width: int, height: int) -> list[str]:
    """Lavfi pictures that differ from each other at a glance (each cut between two is a hard cut)."""
    size, rate = f"{width}x{height}", RATE
    cells = f"{width // 8}x{height // 8}"
    return [
        f"testsrc2=size={size}:rate={rate}",
        f"smptehdbars=size={size}:rate={rate}",
        # life's first frames are a random fill: start 10 frames in (as bench/analysis.py does)
        f"life=size={cells}:rate={rate}:ratio=0.1:seed={{seed}}:mold=0:life_color=#00ff00:death_color=#c83232,"
        f"trim=start_frame=10,setpts=PTS-STARTPTS,scale={size}:flags=neighbor",
        f"cellauto=size={size}:rate={rate}:rule=110:random_fill_ratio=0.5:seed={{seed}}",
        f"color=c=0x405060:size={size}:rate={rate},noise=alls=40:allf=t+u:all_seed={{seed}}",
        f"rgbtestsrc=size={size}:rate={rate}",
        f"testsrc=size={size}:rate={rate}",
    ]


@dataclass(frozen=True)
class Shot:
    pattern: str
    seconds: int


def long_shots(block_s: int) -> list[Shot]:
    """Shots of 20-60 s (seeded), consecutive ones of different patterns, filling exactly ``block_s``."""
    rng = random.Random(11)
    patterns = _patterns(1920, 1080)
    shots: list[Shot] = []
    left, index = block_s, 0
    while left > 0:
        seconds = min(rng.randint(20, 60), left)
        if left - seconds < 10:  # no stub at the end of the block
            seconds = left
        shots.append(Shot(patterns[index % len(patterns)].replace("{seed}", str(index + 1)), seconds))
        left -= seconds
        index += 1
    return shots


def prores_shots(block_s: int) -> list[Shot]:
    """Three shots (4, 3, 3 s) of 4K patterns, cut to ``block_s`` when that is shorter."""
    patterns = _patterns(3840, 2160)
    shots, left = [], block_s
    for pattern, seconds in ((patterns[0], 4), (patterns[1], 3), (patterns[2].replace("{seed}", "5"), 3)):
        if left <= 0:
            break
        shots.append(Shot(pattern, min(seconds, left)))
        left -= seconds
    return shots


def cuts_made(shots: list[Shot], total_s: float) -> list[float]:
    """Seconds of every hard cut in the source: within each block and at each seam between blocks."""
    block_s = sum(s.seconds for s in shots)
    starts, t = [], 0
    for shot in shots:
        starts.append(t)
        t += shot.seconds
    return [rep * block_s + start for rep in range(math.ceil(total_s / block_s)) for start in starts
            if 0 < rep * block_s + start < total_s]


def speech_loop(cache: Path) -> Path:
    """The two speech recordings one after the other, 48 kHz stereo PCM (22.7 s), to be looped."""
    path = cache / "speech-pair-48k-stereo.wav"
    if not path.exists():
        missing = [name for name in SPEECH_FILES if not (SPEECH / name).is_file()]
        if missing:
            sys.exit(f"speech recordings missing in {SPEECH}: {', '.join(missing)}")
        part = path.with_name(f".{path.stem}.part.wav")
        _ffmpeg("-i", str(SPEECH / SPEECH_FILES[0]), "-i", str(SPEECH / SPEECH_FILES[1]), "-filter_complex",
                "[0:a]aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo[a0];"
                "[1:a]aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo[a1];"
                "[a0][a1]concat=n=2:v=0:a=1[a]", "-map", "[a]", "-c:a", "pcm_s16le", str(part))
        part.rename(path)
    return path


def _block_graph(shots: list[Shot], pix_fmt: str) -> str:
    chains = [f"{s.pattern},trim=end_frame={s.seconds * RATE},setpts=PTS-STARTPTS,format={pix_fmt},setsar=1[v{i}]"
              for i, s in enumerate(shots)]
    return ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(shots))) + \
        f"concat=n={len(shots)}:v=1:a=0[v]"


def _repeat(block: Path, block_s: int, total_s: float, speech: Path, audio_codec: list[str], out: Path) -> None:
    """``block`` repeated by stream copy to ``total_s``, with the speech looped under it, timecode set."""
    listing = out.with_name(f".{out.stem}.concat.txt")
    reps = math.ceil(total_s / block_s)
    listing.write_text("".join(f"file '{block}'\n" for _ in range(reps)))
    part = out.with_name(f".{out.stem}.part{out.suffix}")
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-stream_loop", "-1", "-i", str(speech),
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *audio_codec, "-ac", "2", "-ar", "48000",
            "-t", f"{total_s:g}", "-timecode", TIMECODE, "-f", "mov", str(part))
    part.rename(out)
    listing.unlink()


@dataclass
class Source:
    label: str
    path: Path
    shots: list[Shot]
    total_s: float
    made_in_s: float | None  # None: found in the cache

    @property
    def cuts(self) -> list[float]:
        return cuts_made(self.shots, self.total_s)


def make_long(cache: Path, minutes: float, block_s: int) -> Source:
    total_s = minutes * 60
    block_s = int(min(block_s, total_s))
    shots = long_shots(block_s)
    path = cache / f"long-{minutes:g}min-1080p25-h264-10M-aac-speech-b{block_s}.mov"
    if path.exists():
        return Source("long", path, shots, total_s, None)
    print(f"making {path.name} ({len(shots)} shots in a {block_s} s block, repeated) ...", flush=True)
    started = time.monotonic()
    block = cache / f"block-1080p25-h264-cbr10M-{block_s}s.mp4"
    if not block.exists():
        part = block.with_name(f".{block.stem}.part.mp4")
        _ffmpeg("-filter_complex", _block_graph(shots, "yuv420p"), "-map", "[v]",
                "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high",
                "-x264-params", "cabac=1:8x8dct=1:nal-hrd=cbr", "-b:v", "10M", "-minrate", "10M", "-maxrate", "10M",
                "-bufsize", "20M", "-g", "50", "-pix_fmt", "yuv420p", "-r", str(RATE), "-f", "mp4", str(part))
        part.rename(block)
    _repeat(block, block_s, total_s, speech_loop(cache), ["-c:a", "aac", "-b:a", "192k"], path)
    made = time.monotonic() - started
    print(f"made {path.name} in {made:.1f}s", flush=True)
    return Source("long", path, shots, total_s, made)


def make_prores(cache: Path, seconds: float) -> Source:
    block_s = int(min(10, seconds))
    shots = prores_shots(block_s)
    path = cache / f"prores-{seconds:g}s-2160p25-422hq-pcm-b{block_s}.mov"
    if path.exists():
        return Source("prores", path, shots, seconds, None)
    print(f"making {path.name} ({len(shots)} shots in a {block_s} s block, repeated) ...", flush=True)
    started = time.monotonic()
    block = cache / f"block-2160p25-prores422hq-{block_s}s.mov"
    if not block.exists():
        part = block.with_name(f".{block.stem}.part.mov")
        _ffmpeg("-filter_complex", _block_graph(shots, "yuv422p10le"), "-map", "[v]",
                "-c:v", "prores_ks", "-profile:v", "3", "-vendor", "apl0", "-pix_fmt", "yuv422p10le",
                "-r", str(RATE), "-f", "mov", str(part))
        part.rename(block)
    _repeat(block, block_s, seconds, speech_loop(cache), ["-c:a", "pcm_s24le"], path)
    made = time.monotonic() - started
    print(f"made {path.name} in {made:.1f}s", flush=True)
    return Source("prores", path, shots, seconds, made)


def describe(path: Path) -> dict[str, Any]:
    """Facts of a source or proxy, read with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        v_duration = float(video.duration * video.time_base) if video.duration and video.time_base else None
        tc = video.metadata.get("timecode") or container.metadata.get("timecode")
        if tc is None:
            tc = next((s.metadata.get("timecode") for s in container.streams if s.metadata.get("timecode")), None)
        return {
            "container": container.format.name, "size": path.stat().st_size,
            "duration_s": container.duration / av.time_base if container.duration else None,
            "video_codec": video.codec_context.name, "profile": video.codec_context.profile,
            "width": video.codec_context.width, "height": video.codec_context.height,
            "pix_fmt": video.codec_context.pix_fmt, "frame_rate": str(video.average_rate),
            "video_duration_s": v_duration, "frames": video.frames,
            "audio_codec": audio.codec_context.name if audio else None,
            "channels": audio.codec_context.channels if audio else None,
            "sample_rate": audio.codec_context.sample_rate if audio else None,
            "bit_rate": container.bit_rate, "timecode": tc,
        }


# --------------------------------------------------------------------------- /proc


_CHILDREN_FILES = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


def _children(pid: int, parents: dict[int, list[int]] | None) -> list[int]:
    if parents is not None:
        return parents.get(pid, [])
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return found


def _parent_map() -> dict[int, list[int]]:
    """ppid → pids, by reading every /proc/<pid>/stat (when /proc/<pid>/task/<tid>/children is missing)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # after "(comm) state"
        parents.setdefault(ppid, []).append(int(entry.name))
    return parents


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    parents = None if _CHILDREN_FILES else _parent_map()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(_children(pid, parents))
    return tree


def memory(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS bytes, VmHWM bytes) of a live process, None once it is gone (or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "VmRSS" not in fields:  # a zombie, or a kernel thread
        return None

    def kb(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0]) * 1024

    return fields["Name"].strip(), kb("VmRSS"), kb("VmHWM")


def command_line(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace") for a in argv if a)


@dataclass
class Proc:
    pid: int
    name: str
    argv: str
    what: str  # the task it does, from its argv
    first_s: float
    last_s: float = 0.0
    peak_rss: int = 0
    peak_rss_at: float = 0.0
    peak_hwm: int = 0
    steps_at_peak: str = ""

    @property
    def peak(self) -> int:
        return max(self.peak_rss, self.peak_hwm)


def what_it_does(argv: str) -> str:
    """A short label of an ffmpeg run, from its arguments."""
    if "ffmpeg" not in argv.split(" ")[0]:
        return argv.split(" ")[0].rsplit("/", 1)[-1]
    for needle, label in (("libx264", "proxy encode"), ("ebur128", "audio: loudness + speech WAV"),
                          ("showwavespic", "waveform"), ("-frames:v", "poster/still"),
                          ("blackdetect", "shots + black/freeze")):
        if needle in argv:
            return f"ffmpeg ({label})"
    return "ffmpeg"


# --------------------------------------------------------------------------- the catalog


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def read_steps(db: Path) -> list[dict[str, Any]] | None:
    """The steps rows, read-only; None while the catalog or its table does not exist yet (or is busy)."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT kind, status, progress, attempts, error, started_at, finished_at "
                                "FROM steps ORDER BY id").fetchall()
    except sqlite3.Error:
        return None
    return [dict(r) for r in rows]


def read_rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql).fetchall()]


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    label: str
    source: Source
    wall_s: float = 0.0
    returncode: int | None = None
    rusage_maxrss: int = 0  # wait4: the largest RSS of rushes and the descendants it reaped
    procs: dict[int, Proc] = field(default_factory=dict)
    root: int = 0
    peak_sum: int = 0
    peak_sum_at: float = 0.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, processes, sum RSS)
    readings: list[tuple[float, list[dict[str, Any]]]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    version: dict[str, Any] = field(default_factory=dict)
    scenes: list[float] = field(default_factory=list)
    segments: int = 0
    proxy: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    log: Path | None = None


def _running(steps: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['kind']} {s['progress']:.0%}" for s in steps if s["status"] == "running") or "-"


def run_ingest(run: Run, data: Path, env: dict[str, str], sample_s: float, catalog_s: float) -> None:
    """``rushes --data data ingest source``, sampled until it exits."""
    db = data / "catalog.sqlite"
    assert run.log is not None
    with run.log.open("w") as log:
        started = time.monotonic()
        proc = subprocess.Popen([RUSHES, "--data", str(data), "ingest", str(run.source.path)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        run.root = proc.pid
        next_catalog, status = 0.0, 0
        last_steps: list[dict[str, Any]] = []
        while True:
            now = time.monotonic() - started
            sample(run, now, last_steps)
            if now >= next_catalog:
                steps = read_steps(db)
                if steps is not None:
                    run.readings.append((now, steps))
                    last_steps = steps
                next_catalog = now + catalog_s
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            time.sleep(sample_s)
        run.wall_s = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here (for its rusage), not by Popen
        run.returncode = proc.returncode
        run.rusage_maxrss = rusage.ru_maxrss * 1024
    steps = read_steps(db)
    if steps is not None:
        run.readings.append((run.wall_s, steps))


def sample(run: Run, now: float, steps: list[dict[str, Any]]) -> None:
    total, alive = 0, 0
    for pid in process_tree(run.root):
        mem = memory(pid)
        if mem is None:
            continue
        name, rss, hwm = mem
        alive += 1
        total += rss
        proc = run.procs.get(pid)
        if proc is None:
            argv = command_line(pid)
            proc = run.procs[pid] = Proc(pid, name, argv, what_it_does(argv) if pid != run.root else "rushes",
                                         first_s=now)
        proc.last_s = now
        if rss > proc.peak_rss:
            proc.peak_rss, proc.peak_rss_at, proc.steps_at_peak = rss, now, _running(steps)
        proc.peak_hwm = max(proc.peak_hwm, hwm)
    run.samples.append((now, alive, total))
    if total > run.peak_sum:
        run.peak_sum, run.peak_sum_at = total, now


def finish(run: Run, data: Path) -> None:
    """Read what the catalog holds at the end, and check the proxy."""
    db = data / "catalog.sqlite"
    if not db.exists():
        run.problems.append("no catalog was made")
        return
    run.steps = read_rows(db, "SELECT kind, status, progress, attempts, error, started_at, finished_at "
                              "FROM steps ORDER BY id")
    versions = read_rows(db, "SELECT id, status, error FROM versions")
    run.version = versions[0] if versions else {}
    run.scenes = [r["start_s"] for r in read_rows(db, "SELECT start_s FROM scenes ORDER BY \"index\"")]
    run.segments = read_rows(db, "SELECT count(*) AS n FROM transcript_segments")[0]["n"]
    if run.returncode != 0:
        run.problems.append(f"rushes ingest exited with {run.returncode}")
    if run.version.get("status") != "ready":
        run.problems.append(f"version {run.version.get('status')!r}: {run.version.get('error')}")
    for step in run.steps:
        if step["status"] not in ("done", "skipped"):
            run.problems.append(f"step {step['kind']} {step['status']}: {step['error']}")
        elif step["attempts"] and step["attempts"] > 1:
            run.problems.append(f"step {step['kind']} took {step['attempts']} attempts")
    proxies = read_rows(db, "SELECT path, width, height, duration_s FROM proxies")
    if not proxies:
        run.problems.append("no proxy recorded")
        return
    proxy_path = Path(proxies[0]["path"])
    if not proxy_path.is_file():
        run.problems.append(f"proxy {proxy_path} missing")
        return
    run.proxy = describe(proxy_path)
    src = describe(run.source.path)
    want_h = min(PROXY_HEIGHT, src["height"])
    want_w = round(src["width"] * want_h / src["height"] / 2) * 2
    p = run.proxy
    checks = [
        (p["video_codec"] == "h264", f"proxy codec {p['video_codec']}, not h264"),
        (p["pix_fmt"] == "yuv420p", f"proxy pixels {p['pix_fmt']}, not 8-bit 4:2:0 (yuv420p)"),
        (p["height"] == want_h, f"proxy height {p['height']}, not {want_h}"),
        (p["width"] == want_w, f"proxy width {p['width']}, not {want_w}"),
        (p["audio_codec"] == "aac", f"proxy audio {p['audio_codec']}, not aac"),
    ]
    frame = 1 / RATE
    if p["video_duration_s"] is None or src["video_duration_s"] is None:
        checks.append((False, "a video duration is unknown"))
    else:
        off = p["video_duration_s"] - src["video_duration_s"]
        checks.append((abs(off) <= frame + 1e-6,
                       f"proxy video {p['video_duration_s']:.3f}s vs source {src['video_duration_s']:.3f}s"))
    run.problems += [why for ok, why in checks if not ok]


# --------------------------------------------------------------------------- progress analysis


@dataclass
class StepProgress:
    kind: str
    values: list[float] = field(default_factory=list)  # distinct values seen, in order
    first_running_s: float | None = None
    last_running_s: float | None = None
    longest_still_s: float = 0.0
    longest_still_at: float = 0.0  # the progress it stayed at
    longest_still_from: float = 0.0


def progress_report(run: Run) -> tuple[float | None, dict[str, StepProgress], tuple[float, float, str]]:
    """(seconds before any step row existed, per-step progress, (longest still, from, what ran then)).

    A "change" is any step's status or progress moving between two catalog readings; the stretch runs from
    one change to the next (or to the end of the run), counted from the first reading that had steps.
    """
    per: dict[str, StepProgress] = {}
    first_rows = next((t for t, steps in run.readings if steps), None)
    last_change, last_state, longest = None, None, (0.0, 0.0, "")
    last_change_what = ""
    since: dict[str, tuple[float, float]] = {}  # kind -> (since when, at which progress) while running
    for t, steps in run.readings:
        if not steps:
            continue
        state = tuple((s["kind"], s["status"], round(s["progress"] or 0.0, 6)) for s in steps)
        if state != last_state:
            if last_change is not None and t - last_change > longest[0]:
                longest = (t - last_change, last_change, last_change_what)
            last_change, last_state, last_change_what = t, state, _running(steps)
        for s in steps:
            sp = per.setdefault(s["kind"], StepProgress(s["kind"]))
            value = round(s["progress"] or 0.0, 4)
            if s["status"] == "running":
                if sp.first_running_s is None:
                    sp.first_running_s = t
                sp.last_running_s = t
                if not sp.values or sp.values[-1] != value:
                    sp.values.append(value)
                held = since.get(s["kind"])
                if held is None or held[1] != value:
                    since[s["kind"]] = (t, value)
                else:
                    still = t - held[0]
                    if still > sp.longest_still_s:
                        sp.longest_still_s, sp.longest_still_at, sp.longest_still_from = still, value, held[0]
            elif s["status"] in ("done", "skipped", "failed") and sp.values and sp.values[-1] != 1.0 \
                    and s["status"] != "failed":
                sp.values.append(1.0)
    if last_change is not None and run.readings and run.readings[-1][0] - last_change > longest[0]:
        longest = (run.readings[-1][0] - last_change, last_change, last_change_what)
    return first_rows, per, longest


# --------------------------------------------------------------------------- output


def mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def step_durations(run: Run) -> list[tuple[str, str, float | None, float | None, float | None]]:
    """(kind, status, seconds, from, to) relative to the first step's start."""
    starts = [t for s in run.steps if (t := _when(s["started_at"]))]
    origin = min(starts) if starts else None
    out: list[tuple[str, str, float | None, float | None, float | None]] = []
    for s in sorted(run.steps, key=lambda s: s["started_at"] or "~"):
        begin, end = _when(s["started_at"]), _when(s["finished_at"])
        if begin is None or end is None or origin is None:
            out.append((s["kind"], s["status"], None, None, None))
        else:
            out.append((s["kind"], s["status"], (end - begin).total_seconds(), (begin - origin).total_seconds(),
                        (end - origin).total_seconds()))
    return out


def matched_cuts(made: list[float], found_starts: list[float]) -> tuple[int, int, int]:
    """(cuts found, cuts missed, shots found where no cut was made)."""
    found = [s for s in found_starts if s > 0]
    hit = sum(1 for c in made if any(abs(c - f) <= CUT_TOLERANCE_S for f in found))
    extra = sum(1 for f in found if not any(abs(c - f) <= CUT_TOLERANCE_S for c in made))
    return hit, len(made) - hit, extra


def report(run: Run) -> list[str]:
    """Lines describing one run in detail (also collected into problems)."""
    src = describe(run.source.path)
    lines = [f"== {run.label}: {run.source.path.name}",
             f"  source: {src['width']}x{src['height']} {src['frame_rate']} fps {src['video_codec']} "
             f"{src['profile']} {src['pix_fmt']}, {src['audio_codec']} {src['channels']} ch {src['sample_rate']} Hz, "
             f"{src['duration_s']:.2f}s, {src['size'] / 1e9:.2f} GB, {(src['bit_rate'] or 0) / 1e6:.1f} Mb/s, "
             f"timecode {src['timecode']}; "
             + (f"made in {run.source.made_in_s:.1f}s" if run.source.made_in_s is not None else "cached"),
             f"  rushes ingest: exit {run.returncode}, wall {run.wall_s:.1f}s "
             f"({run.source.total_s / max(run.wall_s, 1e-9):.2f}x real time), log {run.log}"]
    lines.append("  memory (peak = the larger of the 0.5 s samples of VmRSS and the kernel's VmHWM):")
    procs = sorted(run.procs.values(), key=lambda p: (p.pid != run.root, -p.peak))
    for p in procs[:12]:
        lines.append(f"    pid {p.pid:<7} {p.what:<34} peak {mb(p.peak):>9} (VmRSS sampled {mb(p.peak_rss):>9} at "
                     f"+{p.peak_rss_at:.0f}s; running: {p.steps_at_peak}), alive +{p.first_s:.0f}..+{p.last_s:.0f}s")
    if len(procs) > 12:
        lines.append(f"    ... and {len(procs) - 12} more processes, each below {mb(procs[12].peak)}")
    lines.append(f"    sum over the tree at one sample: peak {mb(run.peak_sum)} at +{run.peak_sum_at:.0f}s; "
                 f"wait4 rusage max RSS (rushes or any reaped descendant): {mb(run.rusage_maxrss)}")
    first_rows, per, (still, still_from, still_what) = progress_report(run)
    lines.append(f"  progress (catalog read every few seconds, {len(run.readings)} readings):")
    if first_rows is not None:
        lines.append(f"    no step rows for the first {first_rows:.1f}s (start-up, hash-copy into the library, plan)")
    lines.append(f"    longest stretch with no step's progress or status changing: {still:.1f}s "
                 f"(from +{still_from:.0f}s, running: {still_what})")
    for kind, sp in per.items():
        if not sp.values:
            lines.append(f"    {kind:<10} never seen running")
            continue
        shown = sp.values if len(sp.values) <= 12 else [*sp.values[:6], "...", *sp.values[-5:]]
        text = " ".join(v if isinstance(v, str) else f"{v:.3f}" for v in shown)
        still_text = (f"longest still {sp.longest_still_s:.1f}s at {sp.longest_still_at:.3f} "
                      f"(from +{sp.longest_still_from:.0f}s)" if sp.longest_still_s else "moved at every reading")
        lines.append(f"    {kind:<10} {len(sp.values):>4} values: {text}; {still_text}")
    lines.append("  steps (catalog started_at .. finished_at, from the first step's start):")
    for kind, status, seconds, begin, end in step_durations(run):
        if seconds is None:
            lines.append(f"    {kind:<10} {status:<8} (no times)")
        else:
            lines.append(f"    {kind:<10} {status:<8} {seconds:8.1f}s  (+{begin:.1f}s .. +{end:.1f}s)")
    errors = [f"{s['kind']}: {s['error']}" for s in run.steps if s["error"]]
    if errors:
        lines.append("  step errors/notes: " + "; ".join(errors))
    hit, missed, extra = matched_cuts(run.source.cuts, run.scenes)
    lines.append(f"  shots: {len(run.scenes)} found; cuts made {len(run.source.cuts)}: {hit} found within "
                 f"{CUT_TOLERANCE_S}s, {missed} missed, {extra} shots where no cut was made")
    if run.label == "long":
        lines.append(f"  transcript: {run.segments} segments")
    if run.proxy:
        px = run.proxy
        lines.append(f"  proxy: {px['width']}x{px['height']} {px['video_codec']} {px['profile']} {px['pix_fmt']}, "
                     f"{px['audio_codec']}, video {px['video_duration_s']:.3f}s (source "
                     f"{src['video_duration_s']:.3f}s), {px['size'] / 1e6:.0f} MB, timecode {px['timecode']}")
    for p in run.procs.values():
        if p.peak >= LIMIT_BYTES:
            run.problems.append(f"pid {p.pid} ({p.what}) peaked at {mb(p.peak)} (limit < {mb(LIMIT_BYTES)})")
    if run.rusage_maxrss >= LIMIT_BYTES and all(p.peak < LIMIT_BYTES for p in run.procs.values()):
        run.problems.append(f"a process of the tree reached {mb(run.rusage_maxrss)} (wait4), between samples")
    lines += [f"  PROBLEM: {why}" for why in run.problems]
    return lines


def save(run: Run, cache: Path) -> Path:
    path = cache / f"large_input-{run.label}.json"
    path.write_text(json.dumps({
        "source": str(run.source.path), "wall_s": run.wall_s, "returncode": run.returncode,
        "rusage_maxrss": run.rusage_maxrss, "peak_sum": run.peak_sum, "problems": run.problems,
        "processes": [vars(p) for p in run.procs.values()], "samples": run.samples,
        "readings": [{"t": t, "steps": [{k: s[k] for k in ("kind", "status", "progress")} for s in steps]}
                     for t, steps in run.readings],
        "steps": run.steps, "scenes": run.scenes, "cuts_made": run.source.cuts, "proxy": run.proxy,
    }, indent=1, default=str))
    return path


def log_excerpt(path: Path | None, limit: int = 30) -> list[str]:
    """The ingest's warnings, errors and tracebacks."""
    if path is None or not path.exists():
        return []
    keep = [line.rstrip() for line in path.read_text(errors="replace").splitlines()
            if any(word in line for word in ("WARNING", "ERROR", "Error", "Traceback", "failed", "Exception"))]
    return keep[-limit:]


def summary(runs: list[Run]) -> list[str]:
    head = (f"{'run':<7} {'source':<50} {'wall':>8} {'rushes':>9} {'largest child':<36} {'sum':>9} "
            f"{'steps ok':>8} {'stillest':>9}  result")
    lines = [head, "-" * len(head)]
    for run in runs:
        root = run.procs.get(run.root)
        children = [p for p in run.procs.values() if p.pid != run.root]
        big = max(children, key=lambda p: p.peak, default=None)
        ok_steps = sum(1 for s in run.steps if s["status"] in ("done", "skipped"))
        _first, _per, (still, _f, what) = progress_report(run)
        child = f"{mb(big.peak)} {big.what}" if big else "-"
        lines.append(f"{run.label:<7} {run.source.path.name[:50]:<50} {run.wall_s:7.0f}s "
                     f"{mb(root.peak) if root else '-':>9} {child[:36]:<36} {mb(run.peak_sum):>9} "
                     f"{ok_steps:>3}/{len(run.steps):<4} {still:8.1f}s  {'ok' if not run.problems else 'FAILED'}")
    return lines


# --------------------------------------------------------------------------- main


def code_under_test() -> str:
    """The commit the rushes runs import (and whether the product's code differs from it)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("log", "-1", "--format=%h %ad", "--date=iso")
    dirty = git("status", "--porcelain", "--", "rushes", "pipeline", "analyzers", "transcoders", "catalog")
    return f"{commit or 'unknown commit'}{' + uncommitted changes' if dirty else ''}"


def default_env() -> dict[str, str]:
    """This environment without any RUSHES_* setting: the run sees the defaults, as a new user would."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}


def runs_to_do(args: argparse.Namespace, cache: Path) -> Iterator[tuple[Source, dict[str, str]]]:
    if args.minutes > 0:
        yield make_long(cache, args.minutes, args.block_seconds), default_env()
    if args.prores_seconds > 0:
        yield make_prores(cache, args.prores_seconds), {**default_env(), "RUSHES_STEPS": json.dumps(PRORES_STEPS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rushes-large"),
                        help="where the sources are made once and kept, and logs and reports written")
    parser.add_argument("--minutes", type=float, default=60, help="length of the 1080p25 source (0: skip it)")
    parser.add_argument("--prores-seconds", type=float, default=60, help="length of the 4K ProRes source (0: skip it)")
    parser.add_argument("--block-seconds", type=int, default=300,
                        help="the 1080p source repeats a block of shots this long (made once)")
    parser.add_argument("--sample-s", type=float, default=0.5, help="RSS sampling interval")
    parser.add_argument("--catalog-s", type=float, default=2.0, help="catalog reading interval")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs of the runs")
    args = parser.parse_args()
    cache = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
          f"ffmpeg {ffmpeg_version()}, children via "
          f"{'/proc/<pid>/task/*/children' if _CHILDREN_FILES else 'a scan of /proc/*/stat'}; "
          f"code {code_under_test()}", flush=True)

    runs: list[Run] = []
    for source, env in runs_to_do(args, cache):
        run = Run(source.label, source, log=cache / f"large_input-{source.label}.log")
        steps = env.get("RUSHES_STEPS", "default (all)")
        print(f"ingesting {source.path.name} ({source.path.stat().st_size / 1e9:.2f} GB), steps {steps} ...",
              flush=True)
        data = Path(tempfile.mkdtemp(dir=cache, prefix=f"data-{source.label}-"))
        try:
            run_ingest(run, data, env, args.sample_s, args.catalog_s)
            finish(run, data)
        finally:
            if args.keep:
                print(f"kept {data}")
            else:
                shutil.rmtree(data, ignore_errors=True)
        for line in report(run):
            print(line)
        excerpt = log_excerpt(run.log)
        if excerpt:
            print(f"  from the ingest's log ({len(excerpt)} lines with warnings/errors):")
            print("\n".join(f"    | {line}" for line in excerpt))
        print(f"  samples and readings: {save(run, cache)}", flush=True)
        runs.append(run)

    print()
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}; goal: every process "
          f"< {mb(LIMIT_BYTES)}, every step done, progress moving")
    print("\n".join(summary(runs)))
    failed = [f"{run.label}: {why}" for run in runs for why in run.problems]
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print("all runs ok")


if __name__ == "__main__":
    main()
