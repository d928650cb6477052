"""Approval stages per destination channel, on both catalogs: a template for news on the web and social (the desk,
then legal) beside the default template (the RUSHES_APPROVAL_* settings) for broadcast; stages opening in turn,
reviewers' inboxes, "changes" sending it back, a target taking a rendition only when the version holds the
approval of the rendition's channel, a rule asking for a review, and approvals made before templates surviving
the migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from catalog.approval_stages import Stage, Template, evaluate, parse_templates
from catalog.db import alembic_config, make_engine
from catalog.models import ApprovalRequest, Asset, Collection, Rendition, Version, utcnow
from delivery.targets import create_target, eligible
from pipeline.farm import Farm
from pipeline.rules.runner import RuleRunner
from rushes.errors import ConfigError
from tests.conftest import bearer
from tests.test_metadata import _asset

NEWS = """\
templates:
  news-web:
    label: News desk, then legal
    applies_to: {collections: [news], channels: [web, social]}
    stages:
      - name: desk
        reviewers: [rita, sam]
      - name: legal
        role: editor
        required: [lee]
        deadline: 2d
  news-broadcast:
    applies_to: {collections: [news], channels: [broadcast]}
    stages:
      - name: playout
        reviewers: [una]
"""


def test_a_template_that_does_not_hold_says_where() -> None:
    with pytest.raises(ConfigError, match="unknown channel radio"):
        parse_templates("templates:\n  a:\n    applies_to: {channels: [radio]}\n"
                        "    stages: [{name: s, role: editor}]\n", "a.yaml")
    with pytest.raises(ConfigError, match="stage s: give reviewers"):
        parse_templates("templates:\n  a:\n    stages: [{name: s}]\n", "a.yaml")
    with pytest.raises(ConfigError, match="'default' is the RUSHES_APPROVAL_"):
        parse_templates("templates:\n  default:\n    stages: [{name: s, role: editor}]\n", "a.yaml")
    with pytest.raises(ConfigError, match="'two weeks' is not a span"):
        parse_templates("templates:\n  a:\n    stages: [{name: s, role: editor, deadline: two weeks}]\n", "a.yaml")


def test_stages_open_in_turn_and_changes_send_it_back() -> None:
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    template = Template("t", "t", (Stage("desk", ("rita", "sam")), Stage("legal", (), "reviewer", 1, ("lee",), 3600)))
    status, stages = evaluate(template, [], start)
    assert status == "open" and [s.status for s in stages] == ["open", "waiting"]
    later = start + timedelta(minutes=30)
    status, stages = evaluate(template, [("desk", "rita", "approve", later)], start)
    assert [s.status for s in stages] == ["approved", "open"] and stages[1].opened_at == later
    assert stages[1].due_at == later + timedelta(hours=1) and stages[1].missing == ["lee"]
    status, stages = evaluate(template, [("desk", "rita", "approve", later), ("legal", "lee", "changes", later)],
                              start)
    assert status == "changes" and stages[1].status == "changes"
    status, _ = evaluate(template, [("desk", "rita", "approve", later), ("legal", "lee", "changes", later),
                                    ("legal", "lee", "approve", later)], start)
    assert status == "approved"
    parallel = Template("p", "p", template.stages, parallel=True)
    assert [s.status for s in evaluate(parallel, [], start)[1]] == ["open", "open"]


@pytest.fixture
def desk(farm: Farm) -> dict[str, Any]:
    folder = farm.settings.approvals_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "news.yaml").write_text(NEWS)
    asset = _asset(farm, "derby.mov", "news")
    with farm.transaction() as session:
        version = session.scalar(select(Version).where(Version.asset_id == asset))
        for n, preset in enumerate(("web/h264-720p", "broadcast/prores-422hq")):
            session.add(Rendition(version_id=version.id, preset=preset, preset_hash="h", tools="t", key=f"k{n}",
                                  status="ready", path=f"/nowhere/{n}.mov", finished_at=utcnow()))
        create_target(session, "site", "pull", ["web/h264-720p"])
        create_target(session, "playout", "pull", ["broadcast/prores-422hq"])
    people = {name: bearer(farm, name, "editor" if name == "lee" else "reviewer", "news")
              for name in ("rita", "sam", "lee", "una")}
    return {"asset": asset, "people": people}


def _review(client: Any, desk: dict[str, Any], who: str, decision: str) -> Any:
    return client.post(f"/api/v1/assets/{desk['asset']}/versions/1/reviews", headers=desk["people"][who],
                       json={"decision": decision})


def _takes(farm: Farm) -> dict[str, list[str]]:
    from catalog.models import Target

    with farm.sessions() as session:
        return {t.name: [r.preset for r in eligible(session, t)] for t in session.scalars(select(Target))}


def _inbox(client: Any, desk: dict[str, Any], who: str) -> list[tuple[str, str]]:
    found = client.get("/api/v1/inbox", headers=desk["people"][who]).json()["reviews"]
    return [(r["template"], r["stage"]["name"]) for r in found]


def test_approval_per_channel_through_stages(farm: Farm, client: Any, desk: dict[str, Any]) -> None:
    assert _takes(farm) == {"site": [], "playout": []}
    first = _review(client, desk, "una", "approve")  # una approves for broadcast only
    assert first.status_code == 200, first.text
    approvals = {a["template"]: a for a in first.json()["approvals"]}
    assert approvals["news-broadcast"]["channels"] == ["broadcast"]
    assert approvals["news-broadcast"]["status"] == "approved"
    assert approvals["news-web"]["channels"] == ["web", "social"]
    assert [s["status"] for s in approvals["news-web"]["stages"]] == ["open", "waiting"]
    assert approvals["news-web"]["stages"][0]["who"] == "rita, sam"
    assert _takes(farm) == {"site": [], "playout": ["broadcast/prores-422hq"]}, \
        "approved for broadcast, not yet for the web"
    assert _inbox(client, desk, "rita") == [("news-web", "desk")] and _inbox(client, desk, "lee") == []
    refused = _review(client, desk, "lee", "approve")
    assert refused.status_code == 400 and "lee is not due in an open stage" in refused.json()["error"]
    assert "(open: playout (una) for broadcast; desk (rita, sam) for web, social)" in refused.json()["error"]
    assert _review(client, desk, "rita", "approve").status_code == 200
    assert _inbox(client, desk, "rita") == [] and _inbox(client, desk, "lee") == [("news-web", "legal")]
    assert _takes(farm)["site"] == [], "legal has not approved yet"
    done = _review(client, desk, "lee", "approve").json()
    assert {a["template"]: a["status"] for a in done["approvals"]} == {"news-web": "approved",
                                                                       "news-broadcast": "approved"}
    assert done["status"] == "approved", "every channel approved: the version is"
    assert _takes(farm) == {"site": ["web/h264-720p"], "playout": ["broadcast/prores-422hq"]}
    back = _review(client, desk, "lee", "changes").json()  # legal sends it back: the web loses it
    assert {a["template"]: a["status"] for a in back["approvals"]}["news-web"] == "changes"
    assert _takes(farm) == {"site": [], "playout": ["broadcast/prores-422hq"]}
    with farm.sessions() as session:
        assert session.scalar(select(Version.approved_at).where(Version.asset_id == desk["asset"])) is None


def test_a_rule_asks_for_a_review_under_a_template(farm: Farm, client: Any, desk: dict[str, Any]) -> None:
    folder = farm.settings.rules_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "route.yaml").write_text("rules:\n  sport-to-desk:\n    trigger: version.ready\n"
                                       "    condition: 'asset.collection == \"sport\"'\n"
                                       "    actions: [{request_review: news-web}]\n")
    farm.sync_rules()
    match = _asset(farm, "match.mov", "sport")  # news-web does not apply to sport by itself
    with farm.transaction() as session:
        session.scalar(select(Version).where(Version.asset_id == match)).ready_at = utcnow()
    assert RuleRunner(farm.sessions, farm.settings).run_pass() == 1
    rita = bearer(farm, "rita", "reviewer", "sport")
    found = client.get("/api/v1/inbox", headers=rita).json()["reviews"]
    assert [(r["asset_name"], r["template"], r["stage"]["name"], r["channels"]) for r in found] == [
        ("match.mov", "news-web", "desk", ["web", "social"])]
    view = client.get(f"/api/v1/assets/{match}/versions/1/reviews", headers=rita).json()
    assert {a["template"]: a["channels"] for a in view["approvals"]} == {"news-web": ["web", "social"],
                                                                         "default": ["broadcast"]}
    assert {a["template"]: a["status"] for a in view["approvals"]} == {"news-web": "open",
                                                                       "default": "not requested"}


def test_approvals_made_before_templates_survive_the_migration(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0019")
        with engine.begin() as conn:
            conn.execute(insert(Collection).values(id=1, name="default"))
            conn.execute(insert(Asset).values(id=1, name="a.mov", source_folder="default", collection_id=1))
            for vid, approved in ((1, utcnow()), (2, None)):
                conn.execute(text("INSERT INTO versions (id, asset_id, number, content_hash, size, original_name, "
                                  "source_folder, source_path, status, created_at, approved_at, approved_by) VALUES "
                                  "(:id, 1, :id, :h, 1, 'a.mov', 'default', '/a', 'ready', :at, :ap, 'rita')"),
                             {"id": vid, "h": f"h{vid}", "at": utcnow(), "ap": approved})
                conn.execute(text("INSERT INTO reviews (version_id, reviewer, decision, created_at) "
                                  "VALUES (:v, 'rita', :d, :at)"),
                             {"v": vid, "d": "approve" if approved else "changes", "at": utcnow()})
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            requests = conn.execute(select(ApprovalRequest.version_id, ApprovalRequest.template,
                                           ApprovalRequest.status, ApprovalRequest.channels)
                                    .order_by(ApprovalRequest.version_id)).all()
            reviews = conn.execute(text("SELECT version_id, request_id, stage FROM reviews ORDER BY version_id")).all()
    finally:
        engine.dispose()
    assert [(v, t, s, sorted(c)) for v, t, s, c in requests] == [
        (1, "default", "approved", ["broadcast", "social", "web"]),
        (2, "default", "open", ["broadcast", "social", "web"])]
    assert [(v, stage) for v, _r, stage in reviews] == [(1, "review"), (2, "review")]
    assert all(r is not None for _v, r, _s in reviews)
