"""Schemathesis against the app's own OpenAPI document: no request, however malformed, gets a 5xx.

Every operation is called with cases generated from the document (valid ones and deliberately invalid
ones: wrong types, out-of-range numbers, odd strings, path traversal in path parameters), as an admin (so
each route runs its deepest code) and without a token. The number of cases tried is printed and written
to ``<tmp>/schemathesis-cases.txt``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi

from api.app import create_app
from catalog.auth import create_token, ensure_user
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.settings import WatchFolder
from tests.conftest import farm_settings

pytestmark = pytest.mark.slow
EXAMPLES = 6  # per operation, per generation mode, per caller (104 operations: ~2 900 cases)
TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "%00", "x" * 5000]


def test_no_request_gets_a_server_error(tmp_path: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a push target's relative folder lands here, not in the project
    farm = Farm(farm_settings(tmp_path / "data"))
    try:
        shutil.copyfile(clips["short"], tmp_path / "A001.mov")
        Ingester(farm).ingest(tmp_path / "A001.mov", WatchFolder(name="default"))  # probed later: no workers
        with farm.transaction() as session:
            admin = create_token(session, ensure_user(session, "admin", "admin"))
        schema = from_asgi("/openapi.json", create_app(farm))
        tried: dict[str, int] = {}
        failures: list[str] = []
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for headers in ({"Authorization": f"Bearer {admin}"}, {}):
                    _run(operation, mode, headers, tried, failures)
        total = sum(tried.values())
        Path(tmp_path / "schemathesis-cases.txt").write_text(f"{total}\n")
        with capsys.disabled():
            print(f"\nschemathesis: {total} cases over {len(tried)} operations, {len(failures)} server errors")
        assert not failures, "\n".join(failures[:20])
        assert len(tried) >= 40 and total >= 40 * EXAMPLES
    finally:
        farm.close()


def _run(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str], tried: dict[str, int],
         failures: list[str]) -> None:
    label = operation.label

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        tried[label] = tried.get(label, 0) + 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error], headers=headers)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported together
            failures.append(f"{label} [{mode.value}] {case.path_parameters} {case.query}: {exc}")

    try:
        run()
    except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, label
    if operation.path_parameters and mode is GenerationMode.POSITIVE:  # path traversal in every path parameter
        for value in TRAVERSALS:
            case = operation.Case(path_parameters={p.name: value for p in operation.path_parameters})
            tried[label] = tried.get(label, 0) + 1
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{label}: {value!r} → {response.status_code}")
