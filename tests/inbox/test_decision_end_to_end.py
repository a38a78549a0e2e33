"""End to end with a real relay worker: a decision on the page resumes the graph as a live run,
on commit, and the graph finishes on the deployment."""

from __future__ import annotations

import time

import pytest

from apps.inbox.models import Status
from apps.inbox.records import sync_thread_interrupts
from apps.runs.models import Run
from tests.fixtures.inbox import SUPPORT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _wait_final(run: Run, seconds: float = 60.0) -> Run:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} still {run.status} after {seconds:.0f} s")


def test_a_decision_resumes_the_graph_to_its_end(client, oscar, paused, relay_worker, graph_client):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    a0, a1 = f"i{p.row.pk}-a0", f"i{p.row.pk}-a1"
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"{a0}-type": "approve",
            f"{a1}-type": "reject",
            f"{a1}-text": "No email for this one.",
        },
    )
    assert r.status_code == 302
    run = _wait_final(Run.objects.get(thread_id=p.thread_id))
    assert run.status == "succeeded", run.error
    assert run.events.filter(event__startswith="messages").exists()
    thread = graph_client.get_thread(p.thread_id)
    assert thread["status"] == "idle"
    assert "Here is what happened." in thread["values"]["messages"][-1]["content"]
    sync_thread_interrupts(p.deployment, p.thread_id, thread=thread)
    p.row.refresh_from_db()
    assert p.row.status == Status.DECIDED
