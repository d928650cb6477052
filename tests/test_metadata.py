"""The team's own metadata: schema files validated and versioned, values on assets (stale saves refused, every
change audited), role-restricted views, bulk edits, values from sidecars and shoot CSVs (what does not fit kept
aside), logged ranges at timecodes, search over them (both catalogs)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.metadata import schema_in_force
from catalog.metadata_schema import DEFAULT_SCHEMA_DIR, load_schema, parse_schema
from catalog.models import (
    Asset,
    AuditEntry,
    Collection,
    MediaInfoRow,
    MetadataReject,
    MetadataSchemaVersion,
    MetadataValue,
    Version,
)
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.errors import ConfigError, InvalidInput
from rushes.settings import WatchFolder
from tests.conftest import bearers
from tests.media_fixtures import make_clip

PEOPLE = {"root": "admin", "ed": "editor", "eve": "editor", "rita": "reviewer", "vera": "viewer"}


def _asset(farm: Farm, name: str, collection: str = "default", seconds: float = 10.0) -> int:
    """A ready asset made directly in the catalog: 25 fps, starting at 10:00:00:00."""
    with farm.transaction() as session:
        found = session.scalar(select(Collection).where(Collection.name == collection))
        asset = Asset(name=name, source_folder="default", collection=found or Collection(name=collection),
                      status="ready")
        session.add(asset)
        session.flush()
        version = Version(asset_id=asset.id, number=1, content_hash=hashlib.sha256(name.encode()).hexdigest(),
                          size=1, original_name=name, source_folder="default", source_path=name, status="ready")
        session.add(version)
        session.flush()
        session.add(MediaInfoRow(version_id=version.id, container="mov", duration_s=seconds, width=1920,
                                 height=1080, frame_rate="25", video_codec="h264", audio_codec="aac",
                                 start_timecode="10:00:00:00", info={}))
        return asset.id


@pytest.fixture
def tokens(farm: Farm) -> dict[str, dict[str, str]]:
    return bearers(farm, PEOPLE)


# ------------------------------------------------------------------------------------------ schema files


def test_the_bundled_schema_loads_and_checks_values() -> None:
    schema = load_schema(DEFAULT_SCHEMA_DIR)
    moment = schema.fields["moment"]
    assert moment.check("Goal")[0].text == "Sport > Football > Goal"  # a unique leaf finds its whole path
    assert moment.check("sport > football")[0].text == "Sport > Football"
    assert [v.text for v in schema.fields["talent"].check("presenter; Guest")] == ["Presenter", "Guest"]
    assert schema.fields["shoot_date"].check("2026:11:03 10:12:00")[0].text == "2026-11-03"  # EXIF style
    assert schema.fields["episode"].check("4")[0].number == 4.0
    assert schema.fields["graded"].check("yes")[0].text == "true"
    with pytest.raises(InvalidInput, match=r"'Z cam' is not in the vocabulary cameras \(allowed: A cam, B cam"):
        schema.fields["camera"].check("Z cam")
    with pytest.raises(InvalidInput, match="takes a date as YYYY-MM-DD"):
        schema.fields["shoot_date"].check("next tuesday")
    with pytest.raises(InvalidInput, match="http"):
        schema.fields["source_url"].check("ftp://example.org/x")
    with pytest.raises(InvalidInput, match="takes one value"):
        schema.fields["camera"].check(["A cam", "B cam"])


@pytest.mark.parametrize(("files", "message"), [
    ({"a.yaml": {"fields": {"cam": {"type": "colour"}}}},
     r"a\.yaml: fields\.cam\.type: unknown type 'colour' \(allowed: text, long_text, number, date"),
    ({"a.yaml": {"fields": {"cam": {"type": "choice", "vocabulary": "cams"}}, "vocabularies": {"cameras": ["A"]}}},
     r"a\.yaml: fields\.cam\.vocabulary: unknown vocabulary 'cams' \(allowed: cameras\)"),
    ({"a.yaml": {"fields": {"cam": {"type": "text"}}},
      "b.yaml": {"fields": {"cam": {"type": "number"}}}},
     r"b\.yaml: fields\.cam is defined in .*a\.yaml already"),
    ({"a.yaml": {"fields": {"cam": {"type": "text"}}, "views": {"v": {"fields": ["cam", "lens"]}}}},
     r"a\.yaml: views\.v\.fields: unknown field 'lens' \(allowed: cam\)"),
    ({"a.yaml": {"fields": {"cam": {"type": "text"}}, "views": {"v": {"fields": ["cam"], "edit": ["boss"]}}}},
     r"a\.yaml: views\.v.*edit\.0: Input should be 'admin', 'editor', 'reviewer' or 'viewer'"),
    ({"a.yaml": {"fields": {"Cam": {"type": "text"}}}}, r"a\.yaml: fields\.Cam.*key: String should match"),
    ({"a.yaml": {"colours": {}}}, r"a\.yaml: unknown section colours \(allowed: fields, vocabularies"),
    ({"a.yaml": {"fields": {"cam": {"type": "choice", "vocabulary": "c", "default": "Z"}},
                 "vocabularies": {"c": ["A", "B"]}}},
     r"a\.yaml: fields\.cam\.default: cam: 'Z' is not in the vocabulary c \(allowed: A, B\)"),
])
def test_a_bad_schema_names_file_field_and_allowed_values(files: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_schema(files, "metadata")


def test_a_new_data_folder_starts_with_the_bundled_schema_once(farm: Farm) -> None:
    folder = farm.settings.metadata_folder
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(p.name for p in DEFAULT_SCHEMA_DIR.glob("*.yaml"))
    with farm.sessions() as session:
        state = schema_in_force(session)
        assert state is not None and state.version == 1
        assert "camera" in state.schema.fields
    assert farm.sync_metadata_schema().created is False  # the next start (same files): no new version
    (folder / "broken.yaml").write_text("fields:\n  lens: {type: lens}\n")
    assert farm.sync_metadata_schema() is None  # reported; the schema in force stays
    with farm.sessions() as session:
        assert schema_in_force(session).version == 1  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ values and saves


def test_values_are_saved_against_their_revision_and_a_stale_save_is_refused(
        farm: Farm, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    asset_id = _asset(farm, "interview.mov")
    url = f"/api/v1/assets/{asset_id}/metadata"
    first = client.get(url, headers=tokens["ed"]).json()
    assert first["revision"] == 0 and [v["key"] for v in first["views"]] == ["production", "content"]
    assert all(v["editable"] for v in first["views"])

    saved = client.patch(url, headers=tokens["ed"], json={
        "revision": 0, "set": {"camera": "a cam", "shoot_date": "2026-11-03", "episode": 4,
                               "talent": ["Presenter", "Guest"], "subject": "Goal"}})
    assert saved.status_code == 200, saved.text
    values = {f["key"]: f["value"] for v in saved.json()["views"] for f in v["fields"]}
    assert values["camera"] == "A cam" and values["episode"] == 4 and values["talent"] == ["Presenter", "Guest"]
    assert values["subject"] == "Sport > Football > Goal" and saved.json()["revision"] == 1

    # eve read revision 0 too, and saves after ed: refused, told what ed changed
    stale = client.patch(url, headers=tokens["eve"], json={"revision": 0, "set": {"camera": "B cam"}})
    assert stale.status_code == 409, stale.text
    body = stale.json()
    assert body["revision"] == 1 and "camera" in body["error"] and "ed" in body["error"]
    changed = {c["field"]: c for c in body["changes"]}
    assert changed["camera"]["old"] == [] and changed["camera"]["new"] == ["A cam"] and changed["camera"]["by"] == "ed"
    with farm.sessions() as session:
        assert session.scalar(select(MetadataValue.value).where(MetadataValue.field == "camera")) == "A cam"

    # a value that does not fit: 422 naming each field, nothing saved
    bad = client.patch(url, headers=tokens["eve"], json={"revision": 1, "set": {"camera": "Z cam", "episode": "x",
                                                                               "location": "Pitch 3"}})
    assert bad.status_code == 422
    assert set(bad.json()["problems"]) == {"camera", "episode"}
    assert "allowed: A cam" in bad.json()["problems"]["camera"]
    assert client.get(url, headers=tokens["eve"]).json()["revision"] == 1

    # add/remove on a multiple field; a cleared field
    again = client.patch(url, headers=tokens["eve"], json={"revision": 1, "add": {"talent": "Crowd"},
                                                           "remove": {"talent": "Guest"}, "set": {"episode": None}})
    values = {f["key"]: f["value"] for v in again.json()["views"] for f in v["fields"]}
    assert values["talent"] == ["Presenter", "Crowd"] and values["episode"] is None

    history = client.get(f"{url}/history", headers=tokens["vera"]).json()["changes"]
    assert [c["revision"] for c in history] == [2, 2, 1, 1, 1, 1, 1]  # newest first
    assert {c["field"] for c in history[:2]} == {"episode", "talent"}
    assert {c["field"] for c in history[2:]} == {"camera", "shoot_date", "episode", "talent", "subject"}
    with farm.sessions() as session:
        lines = session.scalars(select(AuditEntry).where(AuditEntry.action == "metadata change")
                                .order_by(AuditEntry.id)).all()
    assert [line.actor for line in lines] == ["ed", "eve"]
    assert json.loads(lines[1].detail or "{}")["talent"] == {"old": ["Presenter", "Guest"],
                                                             "new": ["Presenter", "Crowd"]}


def test_views_say_who_sees_and_edits_which_fields(farm: Farm, client: TestClient,
                                                   tokens: dict[str, dict[str, str]]) -> None:
    folder = farm.settings.metadata_folder
    (folder / "legal.yaml").write_text(
        "fields:\n  clearance: {type: text, label: Clearance}\n"
        "views:\n  legal: {label: Legal, fields: [clearance], see: [admin, editor], edit: [admin]}\n")
    assert farm.sync_metadata_schema().version == 2  # type: ignore[union-attr]
    asset_id = _asset(farm, "match.mov")
    url = f"/api/v1/assets/{asset_id}/metadata"
    assert [v["key"] for v in client.get(url, headers=tokens["rita"]).json()["views"]] == ["production", "content"]
    ed_views = {v["key"]: v["editable"] for v in client.get(url, headers=tokens["ed"]).json()["views"]}
    assert ed_views == {"production": True, "content": True, "legal": False}

    refused = client.patch(url, headers=tokens["ed"], json={"revision": 0, "set": {"clearance": "cleared"}})
    assert refused.status_code == 403 and "clearance" in refused.json()["error"]
    viewer = client.patch(url, headers=tokens["vera"], json={"revision": 0, "set": {"camera": "A cam"}})
    assert viewer.status_code == 403
    reviewer = client.patch(url, headers=tokens["rita"], json={"revision": 0, "set": {"location": "Pitch"}})
    assert reviewer.status_code == 403  # the production view is edited by admins and editors
    assert client.patch(url, headers=tokens["root"],
                        json={"revision": 0, "set": {"clearance": "cleared"}}).status_code == 200
    with farm.sessions() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                          AuditEntry.action == "metadata change")).all()
    assert {line.actor for line in denied} == {"ed", "vera", "rita"}


def test_bulk_edit_changes_every_asset_or_none(farm: Farm, client: TestClient,
                                               tokens: dict[str, dict[str, str]]) -> None:
    ids = [_asset(farm, f"clip{n}.mov") for n in range(3)]
    client.patch(f"/api/v1/assets/{ids[0]}/metadata", headers=tokens["ed"],
                 json={"revision": 0, "set": {"talent": ["Guest"]}})
    done = client.post("/api/v1/metadata/bulk", headers=tokens["ed"], json={
        "asset_ids": ids, "set": {"production": "Match of the Day", "camera": "Drone"},
        "add": {"talent": ["Presenter"]}})
    assert done.status_code == 200, done.text
    assert done.json()["changed"] == 3 and done.json()["assets"] == 3
    talent = [client.get(f"/api/v1/assets/{i}/metadata", headers=tokens["vera"]).json() for i in ids]
    values = [{f["key"]: f["value"] for v in t["views"] for f in v["fields"]} for t in talent]
    assert [v["talent"] for v in values] == [["Guest", "Presenter"], ["Presenter"], ["Presenter"]]
    assert {v["production"] for v in values} == {"Match of the Day"}

    bad = client.post("/api/v1/metadata/bulk", headers=tokens["ed"], json={
        "asset_ids": ids, "set": {"production": "Other", "camera": "Z cam"}})
    assert bad.status_code == 422
    after = client.get(f"/api/v1/assets/{ids[2]}/metadata", headers=tokens["vera"]).json()
    assert {f["key"]: f["value"] for v in after["views"] for f in v["fields"]}["production"] == "Match of the Day"
    outside = _asset(farm, "secret.mov", collection="legal")  # ed has no grant there
    refused = client.post("/api/v1/metadata/bulk", headers=tokens["ed"],
                          json={"asset_ids": [ids[0], outside], "set": {"production": "X"}})
    assert refused.status_code == 404


# ------------------------------------------------------------------------------------------ schema changes


def test_a_schema_change_renames_keeping_values_and_flags_removed_choices(
        farm: Farm, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    asset_id = _asset(farm, "a.mov")
    url = f"/api/v1/assets/{asset_id}/metadata"
    client.patch(url, headers=tokens["ed"], json={"revision": 0, "set": {"camera": "Drone", "location": "Leeds"}})
    production = (farm.settings.metadata_folder / "production.yaml").read_text()
    changed = (production.replace("  location: {type: text, label: Location,",
                                  "  place: {type: text, label: Place, renamed_from: [location],")
               .replace("[production, episode, shoot_date, camera, location,",
                        "[production, episode, shoot_date, camera, place,")
               .replace("cameras: [A cam, B cam, C cam, Drone, Phone, Screen recording]",
                        "cameras: [A cam, B cam, C cam, Phone, Screen recording]"))
    assert changed != production
    refused = client.put("/api/v1/admin/metadata/files/production.yaml", headers=tokens["ed"], content=changed)
    assert refused.status_code == 403
    broken = client.put("/api/v1/admin/metadata/files/production.yaml", headers=tokens["root"],
                        content=changed.replace("vocabulary: cameras", "vocabulary: lenses"))
    assert broken.status_code == 400
    assert "production.yaml: fields.camera.vocabulary: unknown vocabulary 'lenses' (allowed: cameras, talent)" \
        in broken.json()["error"]
    assert (farm.settings.metadata_folder / "production.yaml").read_text() == production  # nothing written

    done = client.put("/api/v1/admin/metadata/files/production.yaml", headers=tokens["root"], content=changed)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["version"] == 2 and result["renamed"] == {"location → place": 1} and result["flagged"] == 1
    assert "field added: place" not in result["summary"] and "renamed location → place" in result["summary"]
    view = client.get(url, headers=tokens["ed"]).json()
    values = {f["key"]: f["value"] for v in view["views"] for f in v["fields"]}
    assert values["place"] == "Leeds"
    assert view["needs_attention"] and view["flagged"][0]["field"] == "camera"
    assert "'Drone' is not in the vocabulary cameras" in view["flagged"][0]["problem"]
    # the editor fixes it: attention gone
    fixed = client.patch(url, headers=tokens["ed"], json={"revision": view["revision"], "set": {"camera": "Phone"}})
    assert fixed.json()["needs_attention"] is False and fixed.json()["flagged"] == []

    admin = client.get("/api/v1/admin/metadata/schema", headers=tokens["root"]).json()
    assert admin["version"] == 2 and [v["version"] for v in admin["versions"]] == [2, 1]
    assert "production.yaml" in admin["files"]
    # undoing the change is a new version with the same meaning as the first
    undo = client.put("/api/v1/admin/metadata/files/production.yaml", headers=tokens["root"], content=production)
    assert undo.json()["version"] == 3 and "same as version 1" in undo.json()["summary"]
    with farm.sessions() as session:
        hashes = session.scalars(select(MetadataSchemaVersion.content_hash).order_by(MetadataSchemaVersion.version))
        first, _, third = hashes.all()
        assert first == third


# ------------------------------------------------------------------------------------------ ingest


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmpDM="http://ns.adobe.com/xmp/1.0/DynamicMedia/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmpDM:cameraLabel="B cam" photoshop:City="Salford">
   <xmpDM:shotDate>2026-10-30T14:02:11+00:00</xmpDM:shotDate>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">News use only, no archive sales</rdf:li></rdf:Alt></dc:rights>
   <dc:subject><rdf:Bag><rdf:li>football</rdf:li><rdf:li>derby</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_sidecars_and_a_shoot_csv_fill_fields_and_bad_values_are_kept_aside(
        farm: Farm, client: TestClient, tokens: dict[str, dict[str, str]], tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    first = make_clip(drop / "A001_C003.mov", seconds=1)
    second = shutil.copy(make_clip(tmp_path / "other.mov", seconds=1.2, pattern="smptebars"), drop / "A001_C004.mov")
    third = shutil.copy(make_clip(tmp_path / "third.mov", seconds=1.4, pattern="rgbtestsrc"), drop / "A001_C005.mov")
    (drop / "shoot.csv").write_text(
        "File Name,Production,Shoot date,Camera,Talent,Episode\n"
        "A001_C003.mov,Derby Day,2026-10-30,A cam,Presenter;Guest,3\n"
        "A001_C004,Derby Day,30/10/2026,Z cam,Presenter,three\n", encoding="utf-8")
    (drop / "A001_C003.mov.json").write_text(json.dumps({"camera": "C cam", "reel": "A001", "graded": "no"}))
    (drop / "A001_C004.mov.xmp").write_text(XMP, encoding="utf-8")
    (drop / "A001_C005.mov.json").write_text("{not json")
    ingester = Ingester(farm)
    results = [ingester.ingest(Path(p), WatchFolder(name="default")) for p in (first, second, third)]
    assert [r.kind for r in results] == ["new", "new", "new"]  # nothing blocked a file
    assert not (drop / "A001_C003.mov.json").exists() and not (drop / "A001_C004.mov.xmp").exists()
    assert (drop / "shoot.csv").exists()  # it names other files too

    def values(asset_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        view = client.get(f"/api/v1/assets/{asset_id}/metadata", headers=tokens["ed"]).json()
        return {f["key"]: f["value"] for v in view["views"] for f in v["fields"]}, view

    one, view = values(results[0].asset_id)
    assert (one["production"], one["shoot_date"], one["episode"]) == ("Derby Day", "2026-10-30", 3)
    assert one["camera"] == "C cam"  # the file's own sidecar over the shoot sheet
    assert one["talent"] == ["Presenter", "Guest"] and one["graded"] is False
    assert view["needs_attention"] is False and view["rejects"] == []

    two, view = values(results[1].asset_id)
    assert two["production"] == "Derby Day" and two["talent"] == ["Presenter"]
    assert two["camera"] == "B cam" and two["location"] == "Salford"  # XMP over the sheet
    assert two["shoot_date"] == "2026-10-30" and two["usage_notes"] == "News use only, no archive sales"
    assert two["episode"] is None
    assert view["needs_attention"] is True
    kept = {r["field"]: r for r in view["rejects"]}
    assert set(kept) == {"shoot_date", "camera", "episode"}
    assert kept["camera"]["source"] == "shoot.csv line 3" and kept["camera"]["value"] == "Z cam"
    assert "allowed: A cam" in kept["camera"]["reason"] and "YYYY-MM-DD" in kept["shoot_date"]["reason"]

    three, view = values(results[2].asset_id)
    assert view["needs_attention"] and view["rejects"][0]["field"] == "(sidecar)"
    assert "not readable JSON" in view["rejects"][0]["reason"]
    resolved = client.post(f"/api/v1/metadata/rejects/{view['rejects'][0]['id']}/resolve", headers=tokens["root"])
    assert resolved.status_code == 200 and resolved.json()["needs_attention"] is False

    # setting a field deals with what was kept aside for it
    after = client.patch(f"/api/v1/assets/{results[1].asset_id}/metadata", headers=tokens["ed"],
                         json={"revision": values(results[1].asset_id)[1]["revision"],
                               "set": {"camera": "A cam", "episode": 3}})
    assert {r["field"] for r in after.json()["rejects"]} == {"shoot_date"}
    with farm.sessions() as session:
        assert session.scalar(select(MetadataReject.resolved_by).where(MetadataReject.field == "camera")) == "ed"


# ------------------------------------------------------------------------------------------ logged ranges


def test_ranges_are_logged_at_timecodes_and_found_by_search(farm: Farm, client: TestClient,
                                                            tokens: dict[str, dict[str, str]]) -> None:
    asset_id = _asset(farm, "derby.mov", seconds=20)
    logs = f"/api/v1/assets/{asset_id}/logs"
    made = client.post(logs, headers=tokens["rita"], json={
        "in": "10:00:03:10", "out": "10:00:09:00", "values": {"moment": "Goal", "players": ["Guest"],
                                                             "note": "header from the corner"}})
    assert made.status_code == 201, made.text
    entry = made.json()
    assert (entry["in_frame"], entry["out_frame"], entry["in_tc"], entry["out_tc"]) == (85, 225, "10:00:03:10",
                                                                                       "10:00:09:00")
    assert entry["values"]["moment"] == "Sport > Football > Goal" and entry["start_s"] == pytest.approx(3.4)
    client.post(logs, headers=tokens["rita"], json={"in": 300, "out": 350, "values": {"moment": "Save"}})
    listed = client.get(logs, headers=tokens["vera"]).json()["logs"]
    assert [log["in_frame"] for log in listed] == [85, 300]

    wrong_field = client.post(logs, headers=tokens["rita"], json={"in": 0, "out": 10, "values": {"camera": "A cam"}})
    assert wrong_field.status_code in (403, 422)
    past_end = client.post(logs, headers=tokens["rita"], json={"in": 400, "out": 600, "values": {}})
    assert past_end.status_code == 400 and "within the media" in past_end.json()["error"]
    assert client.post(logs, headers=tokens["vera"], json={"in": 0, "out": 10,
                                                           "values": {"note": "x"}}).status_code == 403

    hits = client.get("/api/v1/search", params={"q": "corner header"}, headers=tokens["vera"]).json()["hits"]
    assert len(hits) == 1 and hits[0]["kind"] == "log"
    assert hits[0]["start_s"] == pytest.approx(3.4) and hits[0]["end_s"] == pytest.approx(9.0)

    moved = client.patch(f"/api/v1/logs/{entry['id']}", headers=tokens["rita"],
                         json={"in": "10:00:04:00", "set": {"note": "volley"}})
    assert moved.status_code == 200 and moved.json()["in_frame"] == 100 and moved.json()["values"]["note"] == "volley"
    assert client.get("/api/v1/search", params={"q": "corner header"}, headers=tokens["vera"]).json()["hits"] == []
    assert client.delete(f"/api/v1/logs/{entry['id']}", headers=tokens["rita"]).status_code == 200
    assert [log["in_frame"] for log in client.get(logs, headers=tokens["vera"]).json()["logs"]] == [300]
    history = client.get(f"/api/v1/assets/{asset_id}/metadata/history", headers=tokens["vera"]).json()["changes"]
    assert {"range", "note", "moment", "players"} <= {c["field"] for c in history}


def test_asset_values_are_searchable(farm: Farm, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    asset_id = _asset(farm, "c.mov")
    client.patch(f"/api/v1/assets/{asset_id}/metadata", headers=tokens["ed"],
                 json={"revision": 0, "set": {"location": "Old Trafford", "production": "Derby Day"}})
    hits = client.get("/api/v1/search", params={"q": "trafford"}, headers=tokens["vera"]).json()["hits"]
    assert [(h["asset_id"], h["kind"]) for h in hits] == [(asset_id, "field")]
    assert "Location: Old Trafford" in hits[0]["text"]


def test_the_stored_definition_reads_back_as_the_same_schema() -> None:
    """Another process parses the schema in force from the catalog's copy: the same meaning, the same hash."""
    schema = load_schema(DEFAULT_SCHEMA_DIR)
    again = parse_schema({"catalog": schema.definition}, "schema version 1")
    assert again.content_hash == schema.content_hash
    assert again.taxonomies == schema.taxonomies and again.fields == schema.fields


def test_the_cli_validates_and_syncs_the_schema_folder(tmp_path: Path) -> None:
    from tests.conftest import run
    from tests.farmproc import RUSHES

    data = tmp_path / "data"
    first = run([RUSHES, "--data", str(data), "metadata", "sync"])
    assert first.returncode == 0 and "schema version 1 made" in first.stdout, first.stderr
    production = data / "metadata" / "production.yaml"
    text = production.read_text()
    production.write_text(text.replace("vocabulary: cameras, facet: true", "vocabulary: cameras, facet: true, "
                                                                           "label: Cam"))
    doubled = run([RUSHES, "--data", str(data), "metadata", "validate"])
    assert doubled.returncode == 2 and "'label' is written twice" in doubled.stderr
    production.write_text(text.replace("[A cam, B cam, C cam,", "[A cam, B cam, C cam, D cam,"))
    assert "15 fields, 3 views" in run([RUSHES, "--data", str(data), "metadata", "validate"]).stdout
    second = run([RUSHES, "--data", str(data), "metadata", "sync"])
    assert "schema version 2 made" in second.stdout and "vocabulary changed: cameras" in second.stdout, second.stderr
    again = run([RUSHES, "--data", str(data), "metadata", "sync"])
    assert "schema version 2 in force already" in again.stdout


# ------------------------------------------------------------------------------------------ filters and facets


def test_fielded_queries_filter_and_facets_count(farm: Farm, client: TestClient,
                                                 tokens: dict[str, dict[str, str]]) -> None:
    from catalog.metadata import require_schema
    from catalog.metadata_query import parse_query

    rows = [("a.mov", {"camera": "A cam", "shoot_date": "2026-11-02", "talent": ["Presenter"], "episode": 1}),
            ("b.mov", {"camera": "A cam", "shoot_date": "2026-11-20", "talent": ["Presenter", "Guest"],
                       "episode": 2, "subject": "Goal"}),
            ("c.mov", {"camera": "B cam", "shoot_date": "2026-12-01", "talent": ["Guest"], "episode": 3,
                       "subject": "Cycling", "location": "Velodrome"}),
            ("d.mov", {"camera": "Drone", "shoot_date": "2026-11-15"})]
    ids = {}
    for name, values in rows:
        ids[name] = _asset(farm, name, collection="default" if name != "d.mov" else "aerials")
        assert client.patch(f"/api/v1/assets/{ids[name]}/metadata", headers=tokens["root"],
                            json={"revision": 0, "set": values}).status_code == 200

    def names(query: str, who: str = "root") -> list[str]:
        found = client.get("/api/v1/assets", params={"q": query}, headers=tokens[who])
        assert found.status_code == 200, found.text
        return sorted(a["name"] for a in found.json()["assets"])

    assert names('camera:"a cam"') == ["a.mov", "b.mov"]
    assert names("shoot_date:2026-11-01..2026-11-30") == ["a.mov", "b.mov", "d.mov"]
    assert names("shoot_date:..2026-11-15 camera:Drone") == ["d.mov"]
    assert names("talent:Presenter talent:Guest") == ["b.mov"]  # both values
    assert names("episode:2..") == ["b.mov", "c.mov"] and names("episode:3") == ["c.mov"]
    assert names("subject:Sport") == ["b.mov", "c.mov"]  # narrower terms match
    assert names('Camera:"B cam"') == ["c.mov"]  # by label too
    assert names("shoot_date:2026-11-01..2026-11-30", "ed") == ["a.mov", "b.mov"]  # ed sees no aerials
    bad = client.get("/api/v1/assets", params={"q": "camera:Z"}, headers=tokens["root"])
    assert bad.status_code == 400 and "allowed: A cam" in bad.json()["error"]
    words = client.get("/api/v1/assets", params={"q": "camera:Drone velodrome"}, headers=tokens["root"])
    assert words.status_code == 400 and "/search" in words.json()["error"]

    with farm.sessions() as session:
        parsed = parse_query(require_schema(session).schema, 'velodrome 10:00 camera:"B cam" laps')
    assert parsed.text == "velodrome 10:00 laps" and [f.field for f in parsed.filters] == ["camera"]

    facets = client.get("/api/v1/assets", params={"facets": "camera,talent,episode"},
                        headers=tokens["root"]).json()["facets"]
    assert facets["camera"] == [{"value": "A cam", "assets": 2}, {"value": "B cam", "assets": 1},
                                {"value": "Drone", "assets": 1}]
    assert facets["talent"] == [{"value": "Guest", "assets": 2}, {"value": "Presenter", "assets": 2}]
    assert {f["value"] for f in facets["episode"]} == {1, 2, 3}
    narrowed = client.get("/api/v1/assets", params={"q": "talent:Guest", "facets": "camera"},
                          headers=tokens["ed"]).json()["facets"]
    assert narrowed["camera"] == [{"value": "A cam", "assets": 1}, {"value": "B cam", "assets": 1}]
    scoped = client.get("/api/v1/assets", params={"facets": "camera"}, headers=tokens["ed"]).json()["facets"]
    assert "Drone" not in {f["value"] for f in scoped["camera"]}  # counts only what the caller may see
    assert client.get("/api/v1/assets", params={"facets": "note"}, headers=tokens["ed"]).status_code == 400

    # search: words and field terms together; field terms alone list the assets
    hits = client.get("/api/v1/search", params={"q": "velodrome camera:\"B cam\"", "facets": "camera"},
                      headers=tokens["root"]).json()
    assert [h["asset_id"] for h in hits["hits"]] == [ids["c.mov"]] and hits["text"] == "velodrome"
    assert client.get("/api/v1/search", params={"q": "velodrome camera:\"A cam\""},
                      headers=tokens["root"]).json()["hits"] == []
    listed = client.get("/api/v1/search", params={"q": "episode:1..2"}, headers=tokens["vera"]).json()["hits"]
    assert sorted(h["asset_id"] for h in listed) == sorted([ids["a.mov"], ids["b.mov"]])
    assert {h["kind"] for h in listed} == {"asset"} and "Camera: A cam" in listed[0]["text"]
    attention = client.get("/api/v1/assets", params={"attention": "true"}, headers=tokens["root"]).json()
    assert attention["assets"] == []


# ------------------------------------------------------------------------------------------ CSV and exports


def test_metadata_of_a_selection_goes_out_and_back_as_csv(farm: Farm, client: TestClient,
                                                          tokens: dict[str, dict[str, str]]) -> None:
    import csv
    import io

    ids = [_asset(farm, f"r{n}.mov") for n in range(3)]
    client.patch(f"/api/v1/assets/{ids[0]}/metadata", headers=tokens["ed"],
                 json={"revision": 0, "set": {"camera": "A cam", "talent": ["Presenter", "Guest"], "graded": True}})
    exported = client.get("/api/v1/metadata/export.csv", params={"assets": ",".join(map(str, ids))},
                          headers=tokens["ed"])
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["asset_id"] for r in rows] == [str(i) for i in ids]
    assert (rows[0]["camera"], rows[0]["talent"], rows[0]["graded"]) == ("A cam", "Presenter; Guest", "yes")
    assert rows[1]["camera"] == ""

    # a spreadsheet edit: camera for the second, episode for the third; a bad cell refuses the whole file
    rows[1]["camera"], rows[2]["episode"] = "Drone", "7"
    rows[2]["shoot_date"] = "soon"
    sheet = io.StringIO()
    writer = csv.DictWriter(sheet, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    refused = client.post("/api/v1/metadata/import", headers={**tokens["ed"], "Content-Type": "text/csv"},
                          content=sheet.getvalue())
    assert refused.status_code == 422 and list(refused.json()["problems"]) == ["line 4 shoot_date"]
    assert client.get("/api/v1/metadata/export.csv", params={"assets": str(ids[1])},
                      headers=tokens["ed"]).text.splitlines()[1].split(",")[5] == ""  # nothing applied
    rows[2]["shoot_date"] = "2026-11-30"
    sheet = io.StringIO()
    writer = csv.DictWriter(sheet, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    dry = client.post("/api/v1/metadata/import", params={"dry_run": "true"},
                      headers={**tokens["ed"], "Content-Type": "text/csv"}, content=sheet.getvalue()).json()
    assert dry["applied"] is False and dry["would_set"][str(ids[2])] == ["episode", "shoot_date"]
    done = client.post("/api/v1/metadata/import", headers={**tokens["ed"], "Content-Type": "text/csv"},
                       content=sheet.getvalue()).json()
    assert done["changed"] == {str(ids[1]): ["camera"], str(ids[2]): ["episode", "shoot_date"]}  # row 1 unchanged
    again = list(csv.DictReader(io.StringIO(client.get("/api/v1/metadata/export.csv", params={"q": "episode:7"},
                                                       headers=tokens["vera"]).text)))
    assert [(r["asset_id"], r["episode"], r["shoot_date"]) for r in again] == [(str(ids[2]), "7", "2026-11-30")]
    assert client.post("/api/v1/metadata/import", headers={**tokens["vera"], "Content-Type": "text/csv"},
                       content=sheet.getvalue()).status_code == 422  # a viewer edits nothing


def test_logged_ranges_are_markers_in_the_editor_exports(farm: Farm, client: TestClient,
                                                         tokens: dict[str, dict[str, str]]) -> None:
    from catalog.models import Scene

    asset_id = _asset(farm, "goal.mov", seconds=20)
    with farm.transaction() as session:
        version_id = session.scalar(select(Version.id).where(Version.asset_id == asset_id))
        session.add_all([Scene(version_id=version_id, index=0, start_s=0, end_s=8, start_frame=0, end_frame=200),
                         Scene(version_id=version_id, index=1, start_s=8, end_s=20, start_frame=200, end_frame=500)])
    client.post(f"/api/v1/assets/{asset_id}/logs", headers=tokens["ed"], json={
        "in": "10:00:03:10", "out": "10:00:09:00", "values": {"moment": "Goal", "note": "header"}})
    edl = client.get(f"/api/v1/assets/{asset_id}/export.edl", headers=tokens["vera"]).text
    # a LOC marker at its record timecode (the EDL's timeline starts at 01:00:00:00), in green
    assert "* LOC: 01:00:03:10 GREEN   Goal, header - Moment: Sport > Football > Goal; Note: header" in edl
    otio_text = client.get(f"/api/v1/assets/{asset_id}/export.otio", headers=tokens["vera"]).text
    assert "Moment: Sport > Football > Goal; Note: header" in otio_text


def test_a_refused_save_tells_only_what_the_caller_may_see_and_logging_does_not_make_it_stale(
        farm: Farm, client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    (farm.settings.metadata_folder / "board.yaml").write_text(
        "fields:\n  fee: {type: number, label: Fee}\n"
        "views:\n  board: {label: Board, fields: [fee], see: [admin], edit: [admin]}\n")
    farm.sync_metadata_schema()
    asset_id = _asset(farm, "secret.mov")
    url = f"/api/v1/assets/{asset_id}/metadata"
    # a logged range since the form was read: the asset's own fields did not change, the save goes through
    client.post(f"/api/v1/assets/{asset_id}/logs", headers=tokens["rita"], json={"in": 0, "out": 25,
                                                                                  "values": {"note": "walk-in"}})
    assert client.patch(url, headers=tokens["ed"], json={"revision": 0, "set": {"camera": "A cam"}}).status_code == 200
    client.patch(url, headers=tokens["root"], json={"revision": 2, "set": {"fee": 1200, "location": "Leeds"}})
    stale = client.patch(url, headers=tokens["eve"], json={"revision": 2, "set": {"camera": "B cam"}})
    assert stale.status_code == 409
    assert [c["field"] for c in stale.json()["changes"]] == ["location"]  # not the fee: eve's views hide it
    assert "fee" not in stale.json()["error"]
    history = client.get(f"{url}/history", headers=tokens["eve"]).json()["changes"]
    assert "fee" not in {c["field"] for c in history} and "location" in {c["field"] for c in history}
    assert "fee" in {c["field"] for c in client.get(f"{url}/history", headers=tokens["root"]).json()["changes"]}
