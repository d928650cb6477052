"""Rules and webhooks on a real farm: Redis broker, PostgreSQL catalog, two `rushes worker` processes. 500 assets
become ready at once with 20 rules in force: every rule acts exactly once on every asset it matches (and on no
other), and a webhook subscriber hears of every one of them in a handful of coalesced, signed deliveries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.metadata import require_schema
from catalog.metadata_values import plain, stored_values
from catalog.models import Asset, AuditEntry, Collection, MediaInfoRow, RuleRun, Version, utcnow
from pipeline.farm import Farm
from pipeline.webhooks.subscriptions import create_webhook
from tests.conftest import wait_for
from tests.farmproc import RUSHES, farm_env, logs, processes, settings_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.farm
ASSETS, RULES = 500, 20


def _rules() -> str:
    lines = ["rules:"]
    for k in range(RULES):
        lines += [f"  r{k:02d}:", "    trigger: version.ready", f"    condition: 'asset.name.endsWith(\"-{k % 10}\")'",
                  f"    actions: [{{add_metadata: {{keywords: [r{k:02d}]}}}}]"]
    return "\n".join(lines) + "\n"


def _ready_at_once(farm: Farm) -> dict[int, int]:
    """ASSETS assets with a ready version each, in one transaction; asset id → its name's group (0-9)."""
    groups = {}
    with farm.transaction() as session:
        collection = Collection(name="news")
        now = utcnow()
        for i in range(ASSETS):
            name = f"clip-{i:03d}-{i % 10}"
            asset = Asset(name=name, source_folder="default", collection=collection, status="ready")
            session.add(asset)
            session.flush()
            version = Version(asset_id=asset.id, number=1, content_hash=hashlib.sha256(name.encode()).hexdigest(),
                              size=1, original_name=name, source_folder="default", source_path=name,
                              status="ready", ready_at=now)
            session.add(version)
            session.flush()
            session.add(MediaInfoRow(version_id=version.id, container="mov", duration_s=5.0, width=1920,
                                     height=1080, frame_rate="25", video_codec="h264", audio_codec="aac", info={}))
            groups[asset.id] = i % 10
    return groups


def test_500_assets_ready_at_once_each_rule_acts_once_per_match(tmp_path: Path, pg_url: str) -> None:
    env = farm_env(tmp_path / "data", pg_url)
    settings = settings_for(env)
    settings.rules_folder.mkdir(parents=True, exist_ok=True)
    (settings.rules_folder / "desk.yaml").write_text(_rules())
    farm = Farm(settings)  # applies the rules folder, as every process does at its start
    receiver = Receiver()
    with farm.transaction() as session:
        _hook, receiver.secret = create_webhook(session, "cms", receiver.url, ["version.ready"], None, "ada", None)
    worker = [RUSHES, "worker", "--threads", "2"]
    try:
        with processes([worker, worker], env, tmp_path):
            groups = _ready_at_once(farm)
            expected = ASSETS * RULES // 10  # each asset matches 2 of the 20 rules

            def runs() -> int:
                with farm.sessions() as session:
                    return session.scalar(select(func.count()).select_from(RuleRun)) or 0

            try:
                wait_for(lambda: runs() >= expected, timeout=240, interval=0.5, what=f"{expected} rule runs")
                wait_for(lambda: len({e["asset_id"] for r in receiver.got for e in r.payload["events"]}) == ASSETS,
                         timeout=60, what="the subscriber to hear of every asset")
            except AssertionError:
                raise AssertionError(logs(tmp_path)) from None
            assert runs() == expected, "no rule acted twice (or on an asset it does not match)"
        with farm.sessions() as session:
            schema = require_schema(session).schema
            assert session.scalar(select(func.count()).select_from(RuleRun).where(RuleRun.status != "done")) == 0
            for asset_id, group in groups.items():
                values = stored_values(session, asset_id, []).get(None, {})
                want = [f"r{k:02d}" for k in range(RULES) if k % 10 == group]
                assert sorted(plain(schema, "keywords", values["keywords"])) == want, asset_id
            acted = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "rule action"))
            assert acted == expected
    finally:
        receiver.close()
        farm.close()
    assert all(r.signed for r in receiver.got)
    events = [e["key"] for r in receiver.got for e in r.payload["events"]]
    assert len(events) == len(set(events)) == ASSETS, "each asset's event sent once"
    assert len(receiver.got) <= 10, f"coalesced: {len(receiver.got)} deliveries for {ASSETS} events"
