"""services.sync_deployment and the beat task: the index mirrors the real demo deployment,
incrementally, in bounded passes, and one broken deployment never holds up the others."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.deployments.models import Deployment
from apps.threads import tasks
from apps.threads.models import SyncState, ThreadIndex
from apps.threads.services import sync_all, sync_deployment
from switchboard import SyncClient
from tests.fixtures.threads import SCRIPT, DemoThreads

pytestmark = pytest.mark.django_db


def _row(deployment: Deployment, thread_id: str) -> ThreadIndex:
    return ThreadIndex.objects.get(deployment=deployment, thread_id=thread_id)


def test_it_indexes_the_deployments_threads(
    deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    report = sync_deployment(deployment_a.pk)
    assert report.ok
    assert report.complete
    assert report.written == report.seen > 0

    support = _row(deployment_a, demo_threads.support)
    assert support.status == "interrupted"
    assert support.interrupt_count == 1
    assert support.graph_id == "support_agent"
    assert support.assistant_id
    assert support.metadata["suite"] == "threads"
    assert support.needs_human

    failed = _row(deployment_a, demo_threads.failed)
    assert failed.status == "error"
    assert failed.error_type == "ValueError"
    assert failed.error_message == SCRIPT

    assert _row(deployment_a, demo_threads.refund).status == "idle"
    state = SyncState.objects.get(deployment=deployment_a)
    assert state.high_water is not None
    assert {"support_agent", "flaky", "refund_approval"} <= set(state.graph_ids)
    assert state.last_error == ""


def test_it_reads_only_what_changed_on_the_next_sync(
    deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    assert sync_deployment(deployment_a.pk).complete
    new = graph_client.create_thread(metadata={"suite": "threads", "case": "incremental"})

    report = sync_deployment(deployment_a.pk, page_size=5)

    assert report.complete
    assert report.pages == 1
    assert 1 <= report.written < 5
    assert _row(deployment_a, str(new["thread_id"])).metadata["case"] == "incremental"


def test_it_picks_up_a_status_change_of_an_older_thread(
    deployment_a: Deployment, graph_client: SyncClient
) -> None:
    thread_id = str(graph_client.create_thread(metadata={"suite": "threads"})["thread_id"])
    sync_deployment(deployment_a.pk, page_size=10)
    assert _row(deployment_a, thread_id).status == "idle"
    graph_client.wait_run(thread_id, assistant_id="flaky", input={"fail": True}, raise_error=False)

    sync_deployment(deployment_a.pk, page_size=10)

    row = _row(deployment_a, thread_id)
    assert row.status == "error"
    assert row.graph_id == "flaky"
    assert row.error_message == "flaky failed on purpose"


def test_it_carries_on_where_a_bounded_pass_stopped(
    deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    for _ in range(max(0, 40 - graph_client.count_threads())):
        graph_client.create_thread(metadata={"suite": "threads", "case": "bounded"})
    total = graph_client.count_threads()
    first = sync_deployment(deployment_a.pk, page_size=6, max_pages=3)
    assert not first.complete
    assert first.seen == 18
    assert SyncState.objects.get(deployment=deployment_a).resume_offset == 18

    report, passes = first, 1
    while not report.complete and passes <= total:
        report = sync_deployment(deployment_a.pk, page_size=6, max_pages=3)
        assert report.ok
        passes += 1
    assert report.complete
    assert ThreadIndex.objects.filter(deployment=deployment_a).count() == total
    state = SyncState.objects.get(deployment=deployment_a)
    assert (state.resume_offset, state.pending_high_water) == (0, None)


def test_one_broken_deployment_does_not_stop_the_others(
    deployment_a: Deployment, down_deployment: Deployment, demo_threads: DemoThreads
) -> None:
    down, up = sync_all([down_deployment.pk, deployment_a.pk])

    assert not down.ok
    assert "Could not reach the deployment" in down.error
    assert up.ok
    assert ThreadIndex.objects.filter(
        deployment=deployment_a, thread_id=demo_threads.support
    ).exists()
    state = SyncState.objects.get(deployment=down_deployment)
    assert "Could not reach" in state.last_error
    assert state.lease_owner == ""  # the lease is given back after a failure


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_syncs_each_enabled_deployment_on_its_own(
    deployment_a: Deployment,
    down_deployment: Deployment,
    team_a: object,
    langgraph_url: str,
    demo_threads: DemoThreads,
    default_worker: object,
) -> None:
    disabled = Deployment.objects.create(
        team_id=deployment_a.team_id, name="off", url=langgraph_url, enabled=False
    )
    # What beat does, on a real worker: one sync task per enabled deployment.
    tasks.sync_all_deployments.delay()

    deadline = time.monotonic() + 60
    while not (
        ThreadIndex.objects.filter(deployment=deployment_a, thread_id=demo_threads.refund).exists()
        and SyncState.objects.filter(deployment=down_deployment).exclude(last_error="").exists()
    ):
        assert time.monotonic() < deadline, "the per-deployment syncs did not finish"
        time.sleep(0.2)
    assert not SyncState.objects.filter(deployment=disabled).exists()


def test_it_skips_a_deployment_another_sync_holds(deployment_a: Deployment) -> None:
    SyncState.objects.create(
        deployment=deployment_a,
        lease_owner="someone",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    report = sync_deployment(deployment_a.pk)
    assert report.skipped
    assert not ThreadIndex.objects.filter(deployment=deployment_a).exists()


def test_it_takes_over_an_expired_lease(
    deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    SyncState.objects.create(
        deployment=deployment_a,
        lease_owner="crashed",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert sync_deployment(deployment_a.pk).ok
    assert SyncState.objects.get(deployment=deployment_a).lease_owner == ""


def test_the_task_returns_quietly_for_a_deployment_that_is_gone() -> None:
    assert tasks.sync_deployment(987654)["skipped"] is True
