"""Users, API tokens, browser sessions and grants. Secrets are shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from catalog.collections import collection_named
from catalog.models import ROLES, Asset, Collection, Grant, Token, User, WebSession, utcnow
from rushes.errors import ConfigError, NotFound

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


def user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user {name!r}")
    return user


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """A disabled user's tokens and browser sessions stop working at once; enabling brings the tokens back."""
    user.disabled_at = utcnow() if disabled else None
    if disabled:
        session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    session.flush()


def create_token(session: Session, user: User, label: str | None = None,
                 expires_at: datetime | None = None) -> str:
    """A new random token for ``user``; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, token_hash=hash_token(token), label=label, expires_at=expires_at))
    session.flush()
    return token


USE_NOTED_EVERY = timedelta(minutes=1)  # a token's or session's last use is written at most this often


def _stale(noted: datetime | None, now: datetime) -> bool:
    """True when a last-use time is worth writing again (not on every request: each write is a commit)."""
    return noted is None or now - noted >= USE_NOTED_EVERY


def _live(now: datetime):
    return (Token.revoked_at.is_(None), or_(Token.expires_at.is_(None), Token.expires_at > now))


def use_token(session: Session, token: str, *, note: bool = True) -> Token | None:
    """The live row of a clear-text token (not revoked, not expired, its user enabled), its use noted unless
    ``note`` is False (a reader's session: the caller writes it when :func:`use_due`, as ``api.use_notes``
    does); or None."""
    now = utcnow()
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(token), *_live(now)))
    if row is None or row.user.disabled_at is not None:
        return None
    if note and _stale(row.last_used_at, now):
        row.last_used_at = now
    return row


def use_due(row: Token | WebSession) -> bool:
    """Whether a token's or browser session's last use is worth writing now."""
    return _stale(row.last_used_at if isinstance(row, Token) else row.last_seen_at, utcnow())


def revoke_token(session: Session, token_id: int) -> Token:
    row = session.get(Token, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.execute(update(WebSession).where(WebSession.token_id == token_id, WebSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    session.flush()
    return row


def has_admin(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None


# ------------------------------------------------------------------------------ browser sessions


def create_web_session(session: Session, token: Token | None, hours: float, ip: str | None,
                       user: User | None = None, id_token: str | None = None) -> tuple[str, str]:
    """Sign a browser in with a live token (or, with ``user``, a checked password): returns (cookie value, CSRF
    token); only the cookie's hash is kept. A token's session ends with its token."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    user_id = token.user_id if token is not None else user.id if user is not None else None
    assert user_id is not None, "a session is of a token or of a user"
    session.add(WebSession(user_id=user_id, token_id=token.id if token else None, session_hash=hash_token(cookie),
                           csrf=csrf, expires_at=utcnow() + timedelta(hours=hours), ip=ip, id_token=id_token))
    session.flush()
    return cookie, csrf


def web_session(session: Session, cookie: str, *, note: bool = True) -> WebSession | None:
    """The live session of a cookie: not revoked or expired, its user enabled, its token still live (its use
    noted unless ``note`` is False, as for :func:`use_token`)."""
    now = utcnow()
    row = session.scalar(select(WebSession).where(WebSession.session_hash == hash_token(cookie),
                                                  WebSession.revoked_at.is_(None), WebSession.expires_at > now))
    if row is None or row.user.disabled_at is not None:
        return None
    if row.token_id is not None and session.scalar(select(Token.id).where(Token.id == row.token_id,
                                                                          *_live(now))) is None:
        return None
    if note and _stale(row.last_seen_at, now):
        row.last_seen_at = now
    return row


def end_web_session(session: Session, cookie: str) -> WebSession | None:
    row = session.scalar(select(WebSession).where(WebSession.session_hash == hash_token(cookie)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


# ------------------------------------------------------------------------------ grants


def grant(session: Session, user: User, *, collection: str | None = None, asset_id: int | None = None,
          by: str | None = None) -> Grant:
    """Let ``user`` see and act on a collection (created if new) or one asset; idempotent."""
    if (collection is None) == (asset_id is None):
        raise ConfigError("grant a collection or an asset, not both and not neither")
    collection_id = None
    if collection is not None:
        collection_id = collection_named(session, collection).id
    elif session.get(Asset, asset_id) is None:
        raise NotFound(f"no asset {asset_id}")
    same_collection = Grant.collection_id.is_(None) if collection_id is None else Grant.collection_id == collection_id
    same_asset = Grant.asset_id.is_(None) if asset_id is None else Grant.asset_id == asset_id
    existing = session.scalar(select(Grant).where(Grant.user_id == user.id, same_collection, same_asset))
    if existing is not None:
        return existing
    row_grant = Grant(user_id=user.id, collection_id=collection_id, asset_id=asset_id, created_by=by)
    session.add(row_grant)
    session.flush()
    return row_grant


def revoke_grant(session: Session, user: User, *, collection: str | None = None, asset_id: int | None = None) -> int:
    """Remove a grant; returns how many rows went (0 when there was none)."""
    query = delete(Grant).where(Grant.user_id == user.id)
    if collection is not None:
        query = query.where(Grant.collection_id == select(Collection.id).where(Collection.name == collection)
                            .scalar_subquery())
    else:
        query = query.where(Grant.asset_id == asset_id)
    return session.execute(query).rowcount  # type: ignore[attr-defined]


def grants_of(session: Session, user: User) -> list[dict[str, object]]:
    rows = session.execute(select(Grant, Collection.name).outerjoin(Collection, Collection.id == Grant.collection_id)
                           .where(Grant.user_id == user.id).order_by(Grant.id)).all()
    return [{"collection": name, "asset_id": g.asset_id, "created_at": g.created_at.isoformat(),
             "created_by": g.created_by} for g, name in rows]
