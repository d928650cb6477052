"""The in-process facet index (both catalogs): its counts equal SQL's over random metadata, it keeps up with saves
made by other connections and with schema changes, and on PostgreSQL a save that commits after a later one was
seen (ids handed out before commit) is still counted."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from catalog.facet_index import INDEXES
from catalog.metadata import require_schema
from catalog.metadata_query import facet_counts, parse_query
from catalog.metadata_values import Edit, add_log, save
from catalog.models import Asset, MetadataChange, MetadataValue, Version
from pipeline.farm import Farm
from tests.test_metadata import _asset

CAMERAS = ["A cam", "B cam", "C cam", "Drone", "Phone"]
TALENT = ["Presenter", "Guest", "Interviewee", "Crowd"]


def _sql_counts(farm: Farm, key: str, assets: set[int] | None = None) -> dict[str, int]:
    with farm.sessions() as session:
        query = (select(MetadataValue.value, func.count()).where(
            MetadataValue.field == key, MetadataValue.log_id.is_(None), MetadataValue.problem.is_(None)))
        if assets is not None:
            query = query.where(MetadataValue.asset_id.in_(assets))
        return {value: n for value, n in session.execute(query.group_by(MetadataValue.value))}


def _index_counts(farm: Farm, key: str, within: list | None = None) -> dict[str, int]:
    with farm.sessions() as session:
        state = require_schema(session)
        return {row["value"]: row["assets"] for row in facet_counts(session, state, [key], within, limit=1000)[key]}


def _edit(farm: Farm, asset_id: int, **values: object) -> None:
    with farm.transaction() as session:
        save(session, require_schema(session).schema, asset_id, Edit(set=dict(values)), actor="test")


def test_counts_equal_sql_and_keep_up_with_saves_and_schema_changes(farm: Farm) -> None:
    rng = random.Random(14)
    assets = [_asset(farm, f"clip{i:03d}.mov") for i in range(120)]
    for asset_id in assets:
        _edit(farm, asset_id, camera=rng.choice(CAMERAS), talent=rng.sample(TALENT, rng.randint(0, 3)),
              episode=rng.randint(1, 4))
    for key in ("camera", "talent"):
        assert _index_counts(farm, key) == _sql_counts(farm, key)
    some = set(assets[::3])
    within = [select(Asset.id).where(Asset.id.in_(some))]
    assert _index_counts(farm, "talent", within) == _sql_counts(farm, "talent", some)

    # saves by other connections (the index looked before them): changed values move, cleared ones go
    before = _index_counts(farm, "camera")
    _edit(farm, assets[0], camera="Screen recording")
    _edit(farm, assets[1], camera=None)
    after = _index_counts(farm, "camera")
    assert after == _sql_counts(farm, "camera") and after["Screen recording"] == 1
    assert sum(after.values()) == sum(before.values()) - 1

    # a new schema version renames the field and removes a choice: the values are counted under the new key, and
    # those of the removed choice (flagged for a person) no longer
    with farm.transaction() as session:
        state = require_schema(session)
    text = (farm.settings.metadata_folder / "production.yaml").read_text()
    changed = (text.replace("  camera: {type: choice, label: Camera,",
                            "  camera_unit: {type: choice, label: Camera, renamed_from: [camera],")
               .replace("[production, episode, shoot_date, camera, location,",
                        "[production, episode, shoot_date, camera_unit, location,")
               .replace("cameras: [A cam, B cam, C cam, Drone, Phone, Screen recording]",
                        "cameras: [A cam, B cam, C cam, Drone, Screen recording]"))
    (farm.settings.metadata_folder / "production.yaml").write_text(changed)
    farm.sync_metadata_schema()
    with farm.sessions() as session:
        assert require_schema(session).version > state.version
    assert after["Phone"] > 0
    assert _index_counts(farm, "camera_unit") == {k: n for k, n in after.items() if k != "Phone"}


def test_counts_within_field_terms_equal_sql(farm: Farm) -> None:
    """Field terms on facet fields are answered by the index (the assets' own values) and the catalog (logged
    ranges): equality, a taxonomy's narrower terms, date and number ranges, and a non-facet field."""
    rng = random.Random(7)
    moments = ["Sport > Football > Goal", "Sport > Football > Foul", "Sport > Cycling > Sprint", "News > Weather"]
    assets = [_asset(farm, f"shot{i:03d}.mov") for i in range(80)]
    for asset_id in assets:
        _edit(farm, asset_id, camera=rng.choice(CAMERAS), moment=rng.choice(moments), episode=rng.randint(1, 6),
              shoot_date=f"2026-11-{rng.randint(1, 28):02d}", talent=rng.sample(TALENT, rng.randint(0, 2)),
              note=rng.choice(["wide", "close"]))
    with farm.transaction() as session:  # a goal logged inside an asset whose own moment is the weather
        schema = require_schema(session).schema
        version = session.scalar(select(Version).where(Version.asset_id == assets[0]))
        save(session, schema, assets[0], Edit(set={"moment": "News > Weather"}), actor="test")
        add_log(session, schema, version, 10, 20, {"moment": "Sport > Football > Goal"}, actor="test")
    for query in ("moment:Football", 'moment:"Sport > Football > Goal"', "shoot_date:2026-11-05..2026-11-15",
                  "episode:2..4", "episode:..3 camera:Drone", "note:wide talent:Guest", 'camera:"B cam"'):
        with farm.sessions() as session:
            state = require_schema(session)
            parsed = parse_query(state.schema, query)
            got = facet_counts(session, state, ["camera", "talent"], list(parsed.filters), limit=1000)
            kept = set(session.scalars(select(Asset.id).where(parsed.clause())))
        assert kept, query
        for key in ("camera", "talent"):
            expected = _sql_counts(farm, key, kept)
            assert {row["value"]: row["assets"] for row in got[key]} == expected, (query, key)


def test_a_save_committed_after_a_later_one_was_counted_is_not_lost(make_settings, pg_url: str) -> None:
    """PostgreSQL hands out ids at insert: save A takes its id, save B a later one and commits first, the index
    looks (and sees B); then A commits. A must be counted (the id A holds was a gap, looked for again). (A save
    takes the audit trail's lock after its rows have their ids: A is held there, as it would be by that lock.)"""
    farm = Farm(make_settings(database_url=pg_url))
    try:
        first, second = _asset(farm, "a.mov"), _asset(farm, "b.mov")
        assert _index_counts(farm, "camera") == {}
        slow = farm.sessions()
        slow.begin()
        slow.add_all([MetadataValue(asset_id=first, field="camera", value="Drone", set_by="slow"),
                      MetadataChange(asset_id=first, revision=1, field="camera", old=[], new=["Drone"],
                                     actor="slow", source="api")])
        slow.flush()  # its rows hold their ids now; not committed
        _edit(farm, second, camera="Phone")
        assert _index_counts(farm, "camera") == {"Phone": 1}
        slow.commit()
        slow.close()
        assert _index_counts(farm, "camera") == {"Phone": 1, "Drone": 1}
    finally:
        INDEXES.clear()
        farm.close()
