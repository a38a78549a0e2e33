"""Bulk decisions over a filtered selection: each item validated and decided on its own by a
Celery job, with a live progress bar and a final report of every item."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from typing import Any

import pytest

from apps.inbox.models import Decision, Interrupt, Kind, Status
from apps.runs.models import Run
from apps.workflow.bulk import process_bulk_job
from apps.workflow.models import BulkItem, BulkJob
from apps.workflow.services import do_start_bulk
from tests.fixtures.inbox import REFUND
from tests.fixtures.workflow import tool_call


def _wait_for_report(client: Any, job_id: int, timeout: float = 120.0) -> list[int]:
    """Poll the progress partial like the page does; return the percentages seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(
            f"/workflow/bulk/{job_id}/",
            headers={"HX-Request": "true", "HX-Target": "bulk-progress"},
        )
        assert r.status_code == 200
        html = r.content.decode()
        assert 'role="progressbar"' in html
        found = re.search(r'aria-valuenow="(\d+)"', html)
        assert found is not None
        seen.append(int(found.group(1)))
        if r.get("HX-Refresh") == "true":
            return seen
        time.sleep(0.3)
    raise AssertionError(f"the bulk job did not finish; progress seen: {seen[-5:]}")


@pytest.mark.django_db(transaction=True)
def test_a_bulk_approve_of_500_items_reports_every_item(
    client, oscar, alice, deployment_a, paused, item_factory, start_default_worker
):
    real = [paused("refund_approval", REFUND) for _ in range(6)]
    # Four records the inbox still lists as pending, though their threads have moved on to
    # another checkpoint (the sync has not caught up yet): the stale guard finds out.
    stale = [
        item_factory(deployment_a, thread_id=p.thread_id, checkpoint_id=str(uuid.uuid4()))
        for p in real[:4]
    ]
    not_allowed = [
        item_factory(
            deployment_a, Kind.MIDDLEWARE, actions=[tool_call("send_email", ["reject", "respond"])]
        )
        for _ in range(150)
    ]
    questions = [item_factory(deployment_a, Kind.GENERIC) for _ in range(100)]
    breakpoints = [item_factory(deployment_a, Kind.BREAKPOINT, actions=[]) for _ in range(38)]
    ghosts = [item_factory(deployment_a) for _ in range(10)]  # threads the deployment does not have
    shared = {"thread_id": str(uuid.uuid4()), "checkpoint_id": str(uuid.uuid4())}
    together = [
        item_factory(deployment_a, Kind.GENERIC, **shared),
        item_factory(deployment_a, **shared),
    ]
    later = [item_factory(deployment_a) for _ in range(190)]
    client.force_login(oscar)

    page = client.get("/workflow/bulk/")
    assert page.context["total"] == 500
    r = client.post(
        "/workflow/bulk/",
        {"decision": "approve", "comment": "weekly sweep", "confirm_total": "500"},
    )
    job = BulkJob.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/workflow/bulk/{job.pk}/"
    assert job.total == 500
    assert job.items.count() == 500

    # While the job waits for a worker, 190 items move on: 185 by the sync, 5 decided by alice.
    Interrupt.objects.filter(pk__in=[i.pk for i in later[:185]]).update(status=Status.MOVED_ON)
    for item in later[185:]:
        Decision.objects.create(
            interrupt=item, team_id=item.team_id, deployment_id=item.deployment_id, action="answer",
            summary="accept issue_refund", decided_by=alice, decided_by_label="alice", batch=uuid.uuid4(),
        )  # fmt: skip
        Interrupt.objects.filter(pk=item.pk).update(status=Status.DECIDED)
    start_default_worker()
    progress = _wait_for_report(client, job.pk)

    job.refresh_from_db()
    assert job.status == BulkJob.Status.DONE
    assert progress[-1] == 500
    outcome = {b.interrupt_id: b for b in BulkItem.objects.filter(job=job)}
    assert BulkItem.objects.filter(job=job, outcome=BulkItem.Outcome.QUEUED).count() == 0
    assert all(b.reason for b in outcome.values())

    def of(items: list[Any]) -> set[str]:
        return {outcome[i.pk].outcome for i in items}

    assert of([p.row for p in real]) == {"done"}
    assert of(stale) == {"moved_on"}
    assert of(later) == {"moved_on"}
    assert (
        of(not_allowed)
        == of(questions)
        == of(breakpoints)
        == of(ghosts)
        == of(together)
        == {"refused"}
    )
    assert "'approve', which is not allowed" in outcome[not_allowed[0].pk].reason
    assert "free-form question" in outcome[questions[0].pk].reason
    assert "breakpoint" in outcome[breakpoints[0].pk].reason
    assert "no longer has this thread" in outcome[ghosts[0].pk].reason
    assert "other interrupt(s) wait on this thread" in outcome[together[1].pk].reason
    assert "moved on" in outcome[later[0].pk].reason
    assert "Already decided by alice" in outcome[later[-1].pk].reason
    assert "checkpoint" in outcome[stale[0].pk].reason

    runs = Run.objects.filter(kind="resume")
    assert runs.count() == 6
    assert {r.thread_id for r in runs} == {p.thread_id for p in real}
    assert all((r.command or {})["resume"][0]["type"] == "accept" for r in runs)
    assert Decision.objects.filter(decided_by=oscar, comment="weekly sweep").count() == 6

    report = client.get(f"/workflow/bulk/{job.pk}/")
    assert report.content.decode().count('id="bulk-item-') == 500
    assert report.context["counts"] == {
        "queued": 0,
        "done": 6,
        "refused": 300,
        "moved_on": 194,
        "waiting": 0,
    }
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/workflow/bulk/{job.pk}/report.csv").content.decode())
        )
    )
    assert len(rows) == 500
    assert {r["outcome"] for r in rows} == {"done", "refused", "moved_on"}


def test_a_changed_selection_must_be_confirmed_again(client, oscar, deployment_a, item_factory):
    item_factory(deployment_a)
    client.force_login(oscar)

    r = client.post("/workflow/bulk/", {"decision": "approve", "confirm_total": "7"})

    assert r.status_code == 400
    assert "The selection changed since you looked (1 items now)" in r.content.decode()
    assert not BulkJob.objects.exists()


def test_the_selection_leaves_out_teams_where_the_user_is_a_viewer(
    client, oscar, deployment_a, deployment_b, item_factory
):
    item_factory(deployment_a, graph_id="refund_approval")
    item_factory(deployment_b, graph_id="refund_approval")
    client.force_login(oscar)

    r = client.get("/workflow/bulk/?graph=refund_approval")

    assert r.context["total"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_job_processed_twice_decides_each_item_once(oscar, deployment_a, item_factory):
    items = [item_factory(deployment_a, Kind.GENERIC) for _ in range(3)]
    job = do_start_bulk(user=oscar, action="reject", items=items)

    first = process_bulk_job(job.pk)
    second = process_bulk_job(job.pk)  # a redelivered message: the job is no longer queued

    assert (first, second) == ("done", "taken")
    assert BulkItem.objects.filter(job=job, outcome="refused").count() == 3
