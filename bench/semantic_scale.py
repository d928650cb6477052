"""Search by meaning and "shots like this" on a million vectors: p50/p95 through the whole API, on either catalog.

Seed a catalog with bench/seed.py first, then give its transcript documents and shots vectors (``--fill``): real
embeddings of a few thousand of its documents and of real keyframes (Big Buck Bunny and the football field), the
rest blends of them with noise (a million real embeddings would take hours to make; blends keep the clustered shape
real vectors have), each with its SimHash as the embed step stores it. Then time, as an admin and as an editor with
two collections (a tenth of the library):

    .venv/bin/python bench/seed.py --data /tmp/big --assets 1000000 --docs 2
    .venv/bin/python bench/semantic_scale.py --data /tmp/big --fill 1000000
    .venv/bin/python bench/semantic_scale.py --database-url postgresql+psycopg://postgres@127.0.0.1/big --fill 1000000

Goals (issue 14): hybrid search over 1 000 000 embedded segments p95 < 100 ms on both catalogs; similar shots over
1 000 000 keyframes p95 < 50 ms. The index's first load (from the catalog, then from its saved file) is timed too.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from imageio_ffmpeg import get_ffmpeg_exe
from sqlalchemy import func, insert, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from api.app import create_app  # noqa: E402
from catalog.auth import create_token, ensure_user, grant  # noqa: E402
from catalog.models import PictureVector, Scene, SearchDoc, TextVector  # noqa: E402
from catalog.vector_index import simhash  # noqa: E402
from pipeline.embed_tasks import picture_embedder, text_embedder  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from rushes.settings import load_settings  # noqa: E402

MEDIA = HERE.parent / "tests" / "media" / "probe"
QUERIES = ["a man riding a bike in the dark", "people talking about the weather", "the water was cold",
           "first time we found the long way", "what did you say about the number", "words people write"]
CHUNK = 50_000


def _blend(rng: np.random.Generator, base: np.ndarray, n: int, noise: float) -> np.ndarray:
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.6, 1.0, (n, 1)).astype(np.float32)
    out = w * base[a] + (1 - w) * base[b] + noise * rng.standard_normal((n, base.shape[1])).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _put(farm: Farm, model: Any, rows: list[dict[str, Any]]) -> None:
    if farm.engine.dialect.name == "postgresql":
        from bench.seed import copy_rows

        copy_rows(farm.engine, model.__tablename__, iter(rows))
    else:
        with farm.engine.begin() as conn:
            conn.execute(insert(model), rows)


def fill(farm: Farm, count: int) -> None:
    rng = np.random.default_rng(5)
    texts = text_embedder(farm.settings)
    pictures = picture_embedder(farm.settings)
    with farm.sessions() as session:
        have = session.scalar(select(func.count()).select_from(TextVector)) or 0
        if have >= count:
            print(f"{have:,} text vectors already")
            return
        docs = session.execute(select(SearchDoc.id, SearchDoc.asset_id).where(SearchDoc.kind == "transcript")
                               .order_by(SearchDoc.id).limit(count)).all()
        sample = [row[0] for row in session.execute(select(SearchDoc.text).where(SearchDoc.kind == "transcript")
                                                     .limit(3000))]
        scenes = session.execute(select(Scene.id, Scene.version_id).order_by(Scene.id).limit(count)).all()
    started = time.perf_counter()
    base = texts.embed(sample)
    print(f"embedded {len(sample)} real documents in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        frames = []
        for source in ("bigbuckbunny.mp4", "many_tracks.mp4"):
            pattern = Path(folder) / f"{source}-%03d.jpg"
            subprocess.run([get_ffmpeg_exe(), "-loglevel", "error", "-i", str(MEDIA / source), "-vf", "fps=5",
                            "-q:v", "4", str(pattern)], check=True)
            frames += sorted(Path(folder).glob(f"{source}-*.jpg"))
        picture_base = pictures.embed(frames)
    print(f"embedded {len(frames)} real keyframes")
    started = time.perf_counter()
    for start in range(0, len(docs), CHUNK):
        part = docs[start:start + CHUNK]
        vectors = _blend(rng, base, len(part), 0.02)
        bits = simhash(vectors)
        _put(farm, TextVector, [{"id": start + i + 1, "doc_id": d, "asset_id": a, "model": texts.name,
                                 "vector": v.astype(np.float16).tobytes(), "bits": h.tobytes()}
                                for i, ((d, a), v, h) in enumerate(zip(part, vectors, bits, strict=True))])
    for start in range(0, len(scenes), CHUNK):
        part = scenes[start:start + CHUNK]
        vectors = _blend(rng, picture_base, len(part), 0.01)
        bits = simhash(vectors)
        _put(farm, PictureVector, [{"id": start + i + 1, "scene_id": s, "asset_id": version, "model": pictures.name,
                                    "vector": v.astype(np.float16).tobytes(), "bits": h.tobytes()}
                                   for i, ((s, version), v, h) in enumerate(zip(part, vectors, bits, strict=True))])
    if farm.engine.dialect.name == "postgresql":
        with farm.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("text_vectors", "picture_vectors"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("VACUUM ANALYZE text_vectors")
            conn.exec_driver_sql("VACUUM ANALYZE picture_vectors")
    print(f"stored {len(docs):,} text and {len(scenes):,} picture vectors in {time.perf_counter() - started:.0f} s")


def quality(farm: Farm, queries: int = 30) -> None:
    """How near what the indexes find is to the exact nearest: recall@10, and the cosine of the 1st and 10th found
    against the exact 1st and 10th (every stored vector read and scored). Text: stored vectors moved a little (a
    new sentence near them); pictures: stored keyframes themselves ("shots like this"), leaving themselves out."""
    from catalog.vector_index import CANDIDATES, PICTURE_CANDIDATES, PICTURES, TEXT, VectorIndex

    rng = np.random.default_rng(4)
    for table, embedder, candidates, noise in ((TEXT, text_embedder(farm.settings), CANDIDATES, 0.02),
                                               (PICTURES, picture_embedder(farm.settings), PICTURE_CANDIDATES, 0.0)):
        model = table.model
        with farm.readers() as session:
            index = VectorIndex(table, embedder.name, candidates=candidates)
            index.refresh(session)
            ids = rng.choice(index.keys, queries, replace=False).tolist()
            own = [np.frombuffer(session.scalar(select(model.vector).where(table.key == k)), dtype=np.float16)
                   for k in ids]
            noisy = [v.astype(np.float32) + noise * rng.standard_normal(len(v)).astype(np.float32) for v in own]
            matrix = np.stack([v / np.linalg.norm(v) for v in noisy])
            best: list[list[tuple[float, int]]] = [[] for _ in ids]
            last = 0
            while rows := session.execute(select(model.id, table.key, model.vector).where(model.id > last)
                                          .order_by(model.id).limit(CHUNK)).all():
                last = rows[-1][0]
                vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16).reshape(len(rows), -1)
                scores = matrix @ vectors.astype(np.float32).T
                for i in range(len(ids)):
                    top = np.argpartition(-scores[i], 11)[:12]
                    best[i] += [(float(scores[i][j]), int(rows[j][1])) for j in top if noise or rows[j][1] != ids[i]]
            exact = [sorted(b, reverse=True)[:10] for b in best]
            found = [index.nearest(session, q, 10, exclude=[] if noise else [k])
                     for q, k in zip(matrix, ids, strict=True)]
        recall = np.mean([len({k for _, k in e} & {k for k, _ in f}) / 10 for e, f in zip(exact, found, strict=True)])
        print(f"{embedder.name[:40]}: recall@10 {recall:.2f}; cosine of the 1st found "
              f"{np.mean([f[0][1] for f in found]):.4f} (exact {np.mean([e[0][0] for e in exact]):.4f}), of the 10th "
              f"{np.mean([f[-1][1] for f in found]):.4f} (exact {np.mean([e[-1][0] for e in exact]):.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="the seeded embedded catalog's folder")
    parser.add_argument("--database-url", help="a seeded PostgreSQL catalog instead")
    parser.add_argument("--fill", type=int, default=0, help="give this many documents and shots vectors first")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--quality", action="store_true", help="then compare what the indexes find with the exact "
                        "nearest (reads every vector)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    overrides: dict[str, Any] = {"data_dir": args.data or Path("/tmp/rushes-bench-scale")}
    if args.database_url:
        overrides["database_url"] = args.database_url
    farm = Farm(load_settings(**overrides))
    if args.fill:
        fill(farm, args.fill)
    if args.quality:
        quality(farm)
        farm.close()
        return
    with farm.transaction() as session:
        admin = create_token(session, ensure_user(session, "bench-admin", "admin"))
        editor_user = ensure_user(session, "bench-editor", "editor")
        for name in ("production-03", "production-07"):
            grant(session, editor_user, collection=name, by="bench")
        editor = create_token(session, editor_user)
        # a shot of an asset in production-07 (seed.py: collection = id % 20 + 1), which the editor may see too
        some_scene = session.scalar(select(PictureVector.scene_id).where(PictureVector.asset_id == 1546).limit(1))
        texts = session.scalar(select(func.count()).select_from(TextVector))
        shots = session.scalar(select(func.count()).select_from(PictureVector))
    print(f"{farm.engine.dialect.name} catalog: {texts:,} text vectors, {shots:,} keyframe vectors; "
          f"{args.reps} requests each")
    for index_file in (farm.settings.data / "indexes").glob("*.npz"):
        index_file.unlink()  # time the first load from the catalog
    with TestClient(create_app(farm)) as client:
        for thread in threading.enumerate():  # the server's start loads its indexes: time after, not during
            if thread.name == "index-warm-up":
                thread.join()
        semantic = client.app.state.semantic  # type: ignore[attr-defined]
        for kind, getter in (("text", semantic.text), ("pictures", semantic.pictures)):
            started = time.perf_counter()
            _, index = getter()
            with farm.readers() as session:
                index.refresh(session, force=True)
            print(f"{kind} index: {index.size:,} rows loaded from the catalog in {time.perf_counter() - started:.1f} s"
                  f" ({index.words.nbytes / 1e6:.0f} MB of hashes)")
            index.save()
            started = time.perf_counter()
            again = type(index)(index.table, index.model_name, index.cache_file)
            print(f"{kind} index: {again.size:,} rows from its saved file in {time.perf_counter() - started:.2f} s")
        print(f"{'request':<44}{'caller':<8}{'p50 ms':>8}{'p95 ms':>8}")
        for caller, token in (("admin", admin), ("editor", editor)):
            headers = {"Authorization": f"Bearer {token}"}
            requests = [(f"hybrid: {q[:34]}", f"/api/v1/search?q={q}") for q in QUERIES[:3]]
            requests += [(f"meaning only: {q[:28]}", f"/api/v1/search?q={q}&mode=meaning") for q in QUERIES[3:5]]
            requests += [("words only (for comparison)", f"/api/v1/search?q={QUERIES[5]}&mode=words"),
                         ("similar shots", f"/api/v1/scenes/{some_scene}/similar")]
            for label, path in requests:
                reply = client.get(path, headers=headers)
                assert reply.status_code in (200, 404), (path, reply.status_code, reply.text[:300])
                times = []
                for _ in range(args.reps):
                    started = time.perf_counter()
                    client.get(path, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{label:<44}{caller:<8}{statistics.median(times):>8.1f}{p95:>8.1f}")
    farm.close()


if __name__ == "__main__":
    main()
