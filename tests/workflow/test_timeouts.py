"""Timeouts: an item left undecided gets its deployment's (or graph's) default action, carried
out by beat with a conditional UPDATE claim and audited as done by the system."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Kind, Status
from apps.runs.models import Run
from apps.workflow.models import Claim, Deadline, Notification, TimeoutRule
from apps.workflow.notifications import deliver_notification
from apps.workflow.tasks import apply_timeouts
from apps.workflow.timeouts import apply_due_timeouts, schedule_deadlines
from tests.fixtures.inbox import SUPPORT


def _rule(deployment: Any, action: str, minutes: int = 30, graph_id: str = "") -> TimeoutRule:
    return TimeoutRule.objects.create(
        team_id=deployment.team_id,
        deployment=deployment,
        graph_id=graph_id,
        after_seconds=minutes * 60,
        action=action,
    )


def test_an_admin_sets_a_timeout_and_it_is_audited(client, alice, deployment_a):
    client.force_login(alice)

    r = client.post(
        "/workflow/settings/timeouts/",
        {
            "deployment": deployment_a.pk,
            "graph_id": "refund_approval",
            "after_minutes": "45",
            "action": "escalate",
        },
    )

    assert r.status_code == 302
    rule = TimeoutRule.objects.get()
    assert (rule.graph_id, rule.after_seconds, rule.action) == ("refund_approval", 2700, "escalate")
    assert AuditEntry.objects.filter(action="workflow.timeout_rule", actor=alice).count() == 1


def test_an_escalating_timeout_tells_the_admins_and_is_audited_as_the_system(
    alice, deployment_a, item_factory
):
    _rule(deployment_a, "escalate", minutes=30)
    item = item_factory(deployment_a, asked_at=timezone.now() - timedelta(minutes=31))
    fresh = item_factory(deployment_a, asked_at=timezone.now() - timedelta(minutes=5))

    applied = apply_timeouts.apply().result

    deadline = Deadline.objects.get(interrupt=item)
    assert applied == [deadline.pk]
    assert (deadline.state, deadline.applied) == ("done", "escalate")
    assert Deadline.objects.get(interrupt=fresh).state == "waiting"
    entry = AuditEntry.objects.get(action="workflow.timeout")
    assert entry.actor is None
    assert entry.actor_label == "system"
    assert (entry.after or {})["action"] == "escalate"
    assert (entry.before or {})["item"] == item.pk
    assert "No decision within 30 min" in entry.reason
    notification = Notification.objects.get(interrupt=item, reason="escalated", channel=None)
    deliver_notification(notification.pk)
    assert mail.outbox[0].to == [alice.email]
    assert mail.outbox[0].subject.startswith("[Switchboard] Escalated:")


def test_two_beats_never_both_act_on_a_deadline(deployment_a, item_factory):
    _rule(deployment_a, "escalate", minutes=1)
    item = item_factory(deployment_a, asked_at=timezone.now() - timedelta(minutes=2))
    schedule_deadlines()
    # Another beat has just claimed it (its lease is live):
    Deadline.objects.filter(interrupt=item).update(
        state="working", owner="other-beat", lease_expires_at=timezone.now() + timedelta(minutes=2)
    )

    assert apply_due_timeouts() == []
    assert not AuditEntry.objects.filter(action="workflow.timeout").exists()

    # That beat died: its lease runs out and the next beat takes over, once.
    Deadline.objects.filter(interrupt=item).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert len(apply_due_timeouts()) == 1
    assert apply_due_timeouts() == []
    assert AuditEntry.objects.filter(action="workflow.timeout").count() == 1


def test_a_graph_timeout_wins_over_the_deployments(deployment_a, item_factory):
    _rule(deployment_a, "escalate", minutes=60)
    _rule(deployment_a, "reject", minutes=5, graph_id="support_agent")
    refund = item_factory(deployment_a, graph_id="refund_approval")
    support = item_factory(deployment_a, Kind.MIDDLEWARE, graph_id="support_agent")

    schedule_deadlines()

    assert Deadline.objects.get(interrupt=refund).action == "escalate"
    assert Deadline.objects.get(interrupt=support).action == "reject"
    assert Deadline.objects.get(interrupt=support).due_at == support.asked_at + timedelta(minutes=5)


def test_a_live_claim_postpones_the_timeout(oscar, deployment_a, item_factory):
    _rule(deployment_a, "escalate", minutes=1)
    item = item_factory(deployment_a, asked_at=timezone.now() - timedelta(minutes=2))
    until = timezone.now() + timedelta(minutes=30)
    Claim.objects.create(
        interrupt=item,
        team_id=item.team_id,
        claimed_by=oscar,
        claimed_at=timezone.now(),
        expires_at=until,
    )

    assert apply_due_timeouts() == []

    deadline = Deadline.objects.get(interrupt=item)
    assert (deadline.state, deadline.due_at) == ("waiting", until)


def test_a_decision_before_the_timeout_settles_it(oscar, deployment_a, item_factory):
    import uuid

    _rule(deployment_a, "escalate", minutes=30)
    item = item_factory(deployment_a)
    schedule_deadlines()

    Decision.objects.create(
        interrupt=item, team_id=item.team_id, deployment_id=item.deployment_id, action="answer",
        decided_by=oscar, decided_by_label="oscar", batch=uuid.uuid4(),
    )  # fmt: skip

    deadline = Deadline.objects.get(interrupt=item)
    assert deadline.state == "done"
    assert deadline.outcome == "Decided by oscar before its timeout."


def test_a_default_that_does_not_fit_the_item_escalates_instead(deployment_a, item_factory):
    _rule(deployment_a, "ignore", minutes=1)
    item = item_factory(
        deployment_a, Kind.MIDDLEWARE, asked_at=timezone.now() - timedelta(minutes=2)
    )

    apply_due_timeouts()

    deadline = Deadline.objects.get(interrupt=item)
    assert deadline.applied == "escalate"
    assert "Tool-call reviews have no ignore" in deadline.outcome
    assert AuditEntry.objects.get(action="workflow.timeout").actor_label == "system"


@pytest.mark.django_db(transaction=True)
def test_a_reject_timeout_rejects_through_the_inbox_as_the_system(deployment_a, paused):
    p = paused("support_agent", SUPPORT)
    _rule(deployment_a, "reject", minutes=30)
    type(p.row).objects.filter(pk=p.row.pk).update(asked_at=timezone.now() - timedelta(minutes=31))

    applied = apply_due_timeouts()

    assert len(applied) == 1
    p.row.refresh_from_db()
    assert p.row.status == Status.DECIDED
    decision = Decision.objects.get(interrupt=p.row)
    assert decision.decided_by is None
    assert decision.decided_by_label == "system"
    run = Run.objects.get(thread_id=p.thread_id)
    assert [d["type"] for d in (run.command or {})["resume"]["decisions"]] == ["reject", "reject"]
    entry = AuditEntry.objects.get(action="inbox.answer")
    assert entry.actor is None
    assert entry.actor_label == "system"
    assert "No decision within 30 min" in entry.reason
    assert Deadline.objects.get(interrupt=p.row).applied == "reject"
