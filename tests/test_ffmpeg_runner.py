"""The ffmpeg runner, against the real ffmpeg."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rushes.errors import ConfigError, FFmpegError, FFmpegTimeout
from tests.media_fixtures import long_lavfi_args
from transcoders import ffmpeg as runner
from transcoders.ffmpeg import (
    describe_failure,
    ffmpeg_exe,
    ffmpeg_version,
    kill_all,
    run_ffmpeg,
    running_pids,
)


def wait_for(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --------------------------------------------------------------------------- executable


def test_version_is_dotted_numbers():
    assert ffmpeg_version().split(".")[0].isdigit()


def test_env_override_names_the_ffmpeg(monkeypatch):
    real = ffmpeg_exe()
    monkeypatch.setenv(runner.ENV_FFMPEG, real)
    assert ffmpeg_exe() == real


def test_env_override_to_nothing_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv(runner.ENV_FFMPEG, str(tmp_path / "no-ffmpeg-here"))
    with pytest.raises(ConfigError, match="RUSHES_FFMPEG"):
        ffmpeg_exe()


# --------------------------------------------------------------------------- success and progress


def test_successful_run_reports_argv_and_exit_code():
    run = run_ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=0.2:size=64x64", "-f", "null", "-"])

    assert run.returncode == 0
    assert run.argv[0] == ffmpeg_exe()
    assert run.argv[1:8] == (
        "-hide_banner",
        "-nostdin",
        "-y",
        "-nostats",
        "-loglevel",
        "level+info",
        "-progress",
    )
    assert run.elapsed_s > 0
    assert run.stderr_tail


def test_progress_is_monotonic_throttled_and_reaches_one():
    calls: list[tuple[float, float]] = []

    run = run_ffmpeg(
        long_lavfi_args(2),
        duration_s=2.0,
        on_progress=lambda fraction: calls.append((time.monotonic(), fraction)),
    )

    fractions = [fraction for _, fraction in calls]
    assert len(fractions) >= 3
    assert fractions == sorted(fractions)
    assert all(0.0 <= fraction <= 1.0 for fraction in fractions)
    assert fractions[-1] == 1.0 and fractions.count(1.0) == 1
    assert len(calls) <= 4 * run.elapsed_s + 2


def test_progress_without_duration_only_reports_completion():
    fractions: list[float] = []

    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc=duration=0.5:size=64x64", "-f", "null", "-"],
        on_progress=fractions.append,
    )

    assert fractions == [1.0]


def test_an_error_in_the_progress_callback_stops_ffmpeg():
    def explode(fraction: float) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_ffmpeg(long_lavfi_args(30), duration_s=30, on_progress=explode)

    assert running_pids() == []


# --------------------------------------------------------------------------- failures


def test_non_media_input_raises_a_readable_error(tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("this is not a movie\n")

    with pytest.raises(FFmpegError) as caught:
        run_ffmpeg(["-i", str(notes), "-f", "null", "-"])

    error = caught.value
    assert not isinstance(error, FFmpegTimeout)
    assert error.message.startswith("Invalid data found when processing input")
    assert error.returncode not in (None, 0)
    assert str(notes) in error.argv
    assert "Error opening input" in error.stderr_tail
    assert len(error.stderr_tail.splitlines()) <= runner.STDERR_TAIL_LINES


def test_missing_input_says_so(tmp_path):
    with pytest.raises(FFmpegError, match="No such file or directory"):
        run_ffmpeg(["-i", str(tmp_path / "missing.mov"), "-f", "null", "-"])


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "[in#0 @ 0x1] [warning] Format mov detected only with low score of 1, misdetection possible!",
                "[in#0 @ 0x1] [error] moov atom not found",
                "[in#0 @ 0x2] [error] Error opening input: Invalid data found when processing input",
                "[error] Error opening input file bad.mp4.",
                "[fatal] Error opening input files: Invalid data found when processing input",
            ],
            "Invalid data found when processing input: moov atom not found",
        ),
        (
            [
                "[vost#0:0 @ 0x1] [fatal] Unknown encoder 'nosuchenc'",
                "[vost#0:0 @ 0x1] [fatal] Error selecting an encoder",
                "[error] Error opening output file out.mp4.",
                "[fatal] Error opening output files: Encoder not found",
            ],
            "Encoder not found: Unknown encoder 'nosuchenc'",
        ),
        (
            [
                "[out#0/mp4 @ 0x1] [fatal] Error opening output /no/dir/out.mp4: No such file or directory",
                "[error] Error opening output file /no/dir/out.mp4.",
                "[fatal] Error opening output files: No such file or directory",
            ],
            "Error opening output /no/dir/out.mp4: No such file or directory",
        ),
        (
            [
                "x264 [error]: invalid profile: nonsense",
                "[libx264 @ 0x1] [error] Error setting profile nonsense.",
                "[info] Conversion failed!",
            ],
            "invalid profile: nonsense",
        ),
        (
            [
                "[libx264 @ 0x1] [error] width not divisible by 2 (641x360)",
                "[vost#0:0/libx264 @ 0x2] [enc:libx264 @ 0x3] [error] Error while opening encoder",
            ],
            "width not divisible by 2 (641x360)",
        ),
        (["[info] Stream mapping:"], "ffmpeg failed with exit code 1"),
    ],
)
def test_failure_is_described_in_ffmpeg_words(lines, expected):
    assert describe_failure(lines, 1) == expected


def test_a_killed_ffmpeg_is_described_by_its_signal():
    assert describe_failure([], -9) == "ffmpeg was killed by SIGKILL"


# --------------------------------------------------------------------------- stopping


def test_timeout_kills_ffmpeg_quickly():
    started = time.monotonic()

    with pytest.raises(FFmpegTimeout, match="time limit"):
        run_ffmpeg(long_lavfi_args(60), timeout=0.5)

    assert time.monotonic() - started < 4.0
    assert running_pids() == []


def test_cancel_stops_ffmpeg():
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()

    with pytest.raises(FFmpegError, match="cancelled") as caught:
        run_ffmpeg(long_lavfi_args(60), cancel=cancel)

    assert not isinstance(caught.value, FFmpegTimeout)
    assert time.monotonic() - started < 4.0
    assert running_pids() == []


def test_kill_all_stops_running_ffmpeg():
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_ffmpeg(long_lavfi_args(60))
        except FFmpegError as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert wait_for(lambda: len(running_pids()) == 1)

    assert kill_all() == 1
    worker.join(timeout=5)

    assert not worker.is_alive()
    assert len(errors) == 1
    assert errors[0].message == "stopped at shutdown"
    assert running_pids() == []


# --------------------------------------------------------------------------- death of the parent


def child_pids(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def long_ffmpeg(parent: int) -> list[int]:
    """Children of ``parent`` running the test's ``-re`` lavfi ffmpeg (after setpriv exec'd it)."""
    found = []
    for pid in child_pids(parent):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-re" in argv and b"setpriv" not in Path(argv[0].decode(errors="replace")).name.encode():
            found.append(pid)
    return found


def is_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie waiting for init is dead


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_ffmpeg_dies_when_its_worker_is_killed():
    script = textwrap.dedent(f"""
        from transcoders.ffmpeg import run_ffmpeg
        run_ffmpeg({long_lavfi_args(60)!r})
    """)
    worker = subprocess.Popen([sys.executable, "-c", script])
    try:
        # the long-running ffmpeg, not a short-lived helper (such as a version check) started before it
        assert wait_for(lambda: bool(long_ffmpeg(worker.pid)), timeout_s=10)
        (ffmpeg_pid,) = long_ffmpeg(worker.pid)

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=5)

        assert wait_for(lambda: is_gone(ffmpeg_pid), timeout_s=3)
    finally:
        worker.kill()
        worker.wait()
