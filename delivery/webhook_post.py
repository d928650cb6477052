"""Signed webhook POSTs (no catalog here: what is sent, how it is signed, what came back).

Every request carries::

    Content-Type: application/json
    X-Rushes-Event-Id: 3f0c…            the delivery's unique id (the same on every retry: receivers dedupe by it)
    X-Rushes-Event-Type: version.ready
    X-Rushes-Timestamp: 1764500000      seconds since the epoch, when this attempt was sent
    X-Rushes-Signature: sha256=9c1e…    HMAC-SHA256 with the subscription's secret over "<timestamp>.<body>"

A receiver recomputes the HMAC over the timestamp header, a full stop and the raw body, compares in constant time
(:func:`verify` is how), and refuses a timestamp more than five minutes away (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """Whether a request's signature is the secret's over its timestamp and body, sent within five minutes."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get("x-rushes-timestamp", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_S:
        return False
    return hmac.compare_digest(lowered.get("x-rushes-signature", ""), sign(secret, timestamp, body))


@dataclass(frozen=True)
class Attempt:
    status_code: int | None  # None: no answer (refused, timed out)
    error: str | None  # None: a 2xx
    ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


def post(client: httpx.Client, url: str, event_id: str, event_type: str, body: bytes, secret: str,
         timeout_s: float) -> Attempt:
    """One attempt; never raises for what the receiver does (a refusal, a timeout, a 500 are answers)."""
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "Rushes-Webhooks/1",
               "X-Rushes-Event-Id": event_id, "X-Rushes-Event-Type": event_type,
               "X-Rushes-Timestamp": str(timestamp), "X-Rushes-Signature": sign(secret, timestamp, body)}
    started = time.perf_counter()
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        return Attempt(None, f"no answer within {timeout_s:g} s", _ms(started))
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__, _ms(started))
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None, _ms(started))
    return Attempt(response.status_code, f"HTTP {response.status_code}: {response.text[:200]}", _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
