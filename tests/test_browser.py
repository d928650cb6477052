"""The review pages in a real headless Chromium (Debian's, driven by Playwright) against a real `rushes up`.

Set RUSHES_SCREENSHOTS=docs/screenshots to refresh the README's screenshots (`make screenshots`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from sqlalchemy import delete

from rushes.timecode import timecode_to_frames
from tests.browser_watch import watched
from tests.conftest import wait_for, wait_healthy
from tests.farmproc import RUSHES, free_port
from tests.media_fixtures import JFK, make_clip, make_language_switch, make_programme

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
# no background networking: this machine's closed network refuses Chromium's calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
WEB = "web/h264-720p"
RATE = 25


@dataclass
class Server:
    base: str
    token: str
    data: Path
    asset_id: int
    tmp: Path

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, token: str | None = None) -> Any:
        response = httpx.get(self.base + path, headers=self.headers(token), timeout=10)
        response.raise_for_status()
        return response.json()

    def token_for(self, name: str, role: str, collection: str = "default") -> str:
        """A person's token, made with the CLI as an admin would, with a grant on ``collection``."""
        def rushes(*args: str) -> str:
            return subprocess.run([RUSHES, "--data", str(self.data), *args], capture_output=True, text=True,
                                  check=True, env=_env()).stdout.strip()

        rushes("users", "add", name, "--role", role)
        rushes("users", "grant", name, "--collection", collection)
        return rushes("tokens", "create", "--user", name).split()[-1]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}


def _wait_ready(server: Server, name: str, timeout: float = 180) -> dict:
    def ready() -> dict | None:
        for asset in server.get("/api/v1/assets")["assets"]:
            if asset["name"] == name and asset["status"] in ("ready", "failed"):
                return asset
        return None

    asset = wait_for(ready, timeout=timeout, interval=0.5, what=f"{name} to be ingested")
    assert asset["status"] == "ready", asset["error"]
    return asset


@contextmanager
def rushes_up(tmp: Path, port: int | None = None, **settings: str) -> Iterator[tuple[str, str, Path]]:
    """A real `rushes up` (embedded farm, SQLite, default settings but the ``RUSHES_*`` given) with its data under
    ``tmp``: its address, the admin's token and the data folder; stopped (and the tail of its log printed)
    afterwards."""
    data, port = tmp / "data", port or free_port()
    log = (tmp / "up.log").open("wb")
    proc = subprocess.Popen([RUSHES, "up", "--port", str(port), "--data", str(data)], stdout=log,
                            stderr=subprocess.STDOUT, env={**_env(), **settings})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base, (data / "admin.token").read_text().strip(), data
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        print((tmp / "up.log").read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`rushes up` with an 11 s programme whose sound is JFK's speech."""
    tmp = tmp_path_factory.mktemp("browser")
    with rushes_up(tmp) as (base, token, data):
        programme = make_programme(tmp, JFK)
        shutil.copyfile(programme, data / "watch" / "default" / "interview.mov")
        server = Server(base, token, data, 0, tmp)
        server.asset_id = _wait_ready(server, "interview.mov")["id"]
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (make test does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield watched(chromium)  # what it did goes into a failed test's report (tests/conftest.py)
        chromium.close()


def _sign_in(browser: Any, server: Server, token: str | None = None) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))  # type: ignore[attr-defined]
    page.goto(f"{server.base}/library")
    assert "/login" in page.url, "the pages ask who you are first"
    page.click("#token-way summary")  # the token is the second way in, after a name and password
    page.fill("#token", token or server.token)
    page.click("#signin button[type=submit]")
    page.wait_for_url("**/library")
    return page


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    page = _sign_in(browser, server)
    yield page
    assert not page.problems, f"script errors on the page: {page.problems}"
    page.context.close()


def _shot(page: Any, name: str, tmp: Path) -> None:
    folder = Path(os.environ.get("RUSHES_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=name != "library")


def _timecode(page: Any) -> str:
    return page.text_content("#tc").strip()


def _frame_after(tc: str, frames: int) -> str:
    from rushes.timecode import frames_to_timecode

    return frames_to_timecode(timecode_to_frames(tc, RATE) + frames, RATE)


def test_a_wrong_token_is_refused_in_words(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.base}/assets/{server.asset_id}")
    assert "/login" in page.url
    page.click("#token-way summary")
    page.fill("#token", "rsh_not-a-real-token")
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('unknown, expired or revoked token')")
    context.close()


def test_find_watch_comment_approve_render_download(page: Any, server: Server, tmp_path: Path) -> None:
    # the library: the asset with its poster, duration, source timecode and status
    card = page.locator(f"li.card[data-asset-id='{server.asset_id}']")
    card.wait_for()
    assert "interview.mov" in card.text_content() and "01:00:00:00" in card.text_content()
    assert card.locator(".status").text_content() == "ready"
    poster = card.locator("img")
    poster.wait_for()  # the poster loads on its own after the card appears: wait for it, then check it is a picture
    page.wait_for_function("img => img.complete", arg=poster.element_handle(), timeout=30_000)
    assert poster.evaluate("img => img.naturalWidth > 0"), f"the poster did not load: {poster.get_attribute('src')}"
    _shot(page, "library", tmp_path)

    # search a spoken word; the hit opens the asset at the hit's timecode
    page.fill("#q", "country")
    page.press("#q", "Enter")
    hit = page.locator(f".hit a[href^='/assets/{server.asset_id}?']").filter(
        has_text="ask what you can do for your country")
    hit.wait_for()
    hit_tc = hit.locator(".tc").text_content().strip()
    assert re.fullmatch(r"01:00:0\d:\d\d", hit_tc) and hit_tc != "01:00:00:00"
    _shot(page, "search", tmp_path)
    hit.click()
    page.wait_for_selector("body[data-ready=true]")
    assert f"/assets/{server.asset_id}" in page.url
    assert _timecode(page) == hit_tc
    page.wait_for_selector("#transcript li.current:has-text('your country')")

    # frame-accurate controls: one frame each way, a second with Shift, and the picture really moved
    page.locator("#player").focus()
    page.keyboard.press("ArrowRight")
    assert _timecode(page) == _frame_after(hit_tc, 1)
    page.click("#btn-back")
    page.click("#btn-back")
    assert _timecode(page) == _frame_after(hit_tc, -1)
    page.keyboard.press("Shift+ArrowRight")
    assert _timecode(page) == _frame_after(hit_tc, RATE - 1)
    for _ in range(6):  # quick steps: a late-presented frame must not pull the timecode back
        page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(300)
    assert _timecode(page) == _frame_after(hit_tc, RATE - 7)
    page.wait_for_function("() => !document.getElementById('player').seeking")
    shown = page.evaluate("() => document.getElementById('player').currentTime")
    frame = timecode_to_frames(_timecode(page), RATE) - timecode_to_frames("01:00:00:00", RATE)
    assert frame / RATE <= shown < (frame + 1) / RATE, "the player shows the frame the timecode names"

    # jump to a timecode: the slate's scene is highlighted in the strip
    page.fill("#jump-tc", "01:00:04:10")
    page.press("#jump-tc", "Enter")
    assert _timecode(page) == "01:00:04:10"
    assert page.locator("#scenes li.current .tc").text_content() == "01:00:04:00"
    page.locator("#player").focus()

    # J/K/L: L plays, K stops; time moved forwards
    page.keyboard.press("l")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.wait_for_timeout(400)
    page.keyboard.press("k")
    page.wait_for_function("() => document.getElementById('player').paused")
    after_play = _timecode(page)
    assert timecode_to_frames(after_play, RATE) > timecode_to_frames("01:00:04:10", RATE)
    page.keyboard.press("j")
    page.wait_for_timeout(300)
    page.keyboard.press("k")
    assert timecode_to_frames(_timecode(page), RATE) < timecode_to_frames(after_play, RATE)

    # a comment at this frame shows as a marker on the timeline and in the list with its timecode
    page.fill("#jump-tc", "01:00:05:00")
    page.press("#jump-tc", "Enter")
    page.fill("#comment-text", "Slate is upside down? Check the take number.")
    page.click("#comment-form button[type=submit]")
    marker = page.locator("#timeline-comments .marker[data-frame='125']")
    marker.wait_for()
    assert "01:00:05:00" in marker.get_attribute("aria-label")
    assert page.locator("#comments li.comment").first.locator(".tc").text_content().startswith("01:00:05:00")
    page.click("#btn-start")
    marker.click()
    assert _timecode(page) == "01:00:05:00"
    thread = page.locator("#comments li.comment").first
    thread.get_by_role("button", name="Reply").click()
    thread.locator("form.reply textarea").fill("Fixed in take 4.")
    thread.locator("form.reply button[type=submit]").click()
    page.wait_for_selector("#comments .replies li:has-text('Fixed in take 4.')")
    page.locator("#comments li.comment").first.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("#comments li.comment.resolved:has-text('resolved by admin')")
    page.wait_for_selector("#timeline-comments .marker.resolved[data-frame='125']")

    # collections: add the asset to another one from the page, then take it out again
    page.fill("#collection-name", "promo")
    page.click("#collection-form button[value=false]")
    page.wait_for_selector("#collections li[data-collection='promo']")
    page.click("#collections li[data-collection='promo'] button")
    page.wait_for_selector("#collections li[data-collection='promo']", state="detached")

    # approve: the review status follows the rule (one approval by default)
    page.fill("#review-note", "Good to go.")
    page.click("#btn-approve")
    page.wait_for_selector("#review-status .review-approved")
    page.wait_for_selector("#delivery-state .ok")

    # render a web preset from the delivery panel, see its QC report, download it
    page.select_option("#preset", WEB)
    page.click("#render-form button[type=submit]")
    rendition = page.locator(f"#renditions li[data-preset='{WEB}']")
    rendition.locator("a.download").wait_for(timeout=180_000)
    assert "QC passed" in rendition.locator("details.qc summary").text_content()
    _shot(page, "asset", tmp_path)
    with page.expect_download() as download_info:
        rendition.locator("a.download").click()
    saved = tmp_path / "download.mp4"
    download_info.value.save_as(saved)
    with av.open(str(saved)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and video.height == 720
        assert abs(float(container.duration / 1_000_000) - 11.0) < 0.2


def test_the_library_shows_a_new_file_and_its_progress_without_a_reload(page: Any, server: Server) -> None:
    page.wait_for_selector(f"li.card[data-asset-id='{server.asset_id}']")
    clip = make_clip(server.tmp / "B002.mov", seconds=4, size="640x360", timecode="12:00:00:00")
    shutil.copyfile(clip, server.data / "watch" / "default" / "B002.mov")
    card = page.locator("li.card").filter(has_text="B002.mov")
    card.wait_for(timeout=60_000)
    page.wait_for_selector("li.card[data-status='ready']:has-text('B002.mov')", timeout=120_000)
    assert "12:00:00:00" in card.text_content()


def test_a_sound_only_asset_shows_its_waveform_and_no_broken_picture(page: Any, server: Server) -> None:
    shutil.copyfile(JFK, server.data / "watch" / "default" / "speech.flac")
    asset = _wait_ready(server, "speech.flac")
    assert asset["media"] == "audio" and asset["poster_url"] is None, "no poster URL for a file without pictures"
    assert asset["waveform_url"], "the waveform stands in for the poster"
    for url in (asset["waveform_url"], *(a["poster_url"] for a in server.get("/api/v1/assets")["assets"])):
        if url:  # every advertised picture answers
            assert httpx.get(server.base + url, headers=server.headers(), timeout=10).status_code == 200, url

    page.reload()
    card = page.locator(f"li.card[data-asset-id='{asset['id']}']")
    card.locator("img.waveform").wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('li.card img')].every(i => i.complete)")
    broken = page.eval_on_selector_all("li.card img", "imgs => imgs.filter(i => !i.naturalWidth).map(i => i.src)")
    assert broken == [], f"broken pictures in the library: {broken}"
    _shot(page, "library-sound", server.tmp)

    page.goto(f"{server.base}/assets/{asset['id']}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#player", "poster") == asset["waveform_url"]
    assert page.is_visible("#waveform") and page.is_hidden("#contact-sheet"), "no link to a contact sheet never made"


def test_a_proxy_the_browser_cannot_play_is_said_and_the_page_still_works(page: Any, server: Server) -> None:
    # what reaches the browser is not a film (a proxy damaged on its storage, a proxy in front that answers junk)
    page.route("**/api/v1/versions/*/proxy", lambda route: route.fulfill(status=200, content_type="video/mp4",
                                                                         body=b"not a film at all" * 64))
    page.goto(f"{server.base}/assets/{server.asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#problems li:has-text('the proxy could not be played')")
    assert page.locator("#comment-form").is_visible() and page.locator("#scenes li").count() > 0, "the rest is there"
    page.unroute("**/api/v1/versions/*/proxy")


def test_footage_that_switches_language_shows_each_lines_language(page: Any, server: Server) -> None:
    # Given a recording in English then German (JFK, then a German reading by espeak-ng), nobody saying which
    make_language_switch(server.tmp / "bilingual.wav")
    shutil.copyfile(server.tmp / "bilingual.wav", server.data / "watch" / "default" / "bilingual.wav")
    asset = _wait_ready(server, "bilingual.wav")
    # When its page opens
    page.goto(f"{server.base}/assets/{asset['id']}")
    page.wait_for_selector("body[data-ready=true]")
    # Then the transcript says both languages, and each line carries its own (marked up for the browser too)
    assert page.text_content("#transcript-info").startswith("en, de")
    german = page.locator("#transcript button.line[lang=de]")
    german.first.wait_for()
    assert german.first.locator(".lang").text_content() == "de"
    assert "Guten Abend" in german.first.text_content()
    assert page.locator("#transcript button.line[lang=en]").first.locator(".lang").text_content() == "en"
    assert not page.problems  # type: ignore[attr-defined]


def test_a_viewer_is_offered_only_what_a_viewer_may_do(browser: Any, server: Server) -> None:
    page = _sign_in(browser, server, server.token_for("vera", "viewer"))
    page.goto(f"{server.base}/assets/{server.asset_id}")
    page.wait_for_selector("body[data-ready=true]")
    for form in ("#comment-form", "#review-form", "#render-form", "#collection-form"):
        assert not page.locator(form).is_visible(), form
    page.wait_for_selector("#comments-section-note, p:has-text('may read comments, not write them')")
    refused = page.evaluate("""async () => {
        const csrf = document.cookie.match(/rushes_csrf=([^;]+)/)[1];
        const r = await fetch(location.pathname.replace('/assets/', '/api/v1/assets/') + '/versions/1/reviews',
            {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
             body: JSON.stringify({decision: 'approve'})});
        return [r.status, (await r.json()).error];
    }""")
    assert refused[0] == 403 and "role 'viewer' may not approve" in refused[1]
    page.fill("#jump-tc", "02:00:00:00")
    page.press("#jump-tc", "Enter")
    page.wait_for_selector("#problems li:has-text('outside this clip')")
    page.context.close()


def test_the_pages_timecode_maths_matches_the_catalogs(page: Any) -> None:
    """static/js/timecode.js against rushes/timecode.py, drop-frame included."""
    from rushes.timecode import frames_to_timecode

    cases = [(frames, rate, drop) for rate, drop in (("25", False), ("30000/1001", True), ("60000/1001", True),
                                                     ("24000/1001", False), ("30000/1001", False))
             for frames in (0, 1, 1799, 1800, 1801, 17982, 17983, 107892, 2589407, 5178815)]
    got = page.evaluate("""async (cases) => {
        const tc = await import('/static/js/timecode.js');
        return cases.map(([frames, rate, drop]) => {
            const label = tc.framesToTimecode(frames, rate, drop);
            return [label, tc.timecodeToFrames(label, rate, drop)];
        });
    }""", [list(c) for c in cases])
    for (frames, rate, drop), (label, back) in zip(cases, got, strict=True):
        from fractions import Fraction

        expected = frames_to_timecode(frames, Fraction(rate), drop)
        assert label == expected, (frames, rate, drop)
        assert back == timecode_to_frames(expected, Fraction(rate), drop) , (frames, rate, drop)


def test_the_page_puts_a_catalog_time_on_the_frame_the_catalog_labels(page: Any) -> None:
    """A time on half a frame (8.02 s at 25 fps: a transcript line, a search hit) must open on the frame whose
    timecode the catalog printed; float rounding in the page once landed one frame later."""
    from fractions import Fraction

    cases = [(seconds, rate) for rate in ("25", "30000/1001", "24000/1001", "50")
             for seconds in (0.0, 0.02, 0.06, 8.02, 8.06, 1.5, 3.7036, 10.01, 59.98, 3600.02, 0.5 / 29.97)]
    got = page.evaluate("""async (cases) => {
        const tc = await import('/static/js/timecode.js');
        return cases.map(([seconds, rate]) => tc.nearestFrame(seconds, rate));
    }""", [list(c) for c in cases])
    expected = [round(Fraction(seconds) * Fraction(rate)) for seconds, rate in cases]
    assert got == expected


def test_rights_show_on_the_asset_page_and_what_expires_on_the_library(page: Any, server: Server) -> None:
    from datetime import UTC, datetime, timedelta

    target = httpx.post(f"{server.base}/api/v1/targets", headers=server.headers(), timeout=10,
                        json={"name": "us-web", "kind": "pull", "presets": [WEB], "territory": "US"})
    assert target.status_code == 201, target.text
    ends = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    saved = httpx.put(f"{server.base}/api/v1/assets/{server.asset_id}/rights", headers=server.headers(), timeout=10,
                      json={"licence": "Getty RM", "territories": ["GB"], "window_end": ends})
    assert saved.status_code == 200, saved.text

    page.goto(f"{server.base}/library")
    notice = page.locator("#expiring")
    notice.locator(f"li[data-asset-id='{server.asset_id}']").wait_for()
    assert ends in notice.text_content() and "Getty RM" in notice.text_content()
    notice.get_by_role("link", name="interview.mov").click()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#rights dd:has-text('Getty RM')")
    assert "The asset's rights" in page.text_content("#rights-level")
    page.wait_for_selector("#rights-targets li[data-target='us-web']:has-text(\"territory 'US' not licensed\")")

    # an editor's form: a bad code is refused in words, a good one changes the verdict
    page.click("#rights-edit summary")
    assert page.input_value("#rights-licence") == "Getty RM" and page.input_value("#rights-end") == ends
    page.fill("#rights-territories", "GB, XX")
    page.click("#rights-form button[type=submit]")
    page.wait_for_selector("#problems li:has-text(\"territory 'XX' is not an ISO 3166-1 alpha-2 country code\")")
    page.fill("#rights-territories", "gb us")
    page.click("#rights-form button[type=submit]")
    page.wait_for_selector("#rights-targets li[data-target='us-web']:has-text('✓ allowed')")
    assert page.text_content("#rights dd:nth-of-type(4)") == "GB, US"


def test_the_farm_page_shows_workers_their_steps_and_failures_live(page: Any, server: Server, browser: Any) -> None:
    page.click("#me a:has-text('Farm')")
    page.wait_for_url("**/farm")
    row = page.locator("#workers tr[data-state='alive']")
    row.wait_for()
    assert "pid" in row.text_content() and "proxy" in row.text_content(), "the embedded worker takes every queue"
    assert page.locator("#queues tr[data-queue='proxy']").count() == 1
    # a big camera file still being copied in shows under Arriving, before it has an asset; gone once copied
    from catalog.models import Incoming
    from pipeline.farm import Farm
    from rushes.settings import load_settings

    catalog = Farm(load_settings(data_dir=server.data))
    with catalog.transaction() as session:
        session.add(Incoming(name="A002C001_big.mxf", folder="default", size=80_000_000_000,
                             copied=20_000_000_000, process="camera-cart/1/x"))
    page.wait_for_selector("#arriving li:has-text('A002C001_big.mxf')", timeout=10_000)
    assert "20.0 of 80.0 GB copied" in page.text_content("#arriving")
    with catalog.transaction() as session:
        session.execute(delete(Incoming))
    page.wait_for_selector("#arriving-section", state="hidden", timeout=10_000)
    catalog.close()
    # a file under way shows in its worker's row with its step and progress, without a reload
    clip = make_clip(server.tmp / "C003.mov", seconds=30, size="1280x720", timecode="13:00:00:00")
    shutil.copyfile(clip, server.data / "watch" / "default" / "C003.mov")
    page.wait_for_selector("#workers tr[data-state='alive'] .held:has-text('C003.mov')", timeout=60_000)
    # a file that is not media fails with its reason, and the retry button queues it again
    (server.data / "watch" / "default" / "notes.mov").write_bytes(b"these are not pictures\n" * 40)
    failed = page.locator("#failures li").filter(has_text="notes.mov")
    failed.wait_for(timeout=60_000)
    assert "probe" in failed.text_content()
    _shot(page, "farm", server.tmp)
    failed.locator("button:has-text('Retry')").click()
    page.wait_for_selector("#note:has-text('notes.mov: re-queued probe')")
    assert page.locator("#throughput li").count() == 12  # five-minute bars over the hour
    assert "step(s) finished" in page.text_content("#throughput-summary")

    editor = _sign_in(browser, server, server.token_for("eddie", "editor"))
    assert not editor.locator("#me a:has-text('Farm')").count(), "only admins are offered the Farm page"
    reply = editor.goto(f"{server.base}/farm")
    assert reply.status == 403
    editor.context.close()
