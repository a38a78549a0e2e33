"""The rules hold on every path, not only on the decision form: the walk-arounds of issue 13,
tried against the real graph server, are refused and leave the thread where it was."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role
from apps.inbox.models import Decision, Status
from apps.runs.models import Run
from apps.workflow.models import ApprovalRule
from tests.fixtures.gate import head_checkpoint
from tests.fixtures.inbox import REFUND

DRAFT = {"customer": "ACME", "amount": 120.0, "currency": "USD", "reason": "arrived broken"}


@pytest.fixture
def olga(team_a):
    user = User.objects.create_user("olga", "olga@example.org", "password")
    Membership.objects.create(user=user, team=team_a, role=Role.OPERATOR)
    return user


@pytest.mark.django_db(transaction=True)
def test_edit_state_then_continue_cannot_accept_what_a_rule_reserves_to_admins(
    client, oscar, team_a, paused, graph_client
):
    ApprovalRule.objects.create(
        team=team_a, tool="issue_refund", decision="accept", min_role="admin"
    )
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)

    r = client.post(
        f"{p.url}state/",
        {
            "checkpoint_id": p.checkpoint_id,
            "head_checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            "values": json.dumps({"refund": DRAFT}),
            "as_node": "review",
            "then_continue": "on",
            "step": "confirm",
        },
    )

    assert r.status_code == 403
    assert "reserve" in r.content.decode()
    assert head_checkpoint(graph_client, p.thread_id) == p.checkpoint_id
    assert len(graph_client.list_runs(p.thread_id)) == 1  # the run that paused it
    assert not Run.objects.exists()
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_edit_state_at_an_older_checkpoint_meets_the_rules_of_what_waits(
    client, oscar, team_a, paused, graph_client
):
    ApprovalRule.objects.create(
        team=team_a, tool="issue_refund", decision="accept", min_role="admin"
    )
    p = paused("refund_approval", REFUND)
    history = graph_client.get_state_history(p.thread_id, limit=100)
    older = history[-1]["checkpoint"]["checkpoint_id"]
    client.force_login(oscar)

    r = client.post(
        f"{p.url}state/",
        {
            "checkpoint_id": older,
            "values": json.dumps({"refund": DRAFT}),
            "as_node": "review",
            "then_continue": "on",
            "step": "confirm",
        },
    )

    assert r.status_code == 403
    assert head_checkpoint(graph_client, p.thread_id) == p.checkpoint_id
    assert len(graph_client.get_state_history(p.thread_id, limit=100)) == len(history)
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_admin_may_still_edit_state_and_continue(client, alice, team_a, paused, graph_client):
    ApprovalRule.objects.create(
        team=team_a, tool="issue_refund", decision="accept", min_role="admin"
    )
    p = paused("refund_approval", REFUND)
    client.force_login(alice)

    r = client.post(
        f"{p.url}state/",
        {
            "checkpoint_id": p.checkpoint_id,
            "head_checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            "values": json.dumps({"refund": DRAFT}),
            "as_node": "review",
            "then_continue": "",
            "step": "confirm",
        },
    )

    assert r.status_code == 302
    assert head_checkpoint(graph_client, p.thread_id) != p.checkpoint_id
    assert Decision.objects.get().decided_by == alice


@pytest.mark.django_db(transaction=True)
def test_mark_resolved_cannot_pass_over_someone_elses_claim(
    client, oscar, olga, paused, graph_client
):
    p = paused("refund_approval", REFUND)
    client.force_login(olga)
    client.post(f"/workflow/items/{p.row.pk}/claim/", {"minutes": "30"})
    client.force_login(oscar)

    r = client.post(
        f"{p.url}resolve/", {"checkpoint_id": p.checkpoint_id, "interrupt_id": [p.row.interrupt_id]}
    )

    assert r.status_code == 400
    assert "olga has claimed this item until" in r.content.decode()
    assert head_checkpoint(graph_client, p.thread_id) == p.checkpoint_id
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING
    assert not Decision.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_started_on_a_waiting_thread_meets_the_claim_on_it(
    client, oscar, olga, paused, graph_client, deployment_a
):
    p = paused("refund_approval", REFUND)
    client.force_login(olga)
    client.post(f"/workflow/items/{p.row.pk}/claim/", {"minutes": "30"})
    client.force_login(oscar)

    r = client.post(
        "/runs/new/",
        {
            "deployment": deployment_a.pk,
            "assistant_id": "refund_approval",
            "thread_id": p.thread_id,
            "input": json.dumps(REFUND),
            "stream_mode": ["values"],
            "multitask_strategy": "reject",
        },
    )

    assert r.status_code == 400
    assert "olga has claimed this item until" in r.content.decode()
    assert not Run.objects.exists()
    assert len(graph_client.list_runs(p.thread_id)) == 1
