"""Bulk decisions over the items the operator ticked: picked in the inbox list or on the bulk
page, only those are decided; the others stay waiting on the graph server."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from apps.workflow.models import BulkItem, BulkJob
from tests.fixtures.inbox import REFUND


def _wait_until_done(job_id: int, timeout: float = 120.0) -> BulkJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = BulkJob.objects.get(pk=job_id)
        if job.status == BulkJob.Status.DONE:
            return job
        time.sleep(0.3)
    raise AssertionError("the bulk job did not finish")


def _waiting(graph_client: Any, thread_id: str) -> bool:
    thread = graph_client.get_thread(thread_id)
    return thread["status"] == "interrupted" and any((thread.get("interrupts") or {}).values())


@pytest.mark.django_db(transaction=True)
def test_bulk_deciding_three_of_five_ticked_items_leaves_the_other_two_waiting(
    client, oscar, deployment_a, paused, graph_client, start_default_worker, relay_worker
):
    threads = [paused("refund_approval", REFUND) for _ in range(5)]
    items = [t.row for t in threads]
    client.force_login(oscar)
    listed = client.get("/inbox/").content.decode()
    for item in items:
        assert f'name="item" value="{item.pk}" form="inbox-selection"' in listed

    # The inbox list's "Bulk decide the selected" sends the ticked ids.
    ticked = [items[0].pk, items[2].pk, items[4].pk]
    page = client.get("/workflow/bulk/", {"item": [str(pk) for pk in ticked]})
    assert page.context["total"] == 3
    html = page.content.decode()
    for item in items:
        box = f'name="item" value="{item.pk}" checked'
        assert (box in html) == (item.pk in ticked), item.pk

    r = client.post(
        "/workflow/bulk/",
        {"pick": "1", "item": [str(pk) for pk in ticked], "decision": "approve",
         "confirm_total": "3"},
    )  # fmt: skip
    assert r.status_code == 302
    job = BulkJob.objects.get()
    assert job.total == 3
    start_default_worker()  # the bulk job; the relay worker carries each resume to the graph
    _wait_until_done(job.pk)

    outcomes = {b.interrupt_id: b.outcome for b in BulkItem.objects.filter(job=job)}
    assert outcomes == {pk: BulkItem.Outcome.DONE for pk in ticked}
    deadline = time.monotonic() + 60
    while any(_waiting(graph_client, threads[i].thread_id) for i in (0, 2, 4)):
        assert time.monotonic() < deadline, "the ticked threads were not resumed"
        time.sleep(0.3)
    assert _waiting(graph_client, threads[1].thread_id)
    assert _waiting(graph_client, threads[3].thread_id)


@pytest.mark.django_db
def test_a_bulk_form_with_nothing_ticked_decides_nothing(client, oscar, deployment_a, item_factory):
    for _ in range(2):
        item_factory(deployment_a)
    client.force_login(oscar)

    r = client.post("/workflow/bulk/", {"pick": "1", "decision": "approve", "confirm_total": "2"})

    assert r.status_code == 400
    assert "Tick at least one item." in r.content.decode()
    assert not BulkJob.objects.exists()


@pytest.mark.django_db
def test_items_picked_in_the_inbox_among_many_stay_the_only_ones_confirmed(
    client, oscar, deployment_a, item_factory
):
    items = [item_factory(deployment_a) for _ in range(101)]
    picked = [items[5].pk, items[50].pk]
    client.force_login(oscar)

    page = client.get("/workflow/bulk/", {"item": [str(pk) for pk in picked]})

    assert page.context["total"] == 2
    form = page.content.decode()
    form = form[form.index('id="bulk-decide"') :]
    hidden = re.findall(r'<input type="hidden" name="(item|pick)" value="(\d+)">', form)
    assert sorted(hidden) == sorted([("pick", "1"), *(("item", str(pk)) for pk in picked)])
    r = client.post(
        "/workflow/bulk/",
        {"pick": "1", "item": [str(pk) for pk in picked], "decision": "approve",
         "confirm_total": "2"},
    )  # fmt: skip
    assert r.status_code == 302
    assert sorted(BulkJob.objects.get().items.values_list("interrupt_id", flat=True)) == picked
