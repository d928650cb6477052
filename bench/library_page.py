"""The library page on a large catalog, in a real Chromium: how long until an editor can use it.

Seed a catalog first (bench/seed.py; the newest assets get a real poster file here, the seeder's paths name
none), then this starts `rushes api` on it, signs in with an admin's token and
loads `/library` again and again, timing from navigation start to (a) the first asset cards drawn and (b) the
page settled (the collections filter filled and no request pending). Goal (issue 11): interactive in < 1.5 s.

    .venv/bin/python bench/seed.py --data /tmp/big --assets 200000 --docs 10
    .venv/bin/python bench/library_page.py --data /tmp/big [--reps 15]
    .venv/bin/python bench/library_page.py --database-url postgresql+psycopg://postgres@127.0.0.1/big
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
        cards, settled = measure(base, token, args.reps)
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=20)
    for name, values in (("first cards drawn", cards), ("page settled", settled)):
        print(f"{name:<18} p50 {statistics.median(values) * 1000:6.0f} ms   "
              f"p95 {_percentile(values, 0.95) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms")
    worst = _percentile(settled, 0.95)
    print(f"goal: interactive in < {GOAL_S} s: {'met' if worst < GOAL_S else 'NOT met'} (p95 {worst:.2f} s)")


def measure(base: str, token: str, reps: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    cards: list[float] = []
    settled: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.goto(f"{base}/library")
        page.fill("#token", token)
        page.click("#signin button[type=submit]")
        page.wait_for_url("**/library")
        page.wait_for_selector("li.card")
        for _ in range(reps + 1):  # the first load warms the server's caches: not counted
            page.reload(wait_until="commit")
            page.wait_for_selector("li.card")
            drawn = page.evaluate("performance.now()")
            page.wait_for_function("document.querySelectorAll('#collection option').length > 1")
            page.wait_for_load_state("networkidle")
            done = page.evaluate("Math.max(...performance.getEntriesByType('resource').map(e => e.responseEnd))")
            cards.append(drawn / 1000)
            settled.append(max(drawn, done) / 1000)
        slowest = page.evaluate("performance.getEntriesByType('resource').map(e => "
                                "[e.name.replace(location.origin, ''), Math.round(e.responseEnd - e.startTime),"
                                " Math.round(e.responseEnd)])")
        browser.close()
    print("the last load's requests (ms taken, ms since navigation start):")
    for name, took, end in sorted(slowest, key=lambda r: -r[1])[:8]:
        print(f"  {took:6d} {end:6d}  {name}")
    return cards[1:], settled[1:]


if __name__ == "__main__":
    main()
