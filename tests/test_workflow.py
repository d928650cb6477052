"""The workflow DAG and the state machine of steps, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update

from catalog.models import Asset, Collection, Step, Version
from pipeline import leases
from pipeline.farm import Farm
from pipeline.reconcile import reconcile
from pipeline.tasks import TASKS
from pipeline.workflow import LIFECYCLE, WORKFLOW, advance, plan


def _version(farm: Farm, content: str = "a" * 64) -> int:
    with farm.transaction() as session:
        collection = Collection(name="c")
        asset = Asset(name="clip.mov", source_folder="default", collection=collection)
        session.add(asset)
        session.flush()
        version = Version(asset_id=asset.id, number=1, content_hash=content, size=1, original_name="clip.mov",
                          source_folder="default", source_path="/x/clip.mov", stored_path="/x/original.mov")
        session.add(version)
        session.flush()
        plan(session, version)
        return version.id


def test_every_step_kind_has_a_task_and_known_needs() -> None:
    assert set(TASKS) == set(WORKFLOW) | set(LIFECYCLE)  # and the on-demand moves of originals
    for kind in WORKFLOW.values():
        assert set(kind.needs) <= set(WORKFLOW), kind


def test_racing_advances_enqueue_a_step_once(farm: Farm) -> None:
    version_id = _version(farm)
    sent: list[list[tuple[int, str]]] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        barrier.wait()
        with farm.transaction() as session:
            sent.append(advance(session, version_id))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [m for batch in sent for m in batch]
    assert [kind for _, kind in flat] == ["probe"]


def test_a_step_can_be_claimed_by_one_owner_only(farm: Farm) -> None:
    version_id = _version(farm)
    with farm.transaction() as session:
        [(step_id, _)] = advance(session, version_id)
    with farm.transaction() as session:
        first = leases.claim(session, step_id, lease_s=30)
    with farm.transaction() as session:
        second = leases.claim(session, step_id, lease_s=30)
    assert first is not None and second is None
    with farm.transaction() as session:
        assert leases.finish(session, first)
        assert advance(session, version_id)[0][1] == "proxy"
        assert session.get(Version, version_id).status == "processing"


def test_an_expired_lease_is_requeued_and_the_old_owner_loses(farm: Farm) -> None:
    version_id = _version(farm)
    with farm.transaction() as session:
        [(step_id, _)] = advance(session, version_id)
    with farm.transaction() as session:
        old = leases.claim(session, step_id, lease_s=-1)  # already expired: the worker "died"
    assert old is not None
    assert reconcile(farm) == 1
    with farm.transaction() as session:
        step = session.get(Step, step_id)
        assert step.status == "queued" and "lease expired" in step.error
        assert not leases.finish(session, old)  # a late result of the lost worker is dropped
        new = leases.claim(session, step_id, lease_s=30)
        assert new is not None and new.attempt == 2


def test_a_step_that_keeps_losing_its_worker_fails_with_the_reason(farm: Farm) -> None:
    version_id = _version(farm)
    with farm.transaction() as session:
        [(step_id, _)] = advance(session, version_id)
    for _ in range(farm.settings.max_attempts):
        with farm.transaction() as session:
            assert leases.claim(session, step_id, lease_s=-1) is not None
        reconcile(farm)
    with farm.transaction() as session:
        step = session.get(Step, step_id)
        version = session.get(Version, version_id)
        assert step.status == "failed" and "worker lost" in step.error
        assert version.status == "failed" and version.asset.status == "failed"


def test_reconciler_queues_pending_steps_whose_needs_are_done(farm: Farm) -> None:
    version_id = _version(farm)
    with farm.transaction() as session:  # as if a worker died between 'done' and advance()
        for step in session.scalars(select(Step).where(Step.version_id == version_id, Step.kind == "probe")):
            step.status = "done"
    reconcile(farm)
    with farm.transaction() as session:
        kinds = {s.kind: s.status for s in session.scalars(select(Step).where(Step.version_id == version_id))}
    assert {k for k, status in kinds.items() if status == "queued"} == {
        k.name for k in WORKFLOW.values() if k.needs == ("probe",)}


def _finish_all_but(farm: Farm, version_id: int, left: tuple[str, ...]) -> dict[str, int]:
    with farm.transaction() as session:
        steps = {s.kind: s for s in session.scalars(select(Step).where(Step.version_id == version_id))}
        for kind, step in steps.items():
            step.status = "running" if kind in left else "done"
        return {kind: step.id for kind, step in steps.items()}


def test_the_last_two_steps_finishing_at_once_make_the_version_ready(farm: Farm) -> None:
    """Each finisher must see the other's commit: the version row is locked before steps are read."""
    version_id = _version(farm)
    ids = _finish_all_but(farm, version_id, ("tags", "transcript"))
    first_read = threading.Event()
    errors: list[BaseException] = []

    def finish(kind: str, wait: threading.Event | None) -> None:
        try:
            if wait is not None:
                assert wait.wait(10)
            with farm.transaction() as session:
                session.execute(update(Step).where(Step.id == ids[kind]).values(status="done"))
                advance(session, version_id)
                if wait is None:
                    first_read.set()
                    time.sleep(0.5)  # still uncommitted while the other finisher reads
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=("tags", None)),
               threading.Thread(target=finish, args=("transcript", first_read))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with farm.sessions() as session:
        version = session.get(Version, version_id)
        assert version.status == "ready"
        assert session.get(Asset, version.asset_id).status == "ready"


def test_the_reconciler_heals_a_version_whose_status_lags_its_steps(farm: Farm) -> None:
    version_id = _version(farm)
    _finish_all_but(farm, version_id, ())
    with farm.transaction() as session:
        session.execute(update(Version).where(Version.id == version_id).values(status="processing"))
    reconcile(farm)
    with farm.sessions() as session:
        assert session.get(Version, version_id).status == "ready"
