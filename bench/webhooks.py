"""Webhook delivery speed: deliveries waiting in a farm's outbox sent by Rushes' sender (claimed in the catalog,
signed, POSTed eight at a time over kept-alive connections, each result and status code logged) to a local receiver
in its own process that checks every signature — against the bare tool: the same bodies POSTed by httpx from eight
threads to the same receiver, with no catalog, in the same run. Also how fast the outbox is filled from events
(metadata changes of a bulk edit, coalesced).

    .venv/bin/python bench/webhooks.py [--deliveries 2000] [--events 10000] [--database-url postgresql+psycopg://…]

Goal (issue 15): webhook delivery >= 200 deliveries/s to a local receiver.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import func, select  # noqa: E402

from catalog.models import WebhookDelivery, utcnow  # noqa: E402
from delivery.webhook_post import post  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from pipeline.webhooks.outbox import Outbox  # noqa: E402
from pipeline.webhooks.sender import AT_ONCE, Sender  # noqa: E402
from pipeline.webhooks.subscriptions import create_webhook  # noqa: E402
from rushes.settings import load_settings  # noqa: E402

RECEIVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.webhook_receiver import Receiver
r = Receiver(secret=sys.argv[2])
print(r.url, flush=True)
for line in sys.stdin:
    bad = sum(1 for x in r.got if not x.signed)
    print(len(r.got), bad, flush=True)
"""


class Remote:
    """The receiver in a process of its own (it does not share the sender's interpreter)."""

    def __init__(self, secret: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", RECEIVER, str(HERE.parent), secret],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def counts(self) -> tuple[int, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        got, bad = self.process.stdout.readline().split()
        return int(got), int(bad)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data), **({"database_url": args.database_url}
                                                         if args.database_url else {}))
        farm = Farm(settings)
        with farm.transaction() as session:
            hook, secret = create_webhook(session, "bench", "http://127.0.0.1:1/x", ["metadata.changed"], None,
                                          "bench", None)
            hook_id = hook.id
        remote = Remote(secret)
        try:
            with farm.transaction() as session:
                session.get(type(hook), hook_id).url = remote.url
                bodies = []
                for i in range(args.deliveries):
                    event_id = str(uuid.uuid4())
                    body = json.dumps({"id": event_id, "type": "metadata.changed", "webhook": "bench", "count": 1,
                                       "events": [{"key": f"metadata:{i}", "asset_id": i, "version_id": i,
                                                   "field": "usage_notes", "new": ["x"]}]})
                    bodies.append((event_id, body.encode()))
                    session.add(WebhookDelivery(webhook_id=hook_id, event_id=event_id, type="metadata.changed",
                                                count=1, body=body, status="pending", attempts=0, next_at=utcnow(),
                                                log=[]))
            sender = Sender(farm.sessions, settings)
            started = time.perf_counter()
            while sender.send_pass():
                pass
            rushes_s = time.perf_counter() - started
            sender.close()
            with farm.sessions() as session:
                delivered = session.scalar(select(func.count()).select_from(WebhookDelivery).where(
                    WebhookDelivery.status == "delivered"))
            got, bad = remote.counts()
            # the bare tool: the same bodies, signed and POSTed by httpx from as many threads, no catalog
            client = httpx.Client(limits=httpx.Limits(max_connections=AT_ONCE * 2,
                                                      max_keepalive_connections=AT_ONCE * 2))
            started = time.perf_counter()
            with ThreadPoolExecutor(AT_ONCE) as pool:
                answers = list(pool.map(lambda item: post(client, remote.url, item[0], "metadata.changed", item[1],
                                                          secret, 10.0), bodies))
            bare_s = time.perf_counter() - started
            client.close()
            assert all(a.ok for a in answers)
        finally:
            remote.close()
        # the outbox: a bulk edit's metadata changes put in a subscription's outbox, coalesced
        fill_rate = _fill(farm, args.events)
        farm.close()
    n = args.deliveries
    print(f"catalog: {str(farm.engine.url).split(':')[0]}")
    print(f"rushes sender: {n} deliveries in {rushes_s:.2f} s = {n / rushes_s:.0f} deliveries/s "
          f"({delivered} logged delivered; receiver got {got}, {bad} with a bad signature)")
    print(f"bare httpx, {AT_ONCE} threads, no catalog: {n / bare_s:.0f} deliveries/s")
    print(f"ratio (rushes time / bare time): {rushes_s / bare_s:.2f}")
    print(f"outbox fill: {fill_rate[0]} metadata changes → {fill_rate[1]} deliveries in {fill_rate[2]:.2f} s = "
          f"{fill_rate[0] / fill_rate[2]:.0f} events/s")


def _fill(farm: Farm, count: int) -> tuple[int, int, float]:
    from catalog.metadata import require_schema
    from catalog.metadata_values import Edit, bulk
    from tests.test_metadata import _asset

    ids = [_asset(farm, f"bench{i}.mov", "news") for i in range(count)]
    with farm.transaction() as session:
        bulk(session, require_schema(session).schema, ids, Edit(set={"usage_notes": "Embargoed"}), actor="bench")
    outbox = Outbox(farm.sessions, farm.settings)
    started = time.perf_counter()
    made = 0
    while step := outbox.fill():
        made += step
    return count, made, time.perf_counter() - started


if __name__ == "__main__":
    main()
