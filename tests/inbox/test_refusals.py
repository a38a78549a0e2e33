"""Answers that do not fit what is pending are refused with a clear sentence before anything is
sent: no decision, no run, no audit entry, and the thread still waits where it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Status
from apps.runs.models import Run
from tests.fixtures.inbox import SUPPORT

pytestmark = pytest.mark.django_db


def _nothing_sent(p: Any, graph_client: Any) -> None:
    assert not Run.objects.exists()
    assert not Decision.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="inbox.").exists()
    state = graph_client.get_thread_state(p.thread_id)
    assert state["checkpoint"]["checkpoint_id"] == p.checkpoint_id
    for row in p.rows:
        row.refresh_from_db()
        assert row.status == Status.PENDING


def test_one_decision_for_two_actions_is_refused(client, oscar, paused, graph_client):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "approve",
        },
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert (
        "2 actions (&#x27;issue_refund&#x27;, &#x27;send_email&#x27;) need exactly one decision each, in order; got 1"
        in html
    )
    _nothing_sent(p, graph_client)


def test_a_decision_type_that_is_not_allowed_is_refused(client, oscar, paused, graph_client):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "approve",
            f"i{p.row.pk}-a1-type": "accept",
        },
    )
    assert r.status_code == 400
    assert (
        "decision 2 for &#x27;send_email&#x27; is &#x27;accept&#x27;, which is not allowed; allowed: approve, edit, reject, respond"
        in r.content.decode()
    )
    _nothing_sent(p, graph_client)


def test_a_raw_resume_with_the_wrong_count_is_refused(client, oscar, paused, graph_client):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    raw = json.dumps({"decisions": [{"type": "approve"}]})
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            "mode": "raw",
            "raw": raw,
        },
    )
    assert r.status_code == 400
    assert "need exactly one decision each, in order; got 1" in r.content.decode()
    _nothing_sent(p, graph_client)


def test_a_scalar_while_two_interrupts_are_pending_is_refused(client, oscar, paused, graph_client):
    p = paused("parallel_review", {})
    client.force_login(oscar)
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [r.interrupt_id for r in p.rows],
            "mode": "raw",
            "raw": '"approve"',
        },
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "2 interrupts are pending" in html
    assert "a single value would fail the run on the server: answer them by id" in html
    _nothing_sent(p, graph_client)


def test_a_raw_map_naming_a_wrong_interrupt_id_is_refused(client, oscar, paused, graph_client):
    p = paused("parallel_review", {})
    client.force_login(oscar)
    raw = json.dumps({p.rows[0].interrupt_id: "approve", "0" * 32: "approve"})
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [r.interrupt_id for r in p.rows],
            "mode": "raw",
            "raw": raw,
        },
    )
    assert r.status_code == 400
    assert f"not pending on this thread: {'0' * 32}" in r.content.decode()
    _nothing_sent(p, graph_client)


def test_a_form_naming_a_wrong_interrupt_id_is_refused_as_stale(
    client, oscar, paused, graph_client
):
    p = paused("refund_approval", {"customer": "ACME", "amount": 5})
    client.force_login(oscar)
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": ["f" * 32],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )
    assert r.status_code == 409
    assert f"Not pending at checkpoint {p.checkpoint_id}: {'f' * 32}" in r.content.decode()
    _nothing_sent(p, graph_client)


def test_a_decision_on_a_thread_that_moved_on_says_what_changed(
    client, oscar, paused, graph_client
):
    p = paused("refund_approval", {"customer": "ACME", "amount": 5})
    client.force_login(oscar)
    # Someone answers on the deployment directly (Studio, another console) after the form was shown.
    graph_client.wait_run(
        p.thread_id,
        assistant_id="refund_approval",
        command={"resume": [{"type": "ignore", "args": None}]},
    )
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )
    assert r.status_code == 409
    html = r.content.decode()
    assert "This thread moved on since you opened it." in html
    assert f"The thread was at checkpoint {p.checkpoint_id}; it is now at" in html
    assert f"No longer waiting: {p.row.interrupt_id}." in html
    assert not Run.objects.exists()
    p.row.refresh_from_db()
    assert p.row.status == Status.MOVED_ON


def test_a_read_only_deployment_refuses_decisions(client, oscar, paused, deployment_a):
    p = paused("refund_approval", {"customer": "ACME", "amount": 5})
    deployment_a.read_only = True
    deployment_a.save()
    client.force_login(oscar)
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )
    assert r.status_code == 403
    assert not Decision.objects.exists()
