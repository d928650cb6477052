"""Metadata routes: the schema (admins change it file by file), an asset's views and values (a stale save is
refused with what changed), bulk edits, values kept aside at ingest, logged ranges at timecodes, history.

Who may see and edit a field is said by the schema's views (``see``/``edit`` roles, the collections and kinds of
asset they apply to); the caller's grants say which assets. Admins edit everything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Denial, Denied, visible_asset
from api.deps import DB, CanManageSchema, ReadDB, Reader, visible_version
from api.events import audit
from catalog.collections import collections_of
from catalog.lookup import version_of
from catalog.metadata import SchemaInForce, require_schema, schema_versions
from catalog.metadata_csv import export_csv, import_csv
from catalog.metadata_files import folder_texts, sync_folder, write_file
from catalog.metadata_query import parse_query
from catalog.metadata_schema import FieldDef, Schema, ViewDef
from catalog.metadata_values import (
    Edit,
    add_log,
    bulk,
    change_log,
    change_view,
    delete_log,
    logs_of,
    plain,
    rejects_of,
    resolve_reject,
    save,
    stored_values,
    user_names,
)
from catalog.models import (
    Asset,
    AssetMetadata,
    MediaInfoRow,
    MetadataChange,
    MetadataLog,
    MetadataReject,
    User,
    Version,
)
from catalog.permissions import asset_scope
from catalog.views import Clock, media_kind
from rushes.errors import InvalidInput, NotFound
from rushes.timecode import timecode_to_frames

router = APIRouter(prefix="/api/v1", tags=["metadata"])
Values = dict[str, Any]


# ------------------------------------------------------------------------------------------------ models


class MetadataEdit(BaseModel):
    """Fields to change: ``set`` replaces a field's value (null or [] clears it); ``add``/``remove`` add values to
    or take them from a multiple field."""

    set: Values = Field(default_factory=dict, description="field key → value (a list for a multiple field)")
    add: Values = Field(default_factory=dict, description="field key → value(s) to add")
    remove: Values = Field(default_factory=dict, description="field key → value(s) to remove")

    def edit(self) -> Edit:
        return Edit(set=dict(self.set), add=dict(self.add), remove=dict(self.remove))


class AssetEdit(MetadataEdit):
    revision: int = Field(ge=0, description="the revision the values were read at (GET …/metadata): a save made "
                                            "against an older one is refused with 409 and what changed since")


class BulkEdit(MetadataEdit):
    asset_ids: list[int] = Field(min_length=1, max_length=5000, description="the assets to change, all or none")


class LogRequest(BaseModel):
    version: int | None = Field(None, ge=1, description="version number; default the newest")
    # in/out: a frame number from 0, or a SMPTE timecode on the source's own start timecode
    in_: int | str = Field(alias="in", description="in point: frame (from 0) or source timecode 01:12:03:10")
    out: int | str = Field(description="out point (exclusive): frame or source timecode")
    values: Values = Field(default_factory=dict, description="range-level fields → values")


class LogChange(MetadataEdit):
    in_: int | str | None = Field(None, alias="in")
    out: int | str | None = None


# ------------------------------------------------------------------------------------------------ helpers


def _state(session: Session) -> SchemaInForce:
    return require_schema(session)


def _place(session: Session, asset: Asset) -> tuple[list[str], str | None]:
    """The asset's collections (own and added) and kind (video/audio), for the views that apply to it."""
    where = collections_of(session, asset)
    newest = session.scalar(select(Version.id).where(Version.asset_id == asset.id).order_by(Version.number.desc())
                            .limit(1))
    info = session.get(MediaInfoRow, newest) if newest is not None else None
    return [where["collection"], *where["also_in"]], media_kind(info)


def _editable(schema: Schema, user: User, session: Session, asset: Asset, level: str = "asset") -> set[str]:
    if user.role == "admin":
        return {k for v in schema.views.values() if v.level == level for k in v.fields} or set(schema.fields)
    collections, kind = _place(session, asset)
    return schema.editable_fields(user.role, collections, kind, level)


def _visible(schema: Schema, user: User, session: Session, asset: Asset) -> set[str] | None:
    """The fields (asset and range views) the caller's role sees on this asset; None: all (an admin)."""
    if user.role == "admin":
        return None
    collections, kind = _place(session, asset)
    return (schema.visible_fields(user.role, collections, kind) | schema.visible_fields(user.role, collections, kind,
                                                                                         "range") | {"range"})


def _refuse_fields(user: User, asset: Asset, fields: Iterable[str], editable: set[str]) -> None:
    wrong = sorted(f for f in fields if f not in editable)
    if wrong:
        raise Denied(403, f"role {user.role!r} may not edit {', '.join(wrong)} on asset {asset.id} (its views "
                          f"give this role: {', '.join(sorted(editable)) or 'no field'})",
                     Denial(user.name, user.role, "edit_metadata", asset_id=asset.id,
                            subject=f"edit {', '.join(wrong)}"))


def field_view(f: FieldDef, people: list[str] | None = None) -> dict[str, Any]:
    """A field as the pages draw it; a user field offers ``people`` (the team's active sign-ins) as suggestions."""
    view = {"key": f.key, "label": f.title, "type": f.type, "help": f.help, "required": f.required,
            "multiple": f.multiple, "facet": f.facet, "searchable": f.searchable,
            "allowed": list(f.allowed) or None, "default": f.default}
    if f.type == "user" and people is not None:
        view["suggestions"] = people
    return view


def _people(session: Session, schema: Schema) -> list[str] | None:
    """People a user field may name: active users, not machines (``cli:…``, ``target:…``); None (not read) when
    the schema has no user field."""
    if not any(f.type == "user" for f in schema.fields.values()):
        return None
    return sorted(name for name in user_names(session) if ":" not in name)


def _view_of(view: ViewDef, schema: Schema, role: str, values: dict[str, Any] | None,
             people: list[str] | None = None) -> dict[str, Any]:
    fields = []
    for key in view.fields:
        entry = field_view(schema.fields[key], people)
        if values is not None:
            entry["value"] = values.get(key, [] if schema.fields[key].multiple else None)
        fields.append(entry)
    return {"key": view.key, "label": view.title, "help": view.help, "level": view.level,
            "editable": role == "admin" or view.editable_by(role), "fields": fields}


def _frame(value: int | str, clock: Clock) -> int:
    if isinstance(value, int):
        return value
    if value.strip().isdigit():
        return int(value)
    try:
        absolute = timecode_to_frames(value.strip(), clock.rate, clock.drop)
        start = timecode_to_frames(clock.start or "00:00:00:00", clock.rate, clock.drop)
    except InvalidInput:
        raise
    except ValueError as exc:
        raise InvalidInput(f"not a frame or a timecode: {value!r} ({exc})") from None
    return absolute - start


def log_view(log: MetadataLog, schema: Schema, rows: dict[str, Any], clock: Clock, number: int) -> dict[str, Any]:
    return {"id": log.id, "version": number, "in_frame": log.start_frame, "out_frame": log.end_frame,
            "start_s": log.start_s, "end_s": log.end_s, "in_tc": clock(log.start_s), "out_tc": clock(log.end_s),
            "values": {key: plain(schema, key, vs) for key, vs in rows.items()},
            "created_by": log.created_by, "created_at": log.created_at.isoformat()}


def _logs(session: Session, schema: Schema, version: Version) -> list[dict[str, Any]]:
    clock = Clock(session.get(MediaInfoRow, version.id))
    logs = logs_of(session, version.id)
    stored = stored_values(session, version.asset_id, [log.id for log in logs]) if logs else {}
    return [log_view(log, schema, stored.get(log.id, {}), clock, version.number) for log in logs]


# ------------------------------------------------------------------------------------------------ schema


@router.get("/metadata/schema", summary="The metadata fields and views the caller may see")
def schema_route(session: ReadDB, user: Reader) -> dict[str, Any]:
    state = _state(session)
    schema = state.schema
    views = [v for v in schema.views.values() if v.visible_to(user.role)]
    keys = {k for v in views for k in v.fields}
    people = _people(session, schema)
    return {"version": state.version, "views": [_view_of(v, schema, user.role, None, people) for v in views],
            "fields": [field_view(f, people) for k, f in schema.fields.items() if k in keys],
            "facets": [k for k in schema.facets() if k in keys]}


@router.get("/admin/metadata/schema", summary="The schema in force, its files and its versions")
def admin_schema(request: Request, session: ReadDB, user: CanManageSchema) -> dict[str, Any]:
    state = _state(session)
    folder = request.app.state.farm.settings.metadata_folder
    return {"version": state.version, "content_hash": state.content_hash, "folder": str(folder),
            "files": folder_texts(folder), "definition": state.schema.definition,
            "versions": schema_versions(session)}


@router.put("/admin/metadata/files/{name}", summary="Replace one schema file (YAML); the whole schema is checked")
def put_schema_file(name: str, request: Request, session: DB, user: CanManageSchema,
                    body: Annotated[str, Body(media_type="application/yaml")]) -> dict[str, Any]:
    """The file's new YAML text. Refused with 400 naming the file, the field and the allowed values when the
    schema would not hold; otherwise a new schema version (renamed fields keep their values, values whose choice
    was removed are flagged)."""
    result = write_file(session, request.app.state.farm.settings.metadata_folder, name, body, actor=user.name)
    return vars(result)


@router.delete("/admin/metadata/files/{name}", summary="Remove one schema file")
def delete_schema_file(name: str, request: Request, session: DB, user: CanManageSchema) -> dict[str, Any]:
    result = write_file(session, request.app.state.farm.settings.metadata_folder, name, None, actor=user.name)
    return vars(result)


@router.post("/admin/metadata/sync", summary="Read the schema folder again (after a git pull)")
def sync_route(request: Request, session: DB, user: CanManageSchema) -> dict[str, Any]:
    return vars(sync_folder(session, request.app.state.farm.settings.metadata_folder, actor=user.name))


# ------------------------------------------------------------------------------------------------ assets


@router.get("/assets/{asset_id}/metadata", summary="An asset's metadata views, values and revision")
def asset_metadata(asset_id: int, session: ReadDB, user: Reader) -> dict[str, Any]:
    """The views the caller may see on this asset, each field with its value; ``revision`` goes back with a save.
    ``attention``: values kept aside at ingest (``rejects``) and stored values the schema no longer takes
    (``flagged``)."""
    asset = visible_asset(session, user, asset_id)
    return metadata_view(session, user, asset)


def metadata_view(session: Session, user: User, asset: Asset) -> dict[str, Any]:
    schema = _state(session).schema
    collections, kind = _place(session, asset)
    rows = stored_values(session, asset.id, []).get(None, {})
    values = {key: plain(schema, key, vs) for key, vs in rows.items()}
    views = schema.views_for(user.role, collections, kind) if user.role != "admin" else \
        [v for v in schema.views.values() if v.level == "asset"]
    visible = {k for v in views for k in v.fields}
    meta = session.get(AssetMetadata, asset.id)
    flagged = [{"field": r.field, "value": r.value if r.value is not None else r.long, "problem": r.problem}
               for vs in rows.values() for r in vs if r.problem and r.field in visible]
    missing = [k for k in sorted(visible) if schema.fields[k].required and not values.get(k)]
    people = _people(session, schema)
    return {
        "asset_id": asset.id, "revision": meta.revision if meta else 0,
        "attention": meta.attention if meta else 0, "needs_attention": bool(meta and meta.attention),
        "views": [_view_of(v, schema, user.role, values, people) for v in views],
        "range_views": [_view_of(v, schema, user.role, None, people)
                        for v in (schema.views_for(user.role, collections, kind, "range") if user.role != "admin"
                                  else [v for v in schema.views.values() if v.level == "range"])],
        "rejects": [{"id": r.id, "field": r.field, "value": r.value, "source": r.source, "reason": r.reason,
                     "at": r.at.isoformat()} for r in rejects_of(session, asset.id)],
        "flagged": flagged, "missing_required": missing,
    }


@router.patch("/assets/{asset_id}/metadata", summary="Change an asset's metadata (refused when stale)")
def edit_asset_metadata(asset_id: int, change: AssetEdit, session: DB, user: Reader) -> dict[str, Any]:
    """Only fields of views the caller's role may edit on this asset; 409 with ``changes`` when someone saved
    since ``revision``; 422 with ``problems`` (field → reason) when a value does not fit."""
    asset = visible_asset(session, user, asset_id, "edit_metadata")
    state = _state(session)
    edit = change.edit()
    _refuse_fields(user, asset, edit.fields, _editable(state.schema, user, session, asset))
    save(session, state.schema, asset.id, edit, actor=user.name, role=user.role, revision=change.revision,
         visible=_visible(state.schema, user, session, asset))
    return metadata_view(session, user, asset)


@router.post("/metadata/bulk", summary="Set, add or remove values on many assets at once")
def bulk_edit(change: BulkEdit, session: DB, user: Reader) -> dict[str, Any]:
    """One transaction: every asset changes or none (a value that does not fit, a field the caller may not edit on
    one of them, an asset the caller cannot see)."""
    state = _state(session)
    edit = change.edit()
    for asset_id in change.asset_ids:
        asset = visible_asset(session, user, asset_id, "edit_metadata")
        _refuse_fields(user, asset, edit.fields, _editable(state.schema, user, session, asset))
    saved = bulk(session, state.schema, change.asset_ids, edit, actor=user.name, role=user.role)
    return {"assets": len(saved), "changed": sum(1 for s in saved.values() if s.changed),
            "revisions": {str(k): s.revision for k, s in saved.items()}}


@router.get("/assets/{asset_id}/metadata/history", summary="Every change of an asset's metadata")
def history(asset_id: int, session: ReadDB, user: Reader) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id)
    visible = _visible(_state(session).schema, user, session, asset)
    rows = session.scalars(select(MetadataChange).where(MetadataChange.asset_id == asset_id)
                           .order_by(MetadataChange.id.desc()).limit(1000)).all()
    return {"asset_id": asset_id, "changes": [change_view(r) for r in rows if visible is None or r.field in visible]}


@router.post("/metadata/rejects/{reject_id}/resolve", summary="Mark a value kept aside at ingest as dealt with")
def resolve(reject_id: int, request: Request, session: DB, user: Reader) -> dict[str, Any]:
    row = session.get(MetadataReject, reject_id)
    if row is None:
        raise NotFound(f"no kept-aside metadata value {reject_id}")
    asset = visible_asset(session, user, row.asset_id, "edit_metadata")
    schema = _state(session).schema
    editable = _editable(schema, user, session, asset)
    # a field's kept-aside value is settled by who may edit the field; an unreadable sidecar by any of its editors
    _refuse_fields(user, asset, {row.field} if row.field in schema.fields or not editable else set(), editable)
    resolve_reject(session, reject_id, user.name)
    audit(request, session, user, "metadata change", asset_id=asset.id, subject=f"resolved kept-aside value {row.id}",
          detail=f"{row.field}: {row.value}")
    return metadata_view(session, user, asset)


# ------------------------------------------------------------------------------------------------ CSV


@router.get("/metadata/export.csv", summary="The metadata of a selection of assets as CSV")
def export_metadata(request: Request, session: DB, user: Reader,
                    assets: Annotated[str | None, Query(max_length=20000, description="asset ids, comma separated")]
                    = None,
                    q: Annotated[str | None, Query(max_length=500, description="or field terms selecting them")]
                    = None) -> Response:
    """One row per asset: ``asset_id``, ``name`` and each field of the views you may see (multiple values joined
    with ``; ``). Edit it in a spreadsheet and send it back to ``POST /api/v1/metadata/import``."""
    schema = _state(session).schema
    if assets:
        try:
            ids = [int(part) for part in assets.split(",") if part.strip()]
        except ValueError:
            raise InvalidInput("assets: asset ids separated by commas, e.g. 12,15,16") from None
        ids = [i for i in ids if visible_asset(session, user, i)]
    elif q:
        parsed = parse_query(schema, q)
        if parsed.text or not parsed.filters:
            raise InvalidInput("q selects assets by field terms (field:value) only")
        ids = list(session.scalars(select(Asset.id).where(asset_scope(user), parsed.clause())  # type: ignore[arg-type]
                                   .order_by(Asset.id).limit(100_000)))
    else:
        raise InvalidInput("say which assets: assets=1,2,3 or q=<field terms>")
    keys = [k for k in schema.fields if k in {f for v in schema.views.values() if v.level == "asset"
                                              and v.visible_to(user.role) for f in v.fields}]
    audit(request, session, user, "export", subject=f"metadata.csv of {len(ids)} asset(s)")
    return Response(export_csv(session, schema, ids, keys), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="metadata.csv"'})


@router.post("/metadata/import", summary="Set metadata from a CSV (as exported); all rows or none")
def import_metadata(session: DB, user: Reader, body: Annotated[str, Body(media_type="text/csv")],
                    dry_run: bool = False) -> dict[str, Any]:
    """Cells that hold something set their field (an empty cell leaves it); 422 with ``problems`` by line and field
    (a value that does not fit, a field you may not edit there); ``dry_run`` checks without saving."""
    state = _state(session)

    def may_edit(asset_id: int) -> set[str]:
        return _editable(state.schema, user, session, visible_asset(session, user, asset_id, "edit_metadata"))

    return import_csv(session, state.schema, body, actor=user.name, role=user.role, may_edit=may_edit,
                      apply=not dry_run)


# ------------------------------------------------------------------------------------------------ logged ranges


@router.get("/assets/{asset_id}/logs", summary="Logged ranges of a version, in frame order")
def list_logs(asset_id: int, session: ReadDB, user: Reader, version: int | None = None) -> dict[str, Any]:
    chosen = version_of(visible_asset(session, user, asset_id), version)
    state = _state(session)
    return {"asset_id": asset_id, "version": chosen.number, "logs": _logs(session, state.schema, chosen)}


@router.post("/assets/{asset_id}/logs", status_code=201, summary="Log a range (in/out) with fields")
def create_log(asset_id: int, request: LogRequest, session: DB, user: Reader) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id, "edit_metadata")
    chosen = version_of(asset, request.version)
    state = _state(session)
    editable = _editable(state.schema, user, session, asset, "range")
    _refuse_fields(user, asset, set(request.values) or ({"(range)"} if not editable else set()), editable)
    info = session.get(MediaInfoRow, chosen.id)
    clock = Clock(info)
    log = add_log(session, state.schema, chosen, _frame(request.in_, clock), _frame(request.out, clock),
                  request.values, actor=user.name, role=user.role)
    rows = stored_values(session, asset_id, [log.id]).get(log.id, {})
    return log_view(log, state.schema, rows, clock, chosen.number)


def _log(session: Session, user: User, log_id: int) -> tuple[MetadataLog, Asset]:
    log = session.get(MetadataLog, log_id)
    if log is None:
        raise NotFound(f"no logged range {log_id}")
    return log, visible_asset(session, user, log.asset_id, "edit_metadata")


@router.patch("/logs/{log_id}", summary="Change a logged range's in/out or fields")
def edit_log(log_id: int, change: LogChange, session: DB, user: Reader) -> dict[str, Any]:
    log, asset = _log(session, user, log_id)
    state = _state(session)
    editable = _editable(state.schema, user, session, asset, "range")
    edit = change.edit()
    _refuse_fields(user, asset, edit.fields or ({"(range)"} if not editable else set()), editable)
    version = visible_version(session, user, log.version_id)
    info = session.get(MediaInfoRow, version.id)
    clock = Clock(info)
    change_log(session, state.schema, log, edit, actor=user.name, role=user.role,
               start_frame=None if change.in_ is None else _frame(change.in_, clock),
               end_frame=None if change.out is None else _frame(change.out, clock))
    rows = stored_values(session, log.asset_id, [log.id]).get(log.id, {})
    return log_view(log, state.schema, rows, clock, version.number)


@router.delete("/logs/{log_id}", summary="Remove a logged range")
def remove_log(log_id: int, session: DB, user: Reader) -> dict[str, Any]:
    log, asset = _log(session, user, log_id)
    state = _state(session)
    editable = _editable(state.schema, user, session, asset, "range")
    rows = stored_values(session, log.asset_id, [log.id]).get(log.id, {})
    _refuse_fields(user, asset, set(rows) or ({"(range)"} if not editable else set()), editable)
    delete_log(session, state.schema, log, actor=user.name, role=user.role)
    return {"deleted": log_id}
