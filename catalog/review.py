"""Review in the browser: the approval rule, review decisions and comments at frames (catalog side).

The rule is a pure function of each reviewer's latest decision. ``versions.approved_at`` records its
outcome when a decision is made (pipeline/review.py), and that record is what delivery trusts: a later
change of the rule's settings does not silently approve or un-approve a version, the next decision does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Comment, MediaInfoRow, Review, Version, utcnow
from rushes.errors import ReviewError

DECISIONS = ("approve", "changes")
REVIEW_STATUSES = ("approved", "changes_requested", "in_review", "not_reviewed")
DEFAULT_RATE = Fraction(25)


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    """Who must approve and how many approvals it takes (from the ``approval_*`` settings)."""

    required_reviewers: tuple[str, ...] = ()
    min_approvals: int = 1

    def met(self, latest: Mapping[str, str]) -> bool:
        """``latest``: reviewer → their latest decision. True when the version is approved."""
        approvals = {reviewer for reviewer, decision in latest.items() if decision == "approve"}
        return ("changes" not in latest.values() and set(self.required_reviewers) <= approvals
                and len(approvals) >= self.min_approvals)

    def missing(self, latest: Mapping[str, str]) -> list[str]:
        """Required reviewers whose latest decision is not an approval."""
        return [name for name in self.required_reviewers if latest.get(name) != "approve"]

    @property
    def text(self) -> str:
        parts = []
        if self.required_reviewers:
            parts.append(_names(self.required_reviewers) + _verb(len(self.required_reviewers)))
        if self.min_approvals > len(self.required_reviewers):
            many = self.min_approvals > 1
            parts.append(f"at least {self.min_approvals} reviewer{'s' if many else ''}{_verb(self.min_approvals)}")
        parts.append("nobody's latest decision is 'changes'")
        return "A version is approved when " + ", ".join(parts[:-1]) + " and " + parts[-1] + "."

    def view(self) -> dict[str, object]:
        return {"required_reviewers": list(self.required_reviewers), "min_approvals": self.min_approvals,
                "text": self.text}


def _names(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(count: int) -> str:
    return " approves" if count == 1 else " approve"


def review_status(latest: Mapping[str, str], approved: bool) -> str:
    """approved | changes_requested | in_review | not_reviewed; ``approved`` is the version's recorded outcome."""
    if approved:
        return "approved"
    if "changes" in latest.values():
        return "changes_requested"
    return "in_review" if latest else "not_reviewed"


# ------------------------------------------------------------------------------------------ queries


def history(session: Session, version_id: int) -> list[Review]:
    """Every review of the version, oldest first."""
    return list(session.scalars(select(Review).where(Review.version_id == version_id).order_by(Review.id)))


def latest_reviews(session: Session, version_id: int) -> dict[str, Review]:
    """Each reviewer's latest review, in the order they were made."""
    latest: dict[str, Review] = {}
    for review in history(session, version_id):
        latest.pop(review.reviewer, None)
        latest[review.reviewer] = review
    return latest


def latest_decisions(session: Session, version_id: int) -> dict[str, str]:
    return {name: review.decision for name, review in latest_reviews(session, version_id).items()}


def status_of(session: Session, version: Version) -> str:
    return review_status(latest_decisions(session, version.id), version.approved_at is not None)


def add_review(session: Session, version_id: int, reviewer: str, decision: str, note: str | None,
               rule: ApprovalRule, role: str = "reviewer") -> tuple[Version, bool]:
    """Record a decision under the default template made of ``rule`` alone (``catalog/approvals.py`` does it
    for any templates); return the version and whether it just became approved."""
    from catalog.approval_stages import default_template
    from catalog.approvals import Templates, decide

    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    was = session.scalar(select(Version.approved_at).where(Version.id == version_id))
    version, _touched = decide(session, version_id, reviewer, role, decision, note,
                               Templates((), default_template(rule.required_reviewers, rule.min_approvals)))
    return version, was is None and version.approved_at is not None


# ------------------------------------------------------------------------------------------ comments


def frame_rate(info: MediaInfoRow | None) -> Fraction:
    """The version's frame rate (its picture's, else its timecode's), 25 when unknown."""
    rate = (info.frame_rate or (info.info or {}).get("timecode_rate")) if info is not None else None
    return Fraction(rate) if rate else DEFAULT_RATE


def frame_count(info: MediaInfoRow | None) -> int | None:
    """How many frames the version has, when its duration is known."""
    if info is None or info.duration_s is None:
        return None
    return max(1, round(Fraction(info.duration_s) * frame_rate(info)))


def add_comment(session: Session, version: Version, author: str, text: str, frame: int | None,
                end_frame: int | None = None, parent_id: int | None = None) -> Comment:
    """A comment at ``frame`` (to ``end_frame``, exclusive) of ``version``, or a reply to ``parent_id``.

    A reply joins its thread's top comment (threads are one level deep) and, without a frame, takes the
    parent's frames.
    """
    parent = None
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.version_id != version.id:
            raise ReviewError(f"comment {parent_id} is not on version {version.number} of {version.asset.name}")
        if parent.parent_id is not None:
            parent = session.get(Comment, parent.parent_id)
            assert parent is not None
        if frame is None:
            frame, end_frame = parent.start_frame, parent.end_frame if end_frame is None else end_frame
    if frame is None:
        raise ReviewError("a comment needs a frame (only a reply may leave it out)")
    info = session.get(MediaInfoRow, version.id)
    frames = frame_count(info)
    if frame < 0 or (frames is not None and frame >= frames):
        raise ReviewError(f"frame {frame} is outside version {version.number} of {version.asset.name} "
                          f"(frames 0 to {frames - 1 if frames else '?'})")
    if end_frame is not None and (end_frame <= frame or (frames is not None and end_frame > frames)):
        raise ReviewError(f"end frame {end_frame} must be after frame {frame}"
                          + (f" and at most {frames}, the end of the media" if frames is not None else ""))
    rate = frame_rate(info)
    comment = Comment(version_id=version.id, parent_id=parent.id if parent else None, author=author, text=text,
                      start_frame=frame, end_frame=end_frame, start_s=float(frame / rate),
                      end_s=float(end_frame / rate) if end_frame is not None else None)
    session.add(comment)
    session.flush()
    return comment


def resolve_comment(session: Session, comment: Comment, resolved: bool, by: str) -> None:
    if resolved and comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = utcnow(), by
    elif not resolved:
        comment.resolved_at, comment.resolved_by = None, None


def threads(session: Session, version_id: int, resolved: bool | None = None) -> list[tuple[Comment, list[Comment]]]:
    """Top comments by (start_frame, id), each with its replies by id; ``resolved`` filters the top comments."""
    rows = session.scalars(select(Comment).where(Comment.version_id == version_id).order_by(Comment.id)).all()
    replies: dict[int, list[Comment]] = {}
    for row in rows:
        if row.parent_id is not None:
            replies.setdefault(row.parent_id, []).append(row)
    tops = sorted((row for row in rows if row.parent_id is None
                   and (resolved is None or (row.resolved_at is not None) == resolved)),
                  key=lambda c: (c.start_frame, c.id))
    return [(top, replies.get(top.id, [])) for top in tops]


def open_comment_count(session: Session, version_id: int) -> int:
    """Unresolved top comments (threads) of the version."""
    return session.scalar(select(func.count(Comment.id)).where(
        Comment.version_id == version_id, Comment.parent_id.is_(None), Comment.resolved_at.is_(None))) or 0
