"""Encoder and container arguments for each codec and container a preset can ask for."""

from __future__ import annotations

import logging
import re
from fractions import Fraction

from transcoders.rendition.geometry import timecode_seconds
from transcoders.rendition.specs import (
    _AUDIO_ENCODERS,
    _LOSSY_AUDIO,
    _MUXERS,
    _PRORES_PROFILES,
    VP9_CPU_USED,
    X264_PRESET,
    X265_PRESET,
    AudioSpecLike,
    PresetLike,
    SourceFacts,
    VideoSpecLike,
)

logger = logging.getLogger(__name__)


def _gop(video: VideoSpecLike, rate: Fraction | None, default_s: float = 2.0) -> int:
    """Frames between keyframes: the preset's ``gop``, else ``gop_s`` (or ``default_s``) at the output rate."""
    if video.gop:
        return video.gop
    seconds = getattr(video, "gop_s", None) or default_s
    return max(1, round(float(rate or 25) * seconds))


def _bits(value: str) -> int:
    """``"50M"`` -> 50_000_000, ``"800k"`` -> 800_000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", value)
    if match is None:
        raise ValueError(f"not a bitrate: {value!r}")
    factor = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match.group(2).lower()]
    return round(float(match.group(1)) * factor)


def _video_codec_args(video: VideoSpecLike, rate: Fraction | None, container: str) -> list[str]:
    """Encoder options, every one written with a bare ``:v`` stream specifier (see :func:`_specified`)."""
    interlaced = video.scan in ("tff", "bff")
    field_flags = ["-flags:v", "+ilme+ildct"] if interlaced else []
    color = ["-color_primaries:v", "bt709", "-color_trc:v", "bt709", "-colorspace:v", "bt709"]
    common = ["-pix_fmt:v", video.pix_fmt, *color]
    codec = video.codec
    if codec == "mpeg2video":  # Sony XDCAM HD422 style: 4:2:2P@HL, CBR, long GOP 12 (15 at 29.97)
        bitrate = video.bitrate or "50M"
        buffer = str(min(_bits(bitrate) // 3, 47_185_920))  # ~1/3 s of VBV, within 4:2:2P@HL's limit
        profile = ["-profile:v", "0", "-level:v", "2"] if (video.profile or "422") == "422" else []
        return [
            "-c:v", "mpeg2video", *profile,
            "-b:v", bitrate, "-minrate:v", bitrate, "-maxrate:v", bitrate,
            "-bufsize:v", buffer, "-rc_init_occupancy:v", buffer,
            "-rc_max_vbv_use:v", "1", "-rc_min_vbv_use:v", "1",
            "-g:v", str(video.gop or (15 if rate and round(rate) == 30 else 12)), "-bf:v", "2",
            "-sc_threshold:v", "1000000000",
            "-non_linear_quant:v", "1", "-intra_vlc:v", "1", "-intra_dc_precision:v", "2",
            "-qmin:v", "1", "-qmax:v", "12", "-lmin:v", "1*QP2LAMBDA",
            *(["-alternate_scan:v", "1"] if interlaced else []), "-seq_disp_ext:v", "1", "-video_format:v", "1",
            *field_flags, *common,
        ]  # fmt: skip
    if codec == "prores":
        prores_profile = _PRORES_PROFILES.get((video.profile or "hq").lower(), 3)
        return ["-c:v", "prores_ks", "-profile:v", str(prores_profile), "-vendor:v", "apl0", *field_flags, *common]
    if codec == "dnxhd":
        dnx_profile = video.profile or "dnxhr_hq"
        rate_args = ["-b:v", video.bitrate] if video.bitrate else []
        return ["-c:v", "dnxhd", "-profile:v", dnx_profile, *rate_args, *field_flags, *common]
    if codec in ("h264", "hevc"):
        gop = str(_gop(video, rate))
        quality = ["-crf:v", str(video.crf)] if video.crf is not None else []
        if video.bitrate:
            quality += ["-b:v", video.bitrate]
        if video.max_bitrate:
            quality += ["-maxrate:v", video.max_bitrate, "-bufsize:v", str(2 * _bits(video.max_bitrate))]
        if not quality:
            quality = ["-crf:v", "23"]
        if codec == "h264":
            profile = ["-profile:v", video.profile or "high"]
            return [
                "-c:v",
                "libx264",
                "-preset:v",
                X264_PRESET,
                *profile,
                *quality,
                "-g:v",
                gop,
                "-keyint_min:v",
                gop,
                "-sc_threshold:v",
                "0",
                *field_flags,
                *common,
            ]
        tag = ["-tag:v", "hvc1"] if container in ("mp4", "mov") else []
        return [
            "-c:v",
            "libx265",
            "-preset:v",
            X265_PRESET,
            *quality,
            "-g:v",
            gop,
            "-keyint_min:v",
            gop,
            "-x265-params:v",
            "log-level=error",
            *tag,
            *common,
        ]
    if codec == "vp9":
        gop = str(_gop(video, rate, default_s=4.0))
        crf = str(video.crf if video.crf is not None else 32)
        # -b:v 0 is constant quality; a max bitrate makes it constrained quality with that cap
        cap = video.max_bitrate or video.bitrate or "0"
        profile = ["-profile:v", video.profile] if video.profile else []
        return [
            "-c:v",
            "libvpx-vp9",
            *profile,
            "-crf:v",
            crf,
            "-b:v",
            cap,
            "-deadline:v",
            "good",
            "-cpu-used:v",
            str(VP9_CPU_USED),
            "-row-mt:v",
            "1",
            "-g:v",
            gop,
            *common,
        ]
    raise ValueError(f"unsupported video codec {codec!r}")


def _specified(args: list[str], spec: str) -> list[str]:
    """Rewrite every ``-opt:v`` option to ``-opt:<spec>`` (e.g. ``-crf:v:1`` for HLS variant 1)."""
    return [f"{a[:-2]}:{spec}" if a.startswith("-") and a.endswith(":v") else a for a in args]


def _audio_codec_args(audio: AudioSpecLike) -> list[str]:
    args = ["-c:a", _AUDIO_ENCODERS[audio.codec]]
    if audio.codec in _LOSSY_AUDIO:
        args += ["-b:a", audio.bitrate or ("320k" if audio.codec == "mp3" else "128k")]
    if audio.codec == "opus" and audio.sample_rate != 48000:
        logger.warning("Opus always decodes at 48 kHz; %d Hz asked", audio.sample_rate)
    return args


def _container_args(preset: PresetLike, source: SourceFacts, timecode: str | None) -> list[str]:
    container = preset.container
    if container == "mp4":
        return ["-movflags", "+faststart", "-f", "mp4"]
    if container == "mov":
        return ["-movflags", "+write_colr", "-f", "mov"]
    if container == "wav":
        args = [
            "-rf64",
            "auto",
            "-write_bext",
            "1",
            "-metadata",
            f"description={preset.name}"[:256],
            "-metadata",
            "originator=Rushes",
        ]
        if preset.timecode and timecode and source.frame_rate and preset.audio is not None:
            seconds = timecode_seconds(timecode, source.frame_rate)
            args += ["-metadata", f"time_reference={round(seconds * preset.audio.sample_rate)}"]
        return [*args, "-f", "wav"]
    if container == "mp3":
        return ["-id3v2_version", "3", "-write_xing", "1", "-f", "mp3"]
    return ["-f", _MUXERS[container]]
