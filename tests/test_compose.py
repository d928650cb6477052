"""docker-compose.yml cannot rot: each Rushes service's command runs here as a local process."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from rushes.settings import load_settings
from tests.conftest import ROOT, wait_for, wait_healthy
from tests.farmproc import RUSHES, farm_env, free_port, logs, processes

pytestmark = pytest.mark.farm
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _rushes_services() -> dict[str, dict]:
    return {name: svc for name, svc in COMPOSE["services"].items() if svc.get("command", [""])[0] == "rushes"}


def test_compose_defines_the_farm_roles_on_redis_and_postgres() -> None:
    services = _rushes_services()
    assert {svc["command"][1] for svc in services.values()} == {"api", "watch", "worker"}
    assert {"redis", "postgres"} <= set(COMPOSE["services"])
    for name, svc in services.items():
        env = svc["environment"]
        assert env["RUSHES_BROKER_URL"].startswith("redis://redis:"), name
        assert env["RUSHES_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        settings = load_settings(**{k[7:].lower(): v for k, v in env.items()})  # every variable is a real setting
        assert not settings.embedded


def test_compose_commands_run_as_a_working_farm(tmp_path: Path, pg_url: str, clips: dict[str, Path]) -> None:
    port = free_port()
    commands = []
    for svc in _rushes_services().values():
        argv = [RUSHES, *svc["command"][1:]]
        if "--port" in argv:
            argv[argv.index("--port") + 1] = str(port)
        if "--host" in argv:
            argv[argv.index("--host") + 1] = "127.0.0.1"
        commands.append(argv)
    data = tmp_path / "data"
    env = farm_env(data, pg_url)
    with processes(commands, env, tmp_path):
        base = f"http://127.0.0.1:{port}"

        try:
            wait_healthy(base, timeout=60, broker="redis")
            token = wait_for(lambda: (data / "admin.token").exists() and (data / "admin.token").read_text().strip(),
                             timeout=10, what="the admin token")
            shutil.copyfile(clips["short"], data / "watch" / "default" / "dropped.mov")
            headers = {"Authorization": f"Bearer {token}"}

            def ready() -> dict | None:
                assets = httpx.get(f"{base}/api/v1/assets", headers=headers, timeout=5).json()["assets"]
                return assets[0] if assets and assets[0]["status"] in ("ready", "failed") else None

            asset = wait_for(ready, timeout=90, interval=0.5, what="the dropped file to be processed")
        except AssertionError:
            raise AssertionError(logs(tmp_path)) from None
        assert (asset["name"], asset["status"]) == ("dropped.mov", "ready"), logs(tmp_path)
        detail = httpx.get(f"{base}/api/v1/assets/{asset['id']}", headers=headers, timeout=5).json()
        proxy = httpx.get(base + detail["proxy_url"], headers={**headers, "Range": "bytes=0-99"}, timeout=5)
        assert proxy.status_code == 206 and len(proxy.content) == 100
