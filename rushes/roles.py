"""The process roles of the `rushes` command: the API server, the first admin token, waiting for a signal."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from catalog.auth import create_token, ensure_user, has_admin
from pipeline.farm import Farm


def ensure_admin_token(farm: Farm) -> str | None:
    """On the first start, create user 'admin' with a token, keep it in <data>/admin.token, return it."""
    with farm.transaction() as session:
        if has_admin(session):
            return None
        token = create_token(session, ensure_user(session, "admin", "admin"), label="first start")
    path = farm.settings.data / "admin.token"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    return token


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def serve_api(farm: Farm, host: str, port: int, log_level: str = "info") -> None:
    import uvicorn

    from api.app import create_app

    # JSON log lines: uvicorn's own loggers go through ours (one format) instead of its console formatter
    log_config = None if farm.settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    uvicorn.run(create_app(farm), host=host, port=port, log_level=log_level, access_log=False, log_config=log_config)


def admin_token_hint(farm: Farm, token: str | None) -> str:
    path: Path = farm.settings.data / "admin.token"
    if token:
        return f"admin token (shown once, also in {path}): {token}"
    return f"admin token: in {path} (made on first start); more with 'rushes token create'"
