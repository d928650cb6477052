"""Sign-in and the asset's storage in a real headless Chromium against a real `rushes up`: an editor whose password
an admin set signs in by name; a reviewer who keeps guessing is locked out and told until when; a newsroom editor
signs on through a real OpenID Connect issuer (its own login page) and lands where she was going, with the role her
groups give; the editor archives an original from the asset page and restores it; a legal hold keeps it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import test_browser
from tests.farmproc import free_port
from tests.media_fixtures import make_clip
from tests.oidc import CLIENT_ID, CLIENT_SECRET, oidc_issuer
from tests.test_browser import Server, _wait_ready, rushes_up

pytestmark = pytest.mark.slow
browser = test_browser.browser
PASSWORD = "a long enough secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`rushes up` with a clip, and single sign-on through a real OpenID Connect issuer started beside it."""
    tmp = tmp_path_factory.mktemp("browser-lifecycle")
    port = free_port()
    with oidc_issuer(f"http://127.0.0.1:{port}/login/sso/callback") as issuer, \
            rushes_up(tmp, port, RUSHES_OIDC_ISSUER=issuer, RUSHES_OIDC_CLIENT_ID=CLIENT_ID,
                      RUSHES_OIDC_CLIENT_SECRET=CLIENT_SECRET, RUSHES_OIDC_SCOPES="openid profile email groups",
                      RUSHES_OIDC_LABEL="the newsroom account",
                      RUSHES_OIDC_GROUP_ROLES='{"rushes-editors": "editor"}',
                      RUSHES_OIDC_GROUP_COLLECTIONS='{"news-desk": ["default"]}') as (base, token, data):
        clip = make_clip(tmp / "C001.mov", seconds=3, size="640x360", timecode="10:00:00:00", pattern="smptebars")
        shutil.copyfile(clip, data / "watch" / "default" / "C001.mov")
        server = Server(base, token, data, 0, tmp)
        server.asset_id = _wait_ready(server, "C001.mov")["id"]
        yield server


def _with_password(server: Server, name: str, role: str) -> None:
    server.token_for(name, role)  # the user, with a grant on the default collection
    answer = httpx.put(f"{server.base}/api/v1/users/{name}/password", json={"password": PASSWORD},
                       headers=server.headers(), timeout=10)
    answer.raise_for_status()


def _password_page(browser: Any, server: Server, path: str = "/library") -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{server.base}{path}")
    assert "/login" in page.url
    return page


def _sign_in(page: Any, name: str, password: str) -> None:
    page.fill("#user", name)
    page.fill("#password", password)
    page.click("#password-signin button[type=submit]")


def test_a_person_signs_in_with_a_name_and_password(browser: Any, server: Server) -> None:
    _with_password(server, "edith", "editor")
    page = _password_page(browser, server, f"/assets/{server.asset_id}")
    _sign_in(page, "edith", PASSWORD)
    page.wait_for_url(f"**/assets/{server.asset_id}")  # back where she was going
    page.wait_for_selector("body[data-ready=true]")
    assert "edith" in page.inner_text("#me")


def test_repeated_wrong_passwords_lock_the_account_and_say_until_when(browser: Any, server: Server) -> None:
    _with_password(server, "rhea", "reviewer")
    page = _password_page(browser, server)
    for attempt in range(1, 5):
        _sign_in(page, "rhea", f"wrong guess {attempt}")
        page.wait_for_selector(f"#password-error:has-text('{5 - attempt} more attempt')")
    _sign_in(page, "rhea", "wrong guess 5")
    page.wait_for_selector("#password-error:has-text('locked until')")
    _sign_in(page, "rhea", PASSWORD)  # the right one, too late
    page.wait_for_selector("#password-error[data-status='429']:has-text('locked until')")
    assert "/login" in page.url


def test_an_editor_archives_and_restores_from_the_asset_page_and_a_hold_keeps_it(browser: Any,
                                                                                server: Server) -> None:
    from tests.conftest import wait_for

    _with_password(server, "ed", "editor")
    rendition = httpx.post(f"{server.base}/api/v1/assets/{server.asset_id}/renditions", json={"preset": "audio/mp3"},
                           headers=server.headers(), timeout=10).json()["id"]
    wait_for(lambda: server.get(f"/api/v1/renditions/{rendition}")["status"] == "ready", timeout=120,
             what="the rendition")
    page = _password_page(browser, server, f"/assets/{server.asset_id}")
    _sign_in(page, "ed", PASSWORD)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#storage[data-tier=library]")
    assert "in the library" in page.inner_text("#storage")
    page.check("#archive-renditions")  # the rendition goes with it
    page.click("#btn-archive")
    page.wait_for_selector("#storage[data-tier=archive][data-moving='']", timeout=60_000)
    assert "in the archive (archive)" in page.inner_text("#storage")
    assert "1 in the archive" in page.inner_text("#storage"), page.inner_text("#storage")
    assert page.locator("#btn-restore").is_visible() and not page.locator("#btn-archive").is_visible()
    # the proxy still plays from the library
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")  # its metadata loaded
    page.click("#btn-restore")
    page.wait_for_selector("#storage[data-tier=library][data-moving='']", timeout=60_000)
    assert "1 in the library" in page.inner_text("#storage")
    # a legal hold: the page says so and offers no archive
    hold = httpx.post(f"{server.base}/api/v1/holds", json={"asset_id": server.asset_id, "reason": "Case 9"},
                      headers=server.headers(), timeout=10)
    assert hold.status_code == 201, hold.text
    page.reload()
    page.wait_for_selector("#storage[data-tier=library]")
    assert "Case 9" in page.inner_text("#storage")
    assert page.locator("#btn-archive").is_disabled()


def test_an_editor_signs_on_through_the_newsroom_issuer(browser: Any, server: Server) -> None:
    page = _password_page(browser, server, f"/assets/{server.asset_id}")
    page.click("#sso-link:has-text('Sign in with the newsroom account')")
    # the issuer's own sign-in page, then its consent page
    page.wait_for_selector("input[name=login]")
    assert page.url.startswith(server.base.rsplit(":", 1)[0]) and "/interaction/" in page.url
    page.fill("input[name=login]", "ed.sso")
    page.fill("input[name=password]", "whatever the issuer takes")
    page.click("button[type=submit]")
    page.wait_for_selector("button[type=submit]:has-text('Continue')")
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_url(f"{server.base}/assets/{server.asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    assert "ed.sso" in page.inner_text("#me")
    assert page.locator("#render-form").is_visible(), "her group makes her an editor"
    # signing out ends her session at the issuer too (it asks to confirm), then she is back at the sign-in page
    page.click("#me button:has-text('Sign out')")
    page.wait_for_selector("button:has-text('Yes, sign me out')")
    assert "/session/end" in page.url
    page.click("button:has-text('Yes, sign me out')")
    page.wait_for_url(f"{server.base}/login")
    page.click("#sso-link")
    page.wait_for_selector("input[name=login]")  # the issuer asks who she is again: its session ended


def _tier(server: Server) -> str:
    return server.get(f"/api/v1/assets/{server.asset_id}/storage")["versions"][0]["tier"]


def test_an_editor_archives_a_library_selection_unless_a_hold_keeps_it(browser: Any, server: Server) -> None:
    from tests.conftest import wait_for

    holds = server.get(f"/api/v1/assets/{server.asset_id}/storage")["holds"]
    if not holds:  # the asset page's test placed one; alone, this test places its own
        httpx.post(f"{server.base}/api/v1/holds", json={"asset_id": server.asset_id, "reason": "Case 9"},
                   headers=server.headers(), timeout=10).raise_for_status()
    _with_password(server, "ed", "editor")
    page = _password_page(browser, server)
    _sign_in(page, "ed", PASSWORD)
    page.wait_for_url("**/library")
    box = page.locator(f"li.card[data-asset-id='{server.asset_id}'] input.pick")
    box.check()
    page.click("#archive-selected")
    page.wait_for_selector("#bulk-note:has-text('1 refused')")
    assert "legal hold" in page.inner_text("#bulk-note") and _tier(server) == "library"
    for hold in server.get(f"/api/v1/assets/{server.asset_id}/storage")["holds"]:
        httpx.post(f"{server.base}/api/v1/holds/{hold['id']}/lift", json={"reason": "settled"},
                   headers=server.headers(), timeout=10).raise_for_status()
    page.click("#archive-selected")
    page.wait_for_selector("#bulk-note:has-text('Archiving 1 original.')")
    wait_for(lambda: _tier(server) == "archive", timeout=60, what="the selection to be archived")
    page.click("#restore-selected")
    page.wait_for_selector("#bulk-note:has-text('Restoring 1 original.')")
    wait_for(lambda: _tier(server) == "library", timeout=60, what="the selection to be restored")


def test_an_admin_holds_and_an_editor_trashes_from_the_asset_page(browser: Any, server: Server) -> None:
    from tests.test_browser import _sign_in as sign_in_with_token

    page = sign_in_with_token(browser, server)  # the admin
    page.goto(f"{server.base}/assets/{server.asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    for hold in server.get(f"/api/v1/assets/{server.asset_id}/storage")["holds"]:  # earlier tests' holds
        httpx.post(f"{server.base}/api/v1/holds/{hold['id']}/lift", json={"reason": "settled"},
                   headers=server.headers(), timeout=10).raise_for_status()
    page.reload()
    page.wait_for_selector("#hold-form")
    page.fill("#hold-reason", "Case 31 v. Station")
    page.click("#hold-form button[type=submit]")
    page.wait_for_selector("#storage:has-text('Case 31 v. Station')")
    assert page.locator("#btn-trash").is_disabled()
    hold_id = server.get(f"/api/v1/assets/{server.asset_id}/storage")["holds"][0]["id"]
    httpx.post(f"{server.base}/api/v1/holds/{hold_id}/lift", json={"reason": "settled"}, headers=server.headers(),
               timeout=10).raise_for_status()
    # the editor moves it to the trash; it is gone from the library, and in the trash
    _with_password(server, "ed", "editor")
    editor = _password_page(browser, server, f"/assets/{server.asset_id}")
    _sign_in(editor, "ed", PASSWORD)
    editor.wait_for_selector("body[data-ready=true]")
    assert not editor.locator("#hold-form").is_visible(), "holds are admins'"
    editor.click("#btn-trash")
    editor.wait_for_selector("#storage-status:has-text('In the trash')")
    assert server.asset_id not in [a["id"] for a in server.get("/api/v1/assets")["assets"]]
    assert [a["asset_id"] for a in server.get("/api/v1/trash")["assets"]] == [server.asset_id]
    httpx.post(f"{server.base}/api/v1/trash/{server.asset_id}/recover", headers=server.headers(),
               timeout=10).raise_for_status()


def test_a_person_changes_her_password_on_her_account_page(browser: Any, server: Server) -> None:
    _with_password(server, "pat", "viewer")
    page = _password_page(browser, server)
    _sign_in(page, "pat", PASSWORD)
    page.wait_for_url("**/library")
    page.click("#me a[href='/account']")
    page.wait_for_url("**/account")
    page.fill("#current", "not the password")
    page.fill("#new", "my own new secret")
    page.fill("#again", "my own new secret")
    page.click("#change-password button[type=submit]")
    page.wait_for_selector("#change-error:has-text('current password is wrong')")
    page.fill("#current", PASSWORD)
    page.click("#change-password button[type=submit]")
    page.wait_for_selector("#changed:has-text('Your password is changed')")
    page.click("#changed a")
    page.wait_for_url("**/login")
    _sign_in(page, "pat", "my own new secret")
    page.wait_for_url("**/library")


def test_an_admin_holds_and_deletes_a_library_selection_and_empties_the_trash(browser: Any, server: Server) -> None:
    from tests.test_browser import _sign_in as sign_in_with_token

    clip = make_clip(server.tmp / "C002.mov", seconds=2, size="640x360", timecode="11:00:00:00", pattern="testsrc2")
    shutil.copyfile(clip, server.data / "watch" / "default" / "C002.mov")
    asset_id = _wait_ready(server, "C002.mov")["id"]
    page = sign_in_with_token(browser, server)  # the admin
    card = page.locator(f"li.card[data-asset-id='{asset_id}']")
    card.locator("input.pick").check()
    # a legal hold on the selection, then deleting it is refused and says why
    page.fill("#hold-reason", "Case 40 v. Station")
    page.click("#hold-selected")
    page.wait_for_selector("#bulk-note:has-text('Legal hold placed on 1 asset')")
    page.click("#delete-selected")
    page.wait_for_selector("#bulk-note:has-text('1 refused')")
    assert "legal hold" in page.inner_text("#bulk-note") and "Case 40" in page.inner_text("#bulk-note")
    assert asset_id in [a["id"] for a in server.get("/api/v1/assets")["assets"]]
    (hold,) = server.get(f"/api/v1/assets/{asset_id}/storage")["holds"]
    httpx.post(f"{server.base}/api/v1/holds/{hold['id']}/lift", json={"reason": "settled"},
               headers=server.headers(), timeout=10).raise_for_status()
    page.click("#delete-selected")
    page.wait_for_selector("#bulk-note:has-text('Moved 1 asset to the trash.')")
    card.wait_for(state="detached")

    # the trash page: take it out, it is back in the library
    page.click("#me a[href='/trash']")
    page.wait_for_url("**/trash")
    row = page.locator(f"#trash li[data-asset='{asset_id}']")
    row.wait_for()
    assert "C002.mov" in row.inner_text() and "Purged by the farm after" in row.inner_text()
    row.get_by_role("button", name="take C002.mov out of the trash").click()
    page.wait_for_selector("#live:has-text('C002.mov is back in the library.')")
    row.wait_for(state="detached")
    assert asset_id in [a["id"] for a in server.get("/api/v1/assets")["assets"]]

    # deleted again, and purged for good from the trash page (asked twice)
    httpx.request("DELETE", f"{server.base}/api/v1/assets/{asset_id}", headers=server.headers(),
                  timeout=10).raise_for_status()
    page.reload()
    row.get_by_role("button", name="purge C002.mov now").click()
    row.get_by_role("button", name="Purge for good").click()
    page.wait_for_selector("#live:has-text('C002.mov purged.')")
    row.wait_for(state="detached")
    assert httpx.get(f"{server.base}/api/v1/assets/{asset_id}", headers=server.headers(), timeout=10).status_code \
        == 404
    actions = {(e["action"], e["outcome"]) for e in server.get(f"/api/v1/audit?asset_id={asset_id}")["entries"]}
    assert {("legal hold", "allowed"), ("delete", "denied"), ("delete", "allowed"), ("purge", "allowed")} <= actions
