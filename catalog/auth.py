"""Users and API tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.models import ROLES, Token, User, utcnow
from rushes.errors import ConfigError

TOKEN_PREFIX = "rsh_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_user(session: Session, name: str, role: str) -> User:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role)
        session.add(user)
    else:
        user.role = role
    session.flush()
    return user


def create_token(session: Session, user: User, label: str | None = None) -> str:
    """A new random token for ``user``; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, token_hash=hash_token(token), label=label))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a live token belongs to (and note its use), or None."""
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(token),
                                             Token.revoked_at.is_(None)))
    if row is None:
        return None
    session.execute(update(Token).where(Token.id == row.id).values(last_used_at=utcnow()))
    return row.user


def has_admin(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None

