"""A real HTTP receiver for webhook tests and the bench: it checks each request's signature itself (HMAC-SHA256
over "<timestamp>.<body>" with the secret it is told, as a receiver's own code would), keeps what came, and
answers what the test says (a status code, after a delay)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature is the secret's over the timestamp and body

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    answer: Callable[[Received], int] = lambda _r: 200
    delay_s: float = 0.0
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the reply's head and body are two writes: no 40 ms wait between

            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                expected = "sha256=" + hmac.new(receiver.secret.encode(),
                                                headers.get("x-rushes-timestamp", "").encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                item = Received(headers, body, hmac.compare_digest(headers.get("x-rushes-signature", ""), expected))
                with receiver.lock:
                    receiver.got.append(item)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                code = receiver.answer(item)
                reply = b"ok" if code < 300 else b"no"
                self.send_response(code)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["x-rushes-event-id"] for r in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
