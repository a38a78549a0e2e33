"""sync_thread_interrupts: one record per (deployment, thread, checkpoint, interrupt id), in four
kinds, kept current as threads move on."""

from __future__ import annotations

import pytest

from apps.inbox.models import Interrupt, Kind, Status
from apps.inbox.records import sync_thread_interrupts
from tests.fixtures.inbox import REFUND, SUPPORT

pytestmark = pytest.mark.django_db


def test_it_records_a_legacy_request_with_its_allowed_responses(paused):
    p = paused("refund_approval", REFUND)
    row = p.row
    assert row.kind == Kind.LEGACY
    assert row.status == Status.PENDING
    assert row.node == "review"
    assert row.graph_id == "refund_approval"
    assert row.interrupt_id
    assert row.checkpoint_id
    [action] = row.actions
    assert action["name"] == "issue_refund"
    assert action["args"]["amount"] == 120.0
    assert action["allowed_decisions"] == ["accept", "edit", "response", "ignore"]


def test_it_records_a_middleware_request_with_two_actions_in_order(paused):
    p = paused("support_agent", SUPPORT)
    row = p.row
    assert row.kind == Kind.MIDDLEWARE
    assert [a["name"] for a in row.actions] == ["issue_refund", "send_email"]
    assert row.actions[0]["allowed_decisions"] == ["approve", "edit", "reject", "respond"]
    assert row.action_names == " issue_refund send_email "


def test_it_records_two_parallel_generic_interrupts(paused):
    p = paused("parallel_review", {})
    assert [r.kind for r in p.rows] == [Kind.GENERIC, Kind.GENERIC]
    assert {r.raw_value["branch"] for r in p.rows} == {"legal", "finance"}
    assert len({r.interrupt_id for r in p.rows}) == 2
    assert len({r.checkpoint_id for r in p.rows}) == 1


def test_it_records_a_breakpoint_with_the_next_nodes(paused):
    p = paused("refund_approval", REFUND, interrupt_before=["review"])
    row = p.row
    assert row.kind == Kind.BREAKPOINT
    assert row.interrupt_id == ""
    assert row.next_nodes == ["review"]


def test_syncing_twice_keeps_one_record(paused, deployment_a):
    p = paused("refund_approval", REFUND)
    sync_thread_interrupts(deployment_a, p.thread_id)
    assert Interrupt.objects.filter(thread_id=p.thread_id).count() == 1


def test_it_marks_records_moved_on_when_the_thread_was_answered_elsewhere(
    paused, deployment_a, graph_client
):
    p = paused("refund_approval", REFUND)
    graph_client.wait_run(
        p.thread_id,
        assistant_id="refund_approval",
        command={"resume": [{"type": "ignore", "args": None}]},
    )
    result = sync_thread_interrupts(deployment_a, p.thread_id)
    assert result.closed == 1
    p.row.refresh_from_db()
    assert p.row.status == Status.MOVED_ON
    assert p.row.closed_at is not None


def test_a_decision_whose_resume_failed_is_voided_so_the_interrupt_can_be_decided_again(
    client, oscar, paused, deployment_a
):
    from apps.inbox.models import Decision
    from apps.runs.models import Run

    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    answer = {
        "checkpoint_id": p.checkpoint_id,
        "interrupt_id": [p.row.interrupt_id],
        f"i{p.row.pk}-a0-type": "accept",
    }
    assert client.post(p.url, answer).status_code == 302
    # The resume never reached the graph (say the deployment refused it): the run failed.
    Run.objects.update(status="failed", error="409: thread busy")
    result = sync_thread_interrupts(deployment_a, p.thread_id)
    assert result.reopened == 1
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING
    voided = Decision.objects.get()
    assert voided.voided
    assert "failed" in voided.voided_reason
    assert client.post(p.url, answer).status_code == 302
    assert Run.objects.count() == 2
    assert Decision.objects.filter(voided=False).count() == 1
