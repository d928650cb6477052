"""Webhooks on both catalogs, against a real HTTP receiver started in the test that checks each signature with its
own HMAC: a subscription made through the API (its secret shown once), a bulk change coalesced into one signed
delivery, a filter, retries with back-off and the status codes logged, a subscription disabled after failing in a
row and enabled again, a delivery that gave up sent again by replay, and a worker process killed mid-send losing
nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from catalog.models import AuditEntry, Webhook, WebhookDelivery, utcnow
from pipeline.farm import Farm
from pipeline.webhooks.outbox import Outbox
from pipeline.webhooks.sender import LEASE, Sender
from tests.conftest import bearer, wait_for
from tests.test_metadata import _asset
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def admin(farm: Farm) -> dict[str, str]:
    return bearer(farm, "ada", "admin", None)


def _subscribe(client: Any, admin: dict[str, str], receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"name": "cms", "url": receiver.url, "events": ["metadata.changed"], **extra}
    made = client.post("/api/v1/admin/webhooks", json=body, headers=admin)
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    return made.json()


def _deliveries(farm: Farm) -> list[WebhookDelivery]:
    with farm.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_bulk_change_goes_out_as_one_signed_delivery(farm: Farm, client: Any, admin: dict[str, str],
                                                        receiver: Receiver) -> None:
    made = _subscribe(client, admin, receiver)
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 30
    listed = client.get("/api/v1/admin/webhooks", headers=admin).json()
    assert [w["name"] for w in listed["webhooks"]] == ["cms"] and "secret" not in listed["webhooks"][0], \
        "the secret is shown once"
    ids = [_asset(farm, f"clip{n}.mov", "news") for n in range(30)]
    bulk = client.post("/api/v1/metadata/bulk", json={"asset_ids": ids, "set": {"usage_notes": "Embargoed"}},
                       headers=admin)
    assert bulk.status_code == 200, bulk.text
    outbox, sender = Outbox(farm.sessions, farm.settings), Sender(farm.sessions, farm.settings)
    try:
        assert outbox.fill() == 1, "thirty changes of one bulk edit: one delivery"
        assert sender.send_pass() == 1
        (got,) = receiver.got
        assert got.signed, "the receiver's own HMAC over timestamp.body matches X-Rushes-Signature"
        assert abs(int(got.headers["x-rushes-timestamp"]) - time.time()) < 60
        payload = got.payload
        assert payload["id"] == got.headers["x-rushes-event-id"] and payload["type"] == "metadata.changed"
        assert payload["count"] == 30 and sorted(e["asset_id"] for e in payload["events"]) == sorted(ids)
        assert {e["field"] for e in payload["events"]} == {"usage_notes"}
        assert all(e["new"] == ["Embargoed"] and e["by"] == "ada" for e in payload["events"])
        (delivery,) = _deliveries(farm)
        assert delivery.status == "delivered" and delivery.log[-1]["status_code"] == 200
        # the same events looked at again (a new process, after a restart) are not sent twice
        assert Outbox(farm.sessions, farm.settings).fill() == 0 and sender.send_pass() == 0
        # a request someone altered does not pass the receiver's check
        receiver.secret = "whsec_someone-else"
        client.patch(f"/api/v1/assets/{ids[0]}/metadata", headers=admin,
                     json={"revision": 1, "set": {"usage_notes": "Free"}})
        assert outbox.fill() == 1 and sender.send_pass() == 1
        assert not receiver.got[-1].signed and receiver.got[-1].payload["count"] == 1
    finally:
        sender.close()
    log = client.get("/api/v1/admin/webhooks/cms/deliveries", headers=admin).json()["deliveries"]
    assert [d["status"] for d in log] == ["delivered", "delivered"] and log[0]["log"][0]["status_code"] == 200


def test_a_filter_keeps_what_the_subscription_asked_for(farm: Farm, client: Any, admin: dict[str, str],
                                                         receiver: Receiver) -> None:
    _subscribe(client, admin, receiver, events=["metadata.changed", "version.ready"],
               filter='asset.collection == "news"')
    news, sport = _asset(farm, "derby.mov", "news"), _asset(farm, "match.mov", "sport")
    client.post("/api/v1/metadata/bulk", json={"asset_ids": [news, sport], "set": {"usage_notes": "x"}},
                headers=admin)
    bad = client.post("/api/v1/admin/webhooks", headers=admin,
                      json={"name": "bad", "url": "ftp://x", "events": ["metadata.changd"], "filter": "a ="})
    assert bad.status_code == 400 and "url 'ftp://x'" in bad.json()["error"]
    bad = client.post("/api/v1/admin/webhooks", headers=admin,
                      json={"name": "bad", "url": "http://x", "events": ["metadata.changd"]})
    assert "unknown event type metadata.changd (allowed: version.ready" in bad.json()["error"]
    sender = Sender(farm.sessions, farm.settings)
    try:
        Outbox(farm.sessions, farm.settings).fill()
        sender.send_pass()
    finally:
        sender.close()
    (got,) = receiver.got
    assert [e["asset_id"] for e in got.payload["events"]] == [news]


def test_retries_back_off_then_a_subscription_failing_in_a_row_is_disabled(
        farm: Farm, client: Any, admin: dict[str, str], receiver: Receiver) -> None:
    _subscribe(client, admin, receiver)
    codes = iter([500, 503])
    receiver.answer = lambda _r: next(codes, 200)
    a = _asset(farm, "derby.mov", "news")
    client.post("/api/v1/metadata/bulk", json={"asset_ids": [a], "set": {"usage_notes": "x"}}, headers=admin)
    Outbox(farm.sessions, farm.settings).fill()
    sender = Sender(farm.sessions, farm.settings)
    now = utcnow()
    try:
        assert sender.send_pass(now) == 1  # 500
        assert sender.send_pass(now + timedelta(seconds=9)) == 0, "the first retry waits 10 s"
        assert sender.send_pass(now + timedelta(seconds=11)) == 1  # 503
        assert sender.send_pass(now + timedelta(seconds=11 + 19)) == 0, "the next one 20 s"
        assert sender.send_pass(now + timedelta(seconds=11 + 21)) == 1  # 200
        (delivery,) = _deliveries(farm)
        assert delivery.status == "delivered" and [t["status_code"] for t in delivery.log] == [500, 503, 200]
        assert len(set(receiver.ids())) == 1, "every try carries the same event id"
        # a receiver that fails every time: 25 tries in a row disable the subscription, with the reason
        receiver.answer = lambda _r: 500
        ids = [_asset(farm, f"c{n}.mov", "news") for n in range(30)]
        outbox = Outbox(farm.sessions, farm.settings)
        for asset_id in ids:  # thirty single edits, each its own pass: thirty deliveries
            client.post("/api/v1/metadata/bulk", json={"asset_ids": [asset_id], "set": {"usage_notes": "y"}},
                        headers=admin)
            outbox.fill()
        later = now + timedelta(minutes=1)
        while sender.send_pass(later):
            later += timedelta(hours=1)
        with farm.sessions() as session:
            hook = session.scalar(select(Webhook))
            assert farm.settings.webhook_disable_after == 25
            assert not hook.enabled and hook.failures >= 25  # the tries in flight with the 25th count too
            assert hook.disabled_reason.startswith("disabled after 25 failed tries in a row; the last: HTTP 500")
            assert session.scalar(select(AuditEntry).where(AuditEntry.subject == "webhook cms disabled")).actor \
                == "webhooks"
        waiting = [d for d in _deliveries(farm) if d.status == "pending"]
        assert len(waiting) == 30, "nothing is lost while it is off"
        shown = client.get("/api/v1/admin/webhooks", headers=admin).json()["webhooks"][0]
        assert shown["enabled"] is False and "HTTP 500" in shown["disabled_reason"]
        receiver.answer = lambda _r: 200
        assert client.patch("/api/v1/admin/webhooks/cms", json={"enabled": True}, headers=admin).status_code == 200
        while sender.send_pass(later):
            later += timedelta(hours=1)
        assert [d.status for d in _deliveries(farm)] == ["delivered"] * 31
    finally:
        sender.close()


def test_a_delivery_that_gave_up_is_sent_again_by_replay(farm: Farm, client: Any, admin: dict[str, str],
                                                         receiver: Receiver) -> None:
    _subscribe(client, admin, receiver)
    receiver.answer = lambda _r: 404
    a = _asset(farm, "derby.mov", "news")
    client.post("/api/v1/metadata/bulk", json={"asset_ids": [a], "set": {"usage_notes": "x"}}, headers=admin)
    Outbox(farm.sessions, farm.settings).fill()
    sender = Sender(farm.sessions, farm.settings)
    later = utcnow()
    try:
        while sender.send_pass(later):
            later += timedelta(hours=1)
        (delivery,) = _deliveries(farm)
        assert delivery.status == "failed" and delivery.attempts == farm.settings.webhook_max_attempts == 12
        receiver.answer = lambda _r: 200
        replayed = client.post(f"/api/v1/admin/webhooks/cms/deliveries/{delivery.id}/replay", headers=admin)
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        assert sender.send_pass() == 1
        assert _deliveries(farm)[0].status == "delivered"
        assert len(set(receiver.ids())) == 1 and len(receiver.got) == 13
    finally:
        sender.close()
    with farm.sessions() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook replay")).actor == "ada"


SEND = """
import sys
from pipeline.farm import Farm
from pipeline.webhooks.sender import Sender
from rushes.settings import load_settings
farm = Farm(load_settings(data_dir=sys.argv[1], database_url=sys.argv[2]))
sender = Sender(farm.sessions, farm.settings)
print("sending", flush=True)
sender.send_pass()
print("sent", flush=True)
"""


def test_a_worker_killed_while_sending_loses_no_webhook(farm: Farm, client: Any, admin: dict[str, str],
                                                         receiver: Receiver) -> None:
    _subscribe(client, admin, receiver)
    receiver.delay_s = 30  # the receiver takes its time: the sender is killed while it waits
    a = _asset(farm, "derby.mov", "news")
    client.post("/api/v1/metadata/bulk", json={"asset_ids": [a], "set": {"usage_notes": "x"}}, headers=admin)
    Outbox(farm.sessions, farm.settings).fill()
    process = subprocess.Popen([sys.executable, "-c", SEND, str(farm.settings.data_dir), farm.settings.database_url],
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        wait_for(lambda: receiver.got, timeout=60)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    (delivery,) = _deliveries(farm)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.log == [], \
        "claimed by the killed worker, not delivered"
    receiver.delay_s = 0
    sender = Sender(farm.sessions, farm.settings)
    try:
        assert sender.send_pass() == 0, "another sender leaves it while the dead one's lease runs"
        assert sender.send_pass(utcnow() + LEASE + timedelta(seconds=1)) == 1
    finally:
        sender.close()
    assert _deliveries(farm)[0].status == "delivered"
    assert len(receiver.got) == 2 and len(set(receiver.ids())) == 1, "at least once: the same event id again"
    assert json.loads(receiver.got[1].body)["events"][0]["asset_id"] == a


def test_a_running_farm_tells_a_subscriber_when_a_real_clip_is_ready(running_farm: Farm, client: Any,
                                                                      admin: dict[str, str], receiver: Receiver,
                                                                      tmp_path: Any) -> None:
    from tests.conftest import ingest_interview

    _subscribe(client, admin, receiver, events=["version.new", "version.ready"])
    result = ingest_interview(running_farm, tmp_path)
    wait_for(lambda: {r.payload["type"] for r in receiver.got} == {"version.new", "version.ready"}, timeout=60)
    assert all(r.signed for r in receiver.got)
    assert {e["version_id"] for r in receiver.got for e in r.payload["events"]} == {result.version_id}


def test_the_cli_makes_changes_and_replays_subscriptions(farm: Farm, receiver: Receiver,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from rushes.cli import main

    monkeypatch.setenv("RUSHES_DATABASE_URL", farm.settings.database_url)
    data = ["--data", str(farm.settings.data_dir), "webhooks"]
    runner = CliRunner()
    made = runner.invoke(main, [*data, "add", "cms", receiver.url, "--event", "metadata.changed"])
    assert made.exit_code == 0 and "shown this once" in made.output, made.output
    receiver.secret = made.output.strip().splitlines()[-1]
    refused = runner.invoke(main, [*data, "add", "x", receiver.url, "--event", "tag.addd"])
    assert refused.exit_code != 0 and "unknown event type tag.addd" in refused.output
    a = _asset(farm, "derby.mov", "news")
    from catalog.metadata import require_schema
    from catalog.metadata_values import Edit, save

    with farm.transaction() as session:
        save(session, require_schema(session).schema, a, Edit(set={"usage_notes": "x"}), actor="ed")
    Outbox(farm.sessions, farm.settings).fill()
    sender = Sender(farm.sessions, farm.settings)
    try:
        sender.send_pass()
        log = runner.invoke(main, [*data, "deliveries", "cms"])
        assert log.exit_code == 0 and "metadata.changed ×1 delivered: 200" in log.output, log.output
        delivery = _deliveries(farm)[0].id
        assert runner.invoke(main, [*data, "replay", "cms", str(delivery)]).exit_code == 0
        assert sender.send_pass() == 1 and len(receiver.got) == 2 and all(r.signed for r in receiver.got)
    finally:
        sender.close()
    off = runner.invoke(main, [*data, "change", "cms", "--disable"])
    assert off.exit_code == 0
    listed = runner.invoke(main, [*data, "list"])
    assert "cms: " + receiver.url + " on metadata.changed — DISABLED" in listed.output, listed.output
    assert runner.invoke(main, [*data, "remove", "cms"]).exit_code == 0
    assert runner.invoke(main, [*data, "list"]).output == ""
