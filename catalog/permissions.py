"""Who may do what, in one place: the permission matrix (role × action) and the scope of grants.

A person's **role** says which actions they may take; their **grants** say on which assets: the
collections granted to them (an asset is in its watch folder's collection and any it was added to) and
single assets granted one by one. Admins act on everything. A distribution target (role ``target``) has
no action here: it reaches only its own feed and the renditions published to it (``delivery/targets.py``).
Every API route and page asks :func:`can` and, for an asset, :func:`can_see`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from catalog.models import Asset, AssetCollection, Collection, Grant, User

ACTIONS: dict[str, str] = {
    "view": "see assets, play proxies, read scenes, transcripts, tags, QC, comments and reviews",
    "download_original": "download the original camera file",
    "download_rendition": "download a rendition from the delivery panel",
    "comment": "comment at a frame, reply, resolve",
    "approve": "approve a version or request changes",
    "deliver": "render renditions and retry failed steps",
    "edit_metadata": "edit rights, move or add assets to collections",
    "manage_users": "users, tokens, grants, distribution targets, the audit trail",
    "manage_schema": "the metadata schema: fields, vocabularies, taxonomies and views (who sees and edits them)",
    "manage_rules": "orchestration rules: what happens without a click when footage is ready (and dry runs)",
    "manage_webhooks": "webhook subscriptions: what the farm tells other systems, the delivery log, replays",
    "archive": "send originals to an archive location (proxies, metadata and search stay online)",
    "restore": "bring archived originals back to the library",
    "delete": "move assets to the trash and take them out of it (purged after the trash's days)",
    "hold": "place and lift legal holds, extend retention",
    "manage_lifecycle": "lifecycle policies per collection (archive after N days, retention), deletion proposals, "
                        "purging the trash now",
}

MATRIX: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "editor": frozenset({"view", "download_original", "download_rendition", "comment", "approve", "deliver",
                         "edit_metadata", "archive", "restore", "delete"}),
    "reviewer": frozenset({"view", "comment", "approve"}),
    "viewer": frozenset({"view"}),
    "target": frozenset(),
    "agent": frozenset({"view"}),  # reads through the API; acts only through the MCP tools its policy lists
}
PEOPLE = ("admin", "editor", "reviewer", "viewer")  # roles that sign in to the pages


def can(role: str, action: str) -> bool:
    """True when ``role`` may take ``action`` (on the assets its grants reach)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return action in MATRIX.get(role, frozenset())


def roles_that_can(action: str) -> list[str]:
    return [role for role in MATRIX if can(role, action)]


def matrix_markdown() -> str:
    """The matrix as a Markdown table (the README's copy is checked against it by a test)."""
    roles = list(MATRIX)
    lines = ["| action | " + " | ".join(roles) + " | what it covers |",
             "|---|" + "---|" * len(roles) + "---|"]
    for action, meaning in ACTIONS.items():
        marks = " | ".join("✓" if can(role, action) else "–" for role in roles)
        lines.append(f"| `{action}` | {marks} | {meaning} |")
    return "\n".join(lines)


# an asset in the trash is hidden from everyone: every scope has this clause (the same object, so that the search
# knows an admin's scope holds nothing else: catalog/search.py)
NOT_TRASHED: ColumnElement[bool] = Asset.deleted_at.is_(None)


def asset_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``Asset`` that keeps the assets ``user`` may see (never those in the trash)."""
    if user.role == "admin":
        return NOT_TRASHED
    return and_(NOT_TRASHED, granted_scope(user))


def granted_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``Asset``: the assets ``user``'s grants reach, in the trash or not (the trash's own list)."""
    if user.role == "admin":
        return true()
    # correlated EXISTS (a few index lookups per asset) rather than IN lists: the planner can then start from
    # the few rows a search or a page needs instead of filtering every asset first
    mine = Grant.user_id == user.id
    return or_(
        exists().where(mine, Grant.collection_id == Asset.collection_id),
        exists().where(AssetCollection.asset_id == Asset.id, mine,
                       Grant.collection_id == AssetCollection.collection_id),
        exists().where(mine, Grant.asset_id == Asset.id),
    )


def can_see(session: Session, user: User, asset_id: int) -> bool:
    return session.scalar(select(Asset.id).where(Asset.id == asset_id, asset_scope(user))) is not None


def visible_collections(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``Collection``: those granted to ``user``, and the own collections of the assets the user
    sees through an added membership or an asset grant (all for admins). Each part starts from the user's few
    grants, never from every asset."""
    if user.role == "admin":
        return true()
    granted = select(Grant.collection_id).where(Grant.user_id == user.id, Grant.collection_id.is_not(None))
    through_added = (select(Asset.collection_id).join(AssetCollection, AssetCollection.asset_id == Asset.id)
                     .where(AssetCollection.collection_id.in_(granted)))
    through_asset = (select(Asset.collection_id).join(Grant, Grant.asset_id == Asset.id)
                     .where(Grant.user_id == user.id))
    return or_(Collection.id.in_(granted), Collection.id.in_(through_added), Collection.id.in_(through_asset))


def in_collection(name: str) -> ColumnElement[bool]:
    """A WHERE clause on ``Asset``: the asset is in collection ``name`` (its own, or added to it)."""
    wanted = select(Collection.id).where(Collection.name == name).scalar_subquery()
    # a correlated EXISTS (one index lookup an asset), not IN: with IN the planner guessed half of a million
    # assets matched and hashed them all for a search's 5 000-match window (90 ms)
    return or_(Asset.collection_id == wanted,
               exists().where(AssetCollection.asset_id == Asset.id, AssetCollection.collection_id == wanted))


def visible_asset_select(user: User) -> Any:
    """A select of the ids of every asset ``user`` may see (None: all, an admin), from the grants outward on
    indexes (assets of the granted collections, those added to them, single assets): for a query that restricts
    many rows to a user's assets at once (facets, a vector index), where :func:`asset_scope`'s per-asset EXISTS
    would be asked a million times."""
    if user.role == "admin":
        return None
    granted = select(Grant.collection_id).where(Grant.user_id == user.id, Grant.collection_id.is_not(None))
    own = select(Asset.id).where(Asset.collection_id.in_(granted))
    added = select(AssetCollection.asset_id).where(AssetCollection.collection_id.in_(granted))
    single = select(Grant.asset_id).where(Grant.user_id == user.id, Grant.asset_id.is_not(None))
    return own.union_all(added, single)  # an asset added to a collection it is in comes twice: no matter to a set,
    # and no sort of a hundred thousand ids to remove it


def visible_asset_ids(session: Session, user: User) -> list[int] | None:
    """Every asset ``user`` may see (None: all, an admin), each once."""
    chosen = visible_asset_select(user)
    return None if chosen is None else sorted(set(session.scalars(chosen)))
