"""The one exception tree of Rushes, and what each error means to a web client and to a shell.

    RushesError
    ├── ConfigError          settings or a preset are wrong; the message names the field
    ├── InvalidInput         a value a person gave cannot be right (also a ValueError, for pydantic)
    │   ├── InvalidTimecode  not a SMPTE timecode, or a label that does not exist at the rate
    │   ├── ReviewError      a comment or decision that does not fit the version
    │   ├── RightsError      an unknown channel, not a country code, a window that ends before it starts
    │   ├── MetadataError    values that do not fit the metadata schema (each field with its reason)
    │   └── ConditionError   a rule's condition failed as it ran on one asset (text compared with a number…)
    ├── Conflict             the request does not fit the record's present state
    │   ├── NotReady         the version is still processing or failed: not yet reviewable or renderable
    │   ├── NotApproved      only approved versions are delivered
    │   ├── StaleSave        saved against an older revision of an asset's metadata (what changed since is told)
    │   ├── UnderHold        a legal hold blocks archiving, deleting or replacing the original (even for admins)
    │   ├── UnderRetention   the asset's retention period has not ended: it cannot be purged
    │   └── AuditTrailIsAppendOnly  an update or delete of the audit trail
    ├── MediaError           a permanent problem with one file: retrying will not help
    │   ├── NotMediaError    the file holds no audio or video stream we can read
    │   └── FFmpegError      ffmpeg exited non-zero (carries argv, exit code, stderr tail)
    │       ├── FFmpegTimeout  ffmpeg ran past its time limit and was killed
    │       └── FFmpegInterrupted  also an Interrupted: cancelled or stopped at shutdown
    ├── Interrupted          work stopped from outside (cancel, lost lease, shutdown): retried
    ├── OutputError          an output did not verify (missing, truncated, wrong streams)
    │   └── ChecksumMismatch a copy read back from its storage is not the file ingested (archive, restore)
    ├── IngestError          a dropped file could not be read or stored
    ├── NotConfigured        a capability that needs something this farm was not given (a model)
    ├── PermissionDenied     the caller may not do this (an agent's tool outside its allowlist)
    └── NotFound             an id that is not in the catalog

Every class has its row in :data:`STATUS` (HTTP status, CLI exit code); a test keeps the table complete.
``ValueError`` is left for a caller's programming mistake (a wrong constant) and inside pydantic validators:
anything a person, a file or the record's state can cause is one of these.
"""

from __future__ import annotations

from typing import NamedTuple


class RushesError(Exception):
    """Root of every error Rushes raises on purpose."""


class ConfigError(RushesError):
    """Settings or a preset are invalid."""


class InvalidInput(RushesError, ValueError):
    """A value a person gave cannot be right; the message says which and why."""


class InvalidTimecode(InvalidInput):
    """Not a SMPTE timecode, or a label that does not exist at the rate (a drop-frame gap, frame past the rate)."""


class ReviewError(InvalidInput):
    """A review or comment that does not fit the version (frame out of range, another version's thread)."""


class RightsError(InvalidInput):
    """A rights field that cannot be right (unknown channel, not a country code, window end before start)."""


class MetadataError(InvalidInput):
    """Values that do not fit the metadata schema; ``problems`` maps each field to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        self.extra = {"problems": self.problems}
        super().__init__("; ".join(f"{field}: {reason}" if not reason.startswith(field) else reason
                                   for field, reason in problems.items()))


class ConditionError(InvalidInput):
    """A rule's condition failed as it ran on one asset: said for that asset, never taken as false."""


class Conflict(RushesError):
    """The request does not fit the present state of what it asks about."""


class NotReady(Conflict):
    """The version is not ready (still processing, or failed): it cannot be reviewed or rendered yet."""


class NotApproved(Conflict):
    """The version is not approved: its renditions cannot be delivered yet."""


class StaleSave(Conflict):
    """A save made against an older revision than the record's: refused, with the changes made since."""

    def __init__(self, message: str, *, revision: int, changes: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.extra = {"revision": revision, "changes": changes}


class UnderHold(Conflict):
    """A legal hold covers the asset: archiving, deleting and replacing its original wait until it is lifted."""


class UnderRetention(Conflict):
    """The asset's retention period has not ended: it cannot be purged (and the period cannot be shortened)."""


class AuditTrailIsAppendOnly(Conflict):
    """An attempt to change or delete a line of the audit trail."""


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


class ChecksumMismatch(OutputError):
    """A copy read back from its storage does not have the SHA-256 the file was ingested with."""


class IngestError(RushesError):
    """A dropped file could not be read or stored."""


class NotConfigured(RushesError):
    """A capability that needs something this farm was not given (e.g. a local CLIP model)."""


class PermissionDenied(RushesError):
    """The caller may not do this: an agent calling a tool its policy does not list."""


class NotFound(RushesError):
    """No such object in the catalog."""


class Status(NamedTuple):
    """What an error means outside Python: the API's HTTP status and the CLI's exit code."""

    http: int
    exit: int


# 1: the work failed; 2: what was asked cannot be right (as click's usage errors); 3: no such thing; 4: not now.
STATUS: dict[type[RushesError], Status] = {
    RushesError: Status(400, 1),
    ConfigError: Status(400, 2),
    InvalidInput: Status(400, 2),
    InvalidTimecode: Status(400, 2),
    ReviewError: Status(400, 2),
    RightsError: Status(422, 2),
    MetadataError: Status(422, 2),
    ConditionError: Status(422, 2),
    Conflict: Status(409, 4),
    NotReady: Status(409, 4),
    NotApproved: Status(409, 4),
    StaleSave: Status(409, 4),
    UnderHold: Status(409, 4),
    UnderRetention: Status(409, 4),
    AuditTrailIsAppendOnly: Status(409, 4),
    MediaError: Status(400, 1),
    NotMediaError: Status(400, 1),
    FFmpegError: Status(400, 1),
    FFmpegTimeout: Status(400, 1),
    FFmpegInterrupted: Status(503, 1),
    Interrupted: Status(503, 1),
    OutputError: Status(500, 1),
    ChecksumMismatch: Status(500, 1),
    IngestError: Status(400, 1),
    NotFound: Status(404, 3),
    NotConfigured: Status(409, 4),
    PermissionDenied: Status(403, 2),
}


def status_of(error: RushesError) -> Status:
    """The row of the nearest class of ``error`` in :data:`STATUS`."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[RushesError]
