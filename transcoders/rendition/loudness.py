"""Pass 1: measure the programme's loudness (``loudnorm`` print_format=json) over exactly what will be
delivered, with the output's own channel mix."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

from rushes.errors import MediaError
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg
from transcoders.rendition.graphs import _audio_mix
from transcoders.rendition.specs import SILENCE_LUFS, LoudnessMeasurement, PathLike, PresetLike, SourceFacts

# "[Parsed_ebur128_0 @ 0x…] [info] Summary:" -> "Summary:"
_TAGS = re.compile(r"^(?:\[[^\]]*\] ?)*")
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)|-?inf|nan)"
_SUMMARY = {
    "integrated_lufs": re.compile(rf"^\s*I:\s*{_NUMBER}\s*LUFS"),
    "threshold_lufs": re.compile(rf"^\s*Threshold:\s*{_NUMBER}\s*LUFS"),
    "lra_lu": re.compile(rf"^\s*LRA:\s*{_NUMBER}\s*LU\b"),
    "true_peak_dbtp": re.compile(rf"^\s*Peak:\s*{_NUMBER}\s*dB"),
}
_NORMALIZATION = re.compile(r"Normalization Type:\s*(\w+)")


def measure_loudness(
    src: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> LoudnessMeasurement:
    """Pass 1: the audio as it will be delivered (mixed, cut to ``duration_s``), measured by ``ebur128``.

    ``ebur128`` rather than loudnorm's own first pass: loudnorm's JSON under-reads short clips (its 3 s
    look-ahead: -28.67 against -28.4 LUFS for a 4 s clip), which then shows as an offset at QC. Its
    integrated loudness, gate, LRA and true peak are exactly loudnorm's ``measured_*`` inputs.
    """
    if preset.audio is None:
        raise ValueError(f"preset {preset.name} has no audio")
    chain = ",".join([*_audio_mix(source, preset.audio), "ebur128=peak=true:framelog=quiet"])
    args = [
        "-i",
        media_arg(src),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-af",
        chain,
        *(["-t", f"{duration_s:.6f}"] if duration_s else []),
        "-f",
        "null",
        "-",
    ]
    run = run_ffmpeg(
        args, duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel, stderr_lines=None
    )
    found = _parse_summary(run.stderr_tail.splitlines())
    missing = [key for key in _SUMMARY if key not in found]
    if missing:
        raise MediaError(f"ebur128 printed no {', '.join(missing)} for {Path(src).name}")

    def finite(value: float) -> float:  # digital silence: "-inf" peak, -70 LUFS
        return value if math.isfinite(value) else SILENCE_LUFS

    return LoudnessMeasurement(
        integrated_lufs=finite(found["integrated_lufs"]),
        true_peak_dbtp=finite(found["true_peak_dbtp"]),
        lra_lu=finite(found["lra_lu"]),
        threshold_lufs=finite(found["threshold_lufs"]),
    )


def _parse_summary(lines: list[str]) -> dict[str, float]:
    """The first ``I``, ``Threshold``, ``LRA`` and ``Peak`` of the last ebur128 summary."""
    found: dict[str, float] = {}
    for raw in lines:
        line = _TAGS.sub("", raw, count=1)
        if line.strip() == "Summary:":
            found = {}
            continue
        for name, pattern in _SUMMARY.items():
            if name not in found and (match := pattern.match(line)):
                found[name] = float(match.group(1))
    return found
