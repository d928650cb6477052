"""Search that understands, in the review pages: a real headless Chromium against a real `rushes up` with its
default settings (every step, `embed` included).

Two files share their material: the programme of tests/test_browser.py (test pattern, slate, colour bars; JFK's
speech as its sound) and a re-encode of it at half size under another name. The asset page finds the shots like
the current one (the copy's shot marked "same material", opening the copy at that shot's time) and lets an editor
accept or reject the keyframe labels; the library says how each hit matched (words, meaning) and finds the shots
like an uploaded still. Set RUSHES_SCREENSHOTS=docs/screenshots to refresh the screenshots of these features.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import test_browser
from tests.conftest import wait_for
from tests.media_fixtures import JFK, ffmpeg, make_programme
from tests.test_browser import Server, _sign_in, _wait_ready, rushes_up
from tests.test_browser_metadata import _shot

pytestmark = pytest.mark.slow
# the browser fixtures of tests/test_browser.py (Debian's Chromium; a signed-in admin's page on this module's server)
browser = test_browser.browser
page = test_browser.page
INTERVIEW = "interview.mov"  # the programme: 11 s, 640x360, cuts at 4 s and 8 s, timecode 01:00:00:00
COPY = "interview-web.mp4"  # the same programme re-encoded at half size (320x180)
SLATE = 1  # the programme's second shot: the slate "SCENE 42 TAKE 3", 01:00:04:00 - 01:00:08:00


@dataclass
class Library(Server):
    ids: dict[str, int] = field(default_factory=dict)
    programme: Path = Path()

    def scenes(self, name: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/assets/{self.ids[name]}/scenes")["scenes"]


def _embedded(server: Library, name: str, timeout: float = 120) -> None:
    """Wait until the asset's `embed` step is over (done, or skipped): its vectors are in the catalog."""
    def over() -> bool:
        (step,) = [s for s in server.get(f"/api/v1/assets/{server.ids[name]}")["versions"][-1]["steps"]
                   if s["kind"] == "embed"]
        assert step["status"] not in ("failed", "cancelled"), step
        return step["status"] in ("done", "skipped")

    wait_for(over, timeout=timeout, interval=0.5, what=f"the embed step of {name}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """`rushes up` (embedded farm, SQLite, default settings) with the programme and its half-size re-encode."""
    tmp = tmp_path_factory.mktemp("browser-search")
    with rushes_up(tmp) as (base, token, data):
        programme = make_programme(tmp, JFK)
        copy = tmp / COPY
        ffmpeg("-i", str(programme), "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", "-c:a", "aac", str(copy))
        watch = data / "watch" / "default"
        shutil.copyfile(programme, watch / INTERVIEW)
        shutil.copyfile(copy, watch / COPY)
        server = Library(base, token, data, 0, tmp, programme=programme)
        server.ids = {name: _wait_ready(server, name)["id"] for name in (INTERVIEW, COPY)}
        for name in server.ids:
            _embedded(server, name)
        server.asset_id = server.ids[INTERVIEW]
        yield server


def _open(page: Any, server: Library, name: str, at: str | None = None) -> None:
    page.goto(f"{server.base}/assets/{server.ids[name]}")
    page.wait_for_selector("body[data-ready=true]")
    if at:
        page.fill("#jump-tc", at)
        page.press("#jump-tc", "Enter")


def _tc(page: Any) -> str:
    return page.text_content("#tc").strip()


def test_similar_shots_show_the_same_material_in_the_other_file_and_open_it_there(page: Any,
                                                                                   server: Library) -> None:
    # Given the interview at its slate
    _open(page, server, INTERVIEW, at="01:00:05:00")
    button = page.locator("#btn-similar")
    assert button.text_content() == "Similar shots to scene 2", "the action follows the scene at the playhead"
    # When the shots like it are asked for
    button.click()
    # Then the copy's slate is listed, marked as the same material, with its timecodes and how alike it is
    copy = page.locator(f"#similar-shots li[data-asset-id='{server.ids[COPY]}'][data-index='{SLATE}']")
    copy.wait_for()
    assert copy.locator(".badge.same-material").text_content() == "same material"
    assert COPY in copy.text_content() and "01:00:04:00 – 01:00:08:00" in copy.text_content()
    (listed,) = [s for s in server.get(f"/api/v1/scenes/{server.scenes(INTERVIEW)[SLATE]['id']}/similar")["shots"]
                 if s["asset_id"] == server.ids[COPY] and s["index"] == SLATE]
    assert listed["near_duplicate"] is True
    assert copy.locator(".similarity").text_content() == f"{round(listed['similarity'] * 100)}% similar"
    assert page.text_content("#similar-title") == "Shots like scene 2 (01:00:04:00 – 01:00:08:00)"
    assert "the same material" in page.text_content("#similar-note")
    _shot("asset-similar", server.tmp, page.locator("#scenes-section"))
    # And a click opens the copy at that shot
    copy.locator("a").click()
    page.wait_for_url(re.compile(rf"/assets/{server.ids[COPY]}\?v=1&t=4\.000$"))
    page.wait_for_selector("body[data-ready=true]")
    assert _tc(page) == "01:00:04:00"
    page.wait_for_selector(f"#scenes li.current[data-index='{SLATE}']")
    assert page.text_content("#asset-name") == COPY


def _labelled(server: Library) -> list[tuple[str, int, str, float, int]]:
    """(asset name, shot index, label, confidence, labels hidden) of every label the pages show, shot by shot."""
    return [(name, scene["index"], label, score, scene["tags"].get("labels_hidden", 0))
            for name in (INTERVIEW, COPY) for scene in server.scenes(name)
            for label, score in scene["tags"].get("labels", [])]


def _tags_of(page: Any, server: Library, name: str, index: int) -> Any:
    if f"/assets/{server.ids[name]}" not in page.url:
        _open(page, server, name)
    page.wait_for_selector("body[data-ready=true]")  # the page's own first seek is behind it
    page.click(f"#scenes li[data-index='{index}'] button")
    page.wait_for_selector(f"#scenes li.current[data-index='{index}']")
    return page.locator("#tags")


def test_an_editor_accepts_a_tag_into_keywords_and_rejects_another_for_good(browser: Any, server: Library) -> None:
    labelled = _labelled(server)
    assert len(labelled) >= 2, f"the programme's keyframes show fewer than two labels over the threshold: {labelled}"
    (name, index, label, score, hidden), rejected = labelled[0], labelled[1]
    editor = _sign_in(browser, server, server.token_for("eddie", "editor"))

    # each label with its confidence, and how many were too unsure to show
    tags = _tags_of(editor, server, name, index)
    row = tags.locator(f"li.label[data-label={json.dumps(label)}]")
    assert row.locator(".confidence").text_content() == f"{round(score * 100)}%"
    if hidden:
        assert re.fullmatch(rf"{hidden} low-confidence tags? hidden \(under 20%\)\.",
                            tags.locator(".hidden-labels").text_content())
    editor.wait_for_selector("#metadata-section[data-revision]")
    assert label not in editor.input_value("#md-keywords")

    # accept: said in words, and the Metadata panel shows it in Keywords without a reload; what was being typed in
    # the form stays, and saves on the revision the accepted tag made
    editor.fill("#md-location", "Dallas")
    row.get_by_role("button", name=f"Accept {label}").click()
    editor.locator("#tags-status").filter(has_text=f"“{label}” added to Keywords.").wait_for()
    editor.wait_for_function("label => document.getElementById('md-keywords').value.includes(label)", arg=label)
    assert editor.input_value("#md-location") == "Dallas"
    assert "your changes are still in the form" in editor.text_content("#metadata-saved")
    editor.click("#metadata-form button[type=submit]")
    editor.wait_for_selector("#metadata-saved:has-text('Saved (revision')")
    assert editor.is_hidden("#metadata-conflict")
    assert row.locator(".badge.accepted").is_visible()
    assert row.get_by_role("button", name=f"Accept {label}").count() == 0, "accepted: only Reject is left"
    _shot("asset-tags", server.tmp, editor.locator("#tags").locator(".."))
    editor.reload()
    editor.wait_for_selector("#metadata-section[data-revision]")
    assert label in editor.input_value("#md-keywords")
    values = {f["key"]: f["value"] for v in server.get(f"/api/v1/assets/{server.ids[name]}/metadata")["views"]
              for f in v["fields"]}
    assert label in values["keywords"] and values["location"] == "Dallas"

    # reject: the label is gone from the shot, also after a reload
    other, other_index, other_label, _, _ = rejected
    tags = _tags_of(editor, server, other, other_index)
    tags.get_by_role("button", name=f"Reject {other_label}").click()
    editor.locator("#tags-status").filter(has_text=f"“{other_label}” rejected").wait_for()
    gone = f"#tags li.label[data-label={json.dumps(other_label)}]"
    assert editor.locator(gone).count() == 0
    editor.reload()
    _tags_of(editor, server, other, other_index)
    assert editor.locator(gone).count() == 0
    (shot,) = [s for s in server.scenes(other) if s["index"] == other_index]
    assert other_label not in [shown for shown, _ in shot["tags"]["labels"]]
    assert shot["tags"]["decisions"][other_label] == "reject"
    assert not editor.problems  # type: ignore[attr-defined]
    editor.context.close()

    # a reviewer reads the labels, and is offered no decision
    reviewer = _sign_in(browser, server, server.token_for("rita", "reviewer"))
    tags = _tags_of(reviewer, server, name, index)
    tags.locator(f"li.label[data-label={json.dumps(label)}]").wait_for()
    assert tags.locator(".decide button").count() == 0
    assert not reviewer.problems  # type: ignore[attr-defined]
    reviewer.context.close()


def _search(page: Any, q: str) -> None:
    page.fill("#q", q)
    page.press("#q", "Enter")
    page.locator("#hits-summary").filter(has_text=f"for “{q}”").wait_for()


def test_a_paraphrase_finds_the_interview_by_meaning_and_shared_words_by_both(page: Any, server: Library) -> None:
    # a paraphrase sharing no word with "ask not what your country can do for you"
    q = "a speech to the nation's citizens"
    _search(page, q)
    assert "(by words and meaning)" in page.text_content("#hits-summary")
    hit = page.locator(f"#hits li.hit[data-asset-id='{server.ids[INTERVIEW]}']").first
    hit.wait_for()
    meaning = hit.locator(".match-meaning")
    api = httpx.get(f"{server.base}/api/v1/search", params={"q": q}, headers=server.headers(), timeout=30).json()
    first = next(h for h in api["hits"] if h["asset_id"] == server.ids[INTERVIEW])
    assert first["matched"] == ["meaning"]
    assert meaning.text_content() == f"meaning {round(first['similarity'] * 100)}%"
    assert hit.locator(".match-words").count() == 0, "no word of the query is in the speech"
    _shot("search-meaning", server.tmp, page.locator("#hits-section"))
    hit.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    assert _tc(page) == first["timecode"]

    # the speech's own words: found by both
    page.goto(f"{server.base}/library")
    _search(page, "fellow Americans")
    both = page.locator(f"#hits li.hit[data-asset-id='{server.ids[INTERVIEW]}'][data-matched='words meaning']")
    both.wait_for()
    assert both.locator(".match-words").text_content() == "words"
    assert re.fullmatch(r"meaning \d+%", both.locator(".match-meaning").text_content())


def test_president_speaking_to_the_nation_finds_the_interview_by_meaning(page: Any, server: Library) -> None:
    _search(page, "president speaking to the nation")
    page.locator(f"#hits li.hit[data-asset-id='{server.ids[INTERVIEW]}'] .match-meaning").first.wait_for(timeout=3000)


def test_a_still_finds_its_shot_and_opens_it(page: Any, server: Library) -> None:
    still = server.tmp / "slate-frame.png"
    ffmpeg("-ss", "6", "-i", str(server.programme), "-frames:v", "1", str(still))
    page.set_input_files("#still", str(still))
    first = page.locator("#picture-shots li").first
    first.wait_for()
    assert first.get_attribute("data-asset-id") == str(server.ids[INTERVIEW])
    assert first.get_attribute("data-index") == str(SLATE)
    assert "01:00:04:00 – 01:00:08:00" in first.text_content()
    assert first.locator(".badge.same-material").text_content() == "same material"
    assert page.locator(f"#picture-shots li[data-asset-id='{server.ids[COPY]}'][data-index='{SLATE}']").count() == 1
    page.wait_for_function("() => document.getElementById('still-preview').complete")
    assert page.evaluate("() => document.getElementById('still-preview').naturalWidth") > 0, "the still is shown"
    assert re.match(r"\d+ shots? like slate-frame\.png, best first", page.text_content("#picture-summary"))
    _shot("library-picture", server.tmp, page.locator("#picture-search"), page.locator("#picture-section"))
    first.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    assert _tc(page) == "01:00:04:00"

    # something that is not a picture is told in words, and nothing is sent
    page.goto(f"{server.base}/library")
    notes = server.tmp / "notes.txt"
    notes.write_text("not a picture\n")
    page.set_input_files("#still", str(notes))
    page.wait_for_selector("#picture-summary:has-text('notes.txt is not a JPEG or PNG picture')")
    assert page.locator("#picture-shots li").count() == 0


def test_a_shot_without_a_picture_embedding_says_why(page: Any, server: Library) -> None:
    """Last: it takes the copy's colour bars out of picture search (their keyframe is forgotten, so the embedding
    backlog leaves the shot alone)."""
    from sqlalchemy import delete, select, update

    from catalog.models import PictureVector, Scene, Version
    from pipeline.farm import Farm
    from rushes.settings import load_settings

    catalog = Farm(load_settings(data_dir=server.data))
    with catalog.transaction() as session:
        (scene_id,) = session.scalars(select(Scene.id).join(Version, Version.id == Scene.version_id)
                                      .where(Version.asset_id == server.ids[COPY], Scene.index == 2))
        session.execute(update(Scene).where(Scene.id == scene_id).values(keyframe_path=None))
        session.execute(delete(PictureVector).where(PictureVector.scene_id == scene_id))
    catalog.close()
    _open(page, server, COPY, at="01:00:09:00")
    page.click("#btn-similar")
    note = page.locator("#similar-note")
    note.locator("text=has no picture embedding yet").wait_for()
    assert note.text_content().startswith("Cannot compare this shot yet: shot ")
    assert "its embed step has not run" in note.text_content()
    assert page.locator("#similar-shots li").count() == 0
