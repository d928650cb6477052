"""People's passwords: argon2id hashes, sign-in with lock-out after failures in a row, invitation and reset links.

API tokens stay for machines and scripts; a password is for a person (the roles that sign in to the pages). A
wrong password counts against the account: after ``max_failures`` in a row it is locked for ``lockout_s`` and the
answer says until when (audited ``lock-out``); a right one clears the count. An unknown name costs the same
argon2 work as a known one, and gets the same words. Links (an invitation, a reset) are shown once, kept as their
SHA-256, used once, and expire.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.auth import hash_token
from catalog.models import PasswordLink, User, WebSession, utcnow
from catalog.permissions import PEOPLE
from rushes.errors import InvalidInput, NotFound

HASHER = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters (64 MiB, 3 passes, 4 lanes)
_DUMMY = HASHER.hash("no such user: the same work as a real check")
MIN_LENGTH = 10
WRONG = "wrong user name or password"
LINK_PURPOSES = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}


@dataclass(frozen=True, slots=True)
class Attempt:
    """How a sign-in went: the user when it succeeded; otherwise what to tell (and until when it is locked)."""

    user: User | None
    message: str = ""
    locked_until: datetime | None = None


def check_strength(name: str, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > 1000:
        raise InvalidInput("a password of more than 1000 characters is not taken")
    if password.strip().lower() == name.lower() or len(set(password)) < 4:
        raise InvalidInput("that password is too easy to guess: not your name, not one character repeated")


def set_password(session: Session, user: User, password: str, *, by: str, role: str | None,
                 ip: str | None = None) -> None:
    """Set ``user``'s password (a person's only); their other browser sessions end, the lock is lifted."""
    if user.role not in PEOPLE:
        raise InvalidInput(f"a {user.role} has no password: it signs in with an API token")
    check_strength(user.name, password)
    user.password_hash = HASHER.hash(password)
    user.password_set_at, user.failed_sign_ins, user.locked_until = utcnow(), 0, None
    session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    record(session, actor=by, role=role, ip=ip, action="password change", subject=f"password of {user.name}")


def sign_in(session: Session, name: str, password: str, *, max_failures: int, lockout_s: float,
            ip: str | None = None) -> Attempt:
    """Check a name and password; count a failure, lock after ``max_failures`` in a row. Audited either way."""
    now = utcnow()
    user = session.scalar(select(User).where(User.name == name))
    usable = user is not None and user.role in PEOPLE and user.disabled_at is None and user.password_hash
    if user is not None and user.locked_until is not None and user.locked_until > now:
        record(session, actor=name, role=user.role, ip=ip, action="sign-in", outcome="denied",
               subject=f"password: locked until {user.locked_until:%H:%M} UTC")
        return Attempt(None, _locked(user.locked_until, max_failures), user.locked_until)
    try:
        HASHER.verify((user.password_hash if usable and user else None) or _DUMMY, password)
        right = bool(usable)
    except (VerificationError, InvalidHashError):
        right = False
    if right and user is not None:
        user.failed_sign_ins, user.locked_until = 0, None
        if HASHER.check_needs_rehash(user.password_hash or ""):
            user.password_hash = HASHER.hash(password)
        record(session, actor=user.name, role=user.role, ip=ip, action="sign-in", subject="password")
        return Attempt(user)
    record(session, actor=name[:120] or "(no name)", role=user.role if user else None, ip=ip, action="sign-in",
           outcome="denied", subject="password: wrong user name or password")
    if user is None or not usable:
        return Attempt(None, WRONG)
    user.failed_sign_ins += 1
    if user.failed_sign_ins < max_failures:
        left = max_failures - user.failed_sign_ins
        return Attempt(None, f"{WRONG} ({left} more attempt{'s' if left > 1 else ''} before the account is locked)")
    user.locked_until, user.failed_sign_ins = now + timedelta(seconds=lockout_s), 0
    record(session, actor=user.name, role=user.role, ip=ip, action="lock-out",
           subject=f"{max_failures} failed sign-ins in a row: locked until {user.locked_until:%H:%M} UTC")
    return Attempt(None, _locked(user.locked_until, max_failures), user.locked_until)


def _locked(until: datetime, max_failures: int) -> str:
    return (f"after {max_failures} failed sign-ins in a row this account is locked until {until:%H:%M} UTC; "
            "try again then, or ask an admin to unlock it")


def unlock(session: Session, user: User, *, by: str, role: str | None, ip: str | None = None) -> None:
    user.locked_until, user.failed_sign_ins = None, 0
    record(session, actor=by, role=role, ip=ip, action="lock-out", subject=f"{user.name} unlocked")


def change_password(session: Session, user: User, current: str, new: str, *, ip: str | None = None) -> None:
    """A person changes their own password: the current one first."""
    try:
        HASHER.verify(user.password_hash or _DUMMY, current)
        right = user.password_hash is not None
    except (VerificationError, InvalidHashError):
        right = False
    if not right:
        record(session, actor=user.name, role=user.role, ip=ip, action="password change", outcome="denied",
               subject="the current password was wrong")
        raise InvalidInput("the current password is wrong")
    set_password(session, user, new, by=user.name, role=user.role, ip=ip)


def make_link(session: Session, user: User, purpose: str, *, by: str, role: str | None,
              ip: str | None = None) -> tuple[str, datetime]:
    """A one-time link secret for ``user`` to set a password (``invite`` lasts 7 days, ``reset`` 24 hours)."""
    if purpose not in LINK_PURPOSES:
        raise InvalidInput(f"a link is for {' or '.join(LINK_PURPOSES)}, not {purpose!r}")
    if user.role not in PEOPLE:
        raise InvalidInput(f"a {user.role} has no password: it signs in with an API token")
    secret = secrets.token_urlsafe(32)
    expires = utcnow() + LINK_PURPOSES[purpose]
    session.add(PasswordLink(user_id=user.id, link_hash=hash_token(secret), purpose=purpose, created_by=by,
                             expires_at=expires))
    record(session, actor=by, role=role, ip=ip, action="password change",
           subject=f"{purpose} link for {user.name} (until {expires:%Y-%m-%d %H:%M} UTC)")
    session.flush()
    return secret, expires


def use_link(session: Session, secret: str, password: str, *, ip: str | None = None) -> User:
    """Set the password of a link's user; the link is then spent."""
    link = session.scalar(select(PasswordLink).where(PasswordLink.link_hash == hash_token(secret)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotFound("this link has expired or was used already: ask an admin for a new one")
    user = session.get(User, link.user_id)
    if user is None or user.disabled_at is not None:
        raise NotFound("this link's account is disabled")
    set_password(session, user, password, by=user.name, role=user.role, ip=ip)
    link.used_at = utcnow()
    return user
