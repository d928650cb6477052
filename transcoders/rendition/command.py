"""The pass-2 command: :func:`render_args`, the single source of the ffmpeg arguments of a rendition (one
file, or an HLS ladder in one run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from transcoders.ffmpeg import media_arg
from transcoders.rendition.codecs import _audio_codec_args, _container_args, _gop, _specified, _video_codec_args
from transcoders.rendition.geometry import _timecode_args, output_timecode, plan_geometry
from transcoders.rendition.graphs import (
    HOLD_LAST_FRAME,
    _audio_graph,
    _out_rate,
    _picture_chain,
    _rate,
    cut,
    mono_tracks,
    silence_input,
    speed_factor,
)
from transcoders.rendition.specs import (
    HLS_SEGMENT_S,
    AudioSpecLike,
    Leveling,
    PathLike,
    PresetLike,
    SourceFacts,
    VideoSpecLike,
)

logger = logging.getLogger(__name__)


def _rungs(preset: PresetLike) -> list[VideoSpecLike]:
    """HLS rungs, largest first: ``video`` (the top rung) plus the ladder, without repeats."""
    assert preset.video is not None
    rungs: list[VideoSpecLike] = [preset.video]
    for rung in preset.ladder or ():
        if rung not in rungs:
            rungs.append(rung)
    return sorted(rungs, key=lambda r: -(r.height or 0))


def rung_name(source: SourceFacts, rung: VideoSpecLike) -> str:
    """A variant's name in the HLS folder, e.g. ``720p``."""
    return f"{plan_geometry(source, rung).height}p"


def expected_duration(source: SourceFacts, preset: PresetLike) -> float | None:
    """The output's length: the source's (shorter or longer by a speed-up), cut at the preset's ``max_duration_s``."""
    speed = speed_factor(source, preset.video) if preset.video is not None else None
    length = float(Fraction(source.duration_s) / speed) if source.duration_s and speed else source.duration_s
    durations = [d for d in (length, preset.max_duration_s) if d]
    return min(durations) if durations else None


def render_args(
    src: PathLike,
    dst: PathLike,
    preset: PresetLike,
    *,
    source: SourceFacts,
    leveling: Leveling | None = None,
    subtitles: PathLike | None = None,
) -> list[str]:
    """The pass-2 ffmpeg arguments (without the runner's prefix). For HLS ``dst`` is the master playlist.

    When the source's length is known, picture and sound are both held to it in the filter graph (the last
    frame repeated, silence after the sound, then trimmed): the rendition lasts exactly as long as the source
    whatever its streams do (sound shorter than picture, a VFR clip's long last frame, a rate conversion).
    """
    burn = Path(subtitles) if subtitles is not None and preset.captions.burn_in else None
    duration = expected_duration(source, preset)
    audio = preset.audio
    silence = audio is not None and not source.has_audio
    if silence:
        logger.info("%s: the source has no sound; the rendition carries silent tracks in the preset's layout",
                    preset.name)
    if preset.container == "hls":
        graphs, maps, codec_args, extra = _hls_parts(dst, preset, source, audio, leveling, silence, duration)
    else:
        graphs, maps, codec_args, extra = _file_parts(dst, preset, source, audio, leveling, burn, silence, duration)
    return [
        "-i", media_arg(src), *(silence_input(audio, duration) if silence and audio is not None else []),
        "-filter_complex", ";".join(graphs), *maps,
        *(["-vn"] if preset.video is None else []), *(["-an"] if audio is None else []), "-sn", "-dn",
        "-map_metadata", "-1", "-map_chapters", "-1",
        *codec_args,
        *(["-shortest"] if silence and not duration else []),
        "-threads", "0",
        *extra,
    ]  # fmt: skip


_Parts = tuple[list[str], list[str], list[str], list[str]]  # filter graphs, maps, codec options, output options


def _file_parts(
    dst: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    audio: AudioSpecLike | None,
    leveling: Leveling | None,
    burn: Path | None,
    silence: bool = False,
    duration: float | None = None,
) -> _Parts:
    graphs: list[str] = []
    maps: list[str] = []
    codec_args: list[str] = []
    if preset.video is not None:
        graphs.append(f"[0:v:0]{_picture_chain(source, preset.video, burn, length_s=duration)}[vout]")
        maps += ["-map", "[vout]"]
        codec_args += _video_codec_args(preset.video, _out_rate(preset.video, source), preset.container)
    if audio is not None:
        tracks = mono_tracks(preset)
        graphs.append(_audio_graph(source, preset, leveling, ["aout"], mono_tracks=tracks, silence=silence,
                                   length_s=duration))
        labels = [f"aout{k}" for k in range(audio.channels)] if tracks else ["aout"]
        for label in labels:
            maps += ["-map", f"[{label}]"]
        codec_args += _audio_codec_args(audio)
    tc = output_timecode(
        source.start_timecode,
        source.frame_rate,
        _out_rate(preset.video, source) if preset.video else source.frame_rate,
        drop_frame=source.drop_frame,
    )
    extra = [*_timecode_args(preset, tc), *_container_args(preset, source, tc), media_arg(dst)]
    return graphs, maps, codec_args, extra


def _hls_parts(
    dst: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    audio: AudioSpecLike | None,
    leveling: Leveling | None,
    silence: bool = False,
    duration: float | None = None,
) -> _Parts:
    """Every rung from one decode (``split``), keyframes aligned across rungs, one shared audio rendition."""
    assert preset.video is not None
    rungs = _rungs(preset)
    rate = _out_rate(preset.video, source)
    base = _rungs_base(source, preset.video, length_s=duration)
    graphs = [f"[0:v:0]{base + ',' if base else ''}split={len(rungs)}" + "".join(f"[hv{i}]" for i in range(len(rungs)))]
    maps: list[str] = []
    codec_args: list[str] = []
    stream_map: list[str] = []
    group = ",agroup:audio" if audio is not None else ""
    unit = replace(source, frame_rate=rate, field_order="progressive")
    for i, rung in enumerate(rungs):
        graphs.append(f"[hv{i}]{_picture_chain(unit, _progressive(rung), None)}[v{i}]")
        maps += ["-map", f"[v{i}]"]
        video_args = _video_codec_args(rung, rate, "hls")
        if not (rung.max_bitrate or rung.bitrate):  # the master playlist needs a BANDWIDTH for every variant
            geo = plan_geometry(source, rung)
            cap = round(geo.width * geo.height * float(rate or 25) * 0.12)
            video_args += ["-maxrate:v", str(cap), "-bufsize:v", str(2 * cap)]
        # IDR frames at the same instants in every rung, so players can switch at any segment boundary
        key_s = _gop(rung, rate) / float(rate or 25)
        video_args += ["-force_key_frames:v", f"expr:gte(t,n_forced*{key_s:g})"]
        codec_args += _specified(video_args, f"v:{i}")
        stream_map.append(f"v:{i}{group},name:{rung_name(source, rung)}")
    if audio is not None:
        graphs.append(_audio_graph(source, preset, leveling, ["aout"], silence=silence, length_s=duration))
        maps += ["-map", "[aout]"]
        codec_args += _audio_codec_args(audio)
        stream_map.append("a:0,agroup:audio,name:audio")
    folder = Path(dst).parent
    extra = [
        "-f",
        "hls",
        "-hls_time",
        str(HLS_SEGMENT_S),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        media_arg(folder / "%v_%05d.ts"),
        "-master_pl_name",
        Path(dst).name,
        "-var_stream_map",
        " ".join(stream_map),
        media_arg(folder / "%v.m3u8"),
    ]
    return graphs, maps, codec_args, extra


def _rungs_base(source: SourceFacts, top: VideoSpecLike, *, length_s: float | None = None) -> str:
    """What every HLS rung shares before the split: deinterlacing, the top rung's rate, and the length (the
    last frame held, then cut)."""
    steps = [HOLD_LAST_FRAME] if length_s else []
    if source.interlaced:
        steps.append("bwdif=mode=send_frame:parity=auto:deint=all")
    rate = _rate(top.frame_rate)
    speed = speed_factor(source, top)
    if speed:
        steps += [f"setpts=PTS*{1 / speed}", f"fps={rate}"]
    elif rate and rate != source.frame_rate:
        steps.append(f"fps={rate}")
    if length_s:
        steps.append(cut(length_s))
    return ",".join(steps)


@dataclass(frozen=True)
class _RungView:
    """A VideoSpecLike with some fields overridden."""

    codec: str
    profile: str | None
    width: int | None
    height: int | None
    frame_rate: str | None
    scan: str
    pix_fmt: str
    bitrate: str | None
    crf: int | None
    max_bitrate: str | None
    gop: int | None
    gop_s: float | None
    reframe: str
    rate_change: str


def _progressive(rung: VideoSpecLike) -> VideoSpecLike:
    """A rung as drawn after the shared base: progressive, at the base's rate."""
    return _RungView(
        rung.codec,
        rung.profile,
        rung.width,
        rung.height,
        None,
        "progressive",
        rung.pix_fmt,
        rung.bitrate,
        rung.crf,
        rung.max_bitrate,
        rung.gop,
        rung.gop_s,
        rung.reframe,
        rung.rate_change,
    )
