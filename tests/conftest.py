"""Shared fixtures: real media, catalogs on SQLite and PostgreSQL, farms with real workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from pipeline.farm import Farm
from rushes.settings import Settings, load_settings
from tests.media_fixtures import MEDIA, make_clip

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("RUSHES_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RUSHES_TEST_REDIS", "redis://127.0.0.1:6379/0")
# The catalogs each catalog test runs on: both by default (`make test`, CI); `make test-fast` sets sqlite.
BACKENDS = [name for name in os.environ.get("RUSHES_TEST_BACKENDS", "sqlite,postgresql").split(",") if name]
assert set(BACKENDS) <= {"sqlite", "postgresql"}, f"RUSHES_TEST_BACKENDS: sqlite and/or postgresql, not {BACKENDS}"


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def media() -> Path:
    """The real files of ``tests/media`` (see its README for what is known about each)."""
    return MEDIA


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real clips made once per session with ffmpeg's lavfi sources."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": make_clip(folder / "short.mov", seconds=2, size="320x240", timecode="01:00:00:00"),
        "other": make_clip(folder / "other.mp4", seconds=2, size="320x240", pattern="smptebars"),
        "long": make_clip(folder / "long.mp4", seconds=40, size="1280x720", rate=25),
    }


def create_pg_database(template: str | None = None) -> str:
    """A new PostgreSQL database: empty, or a copy of ``template`` (a database of this server)."""
    name = f"rushes_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty catalog on each backend, for the tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    else:
        url = create_pg_database()
        yield url
        drop_pg_database(url)


class MigratedCatalogs:
    """One catalog of each backend migrated to the newest revision once per test process, copied for each test:
    the schema ``alembic upgrade head`` makes (migrations only, nothing a farm writes when it opens), at a fifth of
    the cost (PostgreSQL: 0.55 s a fresh database and its migration, 0.17 s a copy by ``TEMPLATE``; SQLite: 0.2 s
    and a file copy). A farm opened on a copy finds it at head and goes on as on any catalog."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite: Path | None = None
        self.pg_url: str | None = None

    def copy(self, backend: str, tmp_path: Path) -> str:
        from catalog.db import make_engine, migrate

        if backend == "sqlite":
            if self.sqlite is None:
                path = self.folder / "template.sqlite"
                engine = make_engine(f"sqlite:///{path}")
                migrate(engine)
                engine.dispose()  # the WAL checkpointed into the file: the file alone is the catalog
                self.sqlite = path
            target = tmp_path / "catalog.sqlite"
            shutil.copyfile(self.sqlite, target)
            return f"sqlite:///{target}"
        if self.pg_url is None:
            url = create_pg_database()
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()  # a template must have no connections when it is copied
            self.pg_url = url
        return create_pg_database(template=self.pg_url.rsplit("/", 1)[1])

    def drop(self) -> None:
        if self.pg_url is not None:
            drop_pg_database(self.pg_url)


@pytest.fixture(scope="session")
def migrated_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedCatalogs]:
    catalogs = MigratedCatalogs(tmp_path_factory.mktemp("catalog-templates"))
    yield catalogs
    catalogs.drop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_catalogs: MigratedCatalogs) -> Iterator[str]:
    """Each catalog test runs on both backends, on a catalog already migrated to the newest revision."""
    url = migrated_catalogs.copy(request.param, tmp_path)
    yield url
    if request.param == "postgresql":
        drop_pg_database(url)


# What a test farm plans for each file unless the test asks for more (``steps=None``: the whole analysis).
FARM_STEPS = ["probe", "proxy"]


# the multilingual Whisper model is joined once for the whole run, not once per test's data folder (145 MB each)
SHARED_MODEL_CACHE = Path(tempfile.gettempdir()) / f"rushes-test-models-{os.getuid()}"


def farm_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a farm under test: quick polls, short leases, and only the probe and the proxy planned
    unless the test needs the analysis (pass ``steps=None`` for all of it, or the steps it needs)."""
    values: dict[str, Any] = dict(data_dir=data_dir, settle_s=0.3, poll_interval_s=0.1, lease_s=4,
                                  reconcile_interval_s=0.5, worker_threads=2, steps=FARM_STEPS,
                                  model_cache=SHARED_MODEL_CACHE)
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for this test's farm; a test marked ``analysis`` plans the whole analysis for its files."""
    steps = None if request.node.get_closest_marker("analysis") else FARM_STEPS

    def make(**overrides: Any) -> Settings:
        return farm_settings(tmp_path / "data", **{"steps": steps, **overrides})

    return make


@pytest.fixture
def farm(make_settings: Callable[..., Settings], db_url: str) -> Iterator[Farm]:
    farm = Farm(make_settings(database_url=db_url))
    yield farm
    farm.close()


@pytest.fixture
def running_farm(farm: Farm) -> Iterator[Farm]:
    """A farm with its worker threads and reconciler running (embedded broker)."""
    from pipeline.workers import Workers

    workers = Workers(farm)
    workers.start()
    yield farm
    workers.stop()


def wait_version(farm: Farm, version_id: int, timeout: float = 60.0) -> Any:
    """Wait until a version is ready (with every step finished, those it does not need too) or failed, and
    return it (detached)."""
    from catalog.models import Version

    def finished() -> Any:
        from catalog.models import Step

        with farm.sessions() as session:
            version = session.get(Version, version_id)
            if version is None or version.status not in ("ready", "failed"):
                return None
            # ready, and the steps it does not need (embed) finished too: what a test looks at next is all there
            busy = session.scalar(select(Step.id).where(Step.version_id == version_id,
                                                        Step.status.in_(("pending", "queued", "running"))).limit(1))
            return version if version.status == "failed" or busy is None else None

    try:
        return wait_for(finished, timeout=timeout, what=f"version {version_id} to finish")
    except AssertionError as exc:  # say where it stood: which step was stuck, where and why
        from catalog.models import Step

        with farm.sessions() as session:
            version = session.get(Version, version_id)
            steps = [(s.kind, s.status, s.attempts, s.worker, s.error)
                     for s in session.scalars(select(Step).where(Step.version_id == version_id))]
        raise AssertionError(f"{exc}; version status {version and version.status}, steps {steps}") from None


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def person(session: Any, name: str, role: str, collection: str = "default") -> Any:
    """A user with ``role`` who may act on ``collection`` (what a watch folder named 'default' feeds)."""
    from catalog.auth import ensure_user, grant

    user = ensure_user(session, name, role)
    if role not in ("admin", "target"):
        grant(session, user, collection=collection)
    return user


def bearer(farm: Farm, name: str, role: str, collection: str | None = "default") -> dict[str, str]:
    """Authorization headers of a new token for ``name`` with ``role`` (made when new) and, unless
    ``collection`` is None or the role is admin/target, a grant on ``collection``."""
    from catalog.auth import create_token, ensure_user

    with farm.transaction() as session:
        user = person(session, name, role, collection) if collection else ensure_user(session, name, role)
        return {"Authorization": f"Bearer {create_token(session, user)}"}


def bearers(farm: Farm, people: dict[str, str], collection: str = "default") -> dict[str, dict[str, str]]:
    """:func:`bearer` headers for each name → role of ``people``."""
    return {name: bearer(farm, name, role, collection) for name, role in people.items()}


@pytest.fixture
def client(farm: Farm) -> Iterator[Any]:
    """The API of this test's farm in-process (no worker threads: see ``running_farm``)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(farm), base_url="http://127.0.0.1") as test_client:
        yield test_client


def ingest_interview(farm: Farm, tmp_path: Path) -> Any:
    """A real 3 s clip (640x360, 25 fps, start timecode 10:00:00:00) ingested, analysed and ready."""
    from pipeline.ingest import Ingester
    from rushes.settings import WatchFolder

    clip = make_clip(tmp_path / "interview.mov", seconds=3, size="640x360", timecode="10:00:00:00")
    result = Ingester(farm).ingest(clip, WatchFolder(name="default"), consume=False)
    assert wait_version(farm, result.version_id, timeout=120).status == "ready"
    return result


def wait_healthy(base: str, timeout: float = 60, broker: str | None = None) -> None:
    """Wait until the API at ``base`` answers /healthz (and runs on ``broker`` when given)."""
    import httpx

    def healthy() -> bool:
        try:
            body = httpx.get(f"{base}/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return False
        return body.get("status") == "ok" and (broker is None or body.get("broker") == broker)

    wait_for(healthy, timeout=timeout, what=f"the API at {base} to serve")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that used a running `rushes up` (a fixture value with ``tmp`` holding its ``up.log``) shows the
    server's warnings and errors beside its own failure: what the farm said while the test failed (CI keeps no log);
    one that used the test browser shows what its pages were doing."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed or call.when != "call":
        return
    browser = getattr(item, "funcargs", {}).get("browser")
    if browser is not None and hasattr(browser, "watch"):  # tests/browser_watch.py
        report.sections.append(("browser: pages, requests and errors", browser.watch.report(browser)[-8000:]))
    for value in getattr(item, "funcargs", {}).values():
        log_file = getattr(value, "tmp", None)
        log_file = log_file / "up.log" if isinstance(log_file, Path) else None
        if log_file is None or not log_file.is_file():
            continue
        records: list[list[str]] = []  # a log line and what follows it up to the next (a traceback)
        for line in log_file.read_text(errors="replace").splitlines():
            if line[:2] == "20" or not records:
                records.append([line])
            else:
                records[-1].append(line)
        shown: list[str] = []
        for record in [r for r in records if " WARNING " in r[0] or " ERROR " in r[0]][-12:]:
            shown.extend(record[:14] if "write lock" in record[0] else [record[0], *record[1:][-3:]])
        report.sections.append(("rushes up: warnings and errors", "\n".join(shown)[-8000:] or "(none)"))
        return
