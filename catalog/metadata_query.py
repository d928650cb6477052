"""Fielded queries and facets over the team's metadata.

    camera:"A cam" shoot_date:2026-11-01..2026-11-30 talent:Presenter episode:3.. moment:Football derby

A term ``key:value`` whose key is a field (or a field's label or alias) filters assets; ``a..b`` is a range (either
end may be open) for number and date fields; a taxonomy term matches its narrower terms too (``moment:Football``
finds ``Sport > Football > Goal``); a value is checked like an edit is (``camera:"z cam"`` is an error naming the
allowed values). Words that are not field terms stay the full-text query. Several terms all apply (AND); a field
named twice must hold both values. A field's filter matches an asset's own values and its logged ranges' values.

Facets count, per value, the assets whose own values hold it (values that fit the schema), among the assets a scope
allows: on an in-process index (catalog/facet_index.py), not in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from catalog.facet_index import INDEXES, FacetIndex, all_of, asset_ids, asset_mask, select_mask
from catalog.metadata_schema import TERM_SEPARATOR, Schema
from catalog.metadata_values import field_for
from catalog.models import Asset, MetadataValue
from rushes.errors import InvalidInput

if TYPE_CHECKING:
    from catalog.metadata import SchemaInForce

TERM = re.compile(r'(?<![\w"])([A-Za-z][\w:.-]*?):("([^"]*)"|(\S+))')
FACET_VALUES = 50  # the most common values of a facet


@dataclass(frozen=True)
class FieldFilter:
    field: str
    value: str | None = None  # equality (normalised as stored)
    low: str | float | None = None  # a range: number for number fields, ISO text for dates
    high: str | float | None = None
    narrower: bool = False  # a taxonomy term: its narrower terms match too

    def clause(self) -> ColumnElement[bool]:
        """A WHERE clause on ``Asset`` (EXISTS: for a page of assets, asked once an asset)."""
        held = aliased(MetadataValue)  # its own alias: the clause may sit in a query on metadata_values (facets)
        return exists().where(held.asset_id == Asset.id, *self._conditions(held))

    def assets(self, logged_only: bool = False) -> Any:
        """The ids of the assets it keeps, read on the (field, value) index: for counting over many assets.
        ``logged_only``: only those whose logged ranges hold the value (the facet index has the assets' own)."""
        held = aliased(MetadataValue)
        query = select(held.asset_id).where(*self._conditions(held))
        return query.where(held.log_id.is_not(None)) if logged_only else query

    def keeps(self, value: str) -> bool:
        """Whether an asset-level value (as stored) passes this filter: the facet index's test."""
        if self.value is not None and value != self.value and not (
                self.narrower and value.startswith(self.value + TERM_SEPARATOR)):
            return False
        if self.low is None and self.high is None:
            return True
        if isinstance(self.low, float) or isinstance(self.high, float):
            try:
                number: Any = float(value)
            except ValueError:
                return False
        else:
            number = value
        return (self.low is None or number >= self.low) and (self.high is None or number <= self.high)

    def _conditions(self, held: Any) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [held.field == self.field]
        if self.value is not None:
            same = held.value == self.value
            if self.narrower:
                same = or_(same, held.value.startswith(self.value + TERM_SEPARATOR, autoescape=True))
            conditions.append(same)
        column: Any = held.number if isinstance(self.low, float) or isinstance(self.high, float) else held.value
        if self.low is not None:
            conditions.append(column >= self.low)
        if self.high is not None:
            conditions.append(column <= self.high)
        return conditions


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what is left for the full-text search
    filters: tuple[FieldFilter, ...]

    def clause(self) -> ColumnElement[bool] | None:
        """A WHERE clause on ``Asset`` (None without field terms)."""
        return and_(*(f.clause() for f in self.filters)) if self.filters else None


def parse_query(schema: Schema | None, query: str) -> ParsedQuery:
    """Split ``query`` into field filters and the words left for the full-text search."""
    if schema is None:
        return ParsedQuery(query.strip(), ())
    filters: list[FieldFilter] = []
    words: list[str] = []
    last = 0
    for match in TERM.finditer(query):
        f = field_for(schema, match.group(1))
        if f is None:  # "10:00" or a word with a colon: text
            continue
        words.append(query[last:match.start()])
        last = match.end()
        raw = match.group(3) if match.group(3) is not None else match.group(4)
        filters.append(_filter(schema, f.key, raw))
    words.append(query[last:])
    return ParsedQuery(" ".join(" ".join(words).split()), tuple(filters))


def _filter(schema: Schema, key: str, raw: str) -> FieldFilter:
    f = schema.fields[key]
    if ".." in raw and f.type in ("number", "date"):
        low_raw, high_raw = raw.split("..", 1)
        if f.type == "number":
            low: Any = f.check(low_raw)[0].number if low_raw else None
            high: Any = f.check(high_raw)[0].number if high_raw else None
        else:
            low = f.check(low_raw)[0].text if low_raw else None
            high = f.check(high_raw)[0].text if high_raw else None
        if low is None and high is None:
            raise InvalidInput(f"{key}: a range needs at least one end, e.g. {key}:2026-11-01..2026-11-30")
        return FieldFilter(key, low=low, high=high)
    if f.type == "long_text":
        raise InvalidInput(f"{key} is a long text: search its words instead of filtering on it")
    try:
        value = f.check(raw)[0]
    except InvalidInput as exc:
        raise InvalidInput(f"in the query: {exc}") from None
    if f.type == "number":
        return FieldFilter(key, low=value.number, high=value.number)
    return FieldFilter(key, value=value.text, narrower=f.type == "taxonomy")


def facet_counts(session: Session, state: SchemaInForce, keys: list[str], within: list[Any] | None = None,
                 limit: int = FACET_VALUES) -> dict[str, list[dict[str, Any]]]:
    """For each facet field: its most common values with how many assets hold them, among the assets every select
    of ``within`` names (the caller's, a filter's: selects of asset ids read on indexes, never a per-asset test of a
    million rows). Counted on the process's facet index (``catalog/facet_index.py``), brought up to date first."""
    schema = state.schema
    for key in keys:
        f = schema.fields.get(key)
        if f is None or not f.facet:
            raise InvalidInput(f"{key!r} is not a facet; facets: {', '.join(schema.facets()) or 'none'}")
    index = INDEXES.get(session, state.version, schema.facets())
    keep = all_of([_mask(session, index, chosen) for chosen in within or []])
    trashed = asset_ids(session, select(Asset.id).where(Asset.deleted_at.is_not(None)))  # counted by nobody
    return {key: [{"value": _shown(schema.fields[key].type, value), "assets": count}
                  for value, count in index.counts(key, keep, limit, drop=trashed)] for key in keys}


def _mask(session: Session, index: FacetIndex, chosen: Any) -> np.ndarray:
    """The assets a ``within`` item keeps: a field term on a facet field from the index (the assets' own values)
    and the catalog (their logged ranges'), anything else from the catalog."""
    if not isinstance(chosen, FieldFilter):
        return select_mask(session, chosen)
    if chosen.field not in index.columns:
        return select_mask(session, chosen.assets())
    own = index.assets_where(chosen.field, chosen.keeps)
    logged = asset_ids(session, chosen.assets(logged_only=True))
    return asset_mask(np.concatenate([own, logged]))


def _shown(kind: str, value: str) -> Any:
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        return value == "true"
    return value
