"""Delivery presets: YAML files under ``presets/`` (broadcast/, web/, social/, audio/), validated on load.

A preset says what a rendition must be, in the terms of its real-world spec, and is the yardstick its
QC measures the output against. Errors name the file, the field and the allowed values.

    preset = load_preset("web/h264-1080p")
    preset.content_hash      # changes whenever the file's meaning changes: renditions are keyed by it
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rushes.errors import ConfigError
from rushes.yamlfiles import read_yaml_mapping, validation_problems

PRESETS_DIR = Path(__file__).resolve().parents[1] / "presets"
CATEGORIES = ("broadcast", "web", "social", "audio")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VideoSpec(_Strict):
    codec: Literal["h264", "hevc", "mpeg2video", "prores", "dnxhd", "vp9"]
    profile: str | None = None  # e.g. "high", "422" (MPEG-2 4:2:2), "hq" (ProRes 422 HQ), "dnxhr_hq"
    width: int | None = Field(None, ge=16, le=8192)  # None: the source's (scaled to height, aspect kept)
    height: int | None = Field(None, ge=16, le=8192)
    frame_rate: str | None = None  # "25", "30000/1001"; None: the source's rate, unchanged
    scan: Literal["progressive", "tff", "bff"] = "progressive"  # interlaced output is explicit, field order too
    pix_fmt: str = "yuv420p"
    bitrate: str | None = None  # "50M": constant-ish bitrate targets (broadcast)
    crf: int | None = Field(None, ge=0, le=63)  # quality target (web)
    max_bitrate: str | None = None
    gop: int | None = Field(None, ge=1)  # frames between keyframes
    gop_s: float | None = Field(None, gt=0, le=60)  # or seconds between keyframes: for a rate kept from the source
    # how a source of another shape fills a fixed frame: "none" keeps the fitted size (the frame follows the
    # source where width or height is left open), "pad" letterboxes/pillarboxes it in black (broadcast: the frame
    # is the format), "crop" and "blur-pad" fill it (social); never stretched
    reframe: Literal["none", "pad", "crop", "blur-pad"] = "none"
    # how a source at another rate reaches frame_rate: "convert" (frames blended/dropped/repeated, same length)
    # or "speed-up" (every frame kept, played faster or slower, sound time-stretched with its pitch kept: film
    # 23.976/24 to PAL 25, 4 % shorter); speed-up applies within 5 % of the rate, else the rate is converted
    rate_change: Literal["convert", "speed-up"] = "convert"

    @field_validator("frame_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"frame_rate must be a number or a fraction like 30000/1001, got {value!r}")
        try:
            rate = Fraction(str(value))  # YAML ``frame_rate: 25`` is an int; str() keeps 12.5 exact
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"frame_rate must be a number or a fraction like 30000/1001, got {value!r}") from exc
        if not 1 <= rate <= 120:
            raise ValueError(f"frame_rate must be between 1 and 120, got {value!r}")
        for nominal in (24, 30, 48, 60, 120):  # 29.97 written as a decimal is 2997/100, not the NTSC rate
            ntsc = Fraction(nominal * 1000, 1001)
            if rate != ntsc and rate.denominator != 1 and abs(rate - ntsc) < Fraction(1, 20):
                raise ValueError(f"frame_rate {value!r} is not exactly an NTSC rate: write {ntsc} (or an integer)")
        return str(rate)

    @model_validator(mode="after")
    def _one_gop(self) -> VideoSpec:
        if self.gop is not None and self.gop_s is not None:
            raise ValueError("give gop (frames) or gop_s (seconds), not both")
        if self.rate_change == "speed-up" and self.frame_rate is None:
            raise ValueError("rate_change speed-up needs a frame_rate to speed up to")
        return self


class AudioSpec(_Strict):
    codec: Literal["aac", "pcm_s24le", "pcm_s16le", "opus", "mp3"]
    channels: int = Field(2, ge=1, le=16)
    sample_rate: int = Field(48000, ge=8000, le=192000)
    bitrate: str | None = None  # lossy codecs


class LoudnessSpec(_Strict):
    """Two-pass normalisation (measure, then apply) to a target with a true-peak ceiling."""

    standard: Literal["EBU R128", "ATSC A/85", "streaming"]
    integrated: float = Field(ge=-40, le=-5)  # LUFS / LKFS
    true_peak: float = Field(ge=-9, le=0)  # dBTP ceiling
    tolerance: float = Field(0.5, gt=0, le=3)  # LU allowed around the target at QC


class CaptionSpec(_Strict):
    burn_in: bool = False  # draw the transcript onto the picture


class Preset(_Strict):
    """One delivery preset. ``name`` is its path under presets/ without ``.yaml`` (e.g. ``web/h264-720p``)."""

    name: str
    category: Literal["broadcast", "web", "social", "audio"]
    title: str
    spec: str  # the real-world spec this follows, in words, with its source
    container: Literal["mxf", "mov", "mp4", "hls", "webm", "wav", "mp3"]
    extension: str
    video: VideoSpec | None = None
    audio: AudioSpec | None = None
    loudness: LoudnessSpec | None = None
    timecode: bool = True  # carry the source's start timecode where the container supports it
    max_duration_s: Annotated[float, Field(gt=0)] | None = None  # social platforms' limits
    captions: CaptionSpec = CaptionSpec()
    ladder: list[VideoSpec] | None = None  # HLS: one video spec per rung, highest first (``ladder[0]`` is ``video``)

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        folder = self.name.partition("/")[0] if "/" in self.name else None
        if folder is not None and folder != self.category:
            raise ValueError(f"category {self.category!r} does not match the preset's folder {folder!r}/")
        if self.container in ("wav", "mp3") and self.video is not None:
            raise ValueError(f"a {self.container} preset has no video")
        if self.container not in ("wav", "mp3") and self.video is None:
            raise ValueError(f"a {self.container} preset needs a video section")
        if self.audio is None and self.loudness is not None:
            raise ValueError("loudness needs an audio section")
        if self.ladder and self.container != "hls":
            raise ValueError("only an hls preset has a ladder")
        if self.ladder and self.ladder[0] != self.video:
            raise ValueError("ladder[0] must be the top rung and equal to the video section")
        return self

    @property
    def content_hash(self) -> str:
        """SHA-256 of the preset's meaning (not its layout or comments)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_preset(path: Path, name: str) -> Preset:
    data = read_yaml_mapping(path, "preset", "a mapping of fields")
    try:
        return Preset(name=name, **data)
    except ValidationError as exc:
        raise ConfigError(validation_problems("preset", path, exc)) from exc
    except TypeError as exc:
        raise ConfigError(f"preset {path}: {exc}") from exc


def preset_files(root: Path = PRESETS_DIR) -> dict[str, Path]:
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.glob("*/*.yaml"))}


def load_preset(name: str, root: Path = PRESETS_DIR) -> Preset:
    files = preset_files(root)
    if name not in files:
        raise ConfigError(f"no preset {name!r}; known: {', '.join(files) or 'none'}")
    return parse_preset(files[name], name)


def load_presets(root: Path = PRESETS_DIR) -> dict[str, Preset]:
    """Every preset under ``root``; the first invalid file stops the load with its error."""
    return {name: parse_preset(path, name) for name, path in preset_files(root).items()}
