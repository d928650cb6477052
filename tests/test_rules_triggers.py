"""Every trigger a rule can name, on both catalogs: each event made the way the farm and the API make it (a field
saved, a tag accepted, a review, an approval, a rendition made or rejected, a rights window near its end or past
it, a schedule's tick), each rule acting once on its own events with what the event carries, the dry run saying
what the pass then does, and a loop of rules cut at the depth limit with the chain named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from catalog.metadata import require_schema
from catalog.metadata_values import Edit, plain, save, stored_values
from catalog.models import Rendition, RuleRun, RuleVersion, TagDecision, Version, utcnow
from catalog.review import ApprovalRule, add_review
from catalog.rights import set_rights
from pipeline.farm import Farm
from pipeline.rules.dry_run import dry_run
from pipeline.rules.files import parse_rules
from pipeline.rules.runner import RuleRunner
from tests.test_metadata import _asset

EVERY = """\
rules:
  notes-changed:
    trigger: metadata.changed
    field: usage_notes
    condition: 'event.new == ["Embargoed"] && event.by == "ed"'
    actions: [{add_metadata: {keywords: [notes]}}]
  car-tagged:
    trigger: tag.added
    condition: 'event.label == "car"'
    actions: [{add_to_collection: cars}]
  changes-asked:
    trigger: review.decided
    condition: 'event.decision == "changes"'
    actions: [{add_to_collection: needs-work}]
  approved:
    trigger: approval.reached
    actions: [{add_to_collection: approved}]
  web-made:
    trigger: rendition.ready
    condition: 'event.preset == "web-h264"'
    actions: [{add_to_collection: on-web}]
  web-refused:
    trigger: rendition.rejected
    actions: [{add_to_collection: render-problems}]
  rights-ending:
    trigger: rights.expiring
    within: 7d
    actions: [{add_to_collection: rights-ending}]
  rights-gone:
    trigger: rights.expired
    condition: 'event.window_end != null'
    actions: [{add_to_collection: rights-gone}]
"""


def _load(farm: Farm, text: str) -> None:
    folder = farm.settings.rules_folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text)
    assert farm.sync_rules() is not None


def _runs(farm: Farm) -> list[tuple[str, int, str, str]]:
    with farm.sessions() as session:
        return [(name, run.asset_id, run.status, run.event_key) for run, name in session.execute(
            select(RuleRun, RuleVersion.name).join(RuleVersion, RuleVersion.id == RuleRun.rule_version_id)
            .order_by(RuleRun.id))]


def _version(farm: Farm, asset_id: int) -> int:
    with farm.sessions() as session:
        return session.scalar(select(Version.id).where(Version.asset_id == asset_id))


def test_each_trigger_acts_on_its_own_events_once(farm: Farm) -> None:
    _load(farm, EVERY)
    a, b = _asset(farm, "derby.mov", "news"), _asset(farm, "storm.mov", "news")
    va, vb = _version(farm, a), _version(farm, b)
    now = utcnow()
    with farm.transaction() as session:
        schema = require_schema(session).schema
        save(session, schema, a, Edit(set={"usage_notes": "Embargoed"}), actor="ed")
        save(session, schema, b, Edit(set={"usage_notes": "Free"}), actor="ed")  # condition false
        save(session, schema, b, Edit(set={"camera": "A cam"}), actor="ed")  # another field: not this rule's
        session.add_all([TagDecision(asset_id=a, version_id=va, scene_index=0, label="car", decision="accept",
                                     decided_by="ed"),
                         TagDecision(asset_id=b, version_id=vb, scene_index=0, label="car", decision="reject",
                                     decided_by="ed"),
                         TagDecision(asset_id=b, version_id=vb, scene_index=1, label="tree", decision="accept",
                                     decided_by="ed")])
        add_review(session, va, "rita", "approve", None, ApprovalRule())  # approval reached, not "changes"
        add_review(session, vb, "rita", "changes", "cut the end", ApprovalRule())
        for n, (vid, preset, status) in enumerate([(va, "web-h264", "ready"), (vb, "broadcast-xdcam", "ready"),
                                                   (vb, "web-h264", "rejected")]):
            session.add(Rendition(version_id=vid, preset=preset, preset_hash="h", tools="t", key=f"k{n}",
                                  status=status, finished_at=now))
        set_rights(session, a, None, {"window_end": now + timedelta(days=3)}, "ed")  # recorded inside 7 days
        set_rights(session, b, None, {"window_end": now - timedelta(minutes=1)}, "ed")  # recorded ended
    runner = RuleRunner(farm.sessions, farm.settings)
    runner.run_pass()
    acted = sorted((name, asset) for name, asset, status, _ in _runs(farm) if status == "done")
    assert acted == sorted([("notes-changed", a), ("car-tagged", a), ("changes-asked", b), ("approved", a),
                            ("web-made", a), ("web-refused", b), ("rights-ending", a), ("rights-gone", b)])
    with farm.sessions() as session:
        keywords = stored_values(session, a, []).get(None, {})["keywords"]
        assert plain(schema, "keywords", keywords) == ["notes"]
    before = len(_runs(farm))
    assert RuleRunner(farm.sessions, farm.settings).run_pass() == 0, "a restart acts on nothing twice"
    # the same field saved again is a new event: it acts again
    with farm.transaction() as session:
        save(session, schema, a, Edit(set={"usage_notes": "Free"}), actor="ed")
        save(session, schema, a, Edit(set={"usage_notes": "Embargoed"}), actor="ed")
    assert runner.run_pass() == 1 and len(_runs(farm)) == before + 1


def test_a_rights_window_and_a_schedule_act_as_time_passes(farm: Farm) -> None:
    _load(farm, """\
rules:
  rights-ending:
    trigger: rights.expiring
    within: 7d
    actions: [{add_metadata: {keywords: [ending]}}]
  rights-gone:
    trigger: rights.expired
    actions: [{add_to_collection: rights-gone}]
  nightly:
    trigger: schedule
    every: 1d
    condition: 'asset.collection == "news"'
    actions: [{add_to_collection: nightly}]
""")
    a = _asset(farm, "derby.mov", "news")
    _asset(farm, "match.mov", "sport")  # ready, not news: the schedule asks it, it does not act
    now = utcnow()
    end = now + timedelta(days=10)
    with farm.transaction() as session:
        set_rights(session, a, None, {"window_end": end}, "ed")
    runner = RuleRunner(farm.sessions, farm.settings)
    assert runner.run_pass(now) == 0, "ten days before the end: nothing yet (and today's tick is before the rule)"
    day = datetime.fromtimestamp(int(now.timestamp()) // 86400 * 86400 + 86400, UTC)  # tomorrow 00:00 UTC
    assert runner.run_pass(day + timedelta(seconds=5)) == 1  # the tick, asked of each ready asset: news acts
    assert [(n, asset, s) for n, asset, s, _ in _runs(farm)] == [("nightly", a, "done")]
    assert runner.run_pass(day + timedelta(hours=1)) == 0, "a tick acts once"
    assert RuleRunner(farm.sessions, farm.settings).run_pass(day + timedelta(hours=2)) == 0
    # three days before the end (within 7d): expiring; the next day's tick too
    late = end - timedelta(days=3)
    made = runner.run_pass(late)
    names = [n for n, _, _, _ in _runs(farm)]
    assert made == 2 and names.count("rights-ending") == 1 and names.count("nightly") == 2
    assert RuleRunner(farm.sessions, farm.settings).run_pass(end + timedelta(minutes=1)) == 2  # expired; a tick
    assert [n for n, _, _, _ in _runs(farm)].count("rights-gone") == 1


def test_the_dry_run_of_new_triggers_says_what_the_pass_does(farm: Farm) -> None:
    text = EVERY.split("  car-tagged:")[0]
    _load(farm, text)
    ids = [_asset(farm, f"clip{n}.mov", "news") for n in range(3)]
    with farm.transaction() as session:
        schema = require_schema(session).schema
        for n, asset_id in enumerate(ids):
            save(session, schema, asset_id, Edit(set={"usage_notes": "Embargoed" if n != 1 else "Free"}), actor="ed")
    with farm.sessions() as session:
        said = dry_run(session, parse_rules(text, "rules.yaml", schema), schema, 0.2, utcnow() - timedelta(hours=1))
    (entry,) = said["rules"]
    assert entry["events"] == 3 and entry["matched"] == 2
    RuleRunner(farm.sessions, farm.settings).run_pass()
    with farm.sessions() as session:
        runs = session.execute(select(RuleRun.asset_id, RuleRun.event_key, RuleRun.outcome).order_by(RuleRun.id)).all()
    assert [(r.asset_id, r.event_key, r.outcome) for r in runs] == [
        (w["asset_id"], w["event"], "; ".join(w["actions"])) for w in entry["would"]]


def test_rules_that_set_each_other_off_stop_at_the_depth_limit(farm: Farm) -> None:
    _load(farm, """\
rules:
  ping:
    trigger: metadata.changed
    field: usage_notes
    condition: 'metadata.usage_notes == "ping"'
    actions: [{set_metadata: {usage_notes: pong}}]
  pong:
    trigger: metadata.changed
    field: usage_notes
    condition: 'metadata.usage_notes == "pong"'
    actions: [{set_metadata: {usage_notes: ping}}]
""")
    a = _asset(farm, "loop.mov", "news")
    with farm.transaction() as session:
        schema = require_schema(session).schema
        save(session, schema, a, Edit(set={"usage_notes": "ping"}), actor="ed")
    runner = RuleRunner(farm.sessions, farm.settings)
    for _ in range(12):
        runner.run_pass()
    limit = farm.settings.rule_depth_limit
    with farm.sessions() as session:
        runs = session.scalars(select(RuleRun).order_by(RuleRun.id)).all()
    done = [r for r in runs if r.status == "done"]
    assert [r.depth for r in done] == list(range(limit)), "each run one deeper than the run that caused it"
    failed = [r for r in runs if r.status == "failed"]
    assert len(failed) == 1 and failed[0].depth == limit, "the rule that would act next is stopped"
    assert f"depth limit {limit} reached: ping → pong → ping → pong → ping → pong" == failed[0].outcome
    assert runner.run_pass() == 0, "the loop is over"
