"""The API's hot read paths on a large catalog: p50/p95 latency and SQL statements per request.

Seed a catalog first (bench/seed.py), then time each request through the whole API in-process (routing,
auth, permissions, queries, views, JSON) as an admin and as an editor with grants on two collections:

    .venv/bin/python bench/seed.py --data /tmp/big --assets 200000 --docs 10
    .venv/bin/python bench/catalog_scale.py --data /tmp/big [--reps 30]
    .venv/bin/python bench/catalog_scale.py --database-url postgresql+psycopg://postgres@127.0.0.1/big

Goals (issue 11): list and asset detail p95 < 50 ms, search p95 < 100 ms; (issue 14) facet counts over a million
assets p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from api.app import create_app  # noqa: E402
from catalog.auth import create_token, ensure_user, grant  # noqa: E402
from catalog.models import Asset  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from rushes.settings import load_settings  # noqa: E402


def requests(assets: int) -> list[tuple[str, str]]:
    middle = assets // 2 - (assets // 2) % 20 + 6  # in production-07 (seed.py: collection = id % 20 + 1)
    return [
        ("list, first page", "/api/v1/assets?limit=50"),
        ("list, deep offset", f"/api/v1/assets?limit=50&offset={middle}"),
        ("list, deep cursor", f"/api/v1/assets?limit=50&after={middle}"),
        ("list, one collection", "/api/v1/assets?limit=50&collection=production-07"),
        ("list, failed only", "/api/v1/assets?limit=50&status=failed"),
        ("asset detail", f"/api/v1/assets/{middle}"),
        ("collections", "/api/v1/collections"),
        ("search, common word", "/api/v1/search?q=the"),  # a stop word on PostgreSQL (english): no match there
        ("search, frequent word", "/api/v1/search?q=time"),  # ~3 % of transcript segments (seed.py's Zipf)
        ("search, phrase", '/api/v1/search?q="of the"'),
        ("search, rare word", "/api/v1/search?q=lighthouse"),
        ("search, rare phrase of common words", '/api/v1/search?q="fellow americans"'),
        ("search, word in one collection", "/api/v1/search?q=interview&collection=production-03"),
        ("search, a name", f"/api/v1/search?q=A{middle:07d}"),
        ("facets: camera, talent, production", "/api/v1/assets?limit=50&facets=camera,talent,production"),
        ("facets within a filter", "/api/v1/assets?limit=50&q=talent:Guest&facets=camera,production"),
        ("filter: one camera", '/api/v1/assets?limit=50&q=camera:"B cam"'),
        ("filter: date range + talent", "/api/v1/assets?limit=50&q=shoot_date:2025-03-01..2025-03-31%20talent:Crowd"),
        ("filter: rare combination", '/api/v1/assets?limit=50&q=camera:Drone%20episode:7%20talent:Crowd'),
        ("search: words + field term", '/api/v1/search?q=time%20camera:Drone'),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="the seeded embedded catalog's folder")
    parser.add_argument("--database-url", help="a seeded PostgreSQL catalog instead")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--only", help="time only the requests whose label holds this (e.g. facets)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    overrides: dict[str, Any] = {"data_dir": args.data or Path("/tmp/rushes-bench-scale")}
    if args.database_url:
        overrides["database_url"] = args.database_url
    farm = Farm(load_settings(**overrides))
    statements = [0]

    @event.listens_for(farm.engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        statements[0] += 1

    with farm.transaction() as session:
        assets = session.scalar(select(func.count(Asset.id))) or 0
        admin = create_token(session, ensure_user(session, "bench-admin", "admin"))
        editor_user = ensure_user(session, "bench-editor", "editor")
        for name in ("production-03", "production-07"):
            grant(session, editor_user, collection=name, by="bench")  # idempotent
        editor = create_token(session, editor_user)
    print(f"{farm.engine.dialect.name} catalog, {assets:,} assets; {args.reps} requests each")
    print(f"{'request':<38}{'caller':<8}{'p50 ms':>8}{'p95 ms':>8}{'SQL':>6}")
    with TestClient(create_app(farm)) as client:
        for thread in threading.enumerate():  # the server's start loads its indexes: time after, not during
            if thread.name == "index-warm-up":
                thread.join()
        for caller, token in (("admin", admin), ("editor", editor)):
            headers = {"Authorization": f"Bearer {token}"}
            for label, path in requests(assets):
                if args.only and args.only not in label:
                    continue
                reply = client.get(path, headers=headers)
                assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
                times = []
                statements[0] = 0
                for _ in range(args.reps):
                    started = time.perf_counter()
                    client.get(path, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{label:<38}{caller:<8}{statistics.median(times):>8.1f}{p95:>8.1f}"
                      f"{statements[0] / args.reps:>6.0f}")
    farm.close()


if __name__ == "__main__":
    main()
