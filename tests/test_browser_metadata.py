"""The team's own metadata in the review pages, in a real headless Chromium against a real `rushes up`.

Three small clips arrive with JSON sidecars (production and camera; the third one's camera is not in the
vocabulary, so it is kept aside). The asset page edits the views, tells a stale save who changed what, shows what
needs attention, and logs ranges at the player; the library narrows by facets and field terms and edits a selection.
Set RUSHES_SCREENSHOTS=docs/screenshots to refresh the screenshots of these features.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import test_browser
from tests.media_fixtures import make_clip
from tests.test_browser import Server, _wait_ready, rushes_up

pytestmark = pytest.mark.slow
# the browser fixtures of tests/test_browser.py (Debian's Chromium; a signed-in admin's page on this module's server)
browser = test_browser.browser
page = test_browser.page
CLIPS = {  # name: (test pattern, sidecar)
    "A001.mov": ("testsrc2", {"production": "Derby Day", "camera": "A cam"}),
    "A002.mov": ("smptebars", {"production": "Derby Day", "camera": "B cam"}),
    "A003.mov": ("rgbtestsrc", {"production": "Derby Day", "camera": "Z cam"}),  # not a camera of the vocabulary
}


@dataclass
class Library(Server):
    ids: dict[str, int] = field(default_factory=dict)

    def metadata(self, name: str, token: str | None = None) -> dict[str, Any]:
        return self.get(f"/api/v1/assets/{self.ids[name]}/metadata", token)

    def values(self, name: str) -> dict[str, Any]:
        return {f["key"]: f["value"] for v in self.metadata(name)["views"] for f in v["fields"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """`rushes up` (embedded farm, SQLite, the bundled metadata schema) with three 4 s clips and their sidecars."""
    tmp = tmp_path_factory.mktemp("browser-metadata")
    with rushes_up(tmp) as (base, token, data):
        watch = data / "watch" / "default"
        for name, (pattern, sidecar) in CLIPS.items():
            clip = make_clip(tmp / name, seconds=4, size="640x360", timecode="10:00:00:00", pattern=pattern)
            (watch / f"{name}.json").write_text(json.dumps(sidecar))  # the sidecar first: it goes in with the file
            shutil.copyfile(clip, watch / name)
        server = Library(base, token, data, 0, tmp)
        server.ids = {name: _wait_ready(server, name)["id"] for name in CLIPS}
        server.asset_id = server.ids["A001.mov"]
        yield server


def _shot(name: str, tmp: Path, *parts: Any) -> None:
    """A screenshot of the page's area that holds ``parts`` (locators)."""
    folder = Path(os.environ.get("RUSHES_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    page = parts[0].page
    boxes = [part.bounding_box() for part in parts]  # in the viewport: the clip is on the whole page
    dx, dy = page.evaluate("() => [window.scrollX, window.scrollY]")
    left, top = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    right, bottom = max(b["x"] + b["width"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True,
                    clip={"x": left + dx, "y": top + dy, "width": right - left, "height": bottom - top})


def _open(page: Any, server: Library, name: str) -> None:
    page.goto(f"{server.base}/assets/{server.ids[name]}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#metadata-section[data-revision]")


def _cards(page: Any) -> list[str]:
    return [name.strip() for name in page.locator("#grid li.card h3").all_text_contents()]


def _wait_cards(page: Any, count: int) -> list[str]:
    page.wait_for_function(f"() => document.querySelectorAll('#grid li.card').length === {count}")
    return _cards(page)


def test_a_view_edited_on_the_asset_page_is_there_after_a_reload(page: Any, server: Library) -> None:
    _open(page, server, "A001.mov")
    revision = server.metadata("A001.mov")["revision"]
    # the sidecar's values, in the control of each field's type
    assert page.input_value("#md-production") == "Derby Day"
    assert page.input_value("#md-camera") == "A cam"
    assert page.locator("#md-camera option").all_text_contents()[:3] == ["–", "A cam", "B cam"]
    assert page.get_attribute("#md-episode", "type") == "number"
    assert page.get_attribute("#md-shoot_date", "type") == "date"
    assert page.get_attribute("#md-source_url", "type") == "url"
    assert page.evaluate("() => document.getElementById('md-graded').indeterminate"), "an unset yes/no shows unset"
    assert page.locator("#md-usage_notes").evaluate("e => e.tagName") == "TEXTAREA"
    assert "Sport > Football > Goal" in page.locator("#md-subject option").all_text_contents()

    page.fill("#md-location", "Anfield")
    page.fill("#md-episode", "3")
    page.fill("#md-shoot_date", "2026-11-03")
    # a user field offers the team's people as the name is typed
    people = page.get_attribute("#md-producer", "list")
    assert people and "admin" in page.locator(f"#{people} option").evaluate_all("o => o.map(x => x.value)")
    page.fill("#md-producer", "admin")
    page.select_option("#md-subject", "Sport > Football > Goal")
    page.check("fieldset[data-field=talent] input[value=Presenter]")
    page.check("fieldset[data-field=talent] input[value=Guest]")
    page.check("#md-graded")
    page.fill("#md-usage_notes", "News use only.\nNo archive sales.")
    page.fill("#md-source_url", "not a link")
    page.click("#metadata-form button[type=submit]")
    # a value the schema refuses is told beside its field, and nothing is saved
    page.wait_for_selector("#md-source_url-error:has-text('http(s) URL')")
    assert page.get_attribute("#md-source_url", "aria-invalid") == "true"
    assert server.metadata("A001.mov")["revision"] == revision

    page.fill("#md-source_url", "https://example.com/derby")
    page.click("#metadata-form button[type=submit]")
    page.wait_for_selector("#metadata-saved:has-text('Saved (revision')")
    assert page.is_hidden("#md-source_url-error")
    _shot("asset-metadata", server.tmp, page.locator("#metadata-section"))

    page.reload()
    page.wait_for_selector("#metadata-section[data-revision]")
    assert page.input_value("#md-location") == "Anfield"
    assert page.input_value("#md-episode") == "3"
    assert page.input_value("#md-shoot_date") == "2026-11-03"
    assert page.input_value("#md-subject") == "Sport > Football > Goal"
    assert page.input_value("#md-source_url") == "https://example.com/derby"
    assert page.input_value("#md-producer") == "admin"
    assert page.input_value("#md-usage_notes") == "News use only.\nNo archive sales."
    assert page.is_checked("#md-graded")
    talent = page.locator("fieldset[data-field=talent] input:checked")
    assert sorted(talent.evaluate_all("boxes => boxes.map(b => b.value)")) == ["Guest", "Presenter"]
    values = server.values("A001.mov")
    assert (values["location"], values["episode"], values["graded"]) == ("Anfield", 3, True)
    assert values["camera"] == "A cam", "a field left alone is not sent"


def test_a_stale_save_says_who_changed_what_and_writes_over_nothing(page: Any, server: Library) -> None:
    _open(page, server, "A002.mov")
    # someone else saves while the form is open
    eddie = server.token_for("eddie", "editor")
    revision = server.metadata("A002.mov", eddie)["revision"]
    saved = httpx.patch(f"{server.base}/api/v1/assets/{server.ids['A002.mov']}/metadata", timeout=10,
                        headers=server.headers(eddie), json={"revision": revision, "set": {"location": "Salford"}})
    assert saved.status_code == 200, saved.text

    page.fill("#md-location", "Leeds")
    page.click("#metadata-form button[type=submit]")
    conflict = page.locator("#metadata-conflict")
    conflict.wait_for()
    text = conflict.text_content()
    assert "Not saved" in text and "eddie set Location to “Salford”" in text, text
    assert "Your changes (not saved): Location → “Leeds”" in text
    assert server.values("A002.mov")["location"] == "Salford", "their value stands"

    page.click("#metadata-reload")
    page.wait_for_selector("#metadata-conflict", state="hidden")
    assert page.input_value("#md-location") == "Salford"
    page.fill("#md-location", "Leeds")  # now knowingly
    page.click("#metadata-form button[type=submit]")
    page.wait_for_selector("#metadata-saved:has-text('Saved (revision')")
    assert server.values("A002.mov")["location"] == "Leeds"


def test_a_value_kept_aside_at_ingest_needs_attention_until_resolved(page: Any, server: Library) -> None:
    assert _wait_cards(page, 3)
    page.check("#attention")
    assert _wait_cards(page, 1) == ["A003.mov"]

    _open(page, server, "A003.mov")
    kept = page.locator("#metadata-attention li[data-field=camera]")
    kept.wait_for()
    assert page.text_content("#metadata-attention h3") == "Metadata needs attention"
    assert kept.locator("q").text_content() == "Z cam"
    assert "A003.mov.json" in kept.locator(".source").text_content()
    assert "allowed: A cam" in kept.locator(".reason").text_content()
    kept.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("#metadata-attention", state="hidden")
    assert server.metadata("A003.mov")["needs_attention"] is False

    page.goto(f"{server.base}/library")
    page.check("#attention")
    page.wait_for_selector("#no-match:not([hidden])")
    assert _cards(page) == []


def test_a_range_logged_at_the_player_is_listed_at_its_timecodes(page: Any, server: Library) -> None:
    _open(page, server, "A001.mov")
    page.fill("#jump-tc", "10:00:00:10")
    page.press("#jump-tc", "Enter")
    page.click("#btn-mark-in")
    assert page.text_content("#log-in") == "10:00:00:10"
    page.locator("#player").focus()
    page.keyboard.press("Shift+ArrowRight")  # one second on
    page.keyboard.press("ArrowRight")
    assert page.text_content("#tc") == "10:00:01:11"
    page.click("#btn-mark-out")
    assert page.text_content("#log-out") == "10:00:01:11"
    assert page.is_visible("#timeline-log-range")
    page.select_option("#range-moment", "Sport > Football > Goal")
    page.check("fieldset[data-field=players] input[value=Guest]")
    page.fill("#range-note", "Header from the corner")
    page.click("#log-form button[type=submit]")

    logged = page.locator("#logs li.log").filter(has_text="10:00:00:10 – 10:00:01:11")
    try:  # longer than the server's own wait for SQLite's write lock (30 s), so a loaded farm is told from a bug
        logged.wait_for(timeout=60_000)
    except Exception as err:  # say what the page said instead of only that the range never showed
        shown = page.evaluate("() => ['log-status', 'logs', 'problems', 'log-in', 'log-out']"
                              ".map((id) => `${id}: ${(document.getElementById(id) || {}).textContent}`)")
        raise AssertionError(f"not listed at {page.url}: {shown}") from err
    assert "Moment: Sport > Football > Goal" in logged.text_content()
    assert "Players: Guest" in logged.text_content() and "Note: Header from the corner" in logged.text_content()
    assert page.text_content("#log-in") == "–" and page.input_value("#range-note") == "", "the form is ready again"
    (log,) = server.get(f"/api/v1/assets/{server.ids['A001.mov']}/logs?version=1")["logs"]
    assert (log["in_frame"], log["out_frame"]) == (10, 36)
    assert log["values"] == {"moment": "Sport > Football > Goal", "players": ["Guest"],
                             "note": "Header from the corner"}

    # the range is on the timeline; the list and the mark seek the player to its in point
    mark = page.locator("#timeline-logs .logmark[data-frame='10']")
    assert "10:00:00:10" in mark.get_attribute("aria-label")
    page.click("#btn-end")
    logged.get_by_role("button", name="go to 10:00:00:10").click()
    assert page.text_content("#tc") == "10:00:00:10"
    page.click("#btn-end")
    mark.click()
    assert page.text_content("#tc") == "10:00:00:10"
    _shot("asset-logging", server.tmp, page.locator("section.player"), page.locator("#logging-section"))

    # logging moved the asset's revision; the open form still saves (only logged ranges changed since)
    page.fill("#md-location", "Anfield Road")
    page.click("#metadata-form button[type=submit]")
    page.wait_for_selector("#metadata-saved:has-text('Saved (revision')")
    assert page.is_hidden("#metadata-conflict")
    assert server.values("A001.mov")["location"] == "Anfield Road"

    # the range edited: its marks and values back in the form, the out point moved, a player added, the note cleared
    logged.get_by_role("button", name="edit the logged range 10:00:00:10 – 10:00:01:11").click()
    assert page.text_content("#log-in") == "10:00:00:10" and page.text_content("#log-out") == "10:00:01:11"
    assert page.input_value("#range-note") == "Header from the corner"
    assert page.text_content("#btn-save-log").startswith("Save changes to 10:00:00:10")
    assert "editing" in (logged.get_attribute("class") or "")
    page.locator("#player").focus()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")  # two seconds after the in point: 10:00:02:10
    page.click("#btn-mark-out")
    page.check("fieldset[data-field=players] input[value=Presenter]")
    page.fill("#range-note", "")
    page.click("#btn-save-log")
    changed = page.locator("#logs li.log").filter(has_text="10:00:00:10 – 10:00:02:10")
    changed.wait_for()
    assert "Players: Presenter, Guest" in changed.text_content() and "Note" not in changed.text_content()
    assert page.text_content("#btn-save-log") == "Save logged range" and page.is_hidden("#btn-cancel-log-edit")
    (log,) = server.get(f"/api/v1/assets/{server.ids['A001.mov']}/logs?version=1")["logs"]
    assert (log["in_frame"], log["out_frame"]) == (10, 60)
    assert log["values"] == {"moment": "Sport > Football > Goal", "players": ["Presenter", "Guest"]}


def test_three_assets_edited_at_once_from_the_library(page: Any, server: Library) -> None:
    assert _wait_cards(page, 3)
    for box in page.locator("#grid input.pick").all():
        box.check()
    assert page.text_content("#selected-count") == "3 selected"
    page.select_option("#bulk-field", "talent")
    page.select_option("#bulk-op", "add")
    page.select_option("#bulk-value", "Crowd")
    page.click("#bulk-apply")
    page.wait_for_selector("#bulk-note:has-text('“Crowd” added to Talent on 3 assets.')")
    for name in CLIPS:
        assert "Crowd" in server.values(name)["talent"], name
    # the facets count again: Crowd on all three
    page.wait_for_selector(".facet[data-field=talent] button[data-value=Crowd] .count:text-is('3')")

    # a value that does not fit changes nothing, and says why
    page.select_option("#bulk-field", "source_url")
    page.select_option("#bulk-op", "set")
    page.fill("#bulk-value", "not a link")
    page.click("#bulk-apply")
    page.wait_for_selector("#bulk-note:has-text('Nothing changed: source_url takes an http(s) URL')")
    assert all(server.values(name)["source_url"] in (None, "https://example.com/derby") for name in CLIPS)


def test_a_facet_narrows_the_library_and_a_wrong_term_is_told(page: Any, server: Library) -> None:
    assert _wait_cards(page, 3)
    a_cam = page.locator(".facet[data-field=camera] button[data-value='A cam']")
    assert a_cam.locator(".count").text_content() == "1"
    assert page.locator(".facet[data-field=production] button[data-value='Derby Day'] .count").text_content() == "3"
    _shot("library-facets", server.tmp, page.locator("main"))
    a_cam.click()
    assert _wait_cards(page, 1) == ["A001.mov"]
    assert page.input_value("#fq") == 'camera:"A cam"'
    page.wait_for_selector(".facet[data-field=camera] button[data-value='A cam'][aria-pressed=true]")
    assert "fq=camera" in page.url, "the filter is in the address: a reload keeps it"
    page.reload()
    assert _wait_cards(page, 1) == ["A001.mov"]

    # clicking the value again takes its term out
    page.click(".facet[data-field=camera] button[data-value='A cam']")
    assert len(_wait_cards(page, 3)) == 3
    assert page.input_value("#fq") == ""

    # field terms typed in the box; a value the schema does not know is told beside the box
    page.fill("#fq", 'production:"Derby Day" camera:"B cam"')
    page.press("#fq", "Enter")
    assert _wait_cards(page, 1) == ["A002.mov"]
    page.fill("#fq", 'camera:"Z cam"')
    page.press("#fq", "Enter")
    page.wait_for_selector("#fq-error:has-text('allowed: A cam')")
    assert page.get_attribute("#fq", "aria-invalid") == "true"
    assert _cards(page) == ["A002.mov"], "the list stays as it was"


def test_each_role_is_offered_the_forms_its_views_allow(browser: Any, server: Library) -> None:
    # a reviewer reads the asset's fields (the production and content views are edited by editors) and logs ranges
    reviewer = test_browser._sign_in(browser, server, server.token_for("rita", "reviewer"))
    assert _wait_cards(reviewer, 3)
    assert reviewer.is_hidden("#bulk-form") and reviewer.locator("#grid input.pick").count() == 0
    assert reviewer.is_visible(".facet[data-field=camera]"), "anyone narrows by facets"
    _open(reviewer, server, "A002.mov")
    assert reviewer.is_hidden("#metadata-form")
    assert reviewer.text_content("#metadata-read dd[data-field=production]") == "Derby Day"
    assert reviewer.is_visible("#log-form")
    assert not reviewer.problems  # type: ignore[attr-defined]
    reviewer.context.close()
    # a viewer reads the logged ranges, and is offered no form
    made = httpx.post(f"{server.base}/api/v1/assets/{server.ids['A003.mov']}/logs", headers=server.headers(),
                      timeout=10, json={"version": 1, "in": 0, "out": "10:00:00:20", "values": {"note": "Kick-off"}})
    assert made.status_code == 201, made.text
    viewer = test_browser._sign_in(browser, server, server.token_for("vera", "viewer"))
    _open(viewer, server, "A003.mov")
    assert viewer.is_hidden("#metadata-form") and viewer.is_hidden("#log-form")
    viewer.locator("#logs li.log").filter(has_text="10:00:00:00 – 10:00:00:20").filter(has_text="Kick-off").wait_for()
    assert viewer.locator("#logs button:has-text('Delete')").count() == 0
    assert not viewer.problems  # type: ignore[attr-defined]
    viewer.context.close()


def test_a_slow_first_reading_of_the_logged_ranges_does_not_hide_one_just_saved(page: Any, server: Library) -> None:
    """The page reads the list when it opens and again after a save; the first answer, held back here as a
    loaded server may hold it, arrives last and must not replace the newer list."""
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        if route.request.method == "GET" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/assets/\d+/logs\?version=.*"), hold_first)
    _open(page, server, "A002.mov")
    page.fill("#jump-tc", "10:00:00:05")
    page.press("#jump-tc", "Enter")
    page.click("#btn-mark-in")
    page.fill("#jump-tc", "10:00:01:00")
    page.press("#jump-tc", "Enter")
    page.click("#btn-mark-out")
    page.click("#log-form button[type=submit]")
    logged = page.locator("#logs li.log").filter(has_text="10:00:00:05 – 10:00:01:00")
    logged.wait_for()
    assert held, "the page read the list when it opened"
    held[0].fulfill(status=200, content_type="application/json", body='{"logs": []}')  # the stale answer, late
    page.wait_for_timeout(500)
    assert logged.is_visible() and page.locator("#logs li.log").count() == 1
