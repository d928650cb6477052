"""Rule actions that reach beyond the catalog, on both catalogs and a running farm with a real clip: ``render`` (a
farm step that makes a real rendition), ``call_webhook`` (a signed POST a receiver checks), ``hold_for_a_person``
(what follows waits in the inbox; a person approves through the API and a ``deliver`` then queues what the target
takes; a refusal runs nothing), and what the dry run says of them equals what the run did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from catalog.models import AuditEntry, HeldAction, Rendition, RuleRun, RuleVersion
from delivery.targets import create_target
from pipeline.farm import Farm
from pipeline.rules.dry_run import dry_run
from pipeline.rules.files import parse_rules
from tests.conftest import bearer, ingest_interview, wait_for
from tests.webhook_receiver import Receiver

RULES = """\
rules:
  web-copy:
    trigger: version.ready
    condition: 'media.has_video'
    actions:
      - render: web/h264-720p
      - call_webhook: cms
  to-social:
    trigger: version.ready
    actions:
      - add_metadata: {keywords: [social]}
      - hold_for_a_person: Send this to the social desk?
      - deliver: social-desk
"""


def _runs(farm: Farm) -> dict[str, RuleRun]:
    with farm.sessions() as session:
        return {name: run for run, name in session.execute(
            select(RuleRun, RuleVersion.name).join(RuleVersion, RuleVersion.id == RuleRun.rule_version_id))}


def _rendition(farm: Farm, preset: str) -> Rendition | None:
    with farm.sessions() as session:
        return session.scalar(select(Rendition).where(Rendition.preset == preset))


def test_render_webhook_and_a_held_delivery_on_a_running_farm(running_farm: Farm, client: Any,
                                                              tmp_path: Path) -> None:
    farm = running_farm
    receiver = Receiver()
    admin, editor = bearer(farm, "ada", "admin", None), bearer(farm, "ed", "editor")
    viewer = bearer(farm, "vi", "viewer")
    try:
        made = client.post("/api/v1/admin/webhooks", headers=admin,
                           json={"name": "cms", "url": receiver.url, "events": ["rendition.ready"]})
        receiver.secret = made.json()["secret"]
        with farm.transaction() as session:
            create_target(session, "social-desk", "pull", ["social/square-1x1"])
        farm.settings.rules_folder.mkdir(parents=True, exist_ok=True)
        (farm.settings.rules_folder / "desk.yaml").write_text(RULES)
        farm.sync_rules()
        result = ingest_interview(farm, tmp_path)  # a real 3 s 640x360 clip
        wait_for(lambda: len(_runs(farm)) == 2, timeout=60)
        runs = _runs(farm)
        assert runs["web-copy"].status == "done", runs["web-copy"].outcome
        assert runs["web-copy"].outcome == "render web/h264-720p; call webhook cms"
        assert runs["to-social"].outcome == ("add to keywords: social; hold for a person: Send this to the social "
                                             "desk? (waiting: deliver to target social-desk)")
        # the render is a farm step that makes a real, checked rendition
        wait_for(lambda: (r := _rendition(farm, "web/h264-720p")) is not None and r.status == "ready", timeout=120)
        # the rule's call reached the receiver, signed, naming the rule; then the subscription's own event
        wait_for(lambda: len(receiver.got) >= 2, timeout=30)
        by_type = {r.payload.get("rule", "subscription"): r for r in receiver.got}
        assert all(r.signed for r in receiver.got)
        assert by_type["web-copy"].payload["type"] == "version.ready"
        assert by_type["web-copy"].payload["events"][0]["version_id"] == result.version_id
        assert by_type["subscription"].payload["events"][0]["preset"] == "web/h264-720p"
        # the delivery waits for a person: nothing for the social desk yet
        assert _rendition(farm, "social/square-1x1") is None
        waiting = client.get("/api/v1/inbox", headers=editor).json()["held"]
        assert [(h["rule"], h["question"], h["actions"]) for h in waiting] == [
            ("to-social", "Send this to the social desk?", ["deliver to target social-desk"])]
        assert client.post(f"/api/v1/held/{waiting[0]['id']}", json={"decision": "approve"},
                           headers=viewer).status_code == 403, "a viewer cannot release what a rule held"
        approved = client.post(f"/api/v1/held/{waiting[0]['id']}", json={"decision": "approve", "note": "go"},
                               headers=editor)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "ed"
        assert approved.json()["outcome"] == ("deliver to target social-desk: render social/square-1x1 (it gets them "
                                              "once the version is approved and in its rights)")
        again = client.post(f"/api/v1/held/{waiting[0]['id']}", json={"decision": "refuse"}, headers=editor)
        assert again.status_code == 409 and "approved by ed already" in again.json()["error"]
        wait_for(lambda: (r := _rendition(farm, "social/square-1x1")) is not None and r.status == "ready",
                 timeout=120)
        assert client.get("/api/v1/inbox", headers=editor).json()["held"] == []
        with farm.sessions() as session:
            line = session.scalar(select(AuditEntry).where(AuditEntry.action == "held action"))
            assert line.actor == "ed" and "approved" in line.subject
            asked = session.scalar(select(Rendition).where(Rendition.preset == "social/square-1x1"))
            assert asked.requested_by == "rule:to-social"
            # what the dry run says of these rules now equals what was done (or is done already)
            said = dry_run(session, parse_rules(RULES, "desk.yaml", None), None, 0.2,
                           asked.created_at.replace(year=2000))
        web = next(r for r in said["rules"] if r["rule"] == "web-copy")["would"][0]["actions"]
        web_rendition = _rendition(farm, "web/h264-720p")
        assert web_rendition is not None
        assert web == [f"render web/h264-720p (rendition {web_rendition.id} is ready already)", "call webhook cms"]
    finally:
        receiver.close()


def test_a_refused_hold_runs_nothing(farm: Farm, client: Any) -> None:
    from catalog.models import Version, utcnow
    from pipeline.rules.runner import RuleRunner
    from tests.test_metadata import _asset

    with farm.transaction() as session:
        create_target(session, "social-desk", "pull", ["social/square-1x1"])
    farm.settings.rules_folder.mkdir(parents=True, exist_ok=True)
    (farm.settings.rules_folder / "desk.yaml").write_text(RULES.split("  to-social:")[0].replace(
        "web-copy", "held").replace("      - render: web/h264-720p\n",
                                    "      - hold_for_a_person: Render it?\n      - render: web/h264-720p\n"))
    farm.sync_rules()
    asset = _asset(farm, "derby.mov", "news")
    with farm.transaction() as session:
        session.scalar(select(Version).where(Version.asset_id == asset)).ready_at = utcnow()
    assert RuleRunner(farm.sessions, farm.settings).run_pass() == 1
    assert client.get("/api/v1/inbox", headers=bearer(farm, "sam", "editor", "sport")).json()["held"] == [], \
        "an editor of another collection does not see it"
    editor = bearer(farm, "ed", "editor", "news")
    (held,) = client.get("/api/v1/inbox", headers=editor).json()["held"]
    assert held["actions"] == ["render web/h264-720p", "call webhook cms"]
    refused = client.post(f"/api/v1/held/{held['id']}", json={"decision": "refuse", "note": "not this one"},
                          headers=editor)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert _rendition(farm, "web/h264-720p") is None
    with farm.sessions() as session:
        assert session.scalar(select(HeldAction.outcome)) is None
    assert client.get("/api/v1/inbox?status=refused", headers=editor).json()["held"][0]["note"] == "not this one"
