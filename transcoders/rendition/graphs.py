"""Filter graphs: the audio mix and two-pass loudness normalisation, the picture chain (frame rate,
interlacing, reframing, captions)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from rushes.timecode import is_standard_rate, nearest_standard_rate
from transcoders.rendition.geometry import _even, pad_offsets, plan_geometry
from transcoders.rendition.specs import (
    _LAYOUTS,
    _LOSSY_AUDIO,
    _STANDARD_RATE_CODECS,
    BLUR_SCALE,
    LIMITER_MARGIN_DB,
    LIMITER_OVERSAMPLE_HZ,
    LOSSY_TP_HEADROOM_DB,
    SPEED_UP_LIMIT,
    AudioSpecLike,
    Leveling,
    LoudnessMeasurement,
    PresetLike,
    SourceFacts,
    VideoSpecLike,
)


def _layout(channels: int) -> str:
    return _LAYOUTS.get(channels, f"{channels}c")


def _programme_channels(source: SourceFacts, audio: AudioSpecLike) -> int:
    """Channels the loudness is measured and normalised on: the source's, mixed down to the preset's when
    it has more; a mono source becomes dual mono, and a source with fewer channels than the preset but more than
    two (5.1 into 8-track XDCAM) is mixed down to stereo: tracks 1/2 carry the stereo programme, which is what
    QC and a broadcaster's ingest measure; the preset's other channels stay silent (never up-mixed)."""
    src, out = source.audio_channels, audio.channels
    if src is None or src >= out:
        return out
    return min(2, out)


def _tp_target(preset: PresetLike) -> float:
    assert preset.loudness is not None
    lossy = preset.audio is not None and preset.audio.codec in _LOSSY_AUDIO
    return max(-9.0, preset.loudness.true_peak - (LOSSY_TP_HEADROOM_DB if lossy else 0.0))


def plan_leveling(measured: LoudnessMeasurement, preset: PresetLike) -> Leveling | None:
    """The gain to the target, and whether it breaks the true-peak ceiling (then a limiter, calibrated by
    :func:`transcoders.rendition.loudness.calibrate_limiter`). None for a silent source: no gain lifts silence."""
    if preset.loudness is None or measured.silent:
        return None
    gain = preset.loudness.integrated - measured.integrated_lufs
    ceiling = _tp_target(preset)
    peak = measured.true_peak_dbtp + gain
    if peak <= ceiling:
        return Leveling(gain)
    return Leveling(gain, ceiling - LIMITER_MARGIN_DB, peak)


def leveling_steps(leveling: Leveling | None) -> list[str]:
    """The gain, then (limited) a look-ahead limiter at 4x the rate so it holds true peaks, its delay compensated."""
    if leveling is None:
        return []
    steps = [f"volume={leveling.gain_db:.2f}dB"]
    if leveling.limit_dbtp is not None:
        limit = 10 ** (leveling.limit_dbtp / 20)
        steps += [f"aresample={LIMITER_OVERSAMPLE_HZ}:resampler=soxr",
                  f"alimiter=limit={limit:.5f}:attack=5:release=100:level=false:latency=true"]
    return steps


# Sound on the source's timeline: a gap in the timestamps (a phone dropping audio packets) is filled with silence
# and a late first sample is preceded by it, so the sound stays in sync with the picture after the gap.
ON_TIMELINE = "aresample=async=1:first_pts=0"


def _audio_mix(source: SourceFacts, audio: AudioSpecLike) -> list[str]:
    """The sound on its timeline, then the explicit channel mix to the programme layout (before loudness, so
    pass 1 measures what ships)."""
    src, programme = source.audio_channels, _programme_channels(source, audio)
    layout = _layout(programme)
    if src == programme:
        return [ON_TIMELINE, *([f"aformat=channel_layouts={layout}"] if src in _LAYOUTS else [])]
    if src == 1:  # dual mono: the signal on both programme channels at full level
        return [ON_TIMELINE, f"pan={layout}|" + "|".join(f"c{i}=c0" for i in range(programme))]
    # downmix: swresample's ITU-R BS.775 matrix (centre and surrounds at -3 dB, LFE dropped)
    return [f"{ON_TIMELINE}:out_chlayout={layout}"]


def speed_factor(source: SourceFacts, video: VideoSpecLike) -> Fraction | None:
    """How much faster a ``rate_change: speed-up`` preset plays the source (25 / 23.976 = 1.0427): every frame
    kept at the new rate, the sound time-stretched to match with its pitch kept. None: the rate is converted (or
    kept). A source rate more than ``SPEED_UP_LIMIT`` away (29.97 to 25) is converted, not sped up."""
    out = _rate(video.frame_rate)
    if video.rate_change != "speed-up" or not out or not source.frame_rate or out == source.frame_rate:
        return None
    factor = out / Fraction(source.frame_rate)
    return factor if abs(factor - 1) <= SPEED_UP_LIMIT else None


def programme_chain(source: SourceFacts, preset: PresetLike) -> list[str]:
    """The source's sound as the rendition carries it, before loudness: mixed, and time-stretched (pitch kept,
    ``atempo``) when the preset speeds the picture up."""
    assert preset.audio is not None
    speed = speed_factor(source, preset.video) if preset.video is not None else None
    return [*_audio_mix(source, preset.audio), *([f"atempo={float(speed):.8f}"] if speed else [])]


def _audio_graph(
    source: SourceFacts,
    preset: PresetLike,
    leveling: Leveling | None,
    outputs: Sequence[str],
    *,
    mono_tracks: bool = False,
    silence: bool = False,
    length_s: float | None = None,
) -> str:
    """Filter graph from ``[0:a:0]`` to ``outputs``: mix, loudness, resample, then the preset's channel layout,
    with ``length_s``, padded with silence and cut to that length (the source's): sound shorter than the picture
    lasts as long as it, and the picture is held under sound that runs longer.

    ``mono_tracks`` (MXF) gives one mono output per channel, each labelled ``{outputs[0]}{k}``; otherwise
    every label in ``outputs`` gets a copy of the whole layout (HLS rungs). ``silence``: the source has no sound
    and the graph starts from ``[1:a:0]``, the silent input of :func:`silence_input` in the preset's layout.
    ``leveling`` (see :func:`plan_leveling`): the gain, and the limiter if any; None: no loudness target applies.
    """
    audio = preset.audio
    assert audio is not None
    if silence:
        source = replace(source, has_audio=True, audio_channels=audio.channels)
    programme = _programme_channels(source, audio)
    steps = programme_chain(source, preset)
    steps += leveling_steps(leveling)
    steps.append(f"aresample={audio.sample_rate}:resampler=soxr:precision=28")
    steps.append(f"aformat=sample_rates={audio.sample_rate}:channel_layouts={_layout(programme)}")
    if length_s:
        steps += ["apad", f"atrim=duration={length_s:.6f}"]
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
    """The preset's rate, else the source's; a codec that only takes the standard rates (MPEG-2, DNxHR) gets the
    nearest one for a source at another (a phone clip averaging 10.5 fps)."""
    rate = _rate(video.frame_rate) or source.frame_rate
    if rate and video.codec in _STANDARD_RATE_CODECS and not is_standard_rate(rate):
        return nearest_standard_rate(rate)
    return rate


HOLD_LAST_FRAME = "tpad=stop=-1:stop_mode=clone"


def cut(length_s: float) -> str:
    """The end of a held picture: exactly ``length_s`` from its first frame (not the output's ``-t``, which
    counts from the input's earliest timestamp and so ends early when a stream starts before the other)."""
    return f"trim=duration={length_s:.6f}"


def _picture_chain(source: SourceFacts, video: VideoSpecLike, subtitles: Path | None, *,
                   length_s: float | None = None) -> str:
    """Deinterlace/interlace, rate, scale/reframe, captions and pixel format for one output picture.

    ``length_s``: the last picture is held and the picture cut to that length, so a picture that ends before the
    sound or the container (a VFR clip's last long frame, a frame-rate conversion's lost tail) lasts as long.
    The result starts from a single input pad and may contain ``;``-separated sub-graphs (blur-pad).
    """
    out_rate = _out_rate(video, source)
    out_interlaced = video.scan in ("tff", "bff")
    geo = plan_geometry(source, video)
    pre: list[str] = [HOLD_LAST_FRAME] if length_s else []
    post: list[str] = []
    scale_opts = ":out_color_matrix=bt709:out_range=tv"
    speed = speed_factor(source, video)
    if speed:  # every frame kept, re-timed to the new rate (fps then only labels the stream with it)
        pre += [f"setpts=PTS*{1 / speed}", f"fps={out_rate}"]
    same_rate = out_rate is None or source.frame_rate == out_rate or speed is not None
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
    if length_s:
        post.append(cut(length_s))
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
