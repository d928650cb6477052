"""Settings are read once from flags, RUSHES_* variables and a TOML file, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rushes.errors import ConfigError
from rushes.settings import load_settings


def test_defaults_are_the_embedded_farm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.embedded and settings.port == 8000
    assert settings.db_url == f"sqlite:///{tmp_path / 'rushes-data' / 'catalog.sqlite'}"
    assert settings.watch_path(settings.watch_folders[0]) == tmp_path / "rushes-data" / "watch" / "default"


def test_environment_beats_the_file_and_flags_beat_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "rushes.toml"
    config.write_text('port = 9001\nsettle_s = 12\n[[watch_folders]]\nname = "cam-a"\ncollection = "Show"\n')
    monkeypatch.setenv("RUSHES_CONFIG", str(config))
    monkeypatch.setenv("RUSHES_PORT", "9002")
    settings = load_settings(data_dir=tmp_path)
    assert settings.port == 9002 and settings.settle_s == 12
    assert settings.collection_of(settings.watch_folders[0]) == "Show"
    assert load_settings(data_dir=tmp_path, port=9003).port == 9003


@pytest.mark.parametrize(("env", "value", "words"), [
    ("RUSHES_PORT", "http", "port"),
    ("RUSHES_BROKER_URL", "amqp://x", "redis://"),
    ("RUSHES_DATABASE_URL", "mysql://x", "postgresql"),
    ("RUSHES_SETTLE_S", "-1", "settle_s"),
])
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str, value: str,
                                     words: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=words):
        load_settings(data_dir=tmp_path)


def test_a_broken_settings_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rushes.toml").write_text("port = [")
    with pytest.raises(ConfigError, match="rushes.toml"):
        load_settings(data_dir=tmp_path)
