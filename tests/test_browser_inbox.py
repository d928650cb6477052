"""The inbox in a real headless Chromium against a real `rushes up`: a rule holds a render for a person; an editor
signs in, finds it in the inbox (the link is in the header), approves it with a note, and the render runs on the
farm; the decision is listed with its outcome. Another rule asks for a review in two stages for the web: the
desk's reviewer finds it in her inbox, sees the stages on the asset page and approves; the legal stage opens and
is in the next reviewer's inbox; his approval approves the version for the web."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import test_browser
from tests.media_fixtures import make_clip
from tests.test_browser import RUSHES, Server, _env, _sign_in, _wait_ready, rushes_up

pytestmark = pytest.mark.slow
browser = test_browser.browser
RULES = """\
rules:
  web-copy-on-request:
    trigger: version.ready
    actions:
      - hold_for_a_person: Make a web copy of this clip?
      - render: web/h264-720p
  web-review:
    trigger: version.ready
    actions: [{request_review: desk-then-legal}]
"""
TEMPLATES = """\
templates:
  desk-then-legal:
    label: Desk, then legal
    applies_to: {channels: [web]}
    stages:
      - {name: desk, reviewers: [rhea]}
      - {name: legal, reviewers: [leo], deadline: 2d}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser-inbox")
    with rushes_up(tmp) as (base, token, data):
        (data / "rules").mkdir(exist_ok=True)
        (data / "rules" / "web.yaml").write_text(RULES)
        (data / "approvals").mkdir(exist_ok=True)
        (data / "approvals" / "web.yaml").write_text(TEMPLATES)
        subprocess.run([RUSHES, "--data", str(data), "rules", "sync"], check=True, env=_env(), capture_output=True)
        clip = make_clip(tmp / "B001.mov", seconds=3, size="640x360", timecode="10:00:00:00", pattern="smptebars")
        shutil.copyfile(clip, data / "watch" / "default" / "B001.mov")
        server = Server(base, token, data, 0, tmp)
        server.asset_id = _wait_ready(server, "B001.mov")["id"]
        yield server


def _renditions(server: Server) -> list[dict[str, Any]]:
    return server.get(f"/api/v1/assets/{server.asset_id}/renditions")["renditions"]


def test_an_editor_approves_a_held_render_in_the_inbox(browser: Any, server: Server) -> None:
    editor = server.token_for("edith", "editor")
    page = _sign_in(browser, server, editor)
    page.click("#me a[href='/inbox']")
    page.wait_for_url("**/inbox")
    item = page.locator("#held li[data-rule=web-copy-on-request]")
    item.wait_for(timeout=30_000)  # the rule acts within a couple of seconds of the clip being ready
    assert "Make a web copy of this clip?" in item.inner_text()
    assert "Then: render web/h264-720p" in item.inner_text()
    assert _renditions(server) == [], "nothing is rendered before a person approves"
    item.locator("input").fill("for the website")
    item.locator("button", has_text="Approve").click()
    done = page.locator("#decided li[data-status=approved]")
    done.wait_for(timeout=10_000)
    assert "by edith" in done.inner_text() and "render web/h264-720p" in done.inner_text()
    assert page.locator("#no-held").is_visible()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        made = _renditions(server)
        if made and made[0]["status"] in ("ready", "failed", "rejected"):
            break
        time.sleep(1)
    assert [(r["preset"], r["status"]) for r in made] == [("web/h264-720p", "ready")]
    assert page.problems == []
    page.context.close()


def _stages(page: Any) -> dict[str, str]:
    page.wait_for_selector("#review-stages .approval[data-template=desk-then-legal]")
    items = page.locator("#review-stages .approval[data-template=desk-then-legal] li")
    return {items.nth(i).get_attribute("data-stage"): items.nth(i).get_attribute("data-status")
            for i in range(items.count())}


def test_reviewers_follow_stages_from_their_inbox(browser: Any, server: Server) -> None:
    rhea, leo = server.token_for("rhea", "reviewer"), server.token_for("leo", "reviewer")
    page = _sign_in(browser, server, rhea)
    page.click("#me a[href='/inbox']")
    item = page.locator("#reviews li[data-stage=desk]")
    item.wait_for(timeout=30_000)
    assert "Desk, then legal: desk for web" in item.inner_text()
    assert page.locator("#held-section").is_hidden(), "a reviewer releases no held actions"
    item.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    assert _stages(page) == {"desk": "open", "legal": "waiting"}
    page.click("#btn-approve")
    page.wait_for_selector("#review-stages li[data-stage=legal][data-status=open]")
    assert _stages(page) == {"desk": "approved", "legal": "open"}
    assert "due" in page.locator("#review-stages li[data-stage=legal]").inner_text()
    page.context.close()
    page = _sign_in(browser, server, leo)
    page.goto(f"{server.base}/inbox")
    item = page.locator("#reviews li[data-stage=legal]")
    item.wait_for(timeout=10_000)
    item.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    page.click("#btn-approve")
    page.wait_for_selector("#review-stages .approval[data-template=desk-then-legal][data-status=approved]")
    assert _stages(page) == {"desk": "approved", "legal": "approved"}
    page.goto(f"{server.base}/inbox")
    page.wait_for_selector("#no-reviews:not([hidden])")
    assert page.problems == []
    page.context.close()
