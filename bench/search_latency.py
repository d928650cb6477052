"""Search latency over a large catalog: 100 000 transcript segments, ranked full-text queries.

Fills a fresh embedded catalog (SQLite, FTS5) — or a PostgreSQL database with --postgres URL — with
--segments transcript segments of spoken-English-like text across --assets assets, then times
--queries searches of one to three words (some quoted phrases) through the same code the API uses
(catalog.views.search_hits: ranking, timecode, keyframe lookup). Goal: p95 < 50 ms embedded.

    .venv/bin/python bench/search_latency.py [--segments 100000] [--queries 300] [--postgres URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from seed import WORDS  # bench/seed.py: the one vocabulary of the catalog benchmarks
from sqlalchemy import insert

from catalog.db import make_engine, migrate, session_factory
from catalog.models import Asset, Collection, MediaInfoRow, SearchDoc, Version
from catalog.search import SearchFilters
from catalog.views import search_hits


def fill(url: str, assets: int, segments: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = make_engine(url)
    migrate(engine)
    weights = [1 / (i + 1) for i in range(len(WORDS))]  # Zipf-like, as speech is
    with session_factory(engine)() as session, session.begin():
        collection = Collection(name="bench")
        session.add(collection)
        session.flush()
        versions = []
        for n in range(assets):
            asset = Asset(name=f"clip-{n:05d}.mov", source_folder="bench", collection_id=collection.id,
                          status="ready")
            session.add(asset)
            session.flush()
            version = Version(asset_id=asset.id, number=1, content_hash=f"{n:064x}", size=1,
                              original_name=asset.name, source_folder="bench", source_path="-", status="ready")
            session.add(version)
            session.flush()
            session.add(MediaInfoRow(version_id=version.id, duration_s=600.0, frame_rate="25/1",
                                     start_timecode="10:00:00:00", info={}))
            versions.append((asset.id, version.id))
        per_asset = segments // assets
        rows = []
        for asset_id, version_id in versions:
            for i in range(per_asset):
                text = " ".join(rng.choices(WORDS, weights, k=rng.randint(6, 18)))
                rows.append({"asset_id": asset_id, "version_id": version_id, "kind": "transcript",
                             "start_s": i * 3.0, "end_s": i * 3.0 + 3.0, "text": text})
        for i in range(0, len(rows), 10_000):
            session.execute(insert(SearchDoc), rows[i:i + 10_000])
    engine.dispose()


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    content = WORDS[60:]
    out = []
    for i in range(n):
        words = rng.sample(content, rng.randint(1, 3))
        out.append(f'"{words[0]} {words[1]}"' if i % 5 == 0 and len(words) > 1 else " ".join(words))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database URL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'catalog.sqlite'}"
        start = time.perf_counter()
        fill(url, args.assets, args.segments)
        print(f"filled {args.segments} segments over {args.assets} assets in {time.perf_counter() - start:.1f}s")
        engine = make_engine(url)
        sessions = session_factory(engine)
        timings, hit_counts = [], []
        for query in queries(args.queries):
            start = time.perf_counter()
            with sessions() as session:
                hits = search_hits(session, query, SearchFilters(), limit=50)
            timings.append((time.perf_counter() - start) * 1000)
            hit_counts.append(len(hits))
        engine.dispose()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"{engine.dialect.name}: {len(timings)} queries, median {statistics.median(timings):.1f} ms, "
          f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms; mean hits per query {statistics.mean(hit_counts):.1f} "
          f"(goal: p95 < 50 ms embedded)")


if __name__ == "__main__":
    main()
