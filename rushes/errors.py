"""The one exception tree of Rushes.

    RushesError
    ├── ConfigError          settings or a preset are wrong; the message names the field
    ├── MediaError           a permanent problem with one file: retrying will not help
    │   ├── NotMediaError    the file holds no audio or video stream we can read
    │   └── FFmpegError      ffmpeg exited non-zero (carries argv, exit code, stderr tail)
    │       ├── FFmpegTimeout  ffmpeg ran past its time limit and was killed
    │       └── FFmpegInterrupted  also an Interrupted: cancelled or stopped at shutdown
    ├── Interrupted          work stopped from outside (cancel, lost lease, shutdown): retried
    ├── OutputError          an output did not verify (missing, truncated, wrong streams)
    ├── IngestError          a dropped file could not be read or stored
    └── NotFound             an id that is not in the catalog
"""

from __future__ import annotations


class RushesError(Exception):
    """Root of every error Rushes raises on purpose."""


class ConfigError(RushesError):
    """Settings or a preset are invalid."""


class MediaError(RushesError):
    """A permanent problem with one media file."""


class NotMediaError(MediaError):
    """The file is not audio or video that we can read."""


class FFmpegError(MediaError):
    """ffmpeg exited with an error."""

    def __init__(self, message: str, *, argv: list[str] | None = None, returncode: int | None = None,
                 stderr_tail: str = "") -> None:
        self.argv = list(argv or [])
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        detail = f"{message} (exit code {returncode})" if returncode is not None else message
        if stderr_tail:
            detail = f"{detail}: {stderr_tail.strip().splitlines()[-1] if stderr_tail.strip() else ''}"
        super().__init__(detail)
        self.message = message


class FFmpegTimeout(FFmpegError):
    """ffmpeg ran longer than allowed and was killed."""


class Interrupted(RushesError):
    """The work was stopped from outside, not because of the file; it is tried again."""


class FFmpegInterrupted(FFmpegError, Interrupted):
    """ffmpeg was cancelled or stopped at shutdown."""


class OutputError(RushesError):
    """An output file failed verification."""


class IngestError(RushesError):
    """A dropped file could not be read or stored."""


class NotFound(RushesError):
    """No such object in the catalog."""
