"""Pass 1: measure the programme's loudness (``ebur128``) over exactly what will be delivered, with the
output's own channel mix; and, when a plain gain would break the true-peak ceiling, calibrate the limiter."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

from rushes.errors import MediaError
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg
from transcoders.rendition.graphs import leveling_steps, programme_chain
from transcoders.rendition.specs import (
    LIMITER_PROBE_STEP_DB,
    SILENCE_LUFS,
    Leveling,
    LoudnessMeasurement,
    PathLike,
    PresetLike,
    SourceFacts,
)

# "[Parsed_ebur128_0 @ 0x…] [info] Summary:" -> "Summary:"
_TAGS = re.compile(r"^(?:\[[^\]]*\] ?)*")
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)|-?inf|nan)"
_SUMMARY = {
    "integrated_lufs": re.compile(rf"^\s*I:\s*{_NUMBER}\s*LUFS"),
    "threshold_lufs": re.compile(rf"^\s*Threshold:\s*{_NUMBER}\s*LUFS"),
    "lra_lu": re.compile(rf"^\s*LRA:\s*{_NUMBER}\s*LU\b"),
    "true_peak_dbtp": re.compile(rf"^\s*Peak:\s*{_NUMBER}\s*dB"),
}
_SUMMARY_TAG = re.compile(r"^\[(Parsed_ebur128_\d+) @[^\]]*\].*Summary:")
_EBUR128 = "ebur128=peak=true:framelog=quiet"


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

    ``ebur128`` rather than loudnorm's first pass: loudnorm's JSON under-reads short clips (its 3 s
    look-ahead: -28.67 against -28.4 LUFS for a 4 s clip), which then shows as an offset at QC.
    """
    if preset.audio is None:
        raise ValueError(f"preset {preset.name} has no audio")
    chain = ",".join([*programme_chain(source, preset), *_length(duration_s), _EBUR128])
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
        "-f",
        "null",
        "-",
    ]
    run = run_ffmpeg(
        args, duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel, stderr_lines=None
    )
    summaries = _parse_summaries(run.stderr_tail.splitlines())
    found = summaries[-1] if summaries else {}
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


def calibrate_limiter(
    src: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    planned: Leveling,
    *,
    duration_s: float | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> Leveling:
    """The gain that meets the target through the limiter (which takes some loudness off the peaks).

    One audio-only pass measures the limited chain at the planned gain and ``LIMITER_PROBE_STEP_DB`` above
    it (one decode, two branches) and interpolates between them: within 0.1-0.3 LU of the target on speech,
    5.1 film sound and a +34 dB lift of a quiet phone recording, against 1-2 LU short with the plain gain.
    """
    assert preset.audio is not None and preset.loudness is not None and planned.limit_dbtp is not None
    step = LIMITER_PROBE_STEP_DB
    high = Leveling(planned.gain_db + step, planned.limit_dbtp, planned.unlimited_peak_dbtp)
    tail = f"aresample={preset.audio.sample_rate}:resampler=soxr,{_EBUR128}"
    graph = ";".join([
        f"[0:a:0]{','.join([*programme_chain(source, preset), *_length(duration_s), 'asplit=2'])}[low][high]",
        f"[low]{','.join(leveling_steps(planned))},{tail}[m0]",
        f"[high]{','.join(leveling_steps(high))},{tail}[m1]",
    ])
    args = ["-i", media_arg(src), "-vn", "-sn", "-dn", "-filter_complex", graph, "-map", "[m0]", "-map", "[m1]",
            "-f", "null", "-"]
    run = run_ffmpeg(args, duration_s=duration_s, timeout=timeout, cancel=cancel, stderr_lines=None)
    summaries = _parse_summaries(run.stderr_tail.splitlines(), by_filter=True)
    if len(summaries) < 2 or any("integrated_lufs" not in s for s in summaries):
        raise MediaError(f"the limiter's loudness could not be measured for {Path(src).name}")
    low_i, high_i = summaries[0]["integrated_lufs"], summaries[1]["integrated_lufs"]
    slope = (high_i - low_i) / step if high_i - low_i > 0.05 else 1.0
    gain = planned.gain_db + (preset.loudness.integrated - low_i) / slope
    return Leveling(gain, planned.limit_dbtp, planned.unlimited_peak_dbtp)


def _length(duration_s: float | None) -> list[str]:
    """The delivered stretch, cut as pass 2 cuts it (``atrim`` from the first sample, not the output's ``-t``)."""
    return [f"atrim=duration={duration_s:.6f}"] if duration_s else []


def _parse_summaries(lines: list[str], *, by_filter: bool = False) -> list[dict[str, float]]:
    """The ``I``, ``Threshold``, ``LRA`` and ``Peak`` of every ebur128 summary, in the order printed or, with
    ``by_filter``, in the order of the filters in the graph (``Parsed_ebur128_N``)."""
    blocks: list[tuple[int, dict[str, float]]] = []
    for raw in lines:
        line = _TAGS.sub("", raw, count=1)
        if line.strip() == "Summary:":
            tag = _SUMMARY_TAG.match(raw)
            blocks.append((int(tag.group(1).rsplit("_", 1)[1]) if tag else len(blocks), {}))
            continue
        if not blocks:
            continue
        found = blocks[-1][1]
        for name, pattern in _SUMMARY.items():
            if name not in found and (match := pattern.match(line)):
                found[name] = float(match.group(1))
    if by_filter:
        blocks.sort(key=lambda block: block[0])
    return [found for _, found in blocks]
