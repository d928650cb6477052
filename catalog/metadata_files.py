"""The metadata schema's folder: made from the bundled default on first start, read and synced into the catalog,
and changed file by file through the admin API (validated as a whole before anything is written)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from catalog.metadata import SchemaSync, sync_schema
from catalog.metadata_schema import DEFAULT_SCHEMA_DIR, SECTIONS, Schema, parse_schema
from rushes.errors import ConfigError, NotFound

FILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.ya?ml$"


def ensure_folder(folder: Path) -> None:
    """A new data folder starts with the bundled schema (a folder that exists, even empty, is left alone)."""
    if folder.exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".metadata-", dir=folder.parent))
    for path in sorted(DEFAULT_SCHEMA_DIR.glob("*.yaml")):
        shutil.copyfile(path, staging / path.name)
    try:
        staging.rename(folder)
    except OSError:  # another process of the farm made it first
        shutil.rmtree(staging, ignore_errors=True)


def folder_texts(folder: Path) -> dict[str, str]:
    """Each schema file's text, by name."""
    if not folder.is_dir():
        raise ConfigError(f"metadata schema folder {folder} does not exist")
    try:
        return {p.name: p.read_text(encoding="utf-8")
                for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])}
    except OSError as exc:
        raise ConfigError(f"cannot read the metadata schema in {folder}: {exc}") from exc


class _UniqueKeys(yaml.SafeLoader):
    """YAML that refuses a key written twice in one mapping (PyYAML keeps the last one silently)."""


def _mapping(loader: _UniqueKeys, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"{key!r} is written twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def schema_of(texts: dict[str, str], folder: Path | str) -> Schema:
    """The schema the file texts make; ConfigError naming the file, the field and the allowed values."""
    files = {}
    for name, body in texts.items():
        try:
            data = yaml.load(body, Loader=_UniqueKeys)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"metadata schema {folder}/{name} is not valid YAML: {exc}") from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"metadata schema {folder}/{name}: expected a mapping of {', '.join(SECTIONS)}, "
                              f"got {type(data).__name__}")
        files[name] = data
    return parse_schema(files, folder)


def sync_folder(session: Session, folder: Path, *, actor: str) -> SchemaSync:
    """Bring the catalog's schema in line with the folder (a new version when its meaning changed)."""
    texts = folder_texts(folder)
    return sync_schema(session, schema_of(texts, folder), texts, actor=actor)


def write_file(session: Session, folder: Path, name: str, body: str | None, *, actor: str) -> SchemaSync:
    """Replace (or, with ``body`` None, remove) one schema file: the whole schema is checked with the change first;
    nothing is written when it does not hold."""
    if not re.match(FILE_NAME, name):
        raise ConfigError(f"a metadata schema file is named like production.yaml (letters, digits, _ . -), "
                          f"not {name!r}")
    texts = folder_texts(folder)
    if body is None:
        if name not in texts:
            raise NotFound(f"no metadata schema file {name}; files: {', '.join(texts) or 'none'}")
        texts.pop(name)
    else:
        texts[name] = body
    schema = schema_of(texts, folder)  # raises before anything is written
    result = sync_schema(session, schema, texts, actor=actor)
    replace_file(folder, name, body)
    return result


def replace_file(folder: Path, name: str, body: str | None) -> None:
    """Write ``folder/name`` whole (through a temporary file: a reader never sees half of it), or remove it."""
    target = folder / name
    if body is None:
        target.unlink()
    else:
        temporary = folder / f".{name}.part"
        temporary.write_text(body, encoding="utf-8")
        os.replace(temporary, target)
