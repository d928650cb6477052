"""Orchestration rules, slice 1 (both catalogs): rule files checked when read — every problem named by file, line
and field with the allowed values, CEL conditions compiled and checked against what they may read — and the dry
run: what rules would have done to the catalog's assets (a real ingested clip among them), changing nothing, with
conditions that fail at run time reported, never taken as false. Through the CLI and the admin API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from catalog.metadata import require_schema
from catalog.metadata_values import Edit, save, stored_values
from catalog.models import AssetCollection, AuditEntry, Version
from pipeline.farm import Farm
from pipeline.rules.files import parse_rules
from rushes.errors import ConfigError
from tests.conftest import bearers, ingest_interview
from tests.test_metadata import _asset

RULES = """\
# the news desk's rules
rules:
  news-to-desk:
    label: News footage goes to the news desk
    trigger: version.ready
    condition: 'asset.collection == "news" && media.duration_s > 5.0'
    actions:
      - set_metadata: {usage_notes: News use only}
      - add_metadata: {keywords: [news, desk]}
      - add_to_collection: news-desk
  small-pictures:
    trigger: version.ready
    condition: 'media.has_video && media.width < 1000 && !metadata.talent.exists(t, t == "Crowd")'
    actions:
      - move_to_collection: web-only
  wrong-at-run-time:
    trigger: version.ready
    condition: 'metadata.production > 3'
    actions:
      - add_to_collection: never
  switched-off:
    enabled: false
    trigger: version.new
    actions:
      - add_to_collection: never
"""


def _schema(farm: Farm) -> Any:
    with farm.sessions() as session:
        return require_schema(session).schema


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  a:\n    trigger: version.redy\n    actions: [{add_to_collection: x}]\n",
     "line 3: rules.a.trigger: unknown trigger 'version.redy' (allowed: version.ready, version.new, version.probed, "
     "metadata.changed, tag.added, review.decided"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - render: web/h265\n",
     "line 5: rules.a.actions[0].render: no preset 'web/h265'; known: audio/bwf-wav"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - deliver: cms\n      - hold_for_a_person: Sure?\n",
     "line 6: rules.a.actions: hold_for_a_person holds the actions after it: one, before what should wait"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - request_review: [news-desk]\n",
     "line 5: rules.a.actions[0].request_review: an approval template's name"),
    ("rules:\n  a:\n    trigger: schedule\n    actions: [{add_to_collection: x}]\n",
     "line 2: rules.a: a schedule needs `every:`"),
    ("rules:\n  a:\n    trigger: schedule\n    every: 5m\n    actions: [{add_to_collection: x}]\n",
     "a schedule runs at most every 15m"),
    ("rules:\n  a:\n    trigger: rights.expiring\n    within: two weeks\n    actions: [{add_to_collection: x}]\n",
     "line 4: rules.a.within: 'two weeks' is not a span such as 15m, 12h or 7d"),
    ("rules:\n  a:\n    trigger: version.ready\n    field: camera\n    actions: [{add_to_collection: x}]\n",
     "field is an option of trigger metadata.changed, not of version.ready"),
    ("rules:\n  a:\n    trigger: metadata.changed\n    field: camra\n    actions: [{add_to_collection: x}]\n",
     "line 4: rules.a.field: no field 'camra' in the metadata schema"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'event.colour == \"red\"'\n"
     "    actions: [{add_to_collection: x}]\n",
     "event.colour is not known (allowed: event.type, event.at, event.by, event.field"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - publish: x\n",
     "line 4: rules.a.actions: unknown action 'publish' (allowed: set_metadata, add_metadata"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'asset.name = \"x\"'\n"
     "    actions: [{add_to_collection: x}]\n",
     "line 4: rules.a.condition: not a CEL expression"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'assets.name == \"x\"'\n"
     "    actions: [{add_to_collection: x}]\n",
     "line 4: rules.a.condition: unknown name assets (allowed: asset, media, rights, event, metadata, tags)"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'metadata.camra == \"A cam\"'\n"
     "    actions: [{add_to_collection: x}]\n",
     "metadata.camra is not known (allowed: metadata.production, metadata.episode"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'media.lenght > 1.0'\n"
     "    actions: [{add_to_collection: x}]\n",
     "media.lenght is not known (allowed: media.duration_s"),
    ("rules:\n  a:\n    trigger: version.ready\n    condition: 'shout(asset.name)'\n"
     "    actions: [{add_to_collection: x}]\n",
     "unknown function shout"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - set_metadata: {camera: Z cam}\n",
     "line 5: rules.a.actions[0].set_metadata: camera: 'Z cam' is not in the vocabulary cameras (allowed: A cam"),
    ("rules:\n  a:\n    trigger: version.ready\n    actions:\n      - add_metadata: {camera: A cam}\n",
     "camera holds one value: set it with set_metadata"),
    ("rules:\n  a:\n    trigger: version.ready\n    trigger: version.new\n    actions: [{add_to_collection: x}]\n",
     "line 4: rules.a.trigger is given twice (first on line 3)"),
    ("rules:\n  a:\n    trigger: version.ready\n    actoins: [{add_to_collection: x}]\n",
     "line 2: rules.a.actions: Field required"),
])
def test_a_rule_file_that_does_not_hold_is_named_by_line_and_field(farm: Farm, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "desk.yaml", _schema(farm))
    assert "rules file desk.yaml: " in str(caught.value) and expected in str(caught.value), str(caught.value)


def test_a_good_file_reads_with_its_lines_and_a_version_per_rule(farm: Farm) -> None:
    rules = parse_rules(RULES, "desk.yaml", _schema(farm))
    assert [(r.name, r.line, r.trigger, r.enabled) for r in rules] == [
        ("news-to-desk", 3, "version.ready", True), ("small-pictures", 11, "version.ready", True),
        ("wrong-at-run-time", 16, "version.ready", True), ("switched-off", 21, "version.new", False)]
    again = parse_rules(RULES.replace("News use only", "News only"), "desk.yaml", _schema(farm))
    assert rules[0].content_hash != again[0].content_hash and rules[1].content_hash == again[1].content_hash


def _catalog(farm: Farm, tmp_path: Path) -> dict[str, int]:
    """Three assets made ready an hour ago in news and sport (1080p), one three days ago, and a real 640x360 clip
    ingested now."""
    now = datetime.now(UTC)
    ids = {"derby": _asset(farm, "derby.mov", "news"), "storm": _asset(farm, "storm.mov", "news", seconds=4),
           "match": _asset(farm, "match.mov", "sport"), "old": _asset(farm, "old.mov", "news")}
    with farm.transaction() as session:
        for name, asset_id in ids.items():
            version = session.scalar(select(Version).where(Version.asset_id == asset_id))
            version.ready_at = now - (timedelta(days=3) if name == "old" else timedelta(hours=1))
        schema = require_schema(session).schema
        save(session, schema, ids["derby"], Edit(set={"keywords": ["news"], "talent": ["Crowd"]}), actor="test")
    ids["interview"] = ingest_interview(farm, tmp_path).asset_id
    return ids


def test_the_dry_run_says_what_each_rule_would_do_and_changes_nothing(running_farm: Farm,
                                                                     tmp_path: Path) -> None:
    farm = running_farm
    from pipeline.rules.dry_run import dry_run

    ids = _catalog(farm, tmp_path)
    schema = _schema(farm)
    rules = parse_rules(RULES, "desk.yaml", schema)
    with farm.sessions() as session:
        before = (session.scalar(select(func.count()).select_from(AssetCollection)),
                  {i: stored_values(session, i, []).get(None, {}).keys() for i in ids.values()})
        report = dry_run(session, rules, schema, 0.2, datetime.now(UTC) - timedelta(days=1))
    by_rule = {r["rule"]: r for r in report["rules"]}
    desk = by_rule["news-to-desk"]
    assert desk["events"] == 4  # derby, storm, match and the interview; "old" is before --since
    assert [w["asset_name"] for w in desk["would"]] == ["derby.mov"]  # storm is 4 s; match is sport
    assert desk["would"][0]["actions"] == ["set usage_notes: None → 'News use only'", "add to keywords: desk",
                                           "add to collection news-desk"]
    small = by_rule["small-pictures"]
    assert [w["asset_id"] for w in small["would"]] == [ids["interview"]]  # the real 640x360 clip
    assert small["would"][0]["actions"] == ["move from collection default to web-only"]
    wrong = by_rule["wrong-at-run-time"]
    assert wrong["matched"] == 0 and len(wrong["errors"]) == 4
    assert "failed" in wrong["errors"][0]["error"] and "metadata.production > 3" in wrong["errors"][0]["error"]
    assert by_rule["switched-off"]["events"] == 0 and by_rule["switched-off"]["enabled"] is False
    with farm.sessions() as session:
        after = (session.scalar(select(func.count()).select_from(AssetCollection)),
                 {i: stored_values(session, i, []).get(None, {}).keys() for i in ids.values()})
    assert after == before, "a dry run changes nothing"


def test_the_cli_validates_and_dry_runs(running_farm: Farm, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    farm = running_farm
    from rushes.cli import main

    _catalog(farm, tmp_path)
    monkeypatch.setenv("RUSHES_DATABASE_URL", farm.settings.database_url)
    data = str(farm.settings.data_dir)
    rules = tmp_path / "desk.yaml"
    rules.write_text(RULES)
    runner = CliRunner()
    checked = runner.invoke(main, ["--data", data, "rules", "validate", str(rules)])
    assert checked.exit_code == 0 and "4 rule(s) valid" in checked.output, checked.output
    ran = runner.invoke(main, ["--data", data, "rules", "test", str(rules), "--since", "2d"])
    assert ran.exit_code == 0, ran.output
    assert "news-to-desk (version.ready): 1 of 4 event(s) match" in ran.output
    assert "derby.mov v1: set usage_notes: None → 'News use only'; add to keywords: desk" in ran.output
    assert "ERROR asset" in ran.output and "nothing was changed" in ran.output
    wider = runner.invoke(main, ["--data", data, "rules", "test", str(rules), "--since", "5d"])
    assert "news-to-desk (version.ready): 2 of 5 event(s) match" in wider.output  # the old one too
    folder = farm.settings.rules_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "desk.yaml").write_text(RULES)
    synced = runner.invoke(main, ["--data", data, "rules", "sync"])
    assert synced.exit_code == 0 and "4 unchanged" in synced.output, synced.output  # applied as the farm opened
    (folder / "desk.yaml").write_text(RULES.replace("version.ready", "version.redy", 1))
    refused_sync = runner.invoke(main, ["--data", data, "rules", "sync"])
    assert refused_sync.exit_code != 0 and "unknown trigger 'version.redy'" in refused_sync.output
    (folder / "desk.yaml").write_text(RULES)
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("metadata.production > 3", "metadata.producton > 3"))
    refused = runner.invoke(main, ["--data", data, "rules", "validate", str(bad)])
    assert refused.exit_code != 0 and "line 18: rules.wrong-at-run-time.condition: metadata.producton" in \
        refused.output


def test_the_api_dry_runs_for_admins_only_and_audits_it(running_farm: Farm, client: Any,
                                                       tmp_path: Path) -> None:
    farm = running_farm
    _catalog(farm, tmp_path)
    tokens = bearers(farm, {"root": "admin", "ed": "editor"})
    yaml_type = {"Content-Type": "application/yaml"}
    refused = client.post("/api/v1/admin/rules/test", headers={**tokens["ed"], **yaml_type}, content=RULES)
    assert refused.status_code == 403
    done = client.post("/api/v1/admin/rules/test?since=1d", headers={**tokens["root"], **yaml_type}, content=RULES)
    assert done.status_code == 200, done.text
    body = done.json()
    assert [r["rule"] for r in body["rules"]][:1] == ["news-to-desk"]
    assert body["rules"][0]["would"][0]["asset_name"] == "derby.mov"
    bad = client.post("/api/v1/admin/rules/test", headers={**tokens["root"], **yaml_type},
                      content=RULES.replace("version.ready", "version.redy", 1))
    assert bad.status_code == 400 and "line 5: rules.news-to-desk.trigger: unknown trigger" in bad.json()["error"]
    with farm.sessions() as session:
        lines = session.scalars(select(AuditEntry).where(AuditEntry.action == "rules dry run")
                                .order_by(AuditEntry.id)).all()
        assert [(a.actor, a.outcome) for a in lines] == [("ed", "denied"), ("root", "allowed")]
        assert "news-to-desk 1/4" in (lines[1].detail or "")
    listed = client.get("/api/v1/admin/rules", headers=tokens["root"]).json()
    assert listed["rules"] == [] and "version.ready" in listed["triggers"]


def test_the_api_writes_a_rules_file_after_checking_the_whole_folder(farm: Farm, client: Any) -> None:
    from tests.conftest import bearer

    admin = bearer(farm, "ada", "admin", None)
    body = "rules:\n  to-desk:\n    trigger: version.ready\n    actions: [{add_to_collection: desk}]\n"
    written = client.put("/api/v1/admin/rules/files/desk.yaml", content=body, headers={
        **admin, "Content-Type": "application/yaml"})
    assert written.status_code == 200 and written.json()["added"] == ["to-desk"], written.text
    assert (farm.settings.rules_folder / "desk.yaml").read_text() == body
    clash = client.put("/api/v1/admin/rules/files/other.yaml", content=body, headers={
        **admin, "Content-Type": "application/yaml"})
    assert clash.status_code == 400 and "rule 'to-desk' is also in desk.yaml" in clash.json()["error"]
    assert not (farm.settings.rules_folder / "other.yaml").exists(), "nothing written when the folder would not hold"
    bad = client.put("/api/v1/admin/rules/files/desk.yaml", content=body.replace("version.ready", "version.redy"),
                     headers={**admin, "Content-Type": "application/yaml"})
    assert bad.status_code == 400 and "line 3: rules.to-desk.trigger: unknown trigger" in bad.json()["error"]
    assert (farm.settings.rules_folder / "desk.yaml").read_text() == body
    editor = bearer(farm, "ed", "editor")
    assert client.put("/api/v1/admin/rules/files/x.yaml", content=body, headers={
        **editor, "Content-Type": "application/yaml"}).status_code == 403
    removed = client.delete("/api/v1/admin/rules/files/desk.yaml", headers=admin)
    assert removed.status_code == 200 and removed.json()["retired"] == ["to-desk"]
    with farm.sessions() as session:
        lines = session.scalars(select(AuditEntry.subject).where(AuditEntry.action == "rules change")).all()
    assert lines == ["rules file desk.yaml written", "rules file desk.yaml removed"]


def test_facts_read_for_many_versions_at_once_are_each_versions_own(farm: Farm) -> None:
    """The runner reads a batch's facts a query a kind; each version gets what it alone would (its own collection
    and those it was added to, its metadata, trusted tags, rights of its own or its asset's)."""
    from catalog.models import Asset, Collection, Rights, Scene, TagDecision
    from pipeline.rules.facts import facts, facts_for

    ids = [_asset(farm, name, collection) for name, collection in
           (("a.mov", "news"), ("b.mov", "sport"), ("c.mov", "news"))]
    with farm.transaction() as session:
        schema = require_schema(session).schema
        save(session, schema, ids[0], Edit(set={"keywords": ["goal"], "location": "Leeds"}), actor="test")
        save(session, schema, ids[2], Edit(set={"talent": ["Crowd"]}), actor="test")
        versions = {v.asset_id: v for v in session.scalars(select(Version).where(Version.asset_id.in_(ids)))}
        session.add(AssetCollection(asset_id=ids[0], collection_id=session.scalar(
            select(Collection.id).where(Collection.name == "sport"))))
        session.add(Rights(asset_id=ids[1], territories=["GB"], channels=["web"]))
        session.add(Rights(asset_id=ids[2], territories=["FR"]))
        session.add(Rights(asset_id=ids[2], version_id=versions[ids[2]].id, territories=["DE"], model_release=True))
        for asset_id, labels in ((ids[0], [["dog", 0.9], ["cat", 0.1]]), (ids[1], [["car", 0.8], ["road", 0.7]])):
            session.add(Scene(version_id=versions[asset_id].id, index=0, start_s=0, end_s=1, start_frame=0,
                              end_frame=25, tags={"labels": labels}))
        session.add(TagDecision(asset_id=ids[1], version_id=versions[ids[1]].id, scene_index=0, label="road",
                                decision="reject", decided_by="test"))
    with farm.sessions() as session:
        schema = require_schema(session).schema
        pairs = [(session.get(Asset, i), session.scalar(select(Version).where(Version.asset_id == i))) for i in ids]
        together = facts_for(session, pairs, schema, 0.2)
        for asset, version in pairs:
            alone = facts_for(session, [(asset, version)], schema, 0.2)[version.id]
            assert together[version.id] == alone
            assert facts(session, asset, version, schema, 0.2, {"type": "x"}) == {**alone, "event": {"type": "x"}}
    a, b, c = (together[v.id] for _, v in pairs)
    assert a["asset"]["collections"] == ["news", "sport"] and b["asset"]["collections"] == ["sport"]
    assert a["metadata"]["location"] == "Leeds" and a["metadata"]["keywords"] == ["goal"]
    assert c["metadata"]["talent"] == ["Crowd"] and b["metadata"]["location"] is None
    assert a["tags"] == ["dog"] and b["tags"] == ["car"] and c["tags"] == []
    assert b["rights"]["territories"] == ["GB"] and b["rights"]["channels"] == ["web"]
    assert c["rights"]["territories"] == ["DE"] and c["rights"]["model_release"] is True, "the version's own rights"
    assert not a["rights"]["set"]
