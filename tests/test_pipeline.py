"""The whole embedded pipeline on real media: ingest → probe → proxy → ready, and broken inputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from analyzers.shots import ShotOptions
from analyzers.transcript import resolve_model
from catalog.models import Asset, MediaInfoRow, Proxy, Scene, Transcript, TranscriptSegment, Version
from pipeline.analysis_tasks import shot_options
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.retry import retry_asset
from pipeline.workers import Workers
from rushes.settings import Settings, WatchFolder
from tests.conftest import wait_version
from tests.media_fixtures import ffmpeg, make_clip, make_language_switch
from tests.shot_clips import HARD_CUTS

FOLDER = WatchFolder(name="default")


def test_a_clip_becomes_ready_with_media_info_proxy_and_poster(running_farm: Farm, clips: dict[str, Path]) -> None:
    result = Ingester(running_farm).ingest(clips["short"], FOLDER, consume=False)
    version = wait_version(running_farm, result.version_id)
    assert version.status == "ready", version.error
    with running_farm.sessions() as session:
        info = session.get(MediaInfoRow, version.id)
        proxy = session.get(Proxy, version.id)
        asset = session.get(Asset, result.asset_id)
        assert asset.status == "ready"
    assert info.start_timecode == "01:00:00:00" and info.width == 320 and info.video_codec == "h264"
    assert abs(info.duration_s - 2.0) < 0.1
    assert Path(proxy.path).name == "proxy.mp4" and Path(proxy.poster_path).read_bytes()[:2] == b"\xff\xd8"
    with av.open(proxy.path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.streams.audio[0].codec_context.channels == 2
    workdir = Path(proxy.path).parent
    assert not [p for p in workdir.iterdir() if ".part" in p.name]


BROKEN = {
    "not-media.mov": b"this is a text file, not a movie\n" * 50,
    "zero.mov": b"",
}


def _truncated(clips: dict[str, Path]) -> bytes:
    data = clips["long"].read_bytes()
    return data[: len(data) // 3]


def test_broken_inputs_fail_with_a_reason_and_a_good_file_still_gets_processed(
        running_farm: Farm, clips: dict[str, Path], media: Path, tmp_path: Path) -> None:
    sources = {name: data for name, data in BROKEN.items()}
    sources["truncated.mp4"] = _truncated(clips)
    for stub in ("mp3.mp3", "mpeg4.mp4", "sample.mkv", "sample_with_cover.mp3"):
        sources[stub] = (media / "probe" / "pymediainfo" / stub).read_bytes()
    ingester = Ingester(running_farm)
    results = {}
    for name, data in sources.items():
        path = tmp_path / name
        path.write_bytes(data)
        results[name] = ingester.ingest(path, FOLDER)
    good = ingester.ingest(clips["other"], FOLDER, consume=False)

    assert wait_version(running_farm, good.version_id).status == "ready"
    for name, result in results.items():
        if result.version_id is not None:
            version = wait_version(running_farm, result.version_id)
            assert version.status == "failed", name
            assert version.error and len(version.error) > 10, name
        with running_farm.sessions() as session:
            asset = session.get(Asset, result.asset_id)
            assert asset.status == "failed" and asset.error, name
    with running_farm.sessions() as session:
        errors = {a.name: a.error for a in session.scalars(select(Asset))}
    assert "empty file" in errors["zero.mov"]
    assert "not a media file" in errors["not-media.mov"] or "no audio or video" in errors["not-media.mov"]
    print("\n".join(f"{k}: {v}" for k, v in sorted(errors.items())))


@pytest.mark.analysis
def test_a_cut_off_camera_file_fails_saying_what_its_header_declares_and_what_it_holds(
        running_farm: Farm, tmp_path: Path) -> None:
    """The reason names the file's fault (the probe knows both figures), not a symptom of a later step."""
    sound = tmp_path / "long.aiff"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1500:sample_rate=8000", "-ac", "1", "-c:a", "pcm_s16be",
           str(sound))
    (tmp_path / "VO_take3.aif").write_bytes(sound.read_bytes()[:100])  # a 100-byte AIFC header of 25 minutes
    film = tmp_path / "full.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=60", "-f", "lavfi", "-i", "sine=duration=60",
           "-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le", str(film))
    (tmp_path / "B012.avi").write_bytes(film.read_bytes()[:30_000])  # a copy cut off after 30 kB
    half = tmp_path / "B013.avi"
    half.write_bytes(film.read_bytes()[: film.stat().st_size // 2])  # half a file is still footage
    ingester = Ingester(running_farm)
    errors = {}
    for name in ("VO_take3.aif", "B012.avi", "B013.avi"):
        version = wait_version(running_farm, ingester.ingest(tmp_path / name, FOLDER).version_id, timeout=120)
        errors[name] = version.error
    assert errors["VO_take3.aif"] == ("probe: truncated: the header declares 25:00 min of sound (about 24.0 MB), "
                                      "the file holds 100 bytes")
    assert errors["B012.avi"].startswith("probe: truncated: the header declares 1:00 min of picture and sound")
    assert errors["B013.avi"] is None


def test_a_failed_asset_can_be_retried(running_farm: Farm, clips: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "later.mp4"
    path.write_bytes(b"garbage" * 100)
    result = Ingester(running_farm).ingest(path, FOLDER)
    assert wait_version(running_farm, result.version_id).status == "failed"
    # the stored original is repaired on disk (as an operator would after fixing a storage fault)
    with running_farm.sessions() as session:
        stored = Path(session.get(Version, result.version_id).stored_path)
    shutil.copyfile(clips["short"], stored)
    assert retry_asset(running_farm, result.asset_id) == ["probe"]
    assert wait_version(running_farm, result.version_id).status == "ready"


@pytest.mark.parametrize("name", ["probe/bigbuckbunny.mp4", "probe/moviepy/fire2.mp4",
                                  "probe/pymediainfo/issue55.flv", "speech/jfk.flac"])
def test_real_camera_and_audio_files_become_ready(running_farm: Farm, media: Path, name: str) -> None:
    result = Ingester(running_farm).ingest(media / name, FOLDER, consume=False)
    version = wait_version(running_farm, result.version_id)
    assert version.status == "ready", version.error
    with running_farm.sessions() as session:
        proxy = session.get(Proxy, version.id)
    with av.open(proxy.path) as container:
        assert container.streams.audio, "every proxy here has sound"
        if name.endswith(("flv", "flac")):
            assert not container.streams.video
        else:
            assert container.streams.video[0].height <= 720


@pytest.mark.analysis
def test_a_clip_without_sound_is_ready_and_its_sound_steps_are_skipped(running_farm: Farm, tmp_path: Path) -> None:
    silent = make_clip(tmp_path / "mute.mp4", seconds=2, audio=False)
    result = Ingester(running_farm).ingest(silent, FOLDER, consume=False)
    assert wait_version(running_farm, result.version_id).status == "ready"
    with running_farm.sessions() as session:
        steps = {s.kind: (s.status, s.error) for s in session.get(Version, result.version_id).steps}
    assert steps["audio"] == ("skipped", "no audio stream")
    assert steps["transcript"] == ("skipped", "no audio to transcribe")
    assert steps["scenes"][0] == steps["keyframes"][0] == steps["tags"][0] == "done"


@pytest.mark.analysis
def test_footage_in_another_language_is_transcribed_by_the_multilingual_model(
        running_farm: Farm, tmp_path: Path, media: Path) -> None:
    speech = tmp_path / "entretien.flac"
    shutil.copyfile(media / "speech" / "jfk.flac", speech)
    speech.with_name("entretien.flac.json").write_text('{"language": "fr"}')  # the sidecar says French
    result = Ingester(running_farm).ingest(speech, FOLDER)
    assert wait_version(running_farm, result.version_id).status == "ready"
    with running_farm.sessions() as session:
        step = next(s for s in session.get(Version, result.version_id).steps if s.kind == "transcript")
        assert step.status == "done"
        folder = Path(session.get(Version, result.version_id).stored_path or "").parent
    transcript = json.loads((folder / "transcript.json").read_text())
    assert transcript["language"] == "fr" and Path(transcript["model"]).name == "whisper-base"


@pytest.mark.analysis
def test_footage_that_switches_language_keeps_each_segments_language(running_farm: Farm, tmp_path: Path) -> None:
    # Given a recording that starts in English and goes on in German, nobody saying which
    recording = make_language_switch(tmp_path / "interview.wav")
    result = Ingester(running_farm).ingest(recording, FOLDER)
    assert wait_version(running_farm, result.version_id).status == "ready"
    # When its transcript is stored
    with running_farm.sessions() as session:
        row = session.get(Transcript, result.version_id)
        segments = list(session.scalars(select(TranscriptSegment).where(
            TranscriptSegment.version_id == result.version_id).order_by(TranscriptSegment.index)))
        folder = Path(session.get(Version, result.version_id).stored_path or "").parent
    # Then each segment keeps its language, the transcript the seconds of each, the subtitles mark the other one
    assert row is not None and set(row.languages or {}) == {"en", "de"}
    assert [s.language for s in segments][0] == "en" and [s.language for s in segments][-1] == "de"
    other = "de" if row.language == "en" else "en"
    assert f"<lang {other}>" in (folder / "transcript.vtt").read_text()


@pytest.mark.analysis
def test_a_language_the_chosen_speech_model_cannot_do_fails_the_transcript_with_the_reason(
        make_settings: Callable[..., Settings], db_url: str, tmp_path: Path, media: Path) -> None:
    farm = Farm(make_settings(database_url=db_url, whisper_model=resolve_model(None)))  # tiny.en, by its path
    workers = Workers(farm)
    workers.start()
    try:
        speech = tmp_path / "entretien.flac"
        shutil.copyfile(media / "speech" / "jfk.flac", speech)
        speech.with_name("entretien.flac.json").write_text('{"language": "fr"}')
        result = Ingester(farm).ingest(speech, FOLDER)
        version = wait_version(farm, result.version_id)
        assert version.status == "failed" and version.error.startswith("transcript:")
        assert "English-only" in version.error
        with farm.sessions() as session:
            step = next(s for s in session.get(Version, result.version_id).steps if s.kind == "transcript")
        assert step.attempts == 1, "a setting problem is not retried"
    finally:
        workers.stop()
        farm.close()


def test_shot_sensitivity_is_set_per_watch_folder(make_settings: Callable[..., Settings], db_url: str,
                                                  tmp_path: Path) -> None:
    # Given a farm whose "sport" folder asks for a stricter shot detector than the farm's default
    sport = WatchFolder(name="sport", scene_threshold=7.0)
    farm = Farm(make_settings(database_url=db_url, steps=["scenes"],
                              watch_folders=[WatchFolder(name="interviews"), sport]))
    workers = Workers(farm)
    workers.start()
    try:
        # and the same pictures dropped in each (two files: cuts out of noise at frames 194 and 264)
        clip, expected = HARD_CUTS["seven_sources"](tmp_path / "seven.mp4")
        copy = tmp_path / "seven-sport.mp4"
        ffmpeg("-i", str(clip), "-c", "copy", "-metadata", "comment=sport", str(copy))
        starts = {}
        for path, folder in ((clip, WatchFolder(name="interviews")), (copy, sport)):
            result = Ingester(farm).ingest(path, folder, consume=False)
            assert wait_version(farm, result.version_id).status == "ready"
            with farm.sessions() as session:
                starts[folder.name] = list(session.scalars(select(Scene.start_frame).where(
                    Scene.version_id == result.version_id).order_by(Scene.index)))
        # Then each folder's files are cut with its own sensitivity
        assert starts["interviews"] == [0, *expected]
        assert 264 not in starts["sport"] and set(starts["sport"]) < set(starts["interviews"])
    finally:
        workers.stop()
        farm.close()


def test_the_shot_options_of_a_folder_fall_back_on_the_farm() -> None:
    settings = Settings(watch_folders=[WatchFolder(name="a"), WatchFolder(name="b", scene_detector="hash"),
                                       WatchFolder(name="c", scene_threshold=3.0)], scene_threshold=2.5,
                        scene_min_s=0.3)
    assert shot_options(settings, "a") == ShotOptions("adaptive", 2.5, 0.3)
    assert shot_options(settings, "b") == ShotOptions("hash", None, 0.3)  # the farm's threshold is adaptive's
    assert shot_options(settings, "c") == ShotOptions("adaptive", 3.0, 0.3)
    assert shot_options(settings, "gone") == ShotOptions("adaptive", 2.5, 0.3)
