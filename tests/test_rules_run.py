"""Rules acting on their own (both catalogs): the rules folder kept in the catalog as rule versions (history kept,
a folder that does not hold changes nothing), a pass that does what the dry run said it would, once per rule
version and event however often the events are looked at, failed runs with their reasons while other rules act,
and the whole loop on a running farm with a real ingested clip."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from catalog.collections import collections_of
from catalog.metadata import require_schema
from catalog.metadata_values import plain, stored_values
from catalog.models import Asset, AuditEntry, RuleRun, RuleVersion, Version, utcnow
from pipeline.farm import Farm
from pipeline.rules.dry_run import dry_run
from pipeline.rules.files import parse_rules
from pipeline.rules.runner import RuleRunner
from rushes.settings import Settings
from tests.conftest import ingest_interview
from tests.test_metadata import _asset

DESK = """\
rules:
  news-to-desk:
    trigger: version.ready
    condition: 'asset.collection == "news" && media.duration_s > 5.0'
    actions:
      - set_metadata: {usage_notes: News use only}
      - add_metadata: {keywords: [news, desk]}
      - add_to_collection: news-desk
  fails-on-text:
    trigger: version.ready
    condition: 'metadata.production > 3'
    actions:
      - add_to_collection: never
"""


def _versions(farm: Farm) -> list[tuple[str, str, bool]]:
    with farm.sessions() as session:
        return [(r.name, r.content_hash[:8], r.retired_at is None)
                for r in session.scalars(select(RuleVersion).order_by(RuleVersion.id))]


def test_the_rules_folder_is_kept_as_rule_versions_with_their_history(farm: Farm) -> None:
    folder = farm.settings.rules_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk.yaml").write_text(DESK)
    farm.sync_rules()
    first = _versions(farm)
    assert [(n, live) for n, _, live in first] == [("news-to-desk", True), ("fails-on-text", True)]
    farm.sync_rules()
    assert _versions(farm) == first, "the same folder makes no new version"
    (folder / "desk.yaml").write_text(DESK.replace("News use only", "News only").replace(
        "  fails-on-text:\n    trigger: version.ready\n    condition: 'metadata.production > 3'\n    actions:\n"
        "      - add_to_collection: never\n", ""))
    farm.sync_rules()
    now = _versions(farm)
    assert [(n, live) for n, _, live in now] == [("news-to-desk", False), ("fails-on-text", False),
                                                  ("news-to-desk", True)]
    assert now[0][1] != now[2][1]
    (folder / "desk.yaml").write_text("rules:\n  broken:\n    trigger: version.redy\n    actions: [{x: 1}]\n")
    assert farm.sync_rules() is None, "a folder that does not hold is not applied"
    assert _versions(farm) == now


def _ready_assets(farm: Farm) -> dict[str, int]:
    """Assets whose versions became ready after the rules were loaded."""
    ids = {"derby": _asset(farm, "derby.mov", "news"), "storm": _asset(farm, "storm.mov", "news", seconds=4),
           "match": _asset(farm, "match.mov", "sport")}
    with farm.transaction() as session:
        for asset_id in ids.values():
            session.scalar(select(Version).where(Version.asset_id == asset_id)).ready_at = utcnow()
    return ids


def test_a_pass_does_what_the_dry_run_said_once_per_rule_and_event(farm: Farm) -> None:
    folder = farm.settings.rules_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk.yaml").write_text(DESK)
    farm.sync_rules()
    ids = _ready_assets(farm)
    with farm.sessions() as session:
        schema = require_schema(session).schema
        said = dry_run(session, parse_rules(DESK, "desk.yaml", schema), schema, 0.2, utcnow() - timedelta(hours=1))
    runner = RuleRunner(farm.sessions, farm.settings)
    assert runner.run_pass() == 4  # one rule acted on derby; the other failed on all three
    with farm.sessions() as session:
        runs = session.execute(select(RuleVersion.name, RuleRun.asset_id, RuleRun.status, RuleRun.outcome)
                               .join(RuleVersion, RuleVersion.id == RuleRun.rule_version_id)
                               .order_by(RuleRun.id)).all()
        done = [r for r in runs if r.status == "done"]
        assert [(r.name, r.asset_id) for r in done] == [("news-to-desk", ids["derby"])]
        would = next(r for r in said["rules"] if r["rule"] == "news-to-desk")["would"]
        assert done[0].outcome == "; ".join(would[0]["actions"]), "the run did what the dry run said"
        failed = [r for r in runs if r.status == "failed"]
        assert {r.asset_id for r in failed} == set(ids.values()) and "failed" in failed[0].outcome
        derby = session.get(Asset, ids["derby"])
        values = stored_values(session, derby.id, []).get(None, {})
        assert plain(schema, "usage_notes", values["usage_notes"]) == "News use only"
        assert plain(schema, "keywords", values["keywords"]) == ["news", "desk"]
        assert collections_of(session, derby)["also_in"] == ["news-desk"]
        trail = session.scalars(select(AuditEntry).where(AuditEntry.action == "rule action",
                                                         AuditEntry.asset_id == derby.id)).all()
        assert len(trail) == 2 and {a.actor for a in trail} == {"rule:news-to-desk", "rule:fails-on-text"}
        changed = session.scalars(select(AuditEntry).where(AuditEntry.action == "metadata change",
                                                           AuditEntry.asset_id == derby.id)).all()
        assert changed and changed[-1].actor == "rule:news-to-desk"
    # the same events looked at again — by this process, and by a new one (a restart): nothing acts twice
    assert runner.run_pass() == 0
    assert RuleRunner(farm.sessions, farm.settings).run_pass() == 0
    with farm.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RuleRun)) == 4
    # an event before a rule version was loaded is not acted on by it
    (folder / "desk.yaml").write_text(DESK.replace("duration_s > 5.0", "duration_s > 1.0"))
    farm.sync_rules()
    assert RuleRunner(farm.sessions, farm.settings).run_pass() == 0


def test_a_running_farm_acts_on_a_real_clip_as_it_becomes_ready(make_settings: Callable[..., Settings],
                                                                db_url: str, tmp_path: Path) -> None:
    from pipeline.workers import Workers

    settings = make_settings(database_url=db_url)
    settings.rules_folder.mkdir(parents=True, exist_ok=True)
    (settings.rules_folder / "web.yaml").write_text(
        "rules:\n  small-to-web:\n    trigger: version.ready\n"
        "    condition: 'media.has_video && media.width < 1000 && asset.kind == \"video\"'\n"
        "    actions:\n      - move_to_collection: web-only\n      - set_metadata: {camera: Phone}\n"
        "  new-footage:\n    trigger: version.new\n    actions:\n      - add_metadata: {keywords: [new]}\n")
    farm = Farm(settings)
    workers = Workers(farm)
    workers.start()
    try:
        result = ingest_interview(farm, tmp_path)  # a real 3 s 640x360 clip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with farm.sessions() as session:
                runs = session.scalars(select(RuleRun).where(RuleRun.version_id == result.version_id)).all()
            if len(runs) == 2:
                break
            time.sleep(0.2)
        assert sorted((r.trigger, r.status) for r in runs) == [("version.new", "done"), ("version.ready", "done")], \
            "both rules acted within 30 s"
        with farm.sessions() as session:
            asset = session.get(Asset, result.asset_id)
            assert collections_of(session, asset)["collection"] == "web-only"
            values = stored_values(session, asset.id, []).get(None, {})
            schema = require_schema(session).schema
            assert plain(schema, "camera", values["camera"]) == "Phone"
            assert plain(schema, "keywords", values["keywords"]) == ["new"]
    finally:
        workers.stop()
        farm.close()
