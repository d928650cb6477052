"""The metadata of a selection of assets as CSV, and back: one row per asset (``asset_id``, ``name``, then a column
per field), a multiple field's values joined with ``; `` (a taxonomy term as its whole path).

Importing changes only the cells that hold something (an empty cell leaves the field as it is) and only the
fields the caller may edit; the whole file is checked first and applied all or nothing, each asset's change saved
and audited like an edit (source ``csv import``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.metadata_schema import Schema
from catalog.metadata_values import Edit, plain, save, stored_values, user_names
from catalog.models import Asset
from rushes.errors import InvalidInput, MetadataError

JOIN = "; "


def export_csv(session: Session, schema: Schema, asset_ids: Iterable[int], fields: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["asset_id", "name", *fields])
    ids = list(dict.fromkeys(asset_ids))
    names = dict(session.execute(select(Asset.id, Asset.name).where(Asset.id.in_(ids))).tuples().all())
    for asset_id in ids:
        rows = stored_values(session, asset_id, []).get(None, {})
        cells = []
        for key in fields:
            value = plain(schema, key, rows.get(key, []))
            cells.append(JOIN.join(_cell(v) for v in value) if isinstance(value, list) else _cell(value))
        writer.writerow([asset_id, names.get(asset_id, ""), *cells])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def import_csv(session: Session, schema: Schema, text: str, *, actor: str, role: str | None,
               may_edit: Callable[[int], set[str]], apply: bool = True) -> dict[str, Any]:
    """Check every row (each asset the caller may edit, each cell fitting its field), then apply them all.
    ``may_edit(asset_id)`` gives the fields the caller may edit on that asset (raising when it may not see it).
    Returns, per asset, the fields that change; MetadataError naming line and field when anything does not fit."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c for c in (reader.fieldnames or []) if c]
    if "asset_id" not in columns:
        raise InvalidInput("a metadata CSV needs an asset_id column (export one with GET /api/v1/metadata/export.csv)")
    unknown = [c for c in columns if c not in ("asset_id", "name") and c not in schema.fields]
    if unknown:
        raise InvalidInput(f"unknown metadata field column(s) {', '.join(unknown)}; fields: {', '.join(schema.fields)}")
    users = user_names(session)
    problems: dict[str, str] = {}
    edits: list[tuple[int, Edit]] = []
    for line, row in enumerate(reader, start=2):
        try:
            asset_id = int((row.get("asset_id") or "").strip())
        except ValueError:
            problems[f"line {line}"] = f"asset_id {row.get('asset_id')!r} is not a number"
            continue
        editable = may_edit(asset_id)
        edit = Edit()
        for key in columns:
            cell = (row.get(key) or "").strip()
            if key in ("asset_id", "name") or not cell:
                continue
            if key not in editable:
                problems[f"line {line} {key}"] = f"you may not edit {key} on asset {asset_id}"
                continue
            field = schema.fields[key]
            raw: Any = [part for part in cell.split(";") if part.strip()] if field.multiple else cell
            try:
                field.check(raw, users)
            except InvalidInput as exc:
                problems[f"line {line} {key}"] = str(exc)
                continue
            edit.set[key] = raw
        if edit:
            edits.append((asset_id, edit))
    if problems:
        raise MetadataError(problems)
    changed: dict[str, list[str]] = {}
    if apply:
        for asset_id, edit in edits:
            saved = save(session, schema, asset_id, edit, actor=actor, role=role, source="csv import", users=users)
            if saved.changed:
                changed[str(asset_id)] = sorted(saved.changed)
        return {"rows": len(edits), "applied": True, "changed": changed}
    return {"rows": len(edits), "applied": False, "would_set": {str(a): sorted(e.set) for a, e in edits}}
