"""The first audio stream of a file, decoded as it streams and mixed to mono 16-bit samples: what the transcript
(Whisper's 16 kHz input, a chunk at a time) and the waveform picture (a (min, max) pair per 10 ms) both read, so
neither holds a whole recording in memory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import av.error
import numpy as np


def mono_samples(path: str | os.PathLike[str], rate: int) -> Iterator[np.ndarray]:
    """int16 samples of the first audio stream at ``rate``, a decoded packet's worth at a time. A damaged packet
    is skipped (as faster-whisper does); opening or decoding errors are PyAV's (``av.error.FFmpegError``) or
    ``OSError``, for the caller to put in words."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    with av.open("file:" + os.path.abspath(path), metadata_errors="ignore") as container:
        for packet in container.demux(audio=0):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in [*frames, *([None] if packet.size == 0 else [])]:  # the empty packet ends: flush
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
