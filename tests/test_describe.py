"""Describe the picture (both catalogs): a local image-text model by path (``RUSHES_CLIP_MODEL``) gives every
keyframe a vector in its space as the farm ingests, and ``/search/describe`` finds shots by a description; a folder
that lacks a part, or whose towers disagree, is refused naming what is wrong. The model is a stand-in that knows
colours (tests/clip_toy.py): no CLIP weights can be installed here."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from analyzers.clip_embedding import load_clip
from catalog.models import DescribedVector, PictureVector, Scene, Version
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.errors import ConfigError
from rushes.settings import Settings, WatchFolder
from tests.clip_toy import make_toy_clip
from tests.conftest import bearers, wait_version
from tests.media_fixtures import ffmpeg

MEDIA = Path(__file__).parent / "media"


def test_a_clip_folder_is_checked_and_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a folder"):
        load_clip(tmp_path / "nowhere")
    lacking = make_toy_clip(tmp_path / "lacking")
    (lacking / "textual" / "tokenizer.json").unlink()
    with pytest.raises(ConfigError, match=r"textual/tokenizer\.json is missing"):
        load_clip(lacking)
    apart = make_toy_clip(tmp_path / "apart", text_dim=5)
    with pytest.raises(ConfigError, match="image tower gives 4 values and the text tower 5"):
        load_clip(apart)
    model = load_clip(make_toy_clip(tmp_path / "toy"))
    red, blue = model.embed_text(["A RED car", "the  blue sea"])
    assert red @ blue < 0 < red @ model.embed_text(["red"])[0]


def _colour_bars(path: Path) -> Path:
    """Three 2 s shots, red, green and blue, cut hard (640 x 360, 25 fps, no sound)."""
    colours = [a for c in ("red", "green", "blue") for a in ("-f", "lavfi", "-i", f"color=c={c}:s=640x360:r=25:d=2")]
    ffmpeg(*colours,
           "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture
def clip_farm(make_settings: Callable[..., Settings], db_url: str, tmp_path: Path) -> Iterator[Farm]:
    from pipeline.workers import Workers

    toy = make_toy_clip(tmp_path / "models" / "colours")
    farm = Farm(make_settings(database_url=db_url, clip_model=str(toy), steps=["embed"]))
    workers = Workers(farm)
    workers.start()
    yield farm
    workers.stop()
    farm.close()


def test_describe_the_picture_finds_shots_by_a_description(clip_farm: Farm, tmp_path: Path) -> None:
    from api.app import create_app

    farm = clip_farm
    bars = _colour_bars(tmp_path / "bars.mov")
    bunny = tmp_path / "bunny.mp4"
    shutil.copy(MEDIA / "probe" / "bigbuckbunny.mp4", bunny)  # real footage beside: its shots are not blue
    versions = {}
    for clip in (bars, bunny):
        result = Ingester(farm).ingest(clip, WatchFolder(name="default"), consume=False)
        assert wait_version(farm, result.version_id, timeout=180).status == "ready"
        versions[clip.name] = result.version_id
    with farm.sessions() as session:
        shots = session.scalar(select(func.count()).select_from(Scene).where(Scene.keyframe_path.is_not(None)))
        assert shots and shots >= 4
        # every keyframe in both spaces: "shots like this" keeps its own vectors
        assert session.scalar(select(func.count()).select_from(DescribedVector)) == shots
        assert session.scalar(select(func.count()).select_from(PictureVector)) == shots
        bars_shots = session.execute(select(Scene.id, Scene.start_s).where(Scene.version_id == versions["bars.mov"])
                                     .order_by(Scene.index)).all()
        bars_asset = session.scalar(select(Version.asset_id).where(Version.id == versions["bars.mov"]))
    assert len(bars_shots) == 3, f"the colour bars are three shots, found {bars_shots}"

    with TestClient(create_app(farm), base_url="http://127.0.0.1") as client:
        headers = bearers(farm, {"vera": "viewer"})["vera"]
        for word, (shot_id, start_s) in zip(("red", "green", "blue"), bars_shots, strict=True):
            reply = client.get("/api/v1/search/describe", params={"q": f"a {word} picture"}, headers=headers)
            assert reply.status_code == 200, reply.text
            found = reply.json()["shots"]
            assert found[0]["scene_id"] == shot_id and found[0]["asset_id"] == bars_asset
            assert found[0]["start_s"] == pytest.approx(start_s) and found[0]["start_tc"]
            assert found[0]["similarity"] > found[1]["similarity"] + 0.2
        status = client.get("/api/v1/search/status", headers=headers).json()
        assert status["coverage"]["described"]["embedded"] == shots and status["indexed"]["described"] == shots
        empty = client.get("/api/v1/search/describe", params={"q": ""}, headers=headers)
        assert empty.status_code == 422
