"""Which steps run is decided per asset (both catalogs): a ``version.probed`` rule skips steps for the assets its
condition picks — with the steps that need them — as the probe ends, before any of them starts, on a running farm
with a real clip; the version is ready without them, each skipped step says which rule skipped it, the run is
recorded once, and the dry run says the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.models import RuleRun, Step, utcnow
from pipeline.farm import Farm
from pipeline.rules.dry_run import dry_run
from pipeline.rules.files import parse_rules
from rushes.errors import ConfigError
from rushes.settings import Settings
from tests.conftest import ingest_interview, wait_version

RULES = """\
rules:
  no-speech-in-default:
    trigger: version.probed
    condition: 'asset.folder == "default" && media.has_video'
    actions:
      - skip_steps: [audio]
  never-for-audio:
    trigger: version.probed
    condition: '!media.has_video'
    actions:
      - skip_steps: [proxy]
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  a:\n    trigger: version.ready\n    actions: [{skip_steps: [audio]}]\n",
     "skip_steps is the action of trigger version.probed"),
    ("rules:\n  a:\n    trigger: version.probed\n    actions: [{add_to_collection: x}]\n",
     "version.probed takes only skip_steps"),
    ("rules:\n  a:\n    trigger: version.probed\n    actions: [{skip_steps: [transcrpt]}]\n",
     "step kinds to skip, e.g. [transcript] (steps: proxy, audio, scenes, keyframes, transcript, tags, embed)"),
])
def test_a_step_rule_that_does_not_hold_is_refused(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        parse_rules(text, "steps.yaml")


def test_a_rule_skips_steps_for_the_assets_it_picks(make_settings: Callable[..., Settings], db_url: str,
                                                    tmp_path: Path) -> None:
    from pipeline.workers import Workers

    settings = make_settings(database_url=db_url, steps=["probe", "proxy", "audio", "transcript"])
    settings.rules_folder.mkdir(parents=True, exist_ok=True)
    (settings.rules_folder / "steps.yaml").write_text(RULES)
    farm = Farm(settings)
    workers = Workers(farm)
    workers.start()
    try:
        result = ingest_interview(farm, tmp_path)  # a real 3 s clip with sound, in the default folder
        version = wait_version(farm, result.version_id, timeout=90)
        assert version.status == "ready", version.error
        with farm.sessions() as session:
            steps = {s.kind: (s.status, s.error) for s in session.scalars(
                select(Step).where(Step.version_id == result.version_id))}
            runs = session.execute(select(RuleRun.trigger, RuleRun.status, RuleRun.outcome)).all()
        assert steps == {"probe": ("done", None), "proxy": ("done", None),
                         "audio": ("skipped", "skipped by rule no-speech-in-default"),
                         "transcript": ("skipped", "skipped by rule no-speech-in-default (it needs a step the rule "
                                                   "skips)")}
        assert [tuple(r) for r in runs] == [("version.probed", "done", "skip audio, transcript")], \
            "one run, by the rule that matched"
        with farm.sessions() as session:
            said = dry_run(session, parse_rules(RULES, "steps.yaml", None), None, 0.2, utcnow() - timedelta(hours=1))
        by_rule = {r["rule"]: r for r in said["rules"]}
        assert by_rule["no-speech-in-default"]["would"][0]["actions"] == ["skip audio, transcript"]
        assert by_rule["never-for-audio"]["matched"] == 0 and by_rule["never-for-audio"]["events"] == 1
    finally:
        workers.stop()
        farm.close()
