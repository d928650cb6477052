"""YAML files people write (presets, targets, metadata schemas), read as mappings with errors in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rushes.errors import ConfigError


def read_yaml_mapping(path: Path, what: str, expected: str, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """The YAML file ``path`` as a mapping (``empty`` for an empty file, when given); a ConfigError in words
    naming ``what`` it is (a preset, a targets file) and what was ``expected`` otherwise."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from exc
    if data is None and empty is not None:
        return empty
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected {expected}, got {type(data).__name__}")
    return data


def validation_problems(what: str, path: Path | str, exc: ValidationError) -> str:
    """A pydantic error in words: each bad field by its dotted path, with the allowed values where known."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        allowed = err.get("ctx", {}).get("expected")
        lines.append(f"{field}: {err['msg']}" + (f" (allowed: {allowed})" if allowed else ""))
    return f"{what} {path}: " + "; ".join(lines)
