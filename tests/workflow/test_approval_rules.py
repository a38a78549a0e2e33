"""Approval rules: which role may decide which action or tool, and risky actions that need two
distinct approvers before the resume is sent. Exercised through the inbox's decision page and
its ``do_decide`` (which calls ``apps.workflow.hooks.before_decision``)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision
from apps.runs.models import Run
from apps.workflow.hooks import check_rules
from apps.workflow.models import Approval, ApprovalRule
from tests.fixtures.inbox import REFUND


def _accept(client: Any, p: Any) -> Any:
    return client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )


def test_an_admin_adds_a_risky_rule(client, alice, team_a, deployment_a):
    client.force_login(alice)

    r = client.post(
        "/workflow/settings/rules/",
        {
            "team": team_a.pk,
            "deployment": deployment_a.pk,
            "tool": "issue_refund",
            "decision": "",
            "min_role": "operator",
            "risky": "on",
        },
    )

    assert r.status_code == 302
    rule = ApprovalRule.objects.get()
    assert (rule.tool, rule.risky, rule.deployment) == ("issue_refund", True, deployment_a)
    assert AuditEntry.objects.filter(action="workflow.approval_rule").count() == 1


def test_rules_match_by_tool_and_decision_and_the_strongest_role_wins(
    oscar, alice, team_a, deployment_a
):
    ApprovalRule.objects.create(
        team=team_a, tool="issue_refund", decision="approve", min_role="admin"
    )
    ApprovalRule.objects.create(team=team_a, tool="send_email", risky=True)

    assert check_rules(alice, deployment_a, [("issue_refund", "approve")]) == []
    assert check_rules(
        oscar, deployment_a, [("issue_refund", "reject"), ("send_email", "approve")]
    ) == [("send_email", "approve")]
    with pytest.raises(Exception, match="reserve approve on issue_refund to the admin role"):
        check_rules(oscar, deployment_a, [("issue_refund", "approve")])


@pytest.mark.django_db(transaction=True)
def test_a_risky_action_waits_for_its_second_approver_and_refuses_the_same_operator_twice(
    client, oscar, alice, team_a, paused
):
    ApprovalRule.objects.create(team=team_a, tool="issue_refund", risky=True)
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)

    first = _accept(client, p)

    assert first.status_code == 400
    assert "is recorded" in first.content.decode()
    assert "second operator" in first.content.decode()
    assert not Run.objects.exists()
    assert not Decision.objects.exists()
    approval = Approval.objects.get()
    assert (approval.approved_by, approval.state) == (oscar, "waiting")
    assert AuditEntry.objects.filter(action="workflow.first_approval", actor=oscar).count() == 1

    again = _accept(client, p)

    assert again.status_code == 400
    assert "You gave the first approval" in again.content.decode()
    assert not Run.objects.exists()
    assert Approval.objects.count() == 1

    client.force_login(alice)
    second = _accept(client, p)

    run = Run.objects.get()
    assert second.status_code == 302
    assert second["Location"] == f"/runs/{run.pk}/"
    assert Decision.objects.get().decided_by == alice
    approval.refresh_from_db()
    assert approval.state == "completed"


@pytest.mark.django_db(transaction=True)
def test_a_rule_reserves_a_decision_to_admins(client, oscar, alice, team_a, paused):
    ApprovalRule.objects.create(
        team=team_a, tool="issue_refund", decision="accept", min_role="admin"
    )
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)

    refused = _accept(client, p)
    client.force_login(alice)
    allowed = _accept(client, p)

    assert refused.status_code == 403
    assert allowed.status_code == 302
    assert Decision.objects.get().decided_by == alice


@pytest.mark.django_db(transaction=True)
def test_a_bulk_approve_of_a_risky_item_waits_for_a_second_approver(oscar, alice, team_a, paused):
    from apps.workflow.bulk import process_bulk_job
    from apps.workflow.models import BulkItem
    from apps.workflow.services import do_start_bulk

    ApprovalRule.objects.create(team=team_a, tool="issue_refund", risky=True)
    p = paused("refund_approval", REFUND)

    job = do_start_bulk(user=oscar, action="approve", items=[p.row])
    process_bulk_job(job.pk)
    second = do_start_bulk(user=alice, action="approve", items=[p.row])
    process_bulk_job(second.pk)

    assert BulkItem.objects.get(job=job).outcome == "waiting"
    assert BulkItem.objects.get(job=second).outcome == "done"
    assert Decision.objects.get().decided_by == alice
