"""One task per step kind: load what it needs, call a pure media function, say how to store the result.

A task returns an ``Outcome`` whose ``store`` runs inside the transaction that marks the step done,
so a result is stored if and only if the step is done by the worker that still owns it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from analyzers.picture import PictureReports, PictureTap
from analyzers.probe import probe
from catalog.models import MediaInfoRow, Proxy, SearchDoc
from catalog.search import replace_docs
from pipeline import analysis_tasks as analysis
from pipeline import embed_tasks as embed
from pipeline.delivery_tasks import run_render
from pipeline.jobs import Job, Outcome
from pipeline.lifecycle import run_archive, run_restore
from pipeline.workflow import is_render
from transcoders.outputs import clean_stale_parts
from transcoders.proxy import ProxySpec, make_audio_proxy, make_poster, make_proxy, poster_time


def name_text(*names: str) -> str:
    """File names as searchable words too: 'A001_C002.mov' also reads 'A001 C002 mov'."""
    spelled = [re.sub(r"[._\-/]+", " ", name) for name in names]
    return " ".join(dict.fromkeys([*names, *spelled]))


def run_probe(job: Job) -> Outcome:
    version = job.version()
    info = probe(version.stored_path or "")
    video = info.primary_video
    audio = info.audio[0] if info.audio else None
    row = MediaInfoRow(
        version_id=version.id, container=info.container, duration_s=info.duration_s,
        width=video.width if video else None, height=video.height if video else None,
        frame_rate=str(video.frame_rate) if video else None, video_codec=video.codec if video else None,
        audio_codec=audio.codec if audio else None, start_timecode=info.start_timecode,
        drop_frame=info.drop_frame, info=info.to_dict(),
    )
    docs = [SearchDoc(asset_id=version.asset_id, version_id=version.id, kind="name", start_s=None, end_s=None,
                      text=name_text(job.asset_name(), version.original_name))]
    metadata = " ".join(str(v) for v in [*(version.sidecar or {}).values(), *info.tags.values()]
                        if isinstance(v, str | int | float))
    if metadata:
        docs.append(SearchDoc(asset_id=version.asset_id, version_id=version.id, kind="metadata", start_s=None,
                              end_s=None, text=metadata))

    def store(session: Session) -> None:
        session.merge(row)
        replace_docs(session, version.id, ("name", "metadata"), docs)

    return Outcome(store)


def run_proxy(job: Job) -> Outcome:
    version = job.version()
    info = job.media_info()
    source = Path(version.stored_path or "")
    workdir = source.parent
    clean_stale_parts(workdir, "proxy")
    clean_stale_parts(workdir, "poster")
    settings = job.settings
    video = info.primary_video
    common: dict[str, Any] = dict(duration_s=info.duration_s, on_progress=job.report,
                                  timeout=settings.ffmpeg_timeout_s, cancel=job.cancel)
    if video is None and not info.has_audio:
        return Outcome(status="skipped", note="no audio or video stream to make a proxy of")
    if video is None:
        result = make_audio_proxy(source, workdir / "proxy.mp4", **common)
        poster = None
    else:
        tap = PictureTap(PictureReports.in_folder(workdir), analysis.shot_options(settings, version.source_folder)) \
            if job.planned("scenes") else None
        with tap if tap is not None else contextlib.nullcontext():
            result = make_proxy(
                source, workdir / "proxy.mp4", width=video.width, height=video.height, analysis=tap,
                sar=video.sar or Fraction(1), rotation=video.rotation, frame_rate=video.frame_rate or None,
                has_audio=info.has_audio, start_timecode=info.start_timecode,
                spec=ProxySpec(max_height=settings.proxy_max_height), **common,
            )
        poster = make_poster(result.path, workdir / "poster.jpg", at_s=poster_time(result.duration_s))
    row = Proxy(version_id=version.id, path=str(result.path), poster_path=str(poster) if poster else None,
                width=result.width, height=result.height, duration_s=result.duration_s, size=result.size,
                elapsed_s=result.elapsed_s)

    def store(session: Session) -> None:
        session.merge(row)

    return Outcome(store)


def task_for(kind: str) -> Callable[[Job], Outcome]:
    """The task of a step kind (a rendition's render step runs the render task)."""
    if is_render(kind):
        return run_render
    return TASKS[kind]


TASKS: dict[str, Callable[[Job], Outcome]] = {
    "probe": run_probe,
    "proxy": run_proxy,
    "audio": analysis.run_audio,
    "scenes": analysis.run_scenes,
    "keyframes": analysis.run_keyframes,
    "transcript": analysis.run_transcript,
    "tags": analysis.run_tags,
    "embed": embed.run_embed,
    "archive": run_archive,
    "restore": run_restore,
}
