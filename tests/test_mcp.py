"""Agents under governance, with the MCP SDK's own client over streamable HTTP against a real `rushes up`: the same
bearer tokens (none: 401), read tools through the agent's grants, a tool outside the allowlist refused and audited,
a render that needs confirm: true, suggestions that wait for a person (who accepts one), a delivery held for a
person and released from the inbox, and a rate limit."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests import test_browser
from tests.media_fixtures import make_clip
from tests.test_browser import RUSHES, Server, _env, _sign_in, _wait_ready, rushes_up

pytestmark = pytest.mark.slow
browser = test_browser.browser  # Debian's Chromium (tests/test_browser.py)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("mcp")
    with rushes_up(tmp) as (base, token, data):
        clip = make_clip(tmp / "C001.mov", seconds=3, size="640x360", timecode="10:00:00:00", pattern="testsrc2")
        shutil.copyfile(clip, data / "watch" / "default" / "C001.mov")
        server = Server(base, token, data, 0, tmp)
        server.asset_id = _wait_ready(server, "C001.mov")["id"]
        yield server


def _cli(server: Server, *args: str) -> str:
    return subprocess.run([RUSHES, "--data", str(server.data), *args], capture_output=True, text=True, check=True,
                          env=_env()).stdout


def _agent(server: Server, name: str, *options: str) -> str:
    out = _cli(server, "agents", "add", name, "--collection", "default", *options)
    return out.strip().splitlines()[-1].split()[-1]


def _calls(server: Server, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, Any]]:
    """Each tool call through the SDK's client: (is an error, the JSON or text it answered)."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> list[tuple[bool, Any]]:
        out = []
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http, \
                streamable_http_client(f"{server.base}/mcp", http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                for name, arguments in calls:
                    result = await session.call_tool(name, arguments)
                    text = result.content[0].text if result.content else ""
                    try:
                        out.append((bool(result.is_error), json.loads(text)))
                    except ValueError:
                        out.append((bool(result.is_error), text))
        return out

    with ThreadPoolExecutor(1) as pool:  # its own thread: Playwright's sync API holds this one's event loop
        return pool.submit(lambda: asyncio.run(run())).result()


def _audit(server: Server, actor: str) -> list[tuple[str, str, str]]:
    entries = server.get(f"/api/v1/audit?actor={actor}&action=agent%20tool&limit=100")["entries"]
    return [(e["subject"].split()[0], e["outcome"], e["detail"] or "") for e in reversed(entries)]


def test_without_a_token_the_mcp_server_answers_401(server: Server) -> None:
    refused = httpx.post(f"{server.base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401 and "bearer token" in refused.json()["error"]


def test_a_read_only_agent_reads_and_is_refused_the_rest(server: Server) -> None:
    token = _agent(server, "scout")
    results = _calls(server, token, [
        ("search", {"query": "C001"}),
        ("read_asset", {"asset_id": server.asset_id}),
        ("read_rights", {"asset_id": server.asset_id}),
        ("render", {"asset_id": server.asset_id, "preset": "web/h264-720p", "confirm": True}),
    ])
    assert not results[0][0] and any(h["asset_id"] == server.asset_id for h in results[0][1]["hits"])
    assert not results[1][0] and results[1][1]["name"] == "C001.mov"
    assert not results[2][0] and "targets" in results[2][1]
    assert results[3][0] and "scout may not call render" in str(results[3][1])
    trail = _audit(server, "scout")
    assert [(tool, outcome) for tool, outcome, _ in trail] == [
        ("search", "allowed"), ("read_asset", "allowed"), ("read_rights", "allowed"), ("render", "denied")]


def test_an_agent_renders_when_confirmed_suggests_and_its_delivery_waits_for_a_person(server: Server) -> None:
    _cli(server, "targets", "add", "site", "--preset", "web/h264-720p")
    token = _agent(server, "cutter", "--tool", "render", "--tool", "suggest_metadata", "--tool", "deliver",
                   "--hold", "deliver")
    asset = server.asset_id
    results = _calls(server, token, [
        ("render", {"asset_id": asset, "preset": "web/h264-1080p"}),
        ("render", {"asset_id": asset, "preset": "web/h264-1080p", "confirm": True}),
        ("suggest_metadata", {"asset_id": asset, "values": {"usage_notes": "Wide shot, no faces"},
                              "reason": "looked at the keyframes"}),
        ("suggest_metadata", {"asset_id": asset, "values": {"camera": "Z cam"}, "reason": "guess"}),
        ("deliver", {"asset_id": asset, "target": "site", "confirm": True}),
    ])
    assert results[0][0] and "needs confirm: true" in str(results[0][1])
    assert not results[1][0] and "queued" in results[1][1]["done"]
    assert not results[2][0] and results[2][1]["suggestions"][0]["status"] == "pending"
    assert results[3][0] and "Z cam" in str(results[3][1]), "a value the schema refuses is refused"
    assert not results[4][0] and results[4][1]["status"] == "waiting for a person"
    # the render is real farm work
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        made = server.get(f"/api/v1/assets/{asset}/renditions")["renditions"]
        if made and made[0]["status"] != "queued" and made[0]["status"] != "running":
            break
        time.sleep(1)
    assert [(r["preset"], r["status"]) for r in made] == [("web/h264-1080p", "ready")]
    asked = server.get("/api/v1/audit?actor=cutter&action=render")["entries"]
    assert asked and asked[0]["role"] == "agent", "the render is the agent's, in the trail"
    # the suggestion changed nothing until a person accepted it
    values = {f["key"]: f["value"] for v in server.get(f"/api/v1/assets/{asset}/metadata")["views"]
              for f in v["fields"]}
    assert not values.get("usage_notes")
    (waiting,) = server.get(f"/api/v1/assets/{asset}/suggestions")["suggestions"]
    assert waiting["suggested_by"] == "cutter" and waiting["provenance"] == "suggest_metadata: looked at the keyframes"
    accepted = httpx.post(f"{server.base}/api/v1/suggestions/{waiting['id']}", json={"decision": "accept"},
                          headers=server.headers(), timeout=10)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    values = {f["key"]: f["value"] for v in server.get(f"/api/v1/assets/{asset}/metadata")["views"]
              for f in v["fields"]}
    assert values["usage_notes"] == "Wide shot, no faces"
    history = server.get(f"/api/v1/assets/{asset}/metadata/history")["changes"]
    assert any("suggestion" in (c.get("source") or "") and "cutter" in (c.get("source") or "") for c in history)
    # the held delivery is in the inbox; a person releases it
    (held,) = server.get("/api/v1/inbox")["held"]
    assert held["rule"] == "agent:cutter" and held["actions"] == ["deliver to target site"]
    released = httpx.post(f"{server.base}/api/v1/held/{held['id']}", json={"decision": "approve"},
                          headers=server.headers(), timeout=30)
    assert released.status_code == 200, released.text
    assert "deliver to target site: render web/h264-720p" in released.json()["outcome"]
    trail = _audit(server, "cutter")
    assert [(tool, outcome) for tool, outcome, _ in trail] == [
        ("render", "allowed"), ("render", "allowed"), ("suggest_metadata", "allowed"),
        ("suggest_metadata", "allowed"), ("deliver", "allowed")]
    assert trail[0][2] == "failed: render on C001.mov v1 needs confirm: true" and trail[3][2].startswith("failed:")


def test_an_agent_over_its_rate_limit_is_refused(server: Server) -> None:
    token = _agent(server, "chatty", "--per-minute", "3")
    results = _calls(server, token, [("read_asset", {"asset_id": server.asset_id})] * 4)
    assert [error for error, _ in results] == [False, False, False, True]
    assert "rate limit: chatty may call 3 tools a minute" in str(results[3][1])
    assert _audit(server, "chatty")[-1][1] == "denied"


def test_a_person_accepts_an_agents_suggestion_on_the_asset_page(server: Server, browser: Any) -> None:
    token = _agent(server, "tagger", "--tool", "suggest_tags")
    ((error, answer),) = _calls(server, token, [("suggest_tags", {"asset_id": server.asset_id,
                                                                  "labels": ["colour bars"], "reason": "test card"})])
    assert not error, answer
    page = _sign_in(browser, server)
    page.goto(f"{server.base}/assets/{server.asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    item = page.locator("#suggestions li[data-field=keywords]")
    item.wait_for(timeout=10_000)
    assert "colour bars" in item.inner_text() and "tagger, suggest_tags: test card" in item.inner_text()
    item.locator("button", has_text="Accept").click()
    page.wait_for_selector("#suggestions-box[hidden]", state="attached")
    values = {f["key"]: f["value"] for v in server.get(f"/api/v1/assets/{server.asset_id}/metadata")["views"]
              for f in v["fields"]}
    assert "colour bars" in values["keywords"], "accepted: the keywords hold it, as the person's"
    assert page.problems == []
    page.context.close()
