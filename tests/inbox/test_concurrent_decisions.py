"""Two operators deciding the same interrupt at once, and one double-submitting: exactly one
resume, one decision audit entry, and the others told who decided."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision
from apps.runs.models import Run
from tests.fixtures.inbox import REFUND

pytestmark = pytest.mark.django_db(transaction=True)


def _accept(p: Any) -> dict[str, Any]:
    return {
        "checkpoint_id": p.checkpoint_id,
        "interrupt_id": [p.row.interrupt_id],
        f"i{p.row.pk}-a0-type": "accept",
    }


def test_two_operators_deciding_at_once_resume_once(oscar, alice, paused):
    p = paused("refund_approval", REFUND)
    barrier = threading.Barrier(2)
    responses = {}

    def decide(user, answer):
        try:
            c = Client()
            c.force_login(user)
            barrier.wait(10)
            responses[user.username] = c.post(p.url, answer)
        finally:
            connection.close()

    ignore = {**_accept(p), f"i{p.row.pk}-a0-type": "ignore"}
    threads = [
        threading.Thread(target=decide, args=(oscar, _accept(p))),
        threading.Thread(target=decide, args=(alice, ignore)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert Run.objects.filter(thread_id=p.thread_id).count() == 1
    assert Decision.objects.count() == 1
    assert AuditEntry.objects.filter(action="inbox.answer").count() == 1
    assert AuditEntry.objects.filter(action="run.start").count() == 1
    winner = Decision.objects.get().decided_by
    assert winner is not None
    loser = alice if winner == oscar else oscar
    assert responses[winner.username].status_code == 302
    lost = responses[loser.username]
    assert lost.status_code == 409
    assert f"Already decided by {winner.username} at " in lost.content.decode()


def test_a_double_submit_resumes_once(client, oscar, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    first = client.post(p.url, _accept(p))
    second = client.post(p.url, _accept(p))
    assert first.status_code == 302
    assert second.status_code == 409
    assert "Already decided by oscar at " in second.content.decode()
    assert Run.objects.count() == 1
    assert AuditEntry.objects.filter(action="inbox.answer").count() == 1
