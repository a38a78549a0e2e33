"""Several interrupts pending on one thread: each answered, all resumed together, by id."""

from __future__ import annotations

import pytest

from apps.inbox.models import Decision, Status
from apps.runs.models import Run

# Runs are relayed in-process: the relay's lease keeper reads the run from its own thread and
# connection, so the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_two_parallel_interrupts_are_resumed_by_id(client, oscar, paused, drive):
    p = paused("parallel_review", {})
    legal = next(r for r in p.rows if r.raw_value["branch"] == "legal")
    finance = next(r for r in p.rows if r.raw_value["branch"] == "finance")
    client.force_login(oscar)
    page = client.get(p.url).content.decode()
    assert "2 interrupts are pending on this thread" in page
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [legal.interrupt_id, finance.interrupt_id],
            f"i{legal.pk}-json": '"approve"',
            f"i{finance.pk}-json": '{"approved": true, "note": "net-60 is fine"}',
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command == {
        "resume": {
            legal.interrupt_id: "approve",
            finance.interrupt_id: {"approved": True, "note": "net-60 is fine"},
        }
    }
    decisions = Decision.objects.filter(run=run)
    assert decisions.count() == 2
    assert len({d.batch for d in decisions}) == 1
    state = drive(run)
    assert state["values"]["decision"] == "approved"
    assert state["values"]["finance"] == {"approved": True, "note": "net-60 is fine"}
    legal.refresh_from_db()
    assert legal.status == Status.DECIDED


def test_an_answer_that_is_not_json_is_refused(client, oscar, paused):
    p = paused("parallel_review", {})
    client.force_login(oscar)
    fields = {"checkpoint_id": p.checkpoint_id, "interrupt_id": [r.interrupt_id for r in p.rows]}
    fields.update({f"i{r.pk}-json": "approve" for r in p.rows})
    r = client.post(p.url, fields)
    assert r.status_code == 400
    assert "is not valid JSON" in r.content.decode()
    assert not Run.objects.exists()
