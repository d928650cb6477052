"""The repository carries every file its tests and benchmarks read: tests/media is complete, licensed and
listed, and no code path reaches outside the checkout (a fresh clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.media_fixtures import MEDIA

ROOT = Path(__file__).resolve().parents[1]
README = MEDIA / "README.md"
FILES = sorted(p.relative_to(MEDIA).as_posix() for p in MEDIA.rglob("*") if p.is_file())
LICENCES = [name for name in FILES if Path(name).name.startswith("LICENSE")]
MEDIA_FILES = [name for name in FILES if name not in LICENCES and name != "README.md"]
# Readers outside the checkout: a parent-relative path or the sibling folder the project was once run beside.
OUTSIDE = re.compile(r"""\.\./shared|parents\[2\]|["']shared["']\s*/|/\s*["']shared["']""")


def test_the_media_folder_is_small_and_holds_what_the_tests_read() -> None:
    total = sum((MEDIA / name).stat().st_size for name in FILES)
    assert total <= 15 * 1024 * 1024, f"tests/media is {total / 1e6:.1f} MB; keep it under 15 MB"
    assert len(MEDIA_FILES) >= 30


@pytest.mark.parametrize("name", MEDIA_FILES)
def test_every_file_is_described_and_licensed(name: str) -> None:
    readme = README.read_text()
    assert f"`{name}`" in readme, f"tests/media/README.md does not list {name}"
    folder = Path(name).parent
    beside = [lic for lic in LICENCES if Path(lic).parent == folder]
    own = [lic for lic in beside if Path(name).stem.split("-")[0] in lic]
    assert (folder / "LICENSE").as_posix() in beside or own, f"no licence beside {name}: add LICENSE-<name>.txt"


def test_the_readme_names_only_files_that_exist() -> None:
    listed = set(re.findall(r"`((?:probe|speech)/[^`]+)`", README.read_text()))
    assert listed, "tests/media/README.md lists no file"
    assert sorted(listed - set(FILES)) == []


def test_no_tracked_code_reads_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py", "Makefile", ".ci/*", "*.toml", "*.yml"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name in tracked if name != "tests/test_media_files.py"
        for number, line in enumerate((ROOT / name).read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []
