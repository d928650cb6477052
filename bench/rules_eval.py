"""Rule evaluation speed: 100 rules against 10 000 events, through Rushes' rule path (a CEL context made once an
event from its facts, every rule's compiled condition asked of it, each result checked) against the bare CEL
programs run on ready-made contexts, in the same run. Optionally, what reading an event's facts from a seeded
catalog costs (``--data`` / ``--database-url``, e.g. after bench/seed.py).

    .venv/bin/python bench/rules_eval.py [--rules 100] [--events 10000] [--reps 3]
    .venv/bin/python bench/rules_eval.py --data /tmp/big --facts 500
    .venv/bin/python bench/rules_eval.py --runner [--database-url postgresql+psycopg://…/scratch (emptied)]

``--runner``: the whole path of a farm's rule pass — ``--events`` versions made ready in a fresh catalog (each with
its media facts, metadata, a shot's tags), the rules synced from a folder, then one ``RuleRunner.run_pass()`` reads
the events, their runs so far and their facts from the catalog, asks every rule, and acts where a condition holds
(each run its own transaction, as in a farm).

Goal (issue 15): rule evaluation >= 2 000 events/s with 100 rules on this machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipeline.rules.conditions import context_of  # noqa: E402
from pipeline.rules.files import parse_rules  # noqa: E402

CAMERAS = ["A cam", "B cam", "C cam", "Drone", "Phone"]
TALENT = ["Presenter", "Guest", "Interviewee", "Crowd"]
TAGS = ["person", "car", "bicycle", "dog", "building", "tree", "boat", "screen"]
CONDITIONS = [
    'asset.collection == "{c}" && media.duration_s > {d}.0',
    '"{t}" in metadata.talent && metadata.camera == "{cam}"',
    'media.has_audio && media.width >= {w} && asset.kind == "video"',
    'tags.exists(x, x == "{tag}") && !("Crowd" in metadata.talent)',
    'asset.name.startsWith("{p}") || size(tags) > {n}',
    '"{c}" in asset.collections && (metadata.episode == null || metadata.episode > {n})',
]


def rules_yaml(count: int, rng: random.Random) -> str:
    lines = ["rules:"]
    for i in range(count):
        condition = rng.choice(CONDITIONS).format(
            c=f"production-{rng.randint(1, 20):02d}", d=rng.randint(5, 600), t=rng.choice(TALENT),
            cam=rng.choice(CAMERAS), w=rng.choice([640, 1280, 1920]), tag=rng.choice(TAGS),
            p=rng.choice("ABCDE"), n=rng.randint(1, 6))
        lines += [f"  rule-{i:03d}:", "    trigger: version.ready", f"    condition: '{condition}'",
                  f"    actions: [{{add_to_collection: desk-{i % 7}}}]"]
    return "\n".join(lines) + "\n"


def event_facts(i: int, rng: random.Random) -> dict[str, Any]:
    own = f"production-{rng.randint(1, 20):02d}"
    return {
        "asset": {"id": i, "name": f"{rng.choice('ABCDE')}{i:06d}.mov", "collection": own,
                  "collections": [own] + ([f"production-{rng.randint(1, 20):02d}"] if rng.random() < 0.1 else []),
                  "kind": "video", "status": "ready", "version": 1},
        "metadata": {"camera": rng.choice(CAMERAS), "talent": rng.sample(TALENT, rng.randint(0, 2)),
                     "episode": rng.choice([None, 1, 2, 3, 4, 5, 6, 7]), "production": None, "keywords": []},
        "tags": rng.sample(TAGS, rng.randint(0, 4)),
        "media": {"duration_s": rng.uniform(2, 900), "width": rng.choice([640, 1280, 1920]), "height": 1080,
                  "frame_rate": 25.0, "video_codec": "h264", "audio_codec": "aac", "audio_channels": 2,
                  "has_video": True, "has_audio": rng.random() < 0.9, "start_timecode": "10:00:00:00"},
        "rights": {"set": False, "territories": [], "channels": [], "window_end": None, "model_release": False},
        "event": {"type": "version.ready", "field": None, "label": None, "decision": None, "channel": None,
                  "preset": None, "target": None},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--data", type=Path, help="a seeded catalog's folder: also time reading events' facts")
    parser.add_argument("--database-url")
    parser.add_argument("--facts", type=int, default=0, help="how many assets' facts to read from the catalog")
    parser.add_argument("--runner", action="store_true", help="also time a farm's rule pass end to end")
    args = parser.parse_args()
    rng = random.Random(15)
    rules = parse_rules(rules_yaml(args.rules, rng), "bench")
    events = [event_facts(i, rng) for i in range(args.events)]
    programs = [rule.condition.program for rule in rules]
    ready = [cel.Context(facts) for facts in events]
    rushes, bare, matched = [], [], 0
    for _ in range(args.reps):
        started = time.perf_counter()
        matched = 0
        for facts in events:
            context = context_of(facts)
            matched += sum(rule.condition.holds(context) for rule in rules)
        rushes.append(args.events / (time.perf_counter() - started))
        started = time.perf_counter()
        for context in ready:
            for program in programs:
                program.execute(context)
        bare.append(args.events / (time.perf_counter() - started))
    print(f"{args.rules} rules x {args.events} events, {args.reps} runs; {matched} matches a run")
    print(f"Rushes (facts -> context -> every condition, checked): median {statistics.median(rushes):,.0f} events/s "
          f"({min(rushes):,.0f}-{max(rushes):,.0f})")
    print(f"bare CEL (programs on ready contexts):                median {statistics.median(bare):,.0f} events/s "
          f"({min(bare):,.0f}-{max(bare):,.0f})")
    print(f"ratio Rushes/bare time: {statistics.median(bare) / statistics.median(rushes):.2f}")
    if args.facts and (args.data or args.database_url):
        facts_cost(args)
    if args.runner:  # the same conditions, then a duration none has (asked, none acts), then one ~1 % have
        for label, above in (("no rule acts", 100_000.0), ("some act", 891.0)):
            text = rules_yaml(args.rules, random.Random(15))
            text = text.replace("    condition: '", "    condition: '(")
            text = text.replace("'\n    actions:", f") && media.duration_s > {above}'\n    actions:")
            runner_pass(args, text, label)


def runner_pass(args: argparse.Namespace, rules_text: str, label: str) -> None:
    import tempfile
    from datetime import timedelta

    from catalog.models import Asset, Collection, MediaInfoRow, MetadataValue, RuleRun, Scene, Version, utcnow
    from pipeline.farm import Farm
    from pipeline.rules.runner import RuleRunner
    from rushes.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="rushes-bench-runner-"))
    overrides: dict[str, Any] = {"data_dir": folder}
    if args.database_url:  # a scratch database: emptied first, each pass on a fresh catalog
        from sqlalchemy import create_engine, text

        scratch = create_engine(args.database_url)
        with scratch.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        scratch.dispose()
        overrides["database_url"] = args.database_url
    farm = Farm(load_settings(**overrides))
    farm.settings.rules_folder.mkdir(parents=True, exist_ok=True)
    (farm.settings.rules_folder / "bench.yaml").write_text(rules_text)
    farm.sync_rules(strict=True)
    rng = random.Random(16)
    ready_at = utcnow() + timedelta(seconds=1)  # after the rules were loaded: they act on these
    with farm.transaction() as session:
        collections = [Collection(name=f"production-{i:02d}") for i in range(1, 21)]
        session.add_all(collections)
        session.flush()
        for i in range(args.events):
            facts = event_facts(i, rng)
            asset = Asset(name=facts["asset"]["name"], source_folder="default", status="ready",
                          collection_id=rng.choice(collections).id)
            session.add(asset)
            session.flush()
            version = Version(asset_id=asset.id, number=1, content_hash=f"{i:064d}", size=1,
                              original_name=asset.name, source_folder="default", source_path=asset.name,
                              status="ready", ready_at=ready_at)
            session.add(version)
            session.flush()
            media = facts["media"]
            session.add(MediaInfoRow(version_id=version.id, container="mov", duration_s=media["duration_s"],
                                     width=media["width"], height=1080, frame_rate="25", video_codec="h264",
                                     audio_codec="aac" if media["has_audio"] else None, info={}))
            session.add(MetadataValue(asset_id=asset.id, field="camera", value=facts["metadata"]["camera"]))
            for talent in facts["metadata"]["talent"]:
                session.add(MetadataValue(asset_id=asset.id, field="talent", value=talent))
            session.add(Scene(version_id=version.id, index=0, start_s=0, end_s=1, start_frame=0, end_frame=25,
                              tags={"labels": [[tag, 0.9] for tag in facts["tags"]]}))
    if farm.engine.dialect.name == "postgresql":  # as autovacuum would soon after a load like this
        with farm.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    time.sleep(max(0.0, (ready_at - utcnow()).total_seconds()) + 0.1)
    runner = RuleRunner(farm.sessions, farm.settings)
    started = time.perf_counter()
    made = runner.run_pass()
    while runner.more:  # as the rule thread does: the next pass at once while a backlog waits
        made += runner.run_pass()
    took = time.perf_counter() - started
    with farm.sessions() as session:
        runs = session.query(RuleRun).count()
    farm.close()
    print(f"rule pass through the catalog ({farm.engine.dialect.name}, {label}): {args.events} version.ready events x "
          f"{args.rules} rules in {took:.1f} s = {args.events / took:,.0f} events/s; {made} runs made ({runs} in "
          f"the catalog), each in its own transaction")


def facts_cost(args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from catalog.metadata import schema_in_force
    from catalog.models import Asset, Version
    from pipeline.farm import Farm
    from pipeline.rules.facts import facts
    from rushes.settings import load_settings

    overrides: dict[str, Any] = {"data_dir": args.data or Path("/tmp/rushes-bench-rules")}
    if args.database_url:
        overrides["database_url"] = args.database_url
    farm = Farm(load_settings(**overrides))
    with farm.readers() as session:
        state = schema_in_force(session)
        top = session.scalar(select(Asset.id).order_by(Asset.id.desc()).limit(1)) or 0
        ids = random.Random(3).sample(range(1, top + 1), min(args.facts, top))
        times = []
        for asset_id in ids:
            started = time.perf_counter()
            asset = session.get(Asset, asset_id)
            version = session.scalar(select(Version).where(Version.asset_id == asset_id).limit(1))
            if asset is None or version is None:
                continue
            facts(session, asset, version, state.schema if state else None, 0.2, {"type": "version.ready"})
            times.append((time.perf_counter() - started) * 1000)
    farm.close()
    print(f"an event's facts from the catalog ({farm.engine.dialect.name}, {len(times)} assets): "
          f"p50 {statistics.median(times):.2f} ms, p95 {statistics.quantiles(times, n=20)[-1]:.2f} ms")


if __name__ == "__main__":
    main()
