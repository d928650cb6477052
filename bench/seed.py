"""Fill a catalog fast with assets shaped like real ones, to measure the hot read paths at scale.

Each asset gets one ready version with its media facts (1080p25 or 720p25 or 29.97 drop-frame, start
timecodes, some with an impossible stored label as real catalogs end up with), the seven done steps of the
workflow, a proxy row, 8 scenes, a name document and ``--docs`` transcript segments of spoken-English-like
text (Zipf-distributed words), spread over 20 collections (a tenth of the assets also added to a second one).
Rows go in with explicit ids (no ORM objects): batched multi-row inserts on SQLite (about a minute per
100 000 assets with 10 documents each here), ``COPY … FROM STDIN`` on PostgreSQL.

    .venv/bin/python bench/seed.py --data /tmp/big --assets 200000 --docs 10
    .venv/bin/python bench/seed.py --database-url postgresql+psycopg://postgres@127.0.0.1/big --assets 200000
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from catalog.db import make_engine, migrate  # noqa: E402
from catalog.models import (  # noqa: E402
    Asset,
    AssetCollection,
    Collection,
    MediaInfoRow,
    Proxy,
    Scene,
    SearchDoc,
    Step,
    Version,
    utcnow,
)

WORDS = ("the of and to a in is you that it he was for on are as with his they I at be this have from or one had "
         "by word but not what all were we when your can said there use an each which she do how their if will up "
         "other about out many then them these so some her would make like him into time has look two more write "
         "go see number no way could people my than first water been call who oil its now find long down day did "
         "get come made may part country fellow americans ask reader excuse antecedents circumstances native "
         "narrative tedious painful myself camera scene take slate interview harbour lighthouse storm budget "
         "director producer editor colour grade sound mix timeline deadline weather studio goal player keeper "
         "cyclist bicycle mountain river election minister parliament").split()
STEPS = ("probe", "proxy", "audio", "scenes", "keyframes", "transcript", "tags")
SHAPES = (  # (width, height, rate, start timecode, drop frame)
    (1920, 1080, "25/1", "10:00:00:00", False),
    (1280, 720, "25/1", "01:00:00:00", False),
    (1920, 1080, "30000/1001", "00:59:58;00", True),
    (3840, 2160, "24000/1001", None, False),
)
BAD_TIMECODE = "00:01:00;00"  # drop-frame skips this label: a stored row no player could show
COLLECTIONS = 20
BATCH = 5000


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_rows(engine: Any, table: str, rows: Iterator[dict[str, Any]]) -> int:
    """Stream rows into a PostgreSQL table with ``COPY … FROM STDIN`` (psycopg 3); dicts become JSON."""
    from psycopg.types.json import Json

    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    n = 0
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in itertools.chain([first], rows):
                copy.write_row([Json(v) if isinstance(v, dict) else v for v in row.values()])
                n += 1
    return n


def seed(url: str, assets: int, docs: int, seed_value: int = 7) -> dict[str, int]:
    rng = random.Random(seed_value)
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    engine = make_engine(url)
    migrate(engine)
    now = utcnow()
    counts: dict[str, int] = {}

    def put(model: Any, rows: Iterator[dict[str, Any]]) -> None:
        n = 0
        if engine.dialect.name == "postgresql":  # COPY: one stream per table, no statement per row
            n = copy_rows(engine, model.__tablename__, rows)
        else:
            for batch in batches(rows):
                with engine.begin() as conn:
                    conn.execute(insert(model), batch)
                n += len(batch)
        counts[model.__tablename__] = n

    def sentence() -> str:
        return " ".join(rng.choices(WORDS, weights, k=rng.randint(6, 16)))

    put(Collection, ({"id": c + 1, "name": f"production-{c + 1:02d}", "created_at": now} for c in range(COLLECTIONS)))
    put(Asset, ({"id": a, "name": f"A{a:07d}_C{a % 97:03d}.mov", "source_folder": "default",
                 "collection_id": a % COLLECTIONS + 1, "status": "ready", "created_at": now, "updated_at": now}
                for a in range(1, assets + 1)))
    put(AssetCollection, ({"asset_id": a, "collection_id": (a + 7) % COLLECTIONS + 1, "added_at": now}
                          for a in range(1, assets + 1, 10)))
    put(Version, ({"id": a, "asset_id": a, "number": 1, "content_hash": f"{a:064x}", "size": 10_000_000 + a,
                   "original_name": f"A{a:07d}_C{a % 97:03d}.mov", "source_folder": "default",
                   "source_path": f"/ingest/A{a:07d}.mov", "stored_path": f"/library/{a}/1/original.mov",
                   "status": "ready", "created_at": now, "ready_at": now} for a in range(1, assets + 1)))

    def media(a: int) -> dict[str, Any]:
        width, height, rate, start, drop = SHAPES[a % len(SHAPES)]
        if a % 50_000 == 0:
            start, drop = BAD_TIMECODE, True
        return {"version_id": a, "container": "mov,mp4,m4a,3gp,3g2,mj2", "duration_s": 60.0 + a % 600,
                "width": width, "height": height, "frame_rate": rate, "video_codec": "h264", "audio_codec": "aac",
                "start_timecode": start, "drop_frame": drop, "info": {"duration_s": 60.0 + a % 600}}

    put(MediaInfoRow, (media(a) for a in range(1, assets + 1)))
    put(Step, ({"id": (a - 1) * len(STEPS) + i + 1, "version_id": a, "kind": kind, "status": "done", "attempts": 1,
                "progress": 1.0, "started_at": now, "finished_at": now}
               for a in range(1, assets + 1) for i, kind in enumerate(STEPS)))
    put(Proxy, ({"version_id": a, "path": f"/library/{a}/1/proxy.mp4", "poster_path": f"/library/{a}/1/poster.jpg",
                 "width": 1280, "height": 720, "duration_s": 60.0 + a % 600, "size": 4_000_000, "elapsed_s": 3.0,
                 "created_at": now} for a in range(1, assets + 1)))
    put(Scene, ({"id": (a - 1) * 8 + s + 1, "version_id": a, "index": s, "start_s": s * 7.5, "end_s": (s + 1) * 7.5,
                 "start_frame": int(s * 7.5 * 25), "end_frame": int((s + 1) * 7.5 * 25),
                 "keyframe_path": f"/library/{a}/1/keyframes/scene-{s + 1:04d}.jpg", "keyframe_s": s * 7.5 + 1,
                 "faces": s % 3, "tags": None} for a in range(1, assets + 1) for s in range(8)))

    def documents() -> Iterator[dict[str, Any]]:
        doc_id = 0
        for a in range(1, assets + 1):
            doc_id += 1
            yield {"id": doc_id, "asset_id": a, "version_id": a, "kind": "name", "start_s": None, "end_s": None,
                   "text": f"A{a:07d}_C{a % 97:03d}.mov A{a:07d} C{a % 97:03d} mov"}
            for d in range(docs):
                doc_id += 1
                yield {"id": doc_id, "asset_id": a, "version_id": a, "kind": "transcript", "start_s": d * 6.0,
                       "end_s": d * 6.0 + 5.5, "text": sentence()}

    put(SearchDoc, documents())
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("collections", "assets", "versions", "steps", "scenes", "search_docs"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would soon: statistics and the visibility map
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="folder for an embedded (SQLite) catalog")
    parser.add_argument("--database-url", help="a PostgreSQL catalog (an empty database) instead")
    parser.add_argument("--assets", type=int, default=200_000)
    parser.add_argument("--docs", type=int, default=10, help="transcript segments per asset")
    args = parser.parse_args()
    if not (args.data or args.database_url):
        parser.error("give --data or --database-url")
    url = args.database_url or f"sqlite:///{(args.data / 'catalog.sqlite').resolve()}"
    if args.data:
        args.data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = seed(url, args.assets, args.docs)
    took = time.perf_counter() - started
    print(f"seeded {url} in {took:.0f} s: " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


if __name__ == "__main__":
    main()
