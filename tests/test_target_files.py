"""Issue 12: distribution targets declared in a YAML file next to the presets, validated like presets, applied when
the API starts and by ``rushes targets sync`` (both catalogs), every change audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from catalog.models import AuditEntry, Target
from delivery.target_files import TARGETS_FILE, apply_targets_file, load_targets_file, targets_file_of
from pipeline.farm import Farm
from rushes.errors import ConfigError
from tests.conftest import bearer

XDCAM, WEB = "broadcast/xdcam-hd422-1080i25", "web/h264-720p"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _farm_with(farm: Farm, path: Path) -> Farm:
    farm.settings = farm.settings.model_copy(update={"targets_file": path})
    return farm


def _apply(farm: Farm, *, with_tokens: bool = False) -> tuple[list[str], dict[str, str]]:
    return apply_targets_file(farm.transaction, targets_file_of(farm.settings), with_tokens=with_tokens)


def test_the_shipped_targets_file_is_valid_and_declares_none() -> None:
    assert TARGETS_FILE.parent.name == "presets" and TARGETS_FILE.is_file()
    assert load_targets_file(TARGETS_FILE) == []


@pytest.mark.parametrize(("text", "said"), [
    ("targets:\n  - name: rte\n    presets: [broadcast/xdcam-nope]\n",
     "target rte field presets: unknown preset broadcast/xdcam-nope (known: "),
    ("targets:\n  - name: rte\n    presets: [web/h264-720p]\n    territory: EU\n",
     "target rte field territory: territory 'EU' is not an ISO 3166-1 alpha-2 country code"),
    ("targets:\n  - name: rte\n    presets: [web/h264-720p]\n    channel: radio\n",
     "target rte field channel: unknown channel 'radio': use broadcast, web or social"),
    ("targets:\n  - name: rte\n    presets: []\n", "target rte field presets: List should have at least 1 item"),
    ("targets:\n  - presets: [web/h264-720p]\n", "target #1 field name: Field required"),
    ("targets:\n  - name: rte\n    presets: [web/h264-720p]\n    folder: /x\n",
     "target rte field folder: Extra inputs"),
    ("targets:\n  - {name: a, presets: [web/h264-720p]}\n  - {name: a, presets: [web/h264-720p]}\n",
     "target a is declared more than once"),
    ("targets: [\n", "is not valid YAML"),
    ("- name: rte\n", "expected a mapping with a 'targets' list, got list"),
])
def test_a_bad_targets_file_is_refused_naming_file_target_and_field(tmp_path: Path, text: str, said: str) -> None:
    path = _write(tmp_path / "targets.yaml", text)
    with pytest.raises(ConfigError) as refused:
        load_targets_file(path)
    assert str(path) in str(refused.value) and said in str(refused.value), str(refused.value)


def test_declared_targets_are_created_updated_and_audited(farm: Farm, tmp_path: Path) -> None:
    drop = tmp_path / "rte-dropbox"
    path = _write(tmp_path / "targets.yaml", f"""
targets:
  - name: rte
    push: {drop}
    presets: [{XDCAM}]
    channel: broadcast
    territory: ie
  - name: cms
    presets: [{WEB}]
""")
    changes, tokens = _apply(_farm_with(farm, path), with_tokens=True)
    assert changes == ["added push target rte from targets.yaml", "added pull target cms from targets.yaml"]
    assert list(tokens) == ["cms"]  # a pull target's token, shown once
    with farm.sessions() as session:
        made = {t.name: (t.kind, t.preset_names, t.folder, t.channel, t.territory)
                for t in session.scalars(select(Target))}
    assert made == {"rte": ("push", [XDCAM], str(drop), "broadcast", "IE"), "cms": ("pull", [WEB], None, None, None)}

    assert _apply(farm) == ([], {})  # the same file again changes nothing

    _write(path, f"targets:\n  - name: cms\n    presets: [{WEB}, web/hls-ladder]\n    territory: GB\n")
    changes, _ = _apply(farm)
    assert changes == ["changed target cms from targets.yaml: presets ['web/h264-720p'] -> ['web/h264-720p', "
                       "'web/hls-ladder'], territory None -> GB"]
    with farm.sessions() as session:
        cms = session.scalar(select(Target).where(Target.name == "cms"))
        assert cms is not None and (cms.preset_names, cms.territory) == ([WEB, "web/hls-ladder"], "GB")
        assert session.scalar(select(Target).where(Target.name == "rte")) is not None  # not in the file: kept
        trail = [e.subject for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "target change"))]
    assert trail == [*["added push target rte from targets.yaml", "added pull target cms from targets.yaml"],
                     changes[0]]

    _write(path, f"targets:\n  - name: rte\n    presets: [{XDCAM}]\n")  # push -> pull under the same name
    with pytest.raises(ConfigError, match="target rte is a push target in the catalog"):
        _apply(farm)


def test_the_api_applies_the_file_when_it_starts_and_refuses_to_start_on_a_bad_one(farm: Farm, tmp_path: Path) -> None:
    path = _write(tmp_path / "targets.yaml", f"targets:\n  - name: cms\n    presets: [{WEB}]\n")
    with TestClient(create_app(_farm_with(farm, path)), base_url="http://127.0.0.1") as client:
        listed = client.get("/api/v1/targets", headers=bearer(farm, "root", "admin", None)).json()["targets"]
    assert [(t["name"], t["kind"], t["presets"]) for t in listed] == [("cms", "pull", [WEB])]

    _write(path, "targets:\n  - name: cms\n    presets: [web/nope]\n")
    with pytest.raises(ConfigError, match="unknown preset web/nope"):
        create_app(farm)


def test_the_cli_validates_and_syncs_the_file(farm: Farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rushes.cli import main

    path = _write(tmp_path / "targets.yaml", f"targets:\n  - name: cms\n    presets: [{WEB}]\n")
    monkeypatch.setenv("RUSHES_DATABASE_URL", farm.settings.database_url or "")
    monkeypatch.setenv("RUSHES_TARGETS_FILE", str(path))
    runner = CliRunner()
    data = str(farm.settings.data_dir)

    valid = runner.invoke(main, ["--data", data, "targets", "validate"])
    assert valid.exit_code == 0 and f"{path}: 1 target(s) valid" in valid.output, valid.output
    synced = runner.invoke(main, ["--data", data, "targets", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "added pull target cms from targets.yaml" in synced.output and "token of pull target cms: " in synced.output
    again = runner.invoke(main, ["--data", data, "targets", "sync"])
    assert "targets already match the file" in again.output

    bad = _write(tmp_path / "bad.yaml", "targets:\n  - name: x\n    presets: [web/h264-720p]\n    channel: radio\n")
    refused = runner.invoke(main, ["--data", data, "targets", "validate", str(bad)])
    assert refused.exit_code != 0 and "target x field channel: unknown channel 'radio'" in refused.output
