"""Who may import whom (docs/ARCHITECTURE.md, "Who imports whom"): every import, lazy ones included, points down.

    entry points   rushes.cli, rushes.roles, rushes.oneshot    the command and its process roles
    web            api                                         routes and pages
    engine         pipeline                                    farm, workflow, steps, use cases
    delivery       delivery                                    presets, QC, targets, hand-off
    media          analyzers → transcoders                     pure media code, no database, no broker
    catalog        catalog                                     models, migrations, queries, views
    kernel         rushes.errors, rushes.timecode, rushes.settings
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ("rushes.cli", "rushes.roles", "rushes.oneshot")
MAY_IMPORT = {
    "kernel": set(),
    "transcoders": {"kernel"},
    "analyzers": {"kernel", "transcoders"},
    "catalog": {"kernel"},
    "delivery": {"kernel", "catalog", "analyzers", "transcoders"},
    "pipeline": {"kernel", "catalog", "analyzers", "transcoders", "delivery"},
    "api": {"kernel", "catalog", "delivery", "pipeline"},
    "entry": {"kernel", "catalog", "analyzers", "transcoders", "delivery", "pipeline", "api"},
}
OURS = ("rushes", "catalog", "analyzers", "transcoders", "delivery", "pipeline", "api", "presets")


def layer(module: str) -> str | None:
    top = module.split(".")[0]
    if top not in OURS or top == "presets":
        return None
    if top == "rushes":
        return "entry" if module.startswith(ENTRY) else "kernel"
    return top


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "rushes"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
            found.append((name, path))
    return found


def test_every_import_points_down_the_layers() -> None:
    upward = []
    for name, path in modules():
        mine = layer(name)
        for line, target in imports_of(path):
            theirs = layer(target)
            if mine is None or theirs is None or theirs == mine or theirs == "kernel" and target == "rushes":
                continue
            if theirs not in MAY_IMPORT[mine]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {target} ({theirs})")
    assert upward == []

