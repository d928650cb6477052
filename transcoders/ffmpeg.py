"""The one ffmpeg runner.

Every ffmpeg process of Rushes starts here: ``run_ffmpeg(args)`` builds the command line as a list
(never a shell string), reads ``-progress`` from stdout on the calling thread, drains stderr on a
helper thread into a short tail, enforces a timeout and a cancel event, and turns a failure into an
:class:`~rushes.errors.FFmpegError` that says in words what went wrong.

A child ffmpeg never outlives its worker: on Linux it gets ``PR_SET_PDEATHSIG`` = SIGKILL (via setpriv), so a
``kill -9`` of the worker kills it too, and :func:`kill_all` stops every running one at shutdown.

Outputs given to ffmpeg must be files, or pipes handed over with ``pass_fds`` (``pipe:N``): stdout carries the
progress report.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import imageio_ffmpeg

from rushes.errors import ConfigError, FFmpegError, FFmpegInterrupted, FFmpegTimeout

logger = logging.getLogger(__name__)

ENV_FFMPEG = "RUSHES_FFMPEG"
STDERR_TAIL_LINES = 40
PROGRESS_INTERVAL_S = 0.25  # at most ~4 progress calls a second
KILL_GRACE_S = 2.0  # SIGTERM first, SIGKILL after this long
_POLL_S = 0.1
_RUNNING_FRACTION_MAX = 0.99  # 1.0 is reported only once ffmpeg has exited cleanly

# `level+info` tags each stderr line with its level, so errors are found by level, not by wording.
_PREFIX = ("-hide_banner", "-nostdin", "-y", "-nostats", "-loglevel", "level+info", "-progress", "pipe:1")

ProgressCallback = Callable[[float], None]


class SideOutput(Protocol):
    """A second output riding along in a pass that decodes the video anyway (the proxy transcode).

    ``graph`` is a filter graph fragment for one video input pad (the caller prefixes the pad);
    ``output_args()`` maps its output pad to where it goes; ``hand_over()`` gives the descriptors ffmpeg must
    inherit (for :func:`run_ffmpeg`'s ``pass_fds``), once.
    """

    @property
    def graph(self) -> str: ...

    def output_args(self) -> list[str]: ...

    def hand_over(self) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class FFmpegRun:
    """A finished, successful ffmpeg run."""

    argv: tuple[str, ...]
    returncode: int
    elapsed_s: float
    stderr_tail: str


# --------------------------------------------------------------------------- the executable


def ffmpeg_exe() -> str:
    """The ffmpeg to run: ``$RUSHES_FFMPEG`` (a path or a name on PATH), else imageio-ffmpeg's binary."""
    override = os.environ.get(ENV_FFMPEG)
    if not override:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    found = shutil.which(override)
    if found is None:
        raise ConfigError(f"{ENV_FFMPEG}={override!r} is not an executable ffmpeg")
    return found


def ffmpeg_version() -> str:
    """The version of :func:`ffmpeg_exe`, e.g. ``"9.0.2"`` (a git build gives its describe string)."""
    return _version_of(ffmpeg_exe())


@cache
def _version_of(exe: str) -> str:
    try:
        done = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"cannot run {exe} -version: {exc}") from exc
    first_line = done.stdout.partition("\n")[0]
    match = re.search(r"version n?(\d+(?:\.\d+)+)", first_line)
    if match:
        return match.group(1)
    words = first_line.split()
    return words[2] if len(words) > 2 else first_line.strip()


def media_arg(path: str | os.PathLike[str]) -> str:
    """A path as an ffmpeg argument: absolute, so ``-x.mov`` or ``A001:C002.mov`` stay file names."""
    return os.fspath(Path(path).absolute())


# --------------------------------------------------------------------------- running


@dataclass
class _Child:
    proc: subprocess.Popen[bytes]
    stopped_by: str | None = None  # "timeout", "cancel" or "shutdown"


_running: dict[int, _Child] = {}
_running_lock = threading.Lock()


def running_pids() -> list[int]:
    """Process ids of the ffmpeg processes started by this process and still running."""
    with _running_lock:
        return list(_running)


def kill_all(grace_s: float = KILL_GRACE_S) -> int:
    """Stop every running ffmpeg (SIGTERM, then SIGKILL after ``grace_s``); return how many."""
    with _running_lock:
        children = list(_running.values())
    for child in children:
        child.stopped_by = child.stopped_by or "shutdown"
        _send(child.proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        _reap(child.proc, deadline)
    if children:
        logger.warning("stopped %d running ffmpeg process(es)", len(children))
    return len(children)


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    stderr_lines: int | None = STDERR_TAIL_LINES,
    pass_fds: Sequence[int] = (),
) -> FFmpegRun:
    """Run ffmpeg with ``args`` (everything after the common prefix) and wait for it.

    ``pass_fds`` are file descriptors ffmpeg inherits (the write end of a pipe named ``pipe:N`` in ``args``); this
    process's copies are closed once ffmpeg has started (or failed to), so the reader sees the end of the
    stream when ffmpeg exits.

    ``FFmpegRun.stderr_tail`` keeps the last ``stderr_lines`` lines of stderr, or all of them when it
    is None (for callers that parse filter logs); an error always carries the last ``STDERR_TAIL_LINES``.

    ``on_progress`` gets the fraction done (0..1, never decreasing, about 4 times a second) when
    ``duration_s`` is known, and a final 1.0 on success. Raises :class:`FFmpegTimeout` after
    ``timeout`` seconds, :class:`FFmpegError` ("cancelled") once ``cancel`` is set, and
    :class:`FFmpegError` on a non-zero exit; in every case ffmpeg is dead when this returns.
    """
    argv = (ffmpeg_exe(), *_PREFIX, *args)
    logger.info("ffmpeg: %s", shlex.join(argv))
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    progress = _Progress(duration_s, on_progress)
    try:
        child = _start(argv, pass_fds)
    finally:
        for fd in pass_fds:
            os.close(fd)
    stderr = _StderrTail(child.proc, stderr_lines)
    try:
        _pump(child, progress, deadline, cancel)
    finally:
        _stop(child.proc)
        stderr.join()
        _unregister(child)
        _close_pipes(child.proc)
    elapsed = time.monotonic() - started
    returncode = child.proc.returncode
    tail = stderr.text(STDERR_TAIL_LINES)
    if child.stopped_by is not None:
        raise _stopped_error(child.stopped_by, timeout, argv, returncode, tail)
    if returncode != 0:
        raise FFmpegError(
            describe_failure(stderr.last(STDERR_TAIL_LINES), returncode),
            argv=list(argv),
            returncode=returncode,
            stderr_tail=tail,
        )
    progress.finish()
    logger.debug("ffmpeg finished in %.2f s", elapsed)
    return FFmpegRun(argv=argv, returncode=returncode, elapsed_s=elapsed, stderr_tail=stderr.text())


def _start(argv: Sequence[str], pass_fds: Sequence[int] = ()) -> _Child:
    try:
        proc = subprocess.Popen(
            [*death_signal_prefix(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=False,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ConfigError(f"cannot start {argv[0]}: {exc}") from exc
    child = _Child(proc)
    with _running_lock:
        _running[proc.pid] = child
    return child


def _unregister(child: _Child) -> None:
    with _running_lock:
        _running.pop(child.proc.pid, None)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _pump(child: _Child, progress: _Progress, deadline: float | None, cancel: threading.Event | None) -> None:
    """Feed stdout to ``progress`` until EOF, then wait for exit; stop ffmpeg on timeout or cancel."""
    assert child.proc.stdout is not None
    fd = child.proc.stdout.fileno()
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not _should_stop(child, deadline, cancel):
            if not selector.select(timeout=_POLL_S):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                progress.feed(line.decode("ascii", "replace").strip())
    while child.stopped_by is None:
        try:
            child.proc.wait(timeout=_POLL_S)
            return
        except subprocess.TimeoutExpired:
            _should_stop(child, deadline, cancel)


def _should_stop(child: _Child, deadline: float | None, cancel: threading.Event | None) -> bool:
    if child.stopped_by is None:
        if deadline is not None and time.monotonic() >= deadline:
            child.stopped_by = "timeout"
        elif cancel is not None and cancel.is_set():
            child.stopped_by = "cancel"
    if child.stopped_by is not None:
        level = logging.WARNING if child.stopped_by == "timeout" else logging.INFO
        logger.log(level, "stopping ffmpeg pid %d (%s)", child.proc.pid, child.stopped_by)
        _stop(child.proc)
        return True
    return False


def _stop(proc: subprocess.Popen[bytes], grace_s: float = KILL_GRACE_S) -> None:
    if proc.poll() is None:
        _send(proc, signal.SIGTERM)
    _reap(proc, time.monotonic() + grace_s)


def _send(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        proc.send_signal(sig)
    except OSError:  # already gone
        pass


def _reap(proc: subprocess.Popen[bytes], deadline: float) -> None:
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _stopped_error(
    reason: str, timeout: float | None, argv: Sequence[str], returncode: int, tail: str
) -> FFmpegError:
    if reason == "timeout":
        return FFmpegTimeout(
            f"ffmpeg ran past its {timeout:g} s time limit and was killed",
            argv=list(argv),
            returncode=returncode,
            stderr_tail=tail,
        )
    message = "cancelled" if reason == "cancel" else "stopped at shutdown"
    return FFmpegInterrupted(message, argv=list(argv), returncode=returncode, stderr_tail=tail)


# --------------------------------------------------------------------------- the child dies with us

@cache
def death_signal_prefix() -> tuple[str, ...]:
    """A launcher that makes the kernel SIGKILL ffmpeg when the thread that started it dies.

    util-linux's ``setpriv --pdeathsig KILL`` sets the signal and then execs ffmpeg (same pid). It
    replaces a ``preexec_fn``: Python code between fork and exec can deadlock in a process whose other
    threads hold locks (a busy Whisper or torch thread pool), whereas a plain spawn cannot.
    """
    if not sys.platform.startswith("linux"):
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        logger.warning("setpriv (util-linux) not found: ffmpeg will outlive a killed worker")
        return ()
    return (setpriv, "--pdeathsig", "KILL", "--")


# --------------------------------------------------------------------------- progress and stderr


class _Progress:
    """Turns ``-progress`` key=value lines into throttled, monotonic fractions."""

    def __init__(
        self,
        duration_s: float | None,
        callback: ProgressCallback | None,
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._duration_s = duration_s if duration_s and duration_s > 0 else None
        self._callback = callback
        self._interval_s = interval_s
        self._best = 0.0
        self._reported = -1.0
        self._reported_at = float("-inf")

    def feed(self, line: str) -> None:
        key, _, value = line.partition("=")
        # out_time_ms is microseconds too (a historical misnomer in ffmpeg); "N/A" before the first frame.
        if key not in ("out_time_us", "out_time_ms") or self._duration_s is None:
            return
        try:
            seconds = int(value) / 1_000_000
        except ValueError:
            return
        self._best = max(self._best, min(seconds / self._duration_s, _RUNNING_FRACTION_MAX))
        now = time.monotonic()
        if self._best > self._reported and now - self._reported_at >= self._interval_s:
            self._report(self._best, now)

    def finish(self) -> None:
        self._report(1.0, time.monotonic())

    def _report(self, fraction: float, now: float) -> None:
        self._reported, self._reported_at = fraction, now
        if self._callback is not None:
            self._callback(fraction)


class _StderrTail:
    """Drains ffmpeg's stderr on a daemon thread, keeping the last lines."""

    def __init__(self, proc: subprocess.Popen[bytes], max_lines: int | None = STDERR_TAIL_LINES) -> None:
        assert proc.stderr is not None
        self._stream = proc.stderr
        self.lines: deque[str] = deque(maxlen=max_lines)
        self._thread = threading.Thread(target=self._drain, name=f"ffmpeg-stderr-{proc.pid}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for raw in self._stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.lines.append(line)

    def join(self) -> None:
        self._thread.join()

    def last(self, count: int | None = None) -> list[str]:
        lines = list(self.lines)
        return lines if count is None else lines[-count:]

    def text(self, count: int | None = None) -> str:
        return "\n".join(self.last(count))


# --------------------------------------------------------------------------- failure in words

# "[in#0 @ 0x55…] [error] moov atom not found", "[fatal] Error opening input files: …"
_AV_LOG_ERROR = re.compile(r"^(?:\[[^\]]*\] )*\[(?P<level>panic|fatal|error)\] (?P<text>.+)$")
# libraries writing on their own, e.g. "x264 [error]: invalid profile: nonsense"
_LIB_ERROR = re.compile(r"^\w+ \[(?P<level>error)\]: (?P<text>.+)$")


def describe_failure(lines: Iterable[str], returncode: int | None) -> str:
    """The reason for a failed run in ffmpeg's words, from its (``level+info``) stderr lines.

    The last fatal summary ("Error opening input files: X" gives X) comes first, followed by the first
    error line when it adds something: "Invalid data found when processing input: moov atom not found".
    """
    errors = [
        (m["level"], m["text"].strip())
        for line in lines
        if (m := _AV_LOG_ERROR.match(line) or _LIB_ERROR.match(line))
    ]
    if not errors:
        return _fallback_reason(returncode)
    first = errors[0][1]
    fatal = [text for level, text in errors if level != "error"]
    headline = _summary_reason(fatal[-1]) if fatal else None
    if headline is None or headline in first:
        return first
    if first in headline:
        return headline
    return f"{headline}: {first}"


def _summary_reason(text: str) -> str:
    """``Error opening output files: Encoder not found`` -> ``Encoder not found``."""
    if text.startswith("Error ") and ": " in text:
        return text.rsplit(": ", 1)[1]
    return text


def _fallback_reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"ffmpeg was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            pass
    return f"ffmpeg failed with exit code {returncode}"
