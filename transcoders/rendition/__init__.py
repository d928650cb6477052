"""Delivery renditions: one source rendered to a delivery preset, loudness-normalised in two passes.

:func:`render` takes a preset object (duck-typed: anything shaped like ``delivery.presets.Preset``, see
:class:`PresetLike`; transcoders never import delivery/) and plain facts about the source
(:class:`SourceFacts`), and writes an atomic, verified output:

1. **Measure** (only when the preset has a loudness target and the source has audio): an audio-only
   ffmpeg pass runs the output's channel mix and ``ebur128`` over exactly the stretch that will be
   delivered. The gain to the target follows (:func:`plan_leveling`). When that gain would push the true
   peak over the preset's ceiling, a second audio-only pass calibrates the gain through a 4x-oversampled
   look-ahead limiter (:func:`calibrate_limiter`). Silence gets no gain.
2. **Render**: the whole transcode in one ffmpeg run, the audio through the gain (and the limiter), then
   resampled to the preset's rate and channel layout; picture and sound held to the source's length.

:func:`render_args` is the single source of the pass-2 command, so a benchmark or a test can read or run
the very same arguments. Geometry, interlacing and timecode are planned by small pure functions
(:func:`plan_geometry`, :func:`output_timecode`).

HLS presets write one ffmpeg run with every rung (``-var_stream_map``) plus a master playlist; ``dst``
is the master playlist inside a folder of its own, and that whole folder is replaced atomically.
"""

from __future__ import annotations

from transcoders.rendition.command import expected_duration, render_args, rung_name
from transcoders.rendition.geometry import Geometry, output_timecode, plan_geometry, timecode_seconds
from transcoders.rendition.graphs import mono_tracks, plan_leveling
from transcoders.rendition.loudness import calibrate_limiter, measure_loudness
from transcoders.rendition.run import render
from transcoders.rendition.specs import Leveling, LoudnessMeasurement, PresetLike, RenditionResult, SourceFacts

__all__ = [
    "Geometry",
    "Leveling",
    "LoudnessMeasurement",
    "PresetLike",
    "RenditionResult",
    "SourceFacts",
    "calibrate_limiter",
    "expected_duration",
    "measure_loudness",
    "mono_tracks",
    "output_timecode",
    "plan_geometry",
    "plan_leveling",
    "render",
    "render_args",
    "rung_name",
    "timecode_seconds",
]
