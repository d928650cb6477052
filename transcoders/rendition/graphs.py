"""Filter graphs: the audio mix and two-pass loudness normalisation, the picture chain (frame rate,
interlacing, reframing, captions)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from transcoders.rendition.geometry import _even, pad_offsets, plan_geometry
from transcoders.rendition.specs import (
    _LAYOUTS,
    _LOSSY_AUDIO,
    BLUR_SCALE,
    DEFAULT_LRA,
    LOSSY_TP_HEADROOM_DB,
    AudioSpecLike,
    LoudnessMeasurement,
    PresetLike,
    SourceFacts,
    VideoSpecLike,
)


def _layout(channels: int) -> str:
    return _LAYOUTS.get(channels, f"{channels}c")


def _programme_channels(source: SourceFacts, audio: AudioSpecLike) -> int:
    """Channels the loudness is measured and normalised on: the source's, mixed down to the preset's when
    it has more; a mono source becomes dual mono; channels the preset has beyond these stay silent (mapped,
    never up-mixed: 8-track XDCAM carries the stereo programme on tracks 1/2)."""
    src, out = source.audio_channels, audio.channels
    if src is None or src >= out:
        return out
    return min(2, out) if src == 1 else src


def _tp_target(preset: PresetLike) -> float:
    assert preset.loudness is not None
    lossy = preset.audio is not None and preset.audio.codec in _LOSSY_AUDIO
    return max(-9.0, preset.loudness.true_peak - (LOSSY_TP_HEADROOM_DB if lossy else 0.0))


def _audio_mix(source: SourceFacts, audio: AudioSpecLike) -> list[str]:
    """The explicit channel mix to the programme layout (before loudness, so pass 1 measures what ships)."""
    src, programme = source.audio_channels, _programme_channels(source, audio)
    layout = _layout(programme)
    if src == programme:
        return [f"aformat=channel_layouts={layout}"] if src in _LAYOUTS else []
    if src == 1:  # dual mono: the signal on both programme channels at full level
        return [f"pan={layout}|" + "|".join(f"c{i}=c0" for i in range(programme))]
    # downmix: swresample's ITU-R BS.775 matrix (centre and surrounds at -3 dB, LFE dropped)
    return [f"aresample=out_chlayout={layout}"]


def _audio_graph(
    source: SourceFacts,
    preset: PresetLike,
    measured: LoudnessMeasurement | None,
    outputs: Sequence[str],
    *,
    mono_tracks: bool = False,
    silence: bool = False,
) -> str:
    """Filter graph from ``[0:a:0]`` to ``outputs``: mix, loudness, resample, then the preset's channel layout.

    ``mono_tracks`` (MXF) gives one mono output per channel, each labelled ``{outputs[0]}{k}``; otherwise
    every label in ``outputs`` gets a copy of the whole layout (HLS rungs). ``silence``: the source has no sound
    and the graph starts from ``[1:a:0]``, the silent input of :func:`silence_input` in the preset's layout. A
    silent source (see ``LoudnessMeasurement.silent``) gets no loudness gain.
    """
    audio = preset.audio
    assert audio is not None
    if silence:
        source = replace(source, has_audio=True, audio_channels=audio.channels)
    programme = _programme_channels(source, audio)
    steps = _audio_mix(source, audio)
    if preset.loudness is not None and measured is not None and not measured.silent:
        lra = min(50.0, max(DEFAULT_LRA, math.ceil(measured.lra_lu + 1)))  # a plain gain whenever TP allows
        steps.append(
            f"loudnorm=I={preset.loudness.integrated:g}:TP={_tp_target(preset):g}:LRA={lra:g}:"
            f"{measured.loudnorm_args()}:linear=true:print_format=summary"
        )
    steps.append(f"aresample={audio.sample_rate}:resampler=soxr:precision=28")
    steps.append(f"aformat=sample_rates={audio.sample_rate}:channel_layouts={_layout(programme)}")
    chain = ("[1:a:0]" if silence else "[0:a:0]") + ",".join(steps)
    if mono_tracks and audio.channels > 1:
        labels = [f"{outputs[0]}{k}" for k in range(audio.channels)]
        split = f"{chain},asplit={audio.channels}" + "".join(f"[{lab}_in]" for lab in labels)
        tracks = [
            f"[{lab}_in]pan=mono|c0={f'c{k}' if k < programme else '0*c0'}[{lab}]" for k, lab in enumerate(labels)
        ]
        return ";".join([split, *tracks])
    if audio.channels > programme:  # silent channels after the programme
        chain += f",pan={_layout(audio.channels)}|" + "|".join(f"c{i}=c{i}" for i in range(programme))
    if len(outputs) == 1:
        return f"{chain}[{outputs[0]}]"
    return f"{chain},asplit={len(outputs)}" + "".join(f"[{lab}]" for lab in outputs)


def silence_input(audio: AudioSpecLike, duration_s: float | None) -> list[str]:
    """A second ffmpeg input of digital silence in the preset's layout and rate, as long as the output."""
    length = ["-t", f"{duration_s:.6f}"] if duration_s else []
    return ["-f", "lavfi", *length, "-i",
            f"anullsrc=channel_layout={_layout(audio.channels)}:sample_rate={audio.sample_rate}"]


def mono_tracks(preset: PresetLike) -> bool:
    """MXF carries one mono track per channel (SMPTE RDD 9 / XDCAM, Avid); other containers one stream."""
    return preset.container == "mxf" and preset.audio is not None and preset.audio.channels > 1


def _rate(value: str | None) -> Fraction | None:
    return Fraction(value) if value else None


def _out_rate(video: VideoSpecLike, source: SourceFacts) -> Fraction | None:
    return _rate(video.frame_rate) or source.frame_rate


def _picture_chain(source: SourceFacts, video: VideoSpecLike, subtitles: Path | None) -> str:
    """Deinterlace/interlace, rate, scale/reframe, captions and pixel format for one output picture.

    The result starts from a single input pad and may contain ``;``-separated sub-graphs (blur-pad).
    """
    out_rate = _out_rate(video, source)
    out_interlaced = video.scan in ("tff", "bff")
    geo = plan_geometry(source, video)
    pre: list[str] = []
    post: list[str] = []
    scale_opts = ":out_color_matrix=bt709:out_range=tv"
    same_rate = out_rate is None or source.frame_rate == out_rate
    if out_interlaced:
        field = video.scan
        if source.interlaced and same_rate:
            scale_opts += ":interl=1"
            if source.field_order != field:
                pre.append(f"fieldorder={field}")
        elif same_rate:  # progressive at the output rate: segmented frames (PsF), coded as fields
            pass
        else:  # make twice the output rate progressive, then weave fields
            assert out_rate is not None
            if source.interlaced:
                pre.append("bwdif=mode=send_field:parity=auto:deint=all")
            pre.append(f"fps={out_rate * 2}")
            post.append(f"interlace=scan={field}:lowpass=complex")
        post.append(f"setfield={field}")
    else:
        if source.interlaced:
            pre.append("bwdif=mode=send_frame:parity=auto:deint=all")
        if not same_rate:
            pre.append(f"fps={out_rate}")
        post.append("setfield=prog")
    if subtitles is not None:
        style = "FontName=DejaVu Sans,FontSize=16,Outline=1,Shadow=0,MarginV=24"
        post.insert(0, f"subtitles=filename={_filter_value(str(subtitles))}:force_style={_filter_value(style)}")
    post.append(f"format={video.pix_fmt}")
    head = ",".join(pre)
    tail = ",".join(post)
    if geo.mode == "blur-pad":
        small_w, small_h = _even(geo.width / BLUR_SCALE), _even(geo.height / BLUR_SCALE)
        back = (
            f"scale={small_w}:{small_h}:force_original_aspect_ratio=increase,crop={small_w}:{small_h},"
            f"boxblur=luma_radius=10:luma_power=2,scale={geo.width}:{geo.height}{scale_opts}"
        )
        front = f"scale={geo.fit_width}:{geo.fit_height}{scale_opts}"
        return (
            f"{head + ',' if head else ''}split=2[bp_back][bp_front];[bp_back]{back}[bp_b];"
            f"[bp_front]{front}[bp_f];[bp_b][bp_f]overlay=(W-w)/2:(H-h)/2:format=auto,setsar=1,{tail}"
        )
    if geo.mode == "crop":
        scale = f"scale={geo.fill_width}:{geo.fill_height}{scale_opts},crop={geo.width}:{geo.height}"
    elif geo.mode == "pad" and (geo.fit_width, geo.fit_height) != (geo.width, geo.height):  # letterbox/pillarbox
        x, y = pad_offsets(geo)
        scale = (f"scale={geo.fit_width}:{geo.fit_height}{scale_opts},"
                 f"pad={geo.width}:{geo.height}:{x}:{y}:color=black")
    else:
        scale = f"scale={geo.width}:{geo.height}{scale_opts}"
    return ",".join(p for p in (head, scale, "setsar=1", tail) if p)


def _filter_value(text: str) -> str:
    """Escape a filter option value for a filtergraph (both levels of ffmpeg's filtergraph escaping)."""
    level1 = re.sub(r"([\\':])", r"\\\1", text)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)
