"""The `rushes` command as a user runs it: one-shot ingest with exit codes, `up`, assets, tokens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import run, wait_for, wait_healthy
from tests.farmproc import RUSHES, free_port


@pytest.mark.slow
def test_ingest_waits_and_exits_zero_when_all_are_ready(tmp_path: Path, clips: dict[str, Path]) -> None:
    data = tmp_path / "data"
    done = run([RUSHES, "--data", str(data), "ingest", str(clips["short"]), str(clips["other"])])
    assert done.returncode == 0, done.stderr
    assert "ready" in done.stdout
    listed = json.loads(run([RUSHES, "--data", str(data), "assets", "list", "--json"]).stdout)
    assert sorted((a["name"], a["status"]) for a in listed) == [("other.mp4", "ready"), ("short.mov", "ready")]
    assert clips["short"].exists(), "ingest copies; the original stays where it was"


@pytest.mark.slow
def test_ingest_exits_non_zero_and_says_why_but_processes_the_rest(tmp_path: Path, clips: dict[str, Path]) -> None:
    bad = tmp_path / "notes.mov"
    bad.write_text("not a movie at all\n" * 20)
    data = tmp_path / "data"
    done = run([RUSHES, "--data", str(data), "ingest", str(bad), str(clips["short"]), str(tmp_path / "missing.mov")])
    assert done.returncode == 1
    assert "FAILED notes.mov: probe: not a media file" in done.stderr
    assert "missing.mov: no such file" in done.stderr
    listed = json.loads(run([RUSHES, "--data", str(data), "assets", "list", "--json"]).stdout)
    assert {a["name"]: a["status"] for a in listed} == {"notes.mov": "failed", "short.mov": "ready"}
    shown = json.loads(run([RUSHES, "--data", str(data), "assets", "show", str(listed[0]["id"])]).stdout)
    assert shown["steps"][0]["kind"] == "probe"


@pytest.mark.slow
def test_up_prints_where_to_drop_files_and_serves_the_api(tmp_path: Path, clips: dict[str, Path]) -> None:
    port = free_port()
    data = tmp_path / "data"
    log = (tmp_path / "up.log").open("w+")
    proc = subprocess.Popen([RUSHES, "up", "--port", str(port), "--data", str(data)], stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"

        wait_healthy(base, timeout=30)
        printed = (tmp_path / "up.log").read_text()
        token = (data / "admin.token").read_text().strip()
        assert f"drop files into: {data / 'watch' / 'default'}/" in printed
        assert f"http://127.0.0.1:{port}" in printed and token in printed
        # only what a newcomer needs: no migration chatter, no server start-up lines
        assert "alembic" not in printed and "Uvicorn running" not in printed and "INFO:" not in printed, printed
        (data / "watch" / "default" / "A001.mov").write_bytes(clips["short"].read_bytes())
        headers = {"Authorization": f"Bearer {token}"}

        def ready() -> list:
            assets = httpx.get(f"{base}/api/v1/assets?status=ready", headers=headers).json()["assets"]
            return assets

        [asset] = wait_for(ready, timeout=60, interval=0.5, what="the dropped file to be ready")
        assert asset["name"] == "A001.mov"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM), "rushes up stops on SIGTERM"
    second = subprocess.Popen([RUSHES, "up", "--port", str(port), "--data", str(data)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(base, timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        out = second.communicate(timeout=20)[0]
    assert token not in out and "admin.token" in out  # the token is shown once, then only where it is kept


def test_token_create_makes_a_working_token_with_its_role(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = run([RUSHES, "--data", str(data), "token", "create", "--user", "rita", "--role", "reviewer"])
    assert made.returncode == 0 and made.stdout.startswith("rsh_")
    bad = run([RUSHES, "--data", str(data), "token", "create", "--user", "x", "--role", "boss"])
    assert bad.returncode != 0 and "boss" in bad.stderr


@pytest.mark.slow
def test_approve_names_what_is_missing_and_approves_a_ready_version(tmp_path: Path, clips: dict[str, Path]) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "RUSHES_STEPS": '["probe", "proxy"]'}
    assert run([RUSHES, "--data", str(data), "ingest", str(clips["short"])], env=env).returncode == 0
    missing = run([RUSHES, "--data", str(data), "approve", "999"], env=env)
    assert missing.returncode != 0 and "no asset 999" in missing.stderr
    no_version = run([RUSHES, "--data", str(data), "approve", "1", "--version", "7"], env=env)
    assert no_version.returncode != 0 and "has no version 7" in no_version.stderr
    done = run([RUSHES, "--data", str(data), "approve", "1"], env=env)
    assert done.returncode == 0 and "version 1 approved" in done.stdout


def test_errors_end_the_command_with_the_exit_code_of_their_row(tmp_path: Path) -> None:
    """rushes/errors.py STATUS: 2 for what cannot be right, 3 for what is missing, as the API's 400 and 404."""
    data = tmp_path / "data"
    missing = run([RUSHES, "--data", str(data), "assets", "show", "999"])
    assert (missing.returncode, missing.stderr.strip()) == (3, "Error: no asset 999")
    unknown = run([RUSHES, "--data", str(data), "presets", "show", "web/nope"])
    assert unknown.returncode == 2 and "no preset 'web/nope'" in unknown.stderr
    steps = run([RUSHES, "--data", str(data), "migrate"], env={**os.environ, "RUSHES_STEPS": '["probe", "proxxy"]'})
    assert steps.returncode == 2 and "RUSHES_STEPS: unknown step(s) ['proxxy']" in steps.stderr
