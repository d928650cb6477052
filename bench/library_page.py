"""The library page on a large catalog, in a real Chromium: how long until an editor can use it.

Seed a catalog first (bench/seed.py; the newest assets get a real poster file here, the seeder's paths name
none), then this starts `rushes api` on it, signs in with an admin's token and
loads `/library` again and again, cold (a new browser profile: nothing cached) and warm (a reload), timing from
navigation start to (a) the first asset cards drawn and (b) the page settled (the collections filter filled and
no request pending). Goal (issue 11): interactive in < 1.5 s.

    .venv/bin/python bench/seed.py --data /tmp/big --assets 200000 --docs 10
    .venv/bin/python bench/library_page.py --data /tmp/big [--reps 15]
    .venv/bin/python bench/library_page.py --database-url postgresql+psycopg://postgres@127.0.0.1/big
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import func, select, update  # noqa: E402

from catalog.auth import create_token, ensure_user  # noqa: E402
from catalog.models import Proxy  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from rushes.settings import load_settings  # noqa: E402
from transcoders.ffmpeg import ffmpeg_exe  # noqa: E402

RUSHES = str(Path(sys.executable).with_name("rushes"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
GOAL_S = 1.5
POSTERS = 500  # the newest assets given a real poster file


def real_poster(path: Path) -> Path:
    """A 1280x720 JPEG like the proxies' posters (about 60 kB)."""
    if not path.exists():
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1280x720:duration=1", "-frames:v", "1", "-q:v", "3", str(path)], check=True)
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="the data folder of a seeded embedded (SQLite) catalog")
    parser.add_argument("--database-url", help="a seeded PostgreSQL catalog instead")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    if not (args.data or args.database_url):
        parser.error("give --data or --database-url")
    data = args.data or Path(tempfile.mkdtemp(prefix="rushes-library-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATA_DIR"] = str(data)
    if args.database_url:
        env["RUSHES_DATABASE_URL"] = args.database_url
    farm = Farm(load_settings(data_dir=data, database_url=args.database_url))
    poster = real_poster(data / "bench-poster.jpg")
    with farm.transaction() as session:
        token = create_token(session, ensure_user(session, "bench-admin", "admin"), label="library bench")
        # the seeder's paths name no file: give the newest assets (the first pages) a real poster to serve
        newest = session.scalar(select(func.max(Proxy.version_id))) or 0
        session.execute(update(Proxy).where(Proxy.version_id > newest - POSTERS).values(poster_path=str(poster)))
    farm.close()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([RUSHES, "api", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        total = httpx.get(f"{base}/api/v1/assets?limit=1", headers={"Authorization": f"Bearer {token}"},
                          timeout=30).json()
        print(f"catalog: {'PostgreSQL' if args.database_url else 'SQLite'}; first asset id "
              f"{total['assets'][0]['id'] if total['assets'] else None}")
        runs = measure(base, token, args.reps)
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=20)
    for run, (cards, settled) in runs.items():
        for name, values in ((f"{run}: first cards drawn", cards), (f"{run}: page settled", settled)):
            print(f"{name:<26} p50 {statistics.median(values) * 1000:6.0f} ms   "
                  f"p95 {_percentile(values, 0.95) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms")
    worst = _percentile(runs["cold"][1], 0.95)
    print(f"goal: interactive in < {GOAL_S} s: {'met' if worst < GOAL_S else 'NOT met'} (cold p95 {worst:.2f} s)")


def _load(page: Any, navigate: Callable[[], Any]) -> tuple[float, float]:
    """Seconds from navigation start to the first cards drawn, and to the page settled."""
    navigate()
    page.wait_for_selector("li.card")
    drawn = page.evaluate("performance.now()")
    page.wait_for_function("document.querySelectorAll('#collection option').length > 1")
    page.wait_for_load_state("networkidle")
    done = page.evaluate("Math.max(...performance.getEntriesByType('resource').map(e => e.responseEnd))")
    return drawn / 1000, max(drawn, done) / 1000


def measure(base: str, token: str, reps: int) -> dict[str, tuple[list[float], list[float]]]:
    """Cold loads (a new browser profile each time: nothing cached) and warm ones (a reload)."""
    from playwright.sync_api import sync_playwright

    runs: dict[str, tuple[list[float], list[float]]] = {"cold": ([], []), "warm": ([], [])}
    slowest: list[Any] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for rep in range(reps + 1):  # the first load warms the server's caches: not counted
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            signed = context.request.post(f"{base}/api/v1/session", data={"token": token})
            assert signed.ok, signed.text()
            page = context.new_page()
            cold = _load(page, functools.partial(page.goto, f"{base}/library", wait_until="commit"))
            warm = _load(page, functools.partial(page.reload, wait_until="commit"))
            if rep:
                for name, (cards, settled) in (("cold", cold), ("warm", warm)):
                    runs[name][0].append(cards)
                    runs[name][1].append(settled)
            slowest = page.evaluate("performance.getEntriesByType('resource').map(e => "
                                    "[e.name.replace(location.origin, ''), Math.round(e.responseEnd - e.startTime),"
                                    " Math.round(e.responseEnd)])")
            context.close()
        browser.close()
    print("the last warm load's slowest requests (ms taken, ms since navigation start):")
    for name, took, end in sorted(slowest, key=lambda r: -r[1])[:5]:
        print(f"  {took:6d} {end:6d}  {name}")
    return runs


if __name__ == "__main__":
    main()
