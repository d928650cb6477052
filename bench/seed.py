"""Fill a catalog fast with assets shaped like real ones, to measure the hot read paths at scale.

Each asset gets one ready version with its media facts (1080p25 or 720p25 or 29.97 drop-frame, start
timecodes, some with an impossible stored label as real catalogs end up with), the seven done steps of the
workflow, a proxy row, 8 scenes, a name document and ``--docs`` transcript segments of spoken-English-like
text (Zipf-distributed words), spread over 20 collections (a tenth of the assets also added to a second one).
Rows go in with explicit ids (no ORM objects): batched multi-row inserts on SQLite (about a minute per
100 000 assets with 10 documents each here), ``COPY … FROM STDIN`` on PostgreSQL.

``--audit N`` then appends N audit lines shaped like real ones (people, ``cli:<login>``, ``target:<name>``,
``system`` and refused anonymous callers; views, downloads, searches, reviews, renders, retries, sign-ins…,
some denied), timestamps spread over the six months before now, hash-chained onto the newest line already
in the trail with catalog/audit.py's own hashing, so ``rushes audit verify`` finds the chain intact. With
``--assets 0`` only the lines are added (to a catalog seeded before, or an empty one). Run it on a quiet
catalog: it reads the trail's head once and does not take the append lock.

    .venv/bin/python bench/seed.py --data /tmp/big --assets 200000 --docs 10
    .venv/bin/python bench/seed.py --database-url postgresql+psycopg://postgres@127.0.0.1/big --assets 200000
    .venv/bin/python bench/seed.py --data /tmp/big --assets 0 --audit 1000000
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from catalog.audit import ACTION_HELP, GENESIS, OUTCOMES, line_hash  # noqa: E402
from catalog.db import make_engine, migrate  # noqa: E402
from catalog.models import (  # noqa: E402
    Asset,
    AssetCollection,
    AuditEntry,
    Collection,
    MediaInfoRow,
    MetadataValue,
    Proxy,
    Scene,
    SearchDoc,
    Step,
    Version,
    utcnow,
)
from catalog.permissions import can  # noqa: E402

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
PEOPLE = tuple(zip(("alice", "bruno", "chen", "dana", "emeka", "farah", "goran", "hana", "ivo", "jade", "kofi",
                    "lena", "marta", "nils", "olu", "priya", "quinn", "rosa", "sami", "tove"),
                   ("admin", "admin") + ("editor",) * 8 + ("reviewer",) * 5 + ("viewer",) * 5, strict=True))
LOGINS = ("cli:ops", "cli:root", "cli:mpearson")
TARGETS = ("playout", "web-cms", "archive-s3", "partner-ftp")
PRESETS = ("h264-1080p", "h264-720p", "prores-proxy", "hls")
PERSON_ACTIONS = (  # (action, weight) of what people do
    ("view asset", 40), ("download proxy", 20), ("search", 10), ("download original", 5), ("comment", 5),
    ("resolve comment", 1), ("approve", 2), ("request changes", 1), ("export", 2), ("render", 2), ("retry", 1),
    ("download rendition", 2), ("sign-in", 3), ("sign-out", 2), ("collection change", 1), ("rights change", 1),
    ("permission change", 1), ("view audit", 1),
)
NEEDS = {  # the matrix action (catalog/permissions.py) an audited action needs; the others need "view"
    "download original": "download_original", "download rendition": "download_rendition", "comment": "comment",
    "resolve comment": "comment", "approve": "approve", "request changes": "approve", "render": "deliver",
    "retry": "deliver", "collection change": "edit_metadata", "rights change": "edit_metadata",
    "permission change": "manage_users", "view audit": "manage_users",
}
AUDIT_DAYS = 182


CAMERAS = ("A cam", "B cam", "C cam", "Drone", "Phone", "Screen recording")
TALENT = ["Presenter", "Guest", "Interviewee", "Crowd"]


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

    def values() -> Iterator[dict[str, Any]]:
        """The team's metadata (the bundled schema's fields): camera, shoot date, talent (one or two), episode,
        production; a few assets without some of them, as in a real library."""
        row_id = 0
        start = datetime(2025, 1, 1)
        for a in range(1, assets + 1):
            given = [("camera", CAMERAS[rng.randrange(len(CAMERAS))], None),
                     ("shoot_date", (start + timedelta(days=a % 700)).date().isoformat(), None),
                     ("production", f"Production {a % 50 + 1:02d}", None)]
            given += [("talent", name, None) for name in rng.sample(TALENT, rng.choice((1, 1, 2)))]
            if a % 3:
                episode = a % 40 + 1
                given.append(("episode", str(episode), float(episode)))
            for field, value, number in given:
                row_id += 1
                yield {"id": row_id, "asset_id": a, "log_id": None, "field": field, "value": value, "number": number,
                       "long": None, "problem": None, "set_by": "seed", "set_at": now}

    put(MetadataValue, values())
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("collections", "assets", "versions", "steps", "scenes", "search_docs", "metadata_values"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would soon: statistics and the visibility map
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return counts


def audit_lines(rng: random.Random, first_id: int, prev_hash: str, n: int, start: datetime, end: datetime,
                assets: int) -> Iterator[dict[str, Any]]:
    """``n`` audit lines from id ``first_id``, chained onto ``prev_hash``, at times rising from ``start`` to
    ``end``; every column filled as catalog.audit.record fills it (text within its column's size)."""
    actions, weights = zip(*PERSON_ACTIONS, strict=True)
    span_us = max(int((end - start).total_seconds() * 1_000_000), n)
    for i in range(n):
        a = rng.randint(1, assets)
        kind = rng.random()
        outcome, role, asset_id, version_id, subject, detail, ip = "allowed", None, None, None, None, None, None
        if kind < 0.80:  # a person, in the pages or through the API
            person = rng.randrange(len(PEOPLE))
            actor, role = PEOPLE[person]
            action = rng.choices(actions, weights)[0]
            ip = f"10.20.{person // 8}.{person * 7 % 250 + 2}"
            if not can(role, NEEDS.get(action, "view")) or rng.random() < 0.01:  # or no grant on the asset
                outcome = "denied"
            if action == "search":
                subject = " ".join(rng.choices(WORDS, k=rng.randint(1, 3)))
                detail = f"{rng.randint(0, 400)} hit(s)"
            elif action in ("sign-in", "sign-out", "view audit", "permission change"):
                subject = {"view audit": f"read {rng.choice((50, 100, 1000))} line(s)",
                           "permission change": f"grant {PEOPLE[rng.randrange(len(PEOPLE))][0]} collection "
                                                f"production-{rng.randint(1, COLLECTIONS):02d}"}.get(action)
            else:
                asset_id = a
                if action not in ("view asset", "retry", "collection change"):
                    version_id = a  # seed(): version id = asset id
                subject = {"view asset": rng.choice(("api", "page")), "comment": f"comment {rng.randint(1, 10**6)}",
                           "export": rng.choice(("export.edl", "export.otio", "comments.csv", "export.srt")),
                           "render": f"{rng.choice(PRESETS)}: rendition {rng.randint(1, 10**6)}",
                           "download rendition": f"rendition {rng.randint(1, 10**6)} ({rng.choice(PRESETS)})",
                           "retry": "transcript, tags", "approve": "version 1: approved",
                           "request changes": "version 1: changes requested",
                           "collection change": f"added to production-{rng.randint(1, COLLECTIONS):02d}",
                           "rights change": "licence: news only; territories: GB, IE"}.get(action)
                if action in ("approve", "request changes", "comment"):
                    detail = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
        elif kind < 0.92:  # a distribution target reading its feed or downloading
            name = TARGETS[rng.randrange(len(TARGETS))]
            actor, role, ip = f"target:{name}", "target", f"203.0.113.{TARGETS.index(name) + 10}"
            if rng.random() < 0.5:
                action, subject, detail = "feed", f"target {name}", f"{rng.randint(0, 50)} item(s)"
            else:
                action, version_id = "download", a
                subject = f"target {name}: rendition {rng.randint(1, 10**6)}"
                if rng.random() < 0.03:
                    outcome, detail = "denied", "outside the licence window"
        elif kind < 0.95:  # pushes to push targets
            actor, action, version_id = "system", "deliver", a
            subject = f"push to {rng.choice(TARGETS)}: rendition {rng.randint(1, 10**6)}"
            if rng.random() < 0.05:
                outcome, detail = "denied", "territory not licensed"
        elif kind < 0.97:  # an admin at the command line
            actor, role = rng.choice(LOGINS), "admin"
            action = rng.choice(("permission change", "collection change", "permission change"))
            subject = (f"token for {rng.choice(PEOPLE)[0]}" if action == "permission change"
                       else f"added to production-{rng.randint(1, COLLECTIONS):02d}")
            asset_id = a if action == "collection change" else None
        else:  # refused before naming an action: no or a bad token
            actor, outcome, ip = "(anonymous)", "denied", f"198.51.100.{rng.randint(1, 254)}"
            action = rng.choice(("denied", "sign-in"))
            subject = f"view: GET /api/v1/assets/{a}" if action == "denied" else None
        assert action in ACTION_HELP and outcome in OUTCOMES
        line = {"id": first_id + i, "at": start + timedelta(microseconds=(i + rng.random()) * span_us // n),
                "actor": actor, "role": role, "action": action, "outcome": outcome, "asset_id": asset_id,
                "version_id": version_id, "subject": subject, "detail": detail, "ip": ip, "prev_hash": prev_hash}
        line["hash"] = prev_hash = line_hash(SimpleNamespace(**line))
        yield line


def seed_audit(url: str, lines: int, seed_value: int = 7) -> dict[str, int]:
    """Append ``lines`` audit lines chained onto the trail's newest line (or the start of the trail)."""
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        last = conn.execute(select(AuditEntry.id, AuditEntry.hash, AuditEntry.at)
                            .order_by(AuditEntry.id.desc()).limit(1)).first()
        assets = conn.scalar(select(func.max(Asset.id))) or 1000  # no assets: ids of assets long gone
    now = utcnow()
    start = max(now - timedelta(days=AUDIT_DAYS), last.at if last else now - timedelta(days=AUDIT_DAYS))
    rows = audit_lines(random.Random(seed_value + (last.id if last else 0)), (last.id if last else 0) + 1,
                       last.hash if last else GENESIS, lines, start, now, assets)
    if engine.dialect.name == "postgresql":
        n = copy_rows(engine, AuditEntry.__tablename__, rows)
        with engine.begin() as conn:  # record() takes ids from the sequence
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
                                 "(SELECT max(id) FROM audit_log))")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE audit_log")
    else:
        n = 0
        for batch in batches(rows):
            with engine.begin() as conn:
                conn.execute(insert(AuditEntry), batch)
            n += len(batch)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE audit_log")
    engine.dispose()
    return {AuditEntry.__tablename__: n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="folder for an embedded (SQLite) catalog")
    parser.add_argument("--database-url", help="a PostgreSQL catalog (an empty database) instead")
    parser.add_argument("--assets", type=int, default=200_000, help="0: none (e.g. to add --audit lines only)")
    parser.add_argument("--docs", type=int, default=10, help="transcript segments per asset")
    parser.add_argument("--audit", type=int, default=0, help="audit lines to append to the trail")
    args = parser.parse_args()
    if not (args.data or args.database_url):
        parser.error("give --data or --database-url")
    url = args.database_url or f"sqlite:///{(args.data / 'catalog.sqlite').resolve()}"
    if args.data:
        args.data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = seed(url, args.assets, args.docs) if args.assets else {}
    if args.audit:
        counts |= seed_audit(url, args.audit)
    took = time.perf_counter() - started
    print(f"seeded {url} in {took:.0f} s: " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


if __name__ == "__main__":
    main()
