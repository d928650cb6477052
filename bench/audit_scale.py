"""`rushes audit verify` and the audit exports at scale: wall time, lines/s and the peak RSS of the process.

Seed a trail first (bench/seed.py --audit), then run each as a process of its own and watch its memory: VmHWM
in /proc/<pid>/status while it runs, and the kernel's maximum (wait4) when a command ends.

    .venv/bin/python bench/seed.py --data /tmp/audit --assets 200000 --docs 2 --audit 1000000
    .venv/bin/python bench/audit_scale.py --data /tmp/audit
    .venv/bin/python bench/audit_scale.py --database-url postgresql+psycopg://postgres@127.0.0.1/big --data /tmp/x

- CLI: ``rushes audit verify``, ``rushes audit export --format csv`` and ``--format json`` (standard output
  read and counted here, as a shell would write it to a file).
- API: a real ``rushes api`` process; ``GET /api/v1/audit/verify``, ``GET /api/v1/audit.csv`` and
  ``GET /api/v1/audit.csv?offset=1`` (the paged form, no limit) as an admin, each answer streamed with httpx and
  counted. The server's VmHWM is reset (/proc/<pid>/clear_refs) before each request, so its peak is that
  request's.
- ``--probe-writes`` checks twice a second, while each runs, whether an audit line could be appended meanwhile:
  on SQLite whether the write lock can be taken (``BEGIN IMMEDIATE``, 0.2 s timeout), on PostgreSQL whether
  the append lock of catalog/audit.py is free (``pg_try_advisory_xact_lock``), both rolled back at once.

It signs in as ``bench-auditor`` (an admin user and token it adds to the catalog). A process above
``--rss-cap`` MB is killed (an export that holds everything must not take the shared machine down) and reported
as such. Goal (issue 11): verify of 10 M lines streams in bounded memory, i.e. its peak RSS does not grow with
the trail; run this at two sizes and compare.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from catalog.audit import LOCK_KEY  # noqa: E402
from catalog.auth import create_token, ensure_user  # noqa: E402
from catalog.models import AuditEntry  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from rushes.settings import load_settings  # noqa: E402

RUSHES = Path(sys.executable).with_name("rushes")


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in kB ({} once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status.splitlines())
            if k in ("VmRSS", "VmHWM")}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watch(threading.Thread):
    """Samples a process's memory every 50 ms: the highest VmHWM seen; SIGKILL above ``cap_kb`` of RSS."""

    def __init__(self, pid: int, cap_kb: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.cap_kb, self.peak_kb, self.killed = pid, cap_kb, 0, False
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            kb = status_kb(self.pid)
            self.peak_kb = max(self.peak_kb, kb.get("VmHWM", 0))
            if kb.get("VmRSS", 0) > self.cap_kb:
                self.killed = True
                os.kill(self.pid, signal.SIGKILL)
                return

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak_kb


class WriteProbe(threading.Thread):
    """Twice a second: could an audit line be appended now? ``target``: the SQLite file (its write lock) or a
    PostgreSQL URL (the append lock of catalog/audit.py); None: no probing."""

    def __init__(self, target: Path | str | None) -> None:
        super().__init__(daemon=True)
        self.target, self.ok, self.blocked, self.failed = target, 0, 0, ""
        self.done = threading.Event()

    def run(self) -> None:
        if isinstance(self.target, Path):
            conn = sqlite3.connect(self.target, timeout=0.2, isolation_level=None)
            while not self.done.wait(0.5):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                    self.ok += 1
                except sqlite3.OperationalError:
                    self.blocked += 1
            conn.close()
        elif self.target:
            engine = create_engine(self.target)
            try:
                with engine.connect() as pg:
                    while not self.done.wait(0.5):
                        free = pg.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
                        pg.rollback()  # the transaction's advisory lock goes with it
                        self.ok, self.blocked = self.ok + bool(free), self.blocked + (not free)
            except OperationalError as exc:  # the server went away: say so in the table, not in a traceback
                self.failed = str(exc.orig).splitlines()[0]
            finally:
                engine.dispose()

    def stop(self) -> str:
        self.done.set()
        self.join()
        total = self.ok + self.blocked
        return "failed" if self.failed else f"{self.ok}/{total}" if total else "-"


def drain(stream: Any, counted: list[int], keep: list[bytes]) -> None:
    while chunk := stream.read(1 << 20):
        counted[0] += len(chunk)
        if len(keep) < 4:
            keep.append(chunk[:4096])


def run_cli(args: list[str], env: dict[str, str], cap_kb: int, probe: Path | str | None) -> dict[str, Any]:
    """Run ``rushes ARGS``; its output counted, its peak RSS from wait4 (and the samples if killed)."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(RUSHES), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watch, writes = Watch(proc.pid, cap_kb), WriteProbe(probe)
    out, err = [0], [0]
    head: list[bytes] = []
    tail: list[bytes] = []
    readers = [threading.Thread(target=drain, args=(proc.stdout, out, head), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err, tail), daemon=True)]
    for thread in (watch, writes, *readers):
        thread.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    wall = time.perf_counter() - started
    sampled = watch.stop()
    for thread in readers:
        thread.join()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_kb": max(usage.ru_maxrss, sampled),
            "bytes": out[0], "rc": proc.returncode, "killed": watch.killed, "writes": writes.stop(),
            "said": (b"".join(head)[:300] + b"".join(tail)[:300]).decode(errors="replace").strip()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_api(paths: list[str], env: dict[str, str], token: str, cap_kb: int, probe: Path | str | None,
            log: Path) -> list[dict[str, Any]]:
    """Start ``rushes api``; GET each path streamed and counted; the server's peak RSS during each."""
    import httpx

    port = free_port()
    with log.open("wb") as log_file:
        server = subprocess.Popen([str(RUSHES), "api", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    results: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=base, timeout=httpx.Timeout(10.0, read=None),
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit(f"rushes api exited {server.returncode}: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            for path in paths:
                if server.poll() is not None:
                    results.append({"path": path, "skipped": "server gone"})
                    continue
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS now
                before, cpu_before = status_kb(server.pid).get("VmRSS", 0), cpu_s(server.pid)
                watch, writes = Watch(server.pid, cap_kb), WriteProbe(probe)
                watch.start()
                writes.start()
                started, first, n, code, said = time.perf_counter(), None, 0, None, ""
                try:
                    with client.stream("GET", path) as reply:
                        code = reply.status_code
                        for chunk in reply.iter_raw(1 << 20):
                            if first is None:
                                first = time.perf_counter() - started
                            n += len(chunk)
                            if len(said) < 300:
                                said += chunk[:300].decode(errors="replace")
                except httpx.HTTPError as exc:
                    said = f"{type(exc).__name__}: {exc}"
                wall = time.perf_counter() - started
                time.sleep(0.1)  # one more sample
                peak = max(watch.stop(), status_kb(server.pid).get("VmHWM", 0))
                cpu = cpu_s(server.pid) - cpu_before if server.poll() is None else float("nan")
                results.append({"path": path, "wall": wall, "cpu": cpu, "first_byte": first, "bytes": n, "code": code,
                                "before_kb": before, "peak_kb": peak, "killed": watch.killed,
                                "writes": writes.stop(), "said": said[:300].strip()})
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="the seeded embedded catalog's folder (or a scratch folder "
                                                  "for the farm's files with --database-url)")
    parser.add_argument("--database-url", help="a seeded PostgreSQL catalog instead")
    parser.add_argument("--rss-cap", type=int, default=4096, help="MB: kill a process above this RSS")
    parser.add_argument("--skip", default="", help="comma-separated: cli-verify, cli-csv, cli-json, api-verify, "
                                                   "api-csv, api-csv-offset")
    parser.add_argument("--probe-writes", action="store_true", help="check whether an audit line could be "
                                                                    "appended meanwhile")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data (and --database-url for PostgreSQL)")
    skip = set(filter(None, args.skip.split(",")))
    cap_kb = args.rss_cap * 1024
    env = {**os.environ, "RUSHES_DATA_DIR": str(args.data.resolve())}
    overrides: dict[str, Any] = {"data_dir": args.data}
    if args.database_url:
        env["RUSHES_DATABASE_URL"] = overrides["database_url"] = args.database_url
    farm = Farm(load_settings(**overrides))
    with farm.transaction() as session:
        lines = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        token = create_token(session, ensure_user(session, "bench-auditor", "admin"), label="audit_scale")
    dialect = farm.engine.dialect.name
    db_file = Path(farm.engine.url.database or "") if dialect == "sqlite" else None
    size = (f"{(db_file.stat().st_size + 2**19) // 2**20:,} MB file" if db_file
            else f"{farm.engine.url.database}")
    farm.close()
    probe = (db_file or args.database_url) if args.probe_writes else None
    print(f"{dialect} catalog ({size}), {lines:,} audit lines; RSS cap {args.rss_cap} MB"
          + ("; writes: an audit append could have got in / tries" if probe else ""), flush=True)
    print(f"{'what':<34}{'wall s':>9}{'cpu s':>8}{'lines/s':>10}{'MB out':>9}{'peak RSS MB':>13}"
          + (f"{'writes':>9}" if probe else ""), flush=True)

    def row(label: str, r: dict[str, Any], extra: str = "") -> None:
        cpu = f"{r['cpu']:>8.1f}" if "cpu" in r else f"{'-':>8}"
        rate = f"{'-':>10}" if r.get("killed") else f"{lines / r['wall']:>10,.0f}"
        print(f"{label:<34}{r['wall']:>9.1f}{cpu}{rate}{r['bytes'] / 2**20:>9.1f}"
              f"{r['peak_kb'] / 1024:>13.0f}" + (f"{r['writes']:>9}" if probe else "") + extra, flush=True)
        if r.get("killed"):
            print(f"  ^ KILLED: RSS went above {args.rss_cap} MB", flush=True)

    cli = [("cli-verify", "CLI audit verify", ["audit", "verify"]),
           ("cli-csv", "CLI audit export --format csv", ["audit", "export", "--format", "csv"]),
           ("cli-json", "CLI audit export --format json", ["audit", "export", "--format", "json"])]
    for key, label, argv in cli:
        if key in skip:
            continue
        r = run_cli(argv, env, cap_kb, probe)
        row(label, r)
        if r["rc"] != 0 or key == "cli-verify":
            print(f"  exit {r['rc']}: {r['said'][:300]}", flush=True)
    api = [p for key, p in (("api-verify", "/api/v1/audit/verify"), ("api-csv", "/api/v1/audit.csv"),
                            ("api-csv-offset", "/api/v1/audit.csv?offset=1")) if key not in skip]
    if api:
        with tempfile.TemporaryDirectory(prefix="audit-scale-") as scratch:
            for r in run_api(api, env, token, cap_kb, probe, Path(scratch) / "api.log"):
                if "skipped" in r:
                    print(f"API GET {r['path']}: skipped ({r['skipped']})", flush=True)
                    continue
                first = f"  (first byte {r['first_byte']:.1f} s)" if r["first_byte"] is not None else ""
                row(f"API {r['path'].removeprefix('/api/v1')}", r,
                    f"  RSS before {r['before_kb'] / 1024:.0f} MB{first}")
                if r["code"] != 200 or r["path"].endswith("verify"):
                    print(f"  HTTP {r['code']}: {r['said'][:300]}", flush=True)


if __name__ == "__main__":
    main()
