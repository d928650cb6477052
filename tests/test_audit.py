"""The audit trail: a hash chain that verifies, names the first edited or missing line, survives concurrent
appends, refuses ORM edits; filters, CSV/JSON export, the CLI and the admin-only API. Both catalogs."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update

from catalog.audit import (
    ACTIONS,
    FIELDS,
    GENESIS,
    AuditTrailIsAppendOnly,
    entries,
    entry_view,
    iter_entries,
    line_hash,
    record,
    record_now,
    to_csv,
    verify,
)
from catalog.models import AuditEntry
from pipeline.farm import Farm
from tests.conftest import bearer, run
from tests.farmproc import RUSHES


def _fill(farm: Farm, n: int, per_transaction: int = 10) -> None:
    """``n`` lines over several transactions, cycling actors, actions, assets and outcomes."""
    done = 0
    while done < n:
        with farm.transaction() as session:
            for _ in range(min(per_transaction, n - done)):
                done += 1
                record(session, actor=("alice", "bob", "carol")[done % 3], role="editor",
                       action=ACTIONS[done % len(ACTIONS)], outcome="denied" if done % 5 == 0 else "allowed",
                       asset_id=done % 4 or None, version_id=done, subject=f"line {done}",
                       detail="ünïcode \"quoted\", comma" if done % 7 == 0 else None, ip="10.0.0.1")


def _cli(farm: Farm, *args: str):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATABASE_URL"] = farm.settings.db_url
    return run([RUSHES, "--data", str(farm.settings.data), "audit", *args], env=env)


def _tamper(farm: Farm, sql: str, **params: object) -> None:
    with farm.engine.begin() as conn:
        conn.execute(text(sql), params)


# ------------------------------------------------------------------------------------------------ chain


def test_a_chain_of_many_lines_verifies_in_batches(farm: Farm) -> None:
    with farm.sessions() as session:
        assert verify(session) == verify(session) and verify(session).ok and verify(session).checked == 0
    _fill(farm, 250, per_transaction=40)
    with farm.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [r.id for r in rows] == list(range(1, 251))
        assert rows[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
        assert all(line_hash(r) == r.hash and len(r.hash) == 64 for r in rows)
        assert rows[6].detail == "ünïcode \"quoted\", comma" and rows[0].at.tzinfo is not None
        for batch in (7, 250, 1000):
            result = verify(session, batch=batch)
            assert (result.ok, result.checked, result.bad_id, result.reason) == (True, 250, None, None)
            assert (result.head_id, result.head_hash) == (250, rows[-1].hash)


def test_record_checks_its_arguments_and_fits_text_to_the_columns(farm: Farm) -> None:
    with farm.transaction() as session:
        with pytest.raises(ValueError, match="unknown audit action 'veiw asset'"):
            record(session, actor="alice", action="veiw asset")
        with pytest.raises(ValueError, match="outcome"):
            record(session, actor="alice", action="view asset", outcome="maybe")
        with pytest.raises(ValueError, match="actor"):
            record(session, actor="", action="view asset")
        with pytest.raises(ValueError, match="asset_id"):
            record(session, actor="alice", action="view asset", asset_id="7")  # type: ignore[arg-type]
        for action in ACTIONS:
            record(session, actor="alice", action=action)
        long = record(session, actor="a" * 300, action="search", subject="s" * 900, ip="1" * 100,
                      detail="nul\x00byte")
    assert (len(long.actor), len(long.subject or ""), len(long.ip or "")) == (120, 500, 64)
    with farm.sessions() as session:
        assert verify(session).ok and verify(session).checked == len(ACTIONS) + 1


def test_a_line_only_exists_if_its_transaction_commits(farm: Farm) -> None:
    _fill(farm, 3)
    with pytest.raises(RuntimeError, match="boom"), farm.transaction() as session:
        record(session, actor="alice", action="approve")
        raise RuntimeError("boom")
    _fill(farm, 3)
    with farm.sessions() as session:
        result = verify(session)
        assert result.ok and result.checked == 6, result


def test_record_now_commits_on_its_own(farm: Farm) -> None:
    entry = record_now(farm.sessions, actor="(bad token)", action="sign-in", outcome="denied", ip="10.1.1.1")
    with farm.sessions() as session:
        [line] = entries(session)
        assert (line.id, line.actor, line.outcome, line.prev_hash) == (entry.id, "(bad token)", "denied", GENESIS)


# ------------------------------------------------------------------------------------------- tampering


def test_an_edited_line_is_named_by_verify_and_by_the_cli(farm: Farm) -> None:
    _fill(farm, 30)
    intact = _cli(farm, "verify")
    assert intact.returncode == 0, intact.stderr
    assert "audit trail intact: 30 entries" in intact.stdout

    _tamper(farm, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=17)
    with farm.sessions() as session:
        result = verify(session)
    assert (result.ok, result.checked, result.bad_id) == (False, 16, 17)
    assert result.reason == "row 17: hash does not match its content (edited?)"
    broken = _cli(farm, "verify")
    assert broken.returncode == 1
    assert "audit trail broken at row 17: hash does not match its content (edited?)" in broken.stderr
    assert "intact" not in broken.stdout


def test_an_edited_time_or_a_rewritten_hash_is_caught(farm: Farm) -> None:
    _fill(farm, 12)
    _tamper(farm, "UPDATE audit_log SET at = :at WHERE id = 5", at=datetime(2020, 1, 1))
    with farm.sessions() as session:
        assert verify(session).bad_id == 5
    # someone fixes line 5's hash to match the edit: the next line's link gives it away
    with farm.sessions() as session:
        five = session.get(AuditEntry, 5)
        assert five is not None
        fixed = line_hash(five)
    _tamper(farm, "UPDATE audit_log SET hash = :h WHERE id = 5", h=fixed)
    with farm.sessions() as session:
        result = verify(session)
    assert (result.bad_id, result.reason) == (6, "row 6: previous hash does not match row 5 "
                                                 "(a row deleted or inserted?)")


def test_a_deleted_line_is_caught_at_the_next_one(farm: Farm) -> None:
    _fill(farm, 20)
    _tamper(farm, "DELETE FROM audit_log WHERE id = :id", id=11)
    with farm.sessions() as session:
        result = verify(session, batch=4)
    assert (result.ok, result.checked, result.bad_id) == (False, 10, 12)
    assert result.reason == "row 12: previous hash does not match row 10 (a row deleted or inserted?)"
    broken = _cli(farm, "verify")
    assert broken.returncode == 1 and "broken at row 12" in broken.stderr


def test_deleting_the_first_line_is_caught(farm: Farm) -> None:
    _fill(farm, 5)
    _tamper(farm, "DELETE FROM audit_log WHERE id = 1")
    with farm.sessions() as session:
        result = verify(session)
    assert (result.bad_id, result.reason) == (2, "row 2: previous hash is not the start of the trail "
                                                 "(rows deleted before it?)")


def test_the_orm_refuses_to_change_or_delete_lines(farm: Farm) -> None:
    _fill(farm, 3)
    with pytest.raises(AuditTrailIsAppendOnly, match="cannot be changed"), farm.transaction() as session:
        line = session.get(AuditEntry, 2)
        assert line is not None
        line.actor = "mallory"
        session.flush()
    with pytest.raises(AuditTrailIsAppendOnly, match="cannot be deleted"), farm.transaction() as session:
        session.delete(session.get(AuditEntry, 2))
        session.flush()
    with pytest.raises(AuditTrailIsAppendOnly), farm.transaction() as session:
        session.execute(update(AuditEntry).values(actor="mallory"))
    with pytest.raises(AuditTrailIsAppendOnly), farm.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == 3))
    with pytest.raises(AuditTrailIsAppendOnly), farm.transaction() as session:
        session.execute(update(AuditEntry.__table__).values(actor="mallory"))
    with farm.sessions() as session:
        result = verify(session)
        assert result.ok and result.checked == 3
        assert {line.actor for line in entries(session)} == {"alice", "bob", "carol"}


def test_concurrent_appends_from_eight_threads_keep_one_chain(farm: Farm) -> None:
    per_thread, errors = 25, []
    start = threading.Barrier(8)

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with farm.transaction() as session:
                    record(session, actor=f"worker{worker}", action="view asset", asset_id=i + 1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with farm.sessions() as session:
        result = verify(session)
        assert result.ok and result.checked == 8 * per_thread, result
        rows = session.scalars(select(AuditEntry)).all()
        assert len({r.prev_hash for r in rows}) == len(rows)  # nobody chained onto the same line twice


# ------------------------------------------------------------------------------------------ reading


def test_filters_newest_first_and_paging(farm: Farm) -> None:
    _fill(farm, 40)
    with farm.sessions() as session:
        everything = entries(session, limit=None)
        assert [e.id for e in everything] == list(range(40, 0, -1))
        assert [e.id for e in entries(session, limit=5, offset=3)] == [37, 36, 35, 34, 33]
        assert {e.actor for e in entries(session, actor="bob", limit=None)} == {"bob"}
        assert len(entries(session, actor="bob", limit=None)) == 14
        assert [e.id for e in entries(session, outcome="denied", limit=None)] == list(range(40, 0, -5))
        assert {e.asset_id for e in entries(session, asset_id=2, limit=None)} == {2}
        assert {e.action for e in entries(session, action="approve", limit=None)} == {"approve"}
        first, last = everything[-1].at, everything[0].at
        assert len(entries(session, since=first, limit=None)) == 40
        assert entries(session, since=last + timedelta(seconds=1)) == []
        assert entries(session, until=first) == []
        assert [e.id for e in entries(session, until=first + timedelta(microseconds=1))] == [1]
        naive = (last + timedelta(seconds=1)).astimezone(UTC).replace(tzinfo=None)
        assert len(entries(session, until=naive, limit=None)) == 40  # naive means UTC
        assert entries(session, actor="bob", outcome="denied", asset_id=1, limit=None) == [
            e for e in everything if e.actor == "bob" and e.outcome == "denied" and e.asset_id == 1]
        batches = list(iter_entries(session, batch=15, actor="alice"))
        assert [len(b) for b in batches] == [13]
        batches = list(iter_entries(session, batch=15))
        assert [len(b) for b in batches] == [15, 15, 10]
        assert [e.id for b in batches for e in b] == list(range(40, 0, -1))


def test_csv_and_json_views(farm: Farm) -> None:
    with farm.transaction() as session:
        record(session, actor="alice", role="admin", action="rights change", asset_id=3, version_id=4,
               subject="=HYPERLINK(\"http://evil\")", detail="line one\nline two, \"quoted\"", ip="10.0.0.9")
    with farm.sessions() as session:
        lines = entries(session)
        view = entry_view(lines[0])
        assert list(view) == list(FIELDS)
        assert view["subject"] == "=HYPERLINK(\"http://evil\")" and view["at"].endswith("Z")
        assert json.loads(json.dumps(view)) == view
        parsed = list(csv.DictReader(io.StringIO(to_csv(lines))))
    assert parsed == [{**{k: str(v) if v is not None else "" for k, v in view.items()},
                       "subject": "'=HYPERLINK(\"http://evil\")"}]
    assert to_csv([]) == ",".join(FIELDS) + "\r\n" and to_csv(lines, header=False).count("\r\n") == 1


@pytest.mark.slow
def test_cli_export_csv_and_json_with_filters(farm: Farm, tmp_path: Path) -> None:
    _fill(farm, 30)
    out = tmp_path / "audit.csv"
    done = _cli(farm, "export", "--actor", "bob", "--outcome", "denied", "--output", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(newline="")))
    assert [int(r["id"]) for r in rows] == [25, 10] and {r["actor"] for r in rows} == {"bob"}
    as_json = _cli(farm, "export", "--format", "json", "--asset", "2", "--action", "view asset")
    assert as_json.returncode == 0, as_json.stderr
    lines = json.loads(as_json.stdout)
    with farm.sessions() as session:
        expected = [entry_view(e) for e in entries(session, asset_id=2, action="view asset", limit=None)]
        first_at = entries(session, limit=None)[-1].at
    assert lines == expected
    everything = json.loads(_cli(farm, "export", "--format", "json").stdout)
    assert len(everything) == 30
    assert all(line_hash(type("Line", (), {**e, "at": datetime.fromisoformat(e["at"])})) == e["hash"]
               for e in everything), "the JSON export keeps what was hashed"
    later = _cli(farm, "export", "--format", "json", "--since",
                 (first_at + timedelta(microseconds=1)).isoformat())
    assert len(json.loads(later.stdout)) == 29
    assert json.loads(_cli(farm, "export", "--format", "json", "--until", "2000-01-01").stdout) == []
    empty = _cli(farm, "export", "--actor", "nobody")
    assert empty.returncode == 0 and empty.stdout.splitlines() == [",".join(FIELDS)]
    bad = _cli(farm, "export", "--action", "hack")
    assert bad.returncode == 2 and "unknown action 'hack'" in bad.stderr
    bad_time = _cli(farm, "export", "--since", "yesterday")
    assert bad_time.returncode == 2 and "ISO-8601" in bad_time.stderr


# ------------------------------------------------------------------------------------------------- API


def _bearer(farm: Farm, name: str, role: str) -> dict[str, str]:
    return bearer(farm, name, role, collection=None)


def test_api_admin_reads_filters_exports_and_verifies(client: TestClient, farm: Farm) -> None:
    admin = _bearer(farm, "ada", "admin")
    _fill(farm, 12)
    reply = client.get("/api/v1/audit", headers=admin, params={"limit": 5, "offset": 1})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["limit"], body["offset"]) == (5, 1)
    newest = max(e["id"] for e in client.get("/api/v1/audit", headers=admin).json()["entries"])
    # each read of the trail is itself recorded ("view audit"): the second read saw the first one's line
    assert [e["id"] for e in body["entries"]] == list(range(newest - 2, newest - 7, -1))
    assert client.get("/api/v1/audit", headers=admin, params={"action": "view audit"}).json()["entries"]
    assert set(body["entries"][0]) == set(FIELDS)
    carol = client.get("/api/v1/audit", headers=admin, params={"actor": "carol", "outcome": "allowed"}).json()
    assert carol["entries"] and {(e["actor"], e["outcome"]) for e in carol["entries"]} == {("carol", "allowed")}
    by_asset = client.get("/api/v1/audit", headers=admin, params={"asset_id": 3, "until": "2999-01-01T00:00:00Z",
                                                                  "since": "2000-01-01"}).json()["entries"]
    assert by_asset and {e["asset_id"] for e in by_asset} == {3}
    assert client.get("/api/v1/audit", headers=admin, params={"outcome": "maybe"}).status_code == 422

    exported = client.get("/api/v1/audit.csv", headers=admin, params={"actor": "alice"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["actor"] for r in rows} == {"alice"}

    verified = client.get("/api/v1/audit/verify", headers=admin).json()
    assert verified["ok"] is True and verified["checked"] >= 12 and verified["bad_id"] is None
    _tamper(farm, "UPDATE audit_log SET detail = 'nothing happened' WHERE id = 4")
    broken = client.get("/api/v1/audit/verify", headers=admin).json()
    assert (broken["ok"], broken["bad_id"]) == (False, 4) and "row 4" in broken["reason"]


def test_api_is_admin_only_and_read_only(client: TestClient, farm: Farm) -> None:
    editor = _bearer(farm, "ed", "editor")
    admin = _bearer(farm, "ada", "admin")
    for path in ("/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/verify"):
        refused = client.get(path, headers=editor)
        assert refused.status_code == 403 and refused.json()["error"], path
        assert client.get(path).status_code == 401
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        reply = client.request(method, "/api/v1/audit", headers=admin, json={"actor": "mallory"})
        assert reply.status_code == 405, (method, reply.text)
        assert "GET" in reply.headers.get("allow", "")
    with farm.sessions() as session:
        assert "mallory" not in {e.actor for e in entries(session, limit=None)}
        assert verify(session).ok


def test_the_openapi_document_describes_the_audit_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/v1/audit"]) == {"get"}
    for path in ("/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/verify"):
        operation = paths[path]["get"]
        assert operation["summary"] and operation["description"] and operation["tags"] == ["audit"]
    assert "text/csv" in paths["/api/v1/audit.csv"]["get"]["responses"]["200"]["content"]
    params = {p["name"]: p for p in paths["/api/v1/audit"]["get"]["parameters"]}
    assert set(params) >= {"actor", "action", "asset_id", "outcome", "since", "until", "limit", "offset"}
    assert all(p.get("description") for p in params.values())


def test_the_csv_export_streams_the_whole_trail_batch_by_batch(client: TestClient, farm: Farm,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every matching line, newest first, sent as it is read (no length known up front, no list of every line
    held): a trail of millions of lines exports in the memory of one batch."""
    from catalog import audit as audit_module

    admin = _bearer(farm, "ada", "admin")
    _fill(farm, 95, per_transaction=50)
    batches: list[int] = []
    real = audit_module.iter_entries

    def counted(session: Any, **filters: Any) -> Any:
        for rows in real(session, batch=20, **filters):
            batches.append(len(rows))
            yield rows

    monkeypatch.setattr("api.audit.iter_entries", counted)
    exported = client.get("/api/v1/audit.csv", headers=admin)
    assert exported.status_code == 200 and "content-length" not in exported.headers  # streamed
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    ids = [int(r["id"]) for r in rows]
    assert len(rows) >= 95 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert len(batches) >= 5 and max(batches) == 20  # read 20 at a time, never all at once
    paged = client.get("/api/v1/audit.csv", headers=admin, params={"limit": 10})
    assert len(list(csv.DictReader(io.StringIO(paged.text)))) == 10
