"""The team's own metadata schema: fields, vocabularies, taxonomies and views, from YAML files.

The schema is a folder of YAML files (``<data_dir>/metadata/`` by default, reviewable in git); each file may
hold any of four sections, merged across files (a key defined twice is an error naming both files)::

    fields:
      camera: {type: choice, label: Camera, vocabulary: cameras, facet: true}
      shoot_date: {type: date, label: Shoot date, facet: true}
      talent: {type: choices, vocabulary: talent, renamed_from: [people]}
      sport: {type: taxonomy, taxonomy: sport}
    vocabularies:
      cameras: [A cam, B cam, Drone]
    taxonomies:
      sport: {Sport: {Football: [Goal, Foul], Cycling: []}}
    views:
      production: {label: Production, fields: [camera, shoot_date, talent], edit: [admin, editor]}
      logging: {label: Logging, level: range, fields: [sport, talent]}

Every problem is a :class:`ConfigError` naming the file, the field and the allowed values. A loaded
:class:`Schema` checks a value a person, a sidecar or a CSV gives (:meth:`FieldDef.check`): the typed, normalised
form is stored; a value that does not fit raises :class:`InvalidInput` with the reason in words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rushes.errors import ConfigError, InvalidInput
from rushes.yamlfiles import read_yaml_mapping, validation_problems

DEFAULT_SCHEMA_DIR = Path(__file__).with_name("schema")  # the schema a new data folder starts from
FIELD_TYPES = ("text", "long_text", "number", "date", "boolean", "choice", "choices", "keywords", "taxonomy", "user",
               "url")
MULTIPLE = frozenset({"choices", "keywords"})  # several values: from a vocabulary, or free words
KINDS = ("video", "audio", "image")
PEOPLE = ("admin", "editor", "reviewer", "viewer")
SECTIONS = ("fields", "vocabularies", "taxonomies", "views")
TERM_SEPARATOR = " > "
KEY = r"^[a-z][a-z0-9_]{0,63}$"
MAX_VALUE = 1000  # characters of one short value (text, choice, term, URL): what the facet index holds
MAX_LONG = 100_000  # characters of a long text

FieldType = Literal["text", "long_text", "number", "date", "boolean", "choice", "choices", "keywords", "taxonomy",
                    "user", "url"]
Role = Literal["admin", "editor", "reviewer", "viewer"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldDef(_Strict):
    """One field: its type, how people see it, and what it takes."""

    key: str = Field(pattern=KEY)
    type: FieldType
    label: str = ""
    help: str = ""
    required: bool = False
    default: Any = None
    searchable: bool = True  # its values are found by the full-text search (and hit at a range's timecodes)
    facet: bool = False  # counted in the search's and library's facets
    vocabulary: str | None = None  # choice, choices
    taxonomy: str | None = None  # taxonomy
    renamed_from: tuple[str, ...] = ()  # earlier keys: their values are moved to this key when the schema loads
    aliases: tuple[str, ...] = ()  # its names in sidecars, XMP (xmpDM:cameraLabel) and shoot CSV columns
    # filled by Schema: the allowed values (a vocabulary's choices, a taxonomy's terms)
    allowed: tuple[str, ...] = ()

    @property
    def multiple(self) -> bool:
        return self.type in MULTIPLE

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()

    def check(self, raw: Any, users: Iterable[str] | None = None) -> list[Value]:
        """The stored form of ``raw`` (a list for a multiple field; ``None``, ``""`` or ``[]``: no value);
        :class:`InvalidInput` in words when it does not fit. ``users``: the known user names, for a user field."""
        if raw is None or raw == "" or raw == []:
            return []
        items = _items(raw) if self.multiple else [raw]
        if not self.multiple and isinstance(raw, list):
            if len(raw) != 1:
                raise InvalidInput(f"{self.key} takes one value, got {len(raw)}")
            items = raw
        values: list[Value] = []
        for item in items:
            value = self._one(item, users)
            if value not in values:
                values.append(value)
        return values

    def _one(self, raw: Any, users: Iterable[str] | None) -> Value:
        kind = self.type
        if kind == "number":
            return _number(self.key, raw)
        if kind == "boolean":
            return Value(_boolean(self.key, raw))
        if isinstance(raw, bool | dict | list):
            raise InvalidInput(f"{self.key} takes {_article(kind)}, got {_shown(raw)}")
        text = (raw.isoformat() if isinstance(raw, date) else str(raw)).strip()
        if kind == "date":
            return Value(_date(self.key, text))
        if kind == "long_text":
            if len(text) > MAX_LONG:
                raise InvalidInput(f"{self.key} holds at most {MAX_LONG} characters, got {len(text)}")
            return Value(text)
        if len(text) > MAX_VALUE:
            raise InvalidInput(f"{self.key} holds at most {MAX_VALUE} characters, got {len(text)}")
        if kind in ("choice", "choices"):
            return Value(self._choice(text))
        if kind == "taxonomy":
            return Value(self._term(text))
        if kind == "url":
            parts = urlsplit(text)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidInput(f"{self.key} takes an http(s) URL, got {_shown(text)}")
            return Value(text)
        if kind == "user" and users is not None:
            known = {name.casefold(): name for name in users}
            if text.casefold() not in known:
                raise InvalidInput(f"{self.key} takes the name of a user of Rushes; no user {_shown(text)}")
            return Value(known[text.casefold()])
        return Value(text)

    def _choice(self, text: str) -> str:
        for choice in self.allowed:
            if choice.casefold() == text.casefold():
                return choice
        raise InvalidInput(f"{self.key}: {_shown(text)} is not in the vocabulary {self.vocabulary} "
                           f"(allowed: {', '.join(self.allowed)})")

    def _term(self, text: str) -> str:
        """A term by its whole path (``Sport > Football > Goal``) or, where it is unique, by its last name."""
        wanted = TERM_SEPARATOR.join(part.strip() for part in re.split(r"\s*>\s*", text)).casefold()
        for term in self.allowed:
            if term.casefold() == wanted:
                return term
        leaves = [term for term in self.allowed if term.rsplit(TERM_SEPARATOR, 1)[-1].casefold() == wanted]
        if len(leaves) == 1:
            return leaves[0]
        shown = ", ".join(self.allowed[:12]) + (", …" if len(self.allowed) > 12 else "")
        if len(leaves) > 1:
            raise InvalidInput(f"{self.key}: {_shown(text)} is in several places of the taxonomy {self.taxonomy}; "
                               f"give the whole path: {', '.join(leaves)}")
        raise InvalidInput(f"{self.key}: {_shown(text)} is not a term of the taxonomy {self.taxonomy} "
                           f"(allowed: {shown})")


@dataclass(frozen=True)
class Value:
    """One stored value: its text (ISO dates, ``true``/``false``, a choice as spelled in the vocabulary, a
    term's whole path), and its number for a number field (range filters and sorting)."""

    text: str
    number: float | None = None

    def plain(self, kind: str) -> Any:
        """The value as JSON gives it back: a number, a boolean, or text."""
        if kind == "number" and self.number is not None:
            return int(self.number) if self.number.is_integer() else self.number
        if kind == "boolean":
            return self.text == "true"
        return self.text


class ViewDef(_Strict):
    """A form: fields grouped for people, where it applies, and who may see and edit it."""

    key: str = Field(pattern=KEY)
    label: str = ""
    help: str = ""
    level: Literal["asset", "range"] = "asset"  # range: the fields of a log entry (in/out frames)
    fields: tuple[str, ...] = Field(min_length=1)
    collections: tuple[str, ...] = ()  # none: every collection
    kinds: tuple[Literal["video", "audio", "image"], ...] = ()  # none: every kind of asset
    see: tuple[Role, ...] = ("admin", "editor", "reviewer", "viewer")
    edit: tuple[Role, ...] = ("admin", "editor")

    @field_validator("edit")
    @classmethod
    def _admins_edit(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return value if "admin" in value else ("admin", *value)

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()

    def applies(self, collections: Iterable[str], kind: str | None) -> bool:
        if self.collections and not set(self.collections) & set(collections):
            return False
        return not self.kinds or kind is None or kind in self.kinds

    def visible_to(self, role: str) -> bool:
        return role == "admin" or role in self.see or role in self.edit

    def editable_by(self, role: str) -> bool:
        return role in self.edit


@dataclass(frozen=True)
class Schema:
    """The merged schema; ``content_hash`` changes whenever its meaning does (it keys the stored versions)."""

    fields: dict[str, FieldDef]
    views: dict[str, ViewDef]
    vocabularies: dict[str, tuple[str, ...]]
    taxonomies: dict[str, tuple[str, ...]]

    @property
    def definition(self) -> dict[str, Any]:
        """The schema as plain JSON (what the catalog keeps of each version)."""
        return {
            "fields": {k: f.model_dump(mode="json", exclude={"key", "allowed"}, exclude_defaults=True)
                       for k, f in self.fields.items()},
            "vocabularies": {k: list(v) for k, v in self.vocabularies.items()},
            "taxonomies": {k: _nested(v) for k, v in self.taxonomies.items()},
            "views": {k: v.model_dump(mode="json", exclude={"key"}, exclude_defaults=True)
                      for k, v in self.views.items()},
        }

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.definition, sort_keys=True).encode()).hexdigest()

    def field(self, key: str) -> FieldDef:
        try:
            return self.fields[key]
        except KeyError:
            raise InvalidInput(f"no metadata field {key!r}; known: {', '.join(self.fields) or 'none'}") from None

    def facets(self) -> list[str]:
        return [key for key, f in self.fields.items() if f.facet]

    def renames(self) -> dict[str, str]:
        """Earlier key → key now, for every field that was renamed."""
        return {old: key for key, f in self.fields.items() for old in f.renamed_from}

    def views_for(self, role: str, collections: Iterable[str], kind: str | None,
                  level: str = "asset") -> list[ViewDef]:
        names = list(collections)
        return [v for v in self.views.values() if v.level == level and v.applies(names, kind) and v.visible_to(role)]

    def editable_fields(self, role: str, collections: Iterable[str], kind: str | None,
                        level: str = "asset") -> set[str]:
        return {key for view in self.views_for(role, collections, kind, level) if view.editable_by(role)
                for key in view.fields}

    def visible_fields(self, role: str, collections: Iterable[str], kind: str | None,
                       level: str = "asset") -> set[str]:
        return {key for view in self.views_for(role, collections, kind, level) for key in view.fields}


# --------------------------------------------------------------------------------------------- loading


def load_schema(folder: Path) -> Schema:
    """Every ``*.yaml``/``*.yml`` file of ``folder`` merged into one schema; ConfigError on the first problem."""
    if not folder.is_dir():
        raise ConfigError(f"metadata schema folder {folder} does not exist")
    return parse_schema({path.name: read_yaml_mapping(path, "metadata schema", f"a mapping of {', '.join(SECTIONS)}",
                                                      empty={})
                         for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])}, folder)


def parse_schema(files: Mapping[str, Mapping[str, Any]], folder: Path | str = "") -> Schema:
    """The schema of ``files`` (file name → its YAML mapping); errors name ``folder/file``, the field and the
    allowed values."""
    where: dict[tuple[str, str], str] = {}
    merged: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for name, data in files.items():
        path = f"{folder}/{name}" if folder else name
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"metadata schema {path}: unknown section {', '.join(unknown)} "
                              f"(allowed: {', '.join(SECTIONS)})")
        for section in SECTIONS:
            entries = data.get(section) or {}
            if not isinstance(entries, dict):
                raise ConfigError(f"metadata schema {path}: {section} must be a mapping of keys, "
                                  f"got {type(entries).__name__}")
            for key, entry in entries.items():
                if (section, str(key)) in where:
                    raise ConfigError(f"metadata schema {path}: {section}.{key} is defined in "
                                      f"{where[section, str(key)]} already")
                where[section, str(key)] = path
                merged[section][str(key)] = entry
    vocabularies = {key: _vocabulary(where["vocabularies", key], key, entry)
                    for key, entry in merged["vocabularies"].items()}
    taxonomies = {key: _taxonomy(where["taxonomies", key], key, entry) for key, entry in merged["taxonomies"].items()}
    fields = {key: _field(where["fields", key], key, entry, vocabularies, taxonomies)
              for key, entry in merged["fields"].items()}
    _check_renames(fields, where)
    views = {key: _view(where["views", key], key, entry, fields) for key, entry in merged["views"].items()}
    return Schema(fields=fields, views=views, vocabularies=vocabularies, taxonomies=taxonomies)


def _model(path: str, what: str, model: type[_Strict], data: Any, **extra: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"metadata schema {path}: {what} must be a mapping, got {_shown(data)}")
    try:
        return model(**{**data, **extra})
    except ValidationError as exc:
        raise ConfigError(validation_problems("metadata schema", f"{path}: {what}", exc)) from exc
    except TypeError as exc:
        raise ConfigError(f"metadata schema {path}: {what}: {exc}") from exc


def _field(path: str, key: str, data: Any, vocabularies: dict[str, tuple[str, ...]],
           taxonomies: dict[str, tuple[str, ...]]) -> FieldDef:
    if isinstance(data, dict) and "type" in data and data["type"] not in FIELD_TYPES:
        raise ConfigError(f"metadata schema {path}: fields.{key}.type: unknown type {_shown(data['type'])} "
                          f"(allowed: {', '.join(FIELD_TYPES)})")
    field: FieldDef = _model(path, f"fields.{key}", FieldDef, data, key=key)
    choices = _reference(path, key, "vocabulary", field.vocabulary, vocabularies, field.type in ("choice", "choices"),
                         "a choice or choices field")
    terms = _reference(path, key, "taxonomy", field.taxonomy, taxonomies, field.type == "taxonomy",
                       "a taxonomy field")
    allowed = choices or terms
    if field.facet and field.type == "long_text":
        raise ConfigError(f"metadata schema {path}: fields.{key}.facet: a long_text field cannot be a facet")
    field = field.model_copy(update={"allowed": allowed})
    if field.default is not None:
        try:
            field.check(field.default)
        except InvalidInput as exc:
            raise ConfigError(f"metadata schema {path}: fields.{key}.default: {exc}") from exc
    return field


def _reference(path: str, key: str, what: str, name: str | None, known: dict[str, tuple[str, ...]], needed: bool,
               holder: str) -> tuple[str, ...]:
    """The values of the vocabulary or taxonomy ``name`` a field refers to (none when it needs none); ConfigError
    when it is missing, unknown, or given to a field that takes none."""
    if not needed:
        if name is not None:
            raise ConfigError(f"metadata schema {path}: fields.{key}.{what}: only {holder} has one")
        return ()
    if name not in known:
        problem = "missing" if name is None else f"unknown {what} {name!r}"
        raise ConfigError(f"metadata schema {path}: fields.{key}.{what}: {problem} "
                          f"(allowed: {', '.join(known) or 'none defined'})")
    return known[name]


def _check_renames(fields: dict[str, FieldDef], where: dict[tuple[str, str], str]) -> None:
    seen: dict[str, str] = {}
    for key, field in fields.items():
        for old in field.renamed_from:
            path = where["fields", key]
            if old in fields:
                raise ConfigError(f"metadata schema {path}: fields.{key}.renamed_from: {old!r} is still a field")
            if old in seen:
                raise ConfigError(f"metadata schema {path}: fields.{key}.renamed_from: {old!r} was renamed to "
                                  f"{seen[old]!r} already")
            seen[old] = key


def _view(path: str, key: str, data: Any, fields: dict[str, FieldDef]) -> ViewDef:
    view: ViewDef = _model(path, f"views.{key}", ViewDef, data, key=key)
    for name in view.fields:
        if name not in fields:
            raise ConfigError(f"metadata schema {path}: views.{key}.fields: unknown field {name!r} "
                              f"(allowed: {', '.join(fields) or 'none defined'})")
    if len(set(view.fields)) != len(view.fields):
        raise ConfigError(f"metadata schema {path}: views.{key}.fields: a field is listed twice")
    return view


def _vocabulary(path: str, key: str, data: Any) -> tuple[str, ...]:
    if not re.match(KEY, key):
        raise ConfigError(f"metadata schema {path}: vocabularies.{key}: a key is lower case letters, digits, _")
    if not isinstance(data, list) or not data:
        raise ConfigError(f"metadata schema {path}: vocabularies.{key}: expected a list of choices, got {_shown(data)}")
    choices = [str(item).strip() for item in data]
    folded = [c.casefold() for c in choices]
    if any(not c for c in choices) or len(set(folded)) != len(folded):
        raise ConfigError(f"metadata schema {path}: vocabularies.{key}: choices must be unique and not blank")
    if any(len(c) > MAX_VALUE for c in choices):
        raise ConfigError(f"metadata schema {path}: vocabularies.{key}: a choice holds at most {MAX_VALUE} characters")
    return tuple(choices)


def _taxonomy(path: str, key: str, data: Any) -> tuple[str, ...]:
    """Every term of a nested mapping (lists for the leaves) as its whole path: ``Sport``, ``Sport > Football``…"""
    if not re.match(KEY, key):
        raise ConfigError(f"metadata schema {path}: taxonomies.{key}: a key is lower case letters, digits, _")
    terms: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        if node is None:
            return
        if isinstance(node, str | int | float):
            node = [node]
        if isinstance(node, list):
            for item in node:
                if isinstance(item, dict):
                    walk(item, prefix)
                else:
                    add(str(item), prefix)
            return
        if not isinstance(node, dict):
            raise ConfigError(f"metadata schema {path}: taxonomies.{key}: expected nested mappings and lists of "
                              f"terms, got {_shown(node)}")
        for name, children in node.items():
            walk(children, add(str(name), prefix))

    def add(name: str, prefix: str) -> str:
        name = name.strip()
        if not name or ">" in name:
            raise ConfigError(f"metadata schema {path}: taxonomies.{key}: a term is not blank and has no '>' "
                              f"({_shown(name)})")
        term = f"{prefix}{TERM_SEPARATOR}{name}" if prefix else name
        if term in terms:
            raise ConfigError(f"metadata schema {path}: taxonomies.{key}: {term!r} is listed twice")
        terms.append(term)
        return term

    walk(data, "")
    if not terms:
        raise ConfigError(f"metadata schema {path}: taxonomies.{key}: no terms")
    return tuple(terms)


def _nested(terms: tuple[str, ...]) -> dict[str, Any]:
    """Whole-path terms back into the nested mapping a taxonomy is written as (a leaf maps to None)."""
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for name in term.split(TERM_SEPARATOR):
            node = node.setdefault(name, {})
    def prune(node: dict[str, Any]) -> dict[str, Any]:
        return {name: prune(child) if child else None for name, child in node.items()}
    return prune(root)


# ------------------------------------------------------------------------------------------- value checks


def _items(raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str) and (";" in raw or "|" in raw):  # a CSV cell or XMP bag flattened: "Ana; Ben"
        return [part for part in re.split(r"\s*[;|]\s*", raw.strip()) if part]
    return [raw]


def _number(key: str, raw: Any) -> Value:
    if isinstance(raw, bool):
        raise InvalidInput(f"{key} takes a number, got {_shown(raw)}")
    try:
        number = float(str(raw).strip().replace(",", "")) if not isinstance(raw, int | float) else float(raw)
    except ValueError:
        raise InvalidInput(f"{key} takes a number, got {_shown(raw)}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidInput(f"{key} takes a finite number, got {_shown(raw)}")
    text = str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return Value(text, number)


def _boolean(key: str, raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    text = str(raw).strip().casefold()
    if text in ("true", "yes", "y", "1", "on", "x"):
        return "true"
    if text in ("false", "no", "n", "0", "off"):
        return "false"
    raise InvalidInput(f"{key} takes yes or no (true/false), got {_shown(raw)}")


def _date(key: str, text: str) -> str:
    """An ISO date (``2026-11-03``); a date-time keeps its date (EXIF/XMP ``2026:11:03 10:12:00`` too)."""
    candidate = re.sub(r"^(\d{4}):(\d{2}):(\d{2})", r"\1-\2-\3", text)
    try:
        return date.fromisoformat(candidate[:10]).isoformat() if len(candidate) > 10 and candidate[10] in "T " \
            else date.fromisoformat(candidate).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(candidate).date().isoformat()
    except ValueError:
        raise InvalidInput(f"{key} takes a date as YYYY-MM-DD, got {_shown(text)}") from None


def _article(kind: str) -> str:
    return {"text": "text", "long_text": "text", "date": "a date", "choice": "one choice", "choices": "choices",
            "taxonomy": "a taxonomy term", "user": "a user name", "url": "a URL"}.get(kind, kind)


def _shown(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "…"
