"""One error tree, one table from error to HTTP status and CLI exit code, and every domain error in both."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

from rushes import errors
from rushes.errors import STATUS, NotApproved, NotReady, RushesError, status_of

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rushes", "catalog", "analyzers", "transcoders", "delivery", "pipeline", "api")


def _import_everything() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_class_has_its_row_in_the_table() -> None:
    _import_everything()
    missing = sorted(c.__qualname__ for c in _subclasses(RushesError) if c not in STATUS)
    assert missing == [], f"add these to rushes.errors.STATUS: {missing}"
    assert all(100 <= s.http < 600 and 1 <= s.exit < 126 for s in STATUS.values())


def test_domain_errors_live_in_the_tree_only() -> None:
    """No exception class outside rushes/errors.py except the web layer's own HTTP refusal."""
    allowed = {("api/auth.py", "Denied")}
    found = set()
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "bench/", "build/")) or relative == "rushes/errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception")) for b in node.bases):
                found.add((relative, node.name))
    assert found - allowed == set()


@pytest.mark.parametrize(("error", "http", "exit_code"), [
    (errors.NotFound("no asset 9"), 404, 3),
    (NotReady("version 1 is processing"), 409, 4),
    (NotApproved("version 1 is not approved"), 409, 4),
    (errors.ConfigError("bad preset"), 400, 2),
    (errors.InvalidTimecode("not a timecode"), 400, 2),
    (errors.FFmpegTimeout("too slow"), 400, 1),
    (errors.FFmpegInterrupted("stopped"), 503, 1),
])
def test_an_error_answers_with_its_row(error: RushesError, http: int, exit_code: int) -> None:
    assert status_of(error) == (http, exit_code)


def test_input_errors_stay_value_errors_for_pydantic_validators() -> None:
    from catalog.rights import territory_codes

    with pytest.raises(ValueError, match="not an ISO 3166-1"):
        territory_codes(["UK"])
    with pytest.raises(errors.InvalidTimecode):
        from rushes.timecode import parse_timecode

        parse_timecode("10:00")
