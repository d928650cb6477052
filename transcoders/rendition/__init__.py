"""Delivery renditions: one source rendered to a delivery preset, loudness-normalised in two passes.

:func:`render` takes a preset object (duck-typed: anything shaped like ``delivery.presets.Preset``, see
:class:`PresetLike`; transcoders never import delivery/) and plain facts about the source
(:class:`SourceFacts`), and writes an atomic, verified output:

1. **Measure** (only when the preset has a loudness target and the source has audio): an audio-only
   ffmpeg pass runs the output's channel mix and ``loudnorm=I:TP:LRA:print_format=json``
   over exactly the stretch that will be delivered.
2. **Render**: the whole transcode in one ffmpeg run, the audio through ``loudnorm`` with the
   ``measured_*`` figures and ``linear=true`` (a plain gain when the peak allows it, else loudnorm's
   true-peak limited mode), then resampled to the preset's rate and channel layout.

:func:`render_args` is the single source of the pass-2 command, so a benchmark or a test can read or run
the very same arguments. Geometry, interlacing and timecode are planned by small pure functions
(:func:`plan_geometry`, :func:`output_timecode`).

HLS presets write one ffmpeg run with every rung (``-var_stream_map``) plus a master playlist; ``dst``
is the master playlist inside a folder of its own, and that whole folder is replaced atomically.
"""

from __future__ import annotations

from transcoders.rendition.command import expected_duration, render_args, rung_name
from transcoders.rendition.geometry import Geometry, output_timecode, plan_geometry, timecode_seconds
from transcoders.rendition.graphs import mono_tracks
from transcoders.rendition.loudness import measure_loudness
from transcoders.rendition.run import render
from transcoders.rendition.specs import LoudnessMeasurement, PresetLike, RenditionResult, SourceFacts

__all__ = [
    "Geometry",
    "LoudnessMeasurement",
    "PresetLike",
    "RenditionResult",
    "SourceFacts",
    "expected_duration",
    "measure_loudness",
    "mono_tracks",
    "output_timecode",
    "plan_geometry",
    "render",
    "render_args",
    "rung_name",
    "timecode_seconds",
]
