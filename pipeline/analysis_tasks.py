"""Tasks of the analysis steps: audio (loudness + speech WAV), scenes, keyframes, transcript, tags.

The camera original is decoded once for analysis, by the proxy step. Picture analysis runs on the
proxy; the original's audio is decoded once, by the audio step, which measures loudness and writes
the 16 kHz speech WAV from the same decode. Results are stored with exact seconds and frames.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from analyzers.keyframes import contact_sheet, pick_keyframes, waveform_image
from analyzers.loudness import measure
from analyzers.picture import PictureReports, analyze_picture, read_picture
from analyzers.shots import ShotOptions
from analyzers.transcript import to_srt, to_webvtt, transcribe
from catalog.models import Proxy, QCReport, Scene, SearchDoc, Transcript, TranscriptSegment, Version
from catalog.search import remember_languages, replace_docs
from catalog.tag_trust import decisions_of, tag_text
from pipeline.jobs import Job, Outcome
from rushes.errors import Interrupted
from rushes.settings import Settings, WatchFolder
from transcoders.outputs import atomic_output

log = logging.getLogger(__name__)
SPEECH_WAV = "audio16k.wav"
WARMING = threading.Lock()  # held while a worker loads its models at start


def _workdir(version: Version) -> Path:
    return Path(version.stored_path or "").parent


def _proxy(job: Job) -> Proxy | None:
    with job.sessions() as session:
        return session.get(Proxy, job.claim.version_id)


def _merge_qc(version_id: int, figures: dict[str, Any], events: dict[str, Any]):
    def store(session: Session) -> None:
        row = session.get(QCReport, version_id)
        if row is None:
            row = QCReport(version_id=version_id, report={})
            session.add(row)
        row.report = {**(row.report or {}), **events}
        for name, value in figures.items():
            setattr(row, name, value)

    return store


def run_audio(job: Job) -> Outcome:
    """Loudness (EBU R128), silence and clipping of the original's first audio stream, plus the speech WAV."""
    version, info = job.version(), job.media_info()
    if not info.has_audio:
        return Outcome(status="skipped", note="no audio stream")
    workdir = _workdir(version)
    qc = measure(version.stored_path or "", duration_s=info.duration_s, picture=False,
                 extract_wav=workdir / SPEECH_WAV, on_progress=job.report,
                 timeout=job.settings.ffmpeg_timeout_s, cancel=job.cancel)
    waveform_image(workdir / SPEECH_WAV, workdir / "waveform.png")
    report = qc.to_dict()
    figures = {k: report[k] for k in ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp")}
    events = {k: report[k] for k in ("silence", "clipping")}
    return Outcome(_merge_qc(version.id, figures, events))


def run_scenes(job: Job) -> Outcome:
    """Shots mapped to source frames, black and freeze: read from the proxy pass's reports, else one pass
    over the proxy (cheap to decode) when the proxy was made without them."""
    proxy, info = _proxy(job), job.media_info()
    if proxy is None or info.primary_video is None:
        return Outcome(status="skipped", note="no video stream")
    settings = job.settings
    rate = info.primary_video.frame_rate or Fraction(25)
    reports = PictureReports.in_folder(Path(proxy.path).parent)
    if reports.exist():
        picture = read_picture(reports, duration_s=proxy.duration_s, frame_rate=rate)
    else:
        picture = analyze_picture(proxy.path, duration_s=proxy.duration_s, frame_rate=rate,
                                  options=shot_options(settings, job.version().source_folder),
                                  on_progress=job.report, timeout=settings.ffmpeg_timeout_s, cancel=job.cancel)
    qc = picture.to_dict()
    version_id = job.claim.version_id

    def store(session: Session) -> None:
        session.execute(delete(Scene).where(Scene.version_id == version_id))
        session.add_all(Scene(version_id=version_id, index=s.index, start_s=s.start_s, end_s=s.end_s,
                              start_frame=s.start_frame, end_frame=s.end_frame) for s in picture.scenes)
        _merge_qc(version_id, {}, {k: qc[k] for k in ("black", "freeze", "flash", "transitions")})(session)

    return Outcome(store)


def run_keyframes(job: Job) -> Outcome:
    """One representative frame per scene (not black or blurred where a better one exists), a contact sheet."""
    proxy = _proxy(job)
    with job.sessions() as session:
        scenes = list(session.scalars(select(Scene).where(Scene.version_id == job.claim.version_id)
                                      .order_by(Scene.index)))
    if proxy is None or not scenes:
        return Outcome(status="skipped", note="no scenes")
    workdir = Path(proxy.path).parent
    keyframes = pick_keyframes(proxy.path, [(s.start_s, s.end_s) for s in scenes], workdir / "keyframes",
                               cancel=job.cancel, on_progress=lambda done: job.report(0.95 * done))
    contact_sheet(keyframes, workdir / "contact.jpg")
    chosen = {k.scene_index: k for k in keyframes}
    version_id = job.claim.version_id

    def store(session: Session) -> None:
        for scene in scenes:
            frame = chosen.get(scene.index)
            if frame is not None:
                session.execute(update(Scene).where(Scene.version_id == version_id, Scene.index == scene.index)
                                .values(keyframe_path=str(frame.path), keyframe_s=frame.time_s))

    return Outcome(store)


def watch_folder(settings: Settings, name: str | None) -> WatchFolder | None:
    return next((f for f in settings.watch_folders if f.name == name), None)


def shot_options(settings: Settings, folder_name: str | None) -> ShotOptions:
    """The shot detector and its sensitivity for files of this watch folder (its own, else the farm's)."""
    folder = watch_folder(settings, folder_name)
    detector = (folder.scene_detector if folder else None) or settings.scene_detector
    threshold = folder.scene_threshold if folder and folder.scene_threshold is not None else None
    if threshold is None and detector == settings.scene_detector:
        threshold = settings.scene_threshold  # the farm's threshold is for the farm's detector
    return ShotOptions(detector=detector, threshold=threshold, min_shot_s=settings.scene_min_s)


def _language(job: Job, version: Version) -> str | None:
    """The spoken language from the sidecar, else from the watch folder's setting, else None (detect)."""
    sidecar = version.sidecar or {}
    if isinstance(sidecar.get("language"), str):
        return sidecar["language"]
    folder = watch_folder(job.settings, version.source_folder)
    return folder.language if folder else None


def run_transcript(job: Job) -> Outcome:
    """Speech to text on the shared 16 kHz WAV; JSON, WebVTT and SRT beside the original."""
    version = job.version()
    workdir = _workdir(version)
    wav = workdir / SPEECH_WAV
    if not wav.is_file():
        return Outcome(status="skipped", note="no audio to transcribe")
    settings = job.settings
    transcript = transcribe(wav, model=settings.whisper_model, language=_language(job, version),
                            cpu_threads=settings.whisper_threads, on_progress=job.report, cancel=job.cancel,
                            cache_dir=settings.model_cache_dir)
    for name, content in (("transcript.json", json.dumps(transcript.to_dict(), indent=1)),
                          ("transcript.vtt", to_webvtt(transcript)), ("transcript.srt", to_srt(transcript))):
        with atomic_output(workdir / name) as part:
            part.write_text(content, encoding="utf-8")

    def store(session: Session) -> None:
        version_id = version.id
        session.execute(delete(TranscriptSegment).where(TranscriptSegment.version_id == version_id))
        session.merge(Transcript(version_id=version_id, language=transcript.language,
                                 language_probability=transcript.language_probability,
                                 model=transcript.model, duration_s=transcript.duration_s,
                                 elapsed_s=0.0, languages=transcript.languages or None))
        session.add_all(TranscriptSegment(
            version_id=version_id, index=s.index, start_s=s.start_s, end_s=s.end_s, text=s.text,
            confidence=s.confidence, words={"words": [_word(w) for w in s.words]}, language=s.language)
            for s in transcript.segments)
        replace_docs(session, version_id, ("transcript",), [
            SearchDoc(asset_id=version.asset_id, version_id=version_id, kind="transcript", start_s=s.start_s,
                      end_s=s.end_s, text=s.text, language=s.language) for s in transcript.segments if s.text])
        remember_languages(session, {s.language for s in transcript.segments if s.language and s.text})

    return Outcome(store)


def _word(word: Any) -> dict[str, Any]:
    return {"start_s": word.start_s, "end_s": word.end_s, "text": word.text, "probability": word.probability}


def tag_all(paths: list[str], job: Job) -> list[Any]:
    """Tag every keyframe, OCR (the slowest tagger) in a lane of its own beside the other taggers.

    Each lane is one thread, so every tagger's model is used by one thread at a time.
    """
    from analyzers.tags import available, tag_image  # torch, OpenCV, OCR: loaded by the worker that tags

    chosen = set(job.settings.taggers or available())
    lanes = [lane for lane in (chosen & {"ocr"}, chosen - {"ocr"}) if lane]
    done = 0

    def tag_lane(lane: set[str]) -> list[Any]:
        nonlocal done
        out = []
        for path in paths:
            if job.cancel.is_set():
                raise Interrupted("tagging cancelled")
            out.append(tag_image(path, only=lane))
            done += 1
            job.report(done / (len(paths) * len(lanes)))
        return out

    with WARMING:  # not while the warm-up still uses the same models from its own thread
        pass
    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="tags") as pool:
        per_lane = list(pool.map(tag_lane, lanes))
    merged = per_lane[-1]
    if len(per_lane) == 2:
        merged = [replace(rest, text=ocr.text, text_lines=ocr.text_lines,
                          unavailable={**rest.unavailable, **ocr.unavailable})
                  for ocr, rest in zip(per_lane[0], per_lane[1], strict=True)]
    return merged


def run_tags(job: Job) -> Outcome:
    """Labels, faces, on-screen text, colours, quality and a perceptual hash for every keyframe."""
    version = job.version()
    with job.sessions() as session:
        scenes = [(s.index, s.start_s, s.end_s, s.keyframe_path) for s in session.scalars(
            select(Scene).where(Scene.version_id == version.id).order_by(Scene.index)) if s.keyframe_path]
    if not scenes:
        return Outcome(status="skipped", note="no keyframes")
    results = {index: tags.to_dict() for index, tags in zip(
        (index for index, *_ in scenes), tag_all([path for *_, path in scenes], job), strict=True)}

    def store(session: Session) -> None:
        docs = []
        decided = decisions_of(session, version.id)  # a rejected label never comes back for its shot
        for index, start_s, end_s, _path in scenes:
            tags = results[index]
            session.execute(update(Scene).where(Scene.version_id == version.id, Scene.index == index)
                            .values(tags=tags, faces=tags.get("faces")))
            if tags.get("text"):
                docs.append(SearchDoc(asset_id=version.asset_id, version_id=version.id, kind="ocr",
                                      start_s=start_s, end_s=end_s, text=tags["text"]))
            labels = tag_text(tags.get("labels") or [], decided.get(index, {}), job.settings.tag_min_confidence)
            if labels:
                docs.append(SearchDoc(asset_id=version.asset_id, version_id=version.id, kind="tag",
                                      start_s=start_s, end_s=end_s, text=labels))
        replace_docs(session, version.id, ("ocr", "tag"), docs)

    return Outcome(store)


def warm_up(kinds: set[str], settings: Settings) -> None:
    """Load the models of the steps this worker serves, so the first clip does not wait for them."""
    started = time.monotonic()
    with WARMING:
        _warm_up(kinds, settings)
    log.info("models for %s loaded in %.1fs", ", ".join(sorted(kinds & {"transcript", "tags", "embed"})) or "nothing",
             time.monotonic() - started)


def _warm_up(kinds: set[str], settings: Settings) -> None:
    if "transcript" in kinds:
        from analyzers.transcript import load_model
        from analyzers.whisper_models import BASE

        load_model(settings.whisper_model, cpu_threads=settings.whisper_threads, cache_dir=settings.model_cache_dir)
        if settings.whisper_model is None:  # the default also detects languages and transcribes them with base
            load_model(BASE, cpu_threads=settings.whisper_threads, cache_dir=settings.model_cache_dir)
    if "tags" in kinds:
        from analyzers.tags import warm_up as warm_up_taggers

        warm_up_taggers()
    if "embed" in kinds:
        from pipeline.embed_tasks import picture_embedder, text_embedder

        text_embedder(settings)
        picture_embedder(settings)
