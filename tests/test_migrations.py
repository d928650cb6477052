"""The migrations build exactly the schema the models describe, and 0006 names each render step's rendition."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text

from catalog.db import alembic_config, at_head, head_revision, make_engine, migrate
from catalog.models import Asset, Base, Collection, Rendition, Version


def _declared(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """As catalog/migrations/env.py: the full-text objects that migration 0002 makes by hand are not modelled."""
    return not (reflected and compare_to is None)


def test_the_migrated_schema_is_the_models_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _declared})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "a model change without its migration (alembic revision --autogenerate)"


def test_a_migrated_catalog_is_known_at_head_without_alembic(empty_db_url: str) -> None:
    """Every command and worker start asks ``at_head`` (one query) and loads alembic only when it answers no: the
    head it reads from the files is alembic's own, whichever quotes a migration file uses."""
    engine = make_engine(empty_db_url)
    try:
        assert head_revision() == ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
        assert not at_head(engine)
        migrate(engine)
        assert at_head(engine)
    finally:
        engine.dispose()


def test_render_steps_made_before_0006_get_their_rendition(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
        with engine.begin() as conn:  # the rows a 0005 catalog had (the tables' defaults fill the rest)
            conn.execute(insert(Collection).values(id=1, name="default"))
            conn.execute(insert(Asset).values(id=1, name="a.mov", source_folder="default", collection_id=1))
            conn.execute(insert(Version).values(id=1, asset_id=1, number=1, content_hash="h", size=1,
                                                original_name="a.mov", source_folder="default", source_path="/a"))
            conn.execute(insert(Rendition).values(id=7, version_id=1, preset="web/h264-720p", preset_hash="p",
                                                  tools="t", key="k", requested_by="ed"))
            for step_id, kind in ((1, "probe"), (2, "render:7")):
                conn.execute(text("INSERT INTO steps (id, version_id, kind, status, attempts, progress) "
                                  "VALUES (:id, 1, :kind, 'done', 1, 1.0)"), {"id": step_id, "kind": kind})
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            rows = {kind: rendition for kind, rendition in conn.execute(text("SELECT kind, rendition_id FROM steps"))}
    finally:
        engine.dispose()
    assert rows == {"probe": None, "render:7": 7}
