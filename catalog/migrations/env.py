"""Alembic environment: runs on the connection handed over by catalog.db.migrate, or on the URL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import create_engine

from catalog.models import Base

config = context.config
target_metadata = Base.metadata


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """Leave alone what the models do not declare: the full-text index objects made by migration 0002."""
    return not (reflected and compare_to is None)


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our UTC TypeDecorator as the plain DateTime(timezone=True) it stores."""
    from catalog.models import UTCDateTime

    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_ours,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url") or "").begin() as conn:
        _run(conn)
