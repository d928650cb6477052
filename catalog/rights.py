"""Rights: what an asset (or one version of it) may be used for, and whether a delivery may go out.

A version's **effective rights** are its own row in ``rights`` if it has one, else its asset's row, else
none: unrestricted, shown as "no rights recorded". ``verdict`` is a pure function of those rights, the
delivery's channel and territory and a moment in time; delivery (``delivery/targets.py``) asks it for every
rendition a target could take, every time, so a closing window takes renditions out of feeds with no job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from catalog.db import one_of
from catalog.models import Asset, Rights, Version, utcnow
from rushes.errors import RightsError

CHANNELS = ("broadcast", "web", "social")
# a preset's category -> the channel a delivery of it counts as, when the target names none
CATEGORY_CHANNEL = {"broadcast": "broadcast", "web": "web", "social": "social", "audio": "broadcast"}
Level = Literal["version", "asset"]
NO_RIGHTS = "no rights recorded"

# ISO 3166-1 alpha-2: every officially assigned code
ISO_3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())
_HINTS = {"UK": "the United Kingdom is GB", "EL": "Greece is GR", "EU": "list the countries"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a delivery may go out, and if not, why (in words)."""

    allowed: bool
    reason: str | None = None


ALLOWED = Verdict(True)


# ------------------------------------------------------------------------------------------ validation


def territory_code(value: str) -> str:
    """``value`` as an ISO 3166-1 alpha-2 code (upper case), or RightsError saying why it is not one."""
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        hint = _HINTS.get(code)
        raise RightsError(f"territory {value!r} is not an ISO 3166-1 alpha-2 country code"
                          + (f" ({hint})" if hint else " (e.g. GB, IE, US, FR)"))
    return code


def territory_codes(values: Iterable[str] | None) -> list[str] | None:
    """Sorted distinct codes; none (or an empty list) means worldwide: None."""
    codes = sorted({territory_code(v) for v in values or ()})
    return codes or None


def channel_name(value: str) -> str:
    name = value.strip().lower()
    if name not in CHANNELS:
        raise RightsError(f"unknown channel {value!r}: use {', '.join(CHANNELS[:-1])} or {CHANNELS[-1]}")
    return name


def channel_names(values: Iterable[str] | None) -> list[str] | None:
    """Distinct channels in the order of CHANNELS; none (or an empty list) means all: None."""
    names = {channel_name(v) for v in values or ()}
    return [c for c in CHANNELS if c in names] or None


def as_utc(value: datetime | None) -> datetime | None:
    """A time given without a zone counts as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and as_utc(end) <= as_utc(start):  # type: ignore[operator]
        raise RightsError(f"the rights window ends ({_day(end)}) before it starts ({_day(start)})")


# ------------------------------------------------------------------------------------------ verdicts


def _day(value: datetime | None) -> str:
    value = as_utc(value)
    if value is None:
        return "–"
    return value.date().isoformat() if value.time() == datetime.min.time() else value.strftime("%Y-%m-%d %H:%M UTC")


def delivery_channel(target_channel: str | None, preset_category: str) -> str:
    """The channel a delivery counts as: the target's, else its preset's category (``audio`` is ``broadcast``)."""
    return target_channel or CATEGORY_CHANNEL.get(preset_category, preset_category)


def verdict(rights: Rights | None, *, channel: str, territory: str | None, at: datetime) -> Verdict:
    """May a delivery on ``channel`` to ``territory`` (None: worldwide) go out at ``at`` under ``rights``?

    No rights recorded means unrestricted. The window is [start, end): closed from its end on.
    """
    if rights is None:
        return ALLOWED
    at = as_utc(at)  # type: ignore[assignment]
    start, end = as_utc(rights.window_start), as_utc(rights.window_end)
    if end is not None and at >= end:
        return Verdict(False, f"rights window closed on {_day(end)}")
    if start is not None and at < start:
        return Verdict(False, f"not yet in its rights window (opens {_day(start)})")
    channels = rights.channels or []
    if channels and channel not in channels:
        return Verdict(False, f"channel {channel!r} not licensed (licensed: {', '.join(channels)})")
    territories = rights.territories or []
    if territories:
        if territory is None:
            return Verdict(False, f"worldwide target, rights only for {', '.join(territories)}")
        if territory not in territories:
            return Verdict(False, f"territory {territory!r} not licensed (licensed: {', '.join(territories)})")
    return ALLOWED


# ------------------------------------------------------------------------------------------ reading


def own_rights(session: Session, asset_id: int, version_id: int | None) -> Rights | None:
    """The row of exactly this level: the asset's (``version_id`` None) or one version's."""
    level = Rights.version_id.is_(None) if version_id is None else Rights.version_id == version_id
    return session.scalars(select(Rights).where(Rights.asset_id == asset_id, level).order_by(Rights.id)).first()


def effective(session: Session, version: Version) -> tuple[Rights | None, Level | None]:
    """The rights that apply to ``version`` and where they come from: its own, its asset's, or none."""
    own = own_rights(session, version.asset_id, version.id)
    if own is not None:
        return own, "version"
    inherited = own_rights(session, version.asset_id, None)
    return (inherited, "asset") if inherited is not None else (None, None)


def effective_for(session: Session, versions: Sequence[tuple[int, int]]) -> dict[int, Rights | None]:
    """Effective rights of many versions at once: {version id: rights}, from (version id, asset id) pairs."""
    asset_ids = {asset_id for _, asset_id in versions}
    if not asset_ids:
        return {}
    rows = session.scalars(select(Rights).where(one_of(session, Rights.asset_id, asset_ids)).order_by(Rights.id.desc()))
    by_version: dict[int, Rights] = {}
    by_asset: dict[int, Rights] = {}
    for row in rows:  # newest first, so the oldest row of a level wins, as in own_rights
        if row.version_id is None:
            by_asset[row.asset_id] = row
        else:
            by_version[row.version_id] = row
    return {version_id: by_version.get(version_id) or by_asset.get(asset_id) for version_id, asset_id in versions}


def expiring(session: Session, days: int, now: datetime | None = None,
             where: ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """Rights whose window ends within ``days`` days from now (and is not closed yet), soonest first.

    ``where``: a clause on ``Asset`` that keeps only some assets (those a user may see)."""
    now = as_utc(now) or utcnow()
    until = now + timedelta(days=days)
    query = (select(Rights, Asset.name, Version.number).join(Asset, Asset.id == Rights.asset_id)
             .outerjoin(Version, Version.id == Rights.version_id)
             .where(Rights.window_end.is_not(None), Rights.window_end > now, Rights.window_end <= until)
             .order_by(Rights.window_end, Rights.id))
    rows = session.execute(query if where is None else query.where(where)).all()
    return [{"asset_id": rights.asset_id, "asset": name, "version": number,
             "level": "asset" if rights.version_id is None else "version",
             "licence": rights.licence, "window_end": as_utc(rights.window_end).isoformat(),  # type: ignore[union-attr]
             "ends_on": as_utc(rights.window_end).date().isoformat(),  # type: ignore[union-attr]
             "days_left": math.ceil((as_utc(rights.window_end) - now).total_seconds() / 86400)}  # type: ignore[operator]
            for rights, name, number in rows]


def rights_view(rights: Rights | None) -> dict[str, Any] | None:
    """A rights row as the API and the pages show it."""
    if rights is None:
        return None
    start, end = as_utc(rights.window_start), as_utc(rights.window_end)
    return {
        "licence": rights.licence, "source": rights.source, "usage": rights.usage,
        "territories": rights.territories or None, "channels": rights.channels or None,
        "window_start": start.isoformat() if start else None, "window_end": end.isoformat() if end else None,
        "model_release": rights.model_release, "location_release": rights.location_release,
        "updated_at": as_utc(rights.updated_at).isoformat() if rights.updated_at else None,  # type: ignore[union-attr]
        "updated_by": rights.updated_by,
    }


def summary_of(rights: Rights | None) -> str:
    """One line in words: what the rights allow."""
    if rights is None:
        return NO_RIGHTS
    parts = [rights.licence or "no licence named",
             f"territories {', '.join(rights.territories)}" if rights.territories else "worldwide",
             f"channels {', '.join(rights.channels)}" if rights.channels else "all channels"]
    if rights.window_start or rights.window_end:
        parts.append(f"window {_day(rights.window_start) if rights.window_start else 'open'} – "
                     f"{_day(rights.window_end) if rights.window_end else 'open'}")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------ changing


FIELDS = ("licence", "source", "usage", "territories", "channels", "window_start", "window_end", "model_release",
          "location_release")


def set_rights(session: Session, asset_id: int, version_id: int | None, values: dict[str, Any],
               actor: str) -> Rights:
    """Replace the rights of one level (the asset's, or a version's override) with ``values`` (every field).

    Raises RightsError for a value that cannot be right.
    """
    values = {name: values.get(name) for name in FIELDS}
    values["territories"] = territory_codes(values["territories"])
    values["channels"] = channel_names(values["channels"])
    values["window_start"], values["window_end"] = as_utc(values["window_start"]), as_utc(values["window_end"])
    check_window(values["window_start"], values["window_end"])
    values["model_release"], values["location_release"] = bool(values["model_release"]), bool(
        values["location_release"])
    _lock_asset(session, asset_id)
    row = own_rights(session, asset_id, version_id)
    if row is None:
        row = Rights(asset_id=asset_id, version_id=version_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = actor, utcnow()
    session.flush()
    on_rights_change(session, actor, asset_id, version_id, f"rights set: {summary_of(row)}")
    return row


def clear_rights(session: Session, asset_id: int, version_id: int | None, actor: str) -> bool:
    """Remove the rights of one level; False when there were none."""
    _lock_asset(session, asset_id)
    level = Rights.version_id.is_(None) if version_id is None else Rights.version_id == version_id
    rows = session.scalars(select(Rights).where(Rights.asset_id == asset_id, level)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    if rows:
        on_rights_change(session, actor, asset_id, version_id,
                         "version rights removed" if version_id is not None else "asset rights removed")
    return bool(rows)


def _lock_asset(session: Session, asset_id: int) -> None:
    """Serialise rights changes of one asset (two asset-level rows could otherwise be made at once:
    NULL version ids never collide in the unique constraint). SQLite transactions are serial already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Asset.id).where(Asset.id == asset_id).with_for_update())


def on_rights_change(session: Session, actor: str, asset_id: int, version_id: int | None, summary: str) -> None:
    """Called on every rights change (set or removed, asset or version level), in the transaction that
    makes it, with who made it and a one-line summary in words."""
    from catalog.audit import record

    record(session, actor=actor, action="rights change", asset_id=asset_id, version_id=version_id,
           subject=summary[:500])
