"""Who a single sign-on is: the person an issuer's verified claims name, matched or made on first sign-in.

A person is known by ``"<issuer> <sub>"`` once they have signed on. On the first sign-on they are matched by
name (``preferred_username``, else ``email``) to a person without a subject yet — someone an admin made before —
or made with the default role. When the groups claim names a configured group, its role applies (the strongest
of them, at every sign-on) and its collections are granted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from catalog.auth import grant
from catalog.models import User
from catalog.permissions import PEOPLE
from rushes.errors import PermissionDenied

STRENGTH = {role: n for n, role in enumerate(reversed(PEOPLE))}  # viewer 0 … admin 3


def sso_user(session: Any, issuer: str, claims: Mapping[str, Any], *, default_role: str, groups_claim: str,
             group_roles: Mapping[str, str], group_collections: Mapping[str, list[str]]) -> tuple[User, str]:
    """The user of these verified claims (made or matched) and how: "known", "matched" or "made"."""
    subject = f"{issuer} {claims['sub']}"
    groups = claims.get(groups_claim) or []
    groups = [groups] if isinstance(groups, str) else [str(g) for g in groups]
    roles = [group_roles[g] for g in groups if g in group_roles]
    user = session.scalar(select(User).where(User.oidc_subject == subject))
    how = "known"
    if user is None:
        name = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:120]
        user = session.scalar(select(User).where(User.name == name))
        if user is not None and user.oidc_subject is None and user.role in PEOPLE:
            how = "matched"
        else:
            if user is not None:  # the name is another person's (or a machine's): keep both apart
                name = f"{name}@{claims['sub']}"[:120]
            user = User(name=name, role=max(roles, key=STRENGTH.__getitem__) if roles else default_role)
            session.add(user)
            how = "made"
        user.oidc_subject = subject
    if user.disabled_at is not None:
        raise PermissionDenied(f"{user.name} is disabled: ask an admin")
    if roles:
        user.role = max(roles, key=STRENGTH.__getitem__)
    session.flush()
    for group in groups:
        for collection in group_collections.get(group, []):
            grant(session, user, collection=collection, by=f"sso group {group}")
    return user, how
