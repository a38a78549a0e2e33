"""The gate checks in one order on every path: role, writable deployment, the workflow's rules,
the stale-decision guard, the input. Each test stacks two refusals and shows which one speaks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.inbox.models import Interrupt
from apps.inbox.services import (
    InboxRefused,
    Outcome,
    StaleDecision,
    do_edit_state,
    do_mark_resolved,
)
from apps.workflow.hooks import ClaimedByOther
from apps.workflow.models import Claim
from switchboard import SyncClient
from tests.fixtures.gate import head_checkpoint
from tests.fixtures.inbox import REFUND, Paused


@pytest.fixture
def olga(team_a):
    user = User.objects.create_user("olga", "olga@example.org", "password")
    Membership.objects.create(user=user, team=team_a, role=Role.OPERATOR)
    return user


def _claim(row: Interrupt, user: User) -> None:
    now = timezone.now()
    Claim.objects.create(
        interrupt=row,
        team_id=row.team_id,
        claimed_by=user,
        claimed_at=now,
        expires_at=now + timedelta(minutes=30),
    )


def _resolve(user: User, p: Paused) -> Outcome:
    return do_mark_resolved(
        user=user,
        deployment=p.deployment,
        thread_id=p.thread_id,
        checkpoint_id=p.checkpoint_id,
        interrupt_ids=[p.row.interrupt_id],
    )


def _move_on(graph_client: SyncClient, p: Paused) -> None:
    """Someone changes the thread on the deployment behind the console's back."""
    graph_client.update_thread_state(p.thread_id, {"feedback": "changed elsewhere"})
    assert head_checkpoint(graph_client, p.thread_id) != p.checkpoint_id


@pytest.mark.django_db(transaction=True)
def test_the_role_speaks_before_a_read_only_deployment(bob, olga, paused, deployment_a):
    p = paused("refund_approval", REFUND)
    deployment_a.read_only = True
    deployment_a.save()
    _claim(p.row, olga)

    with pytest.raises(PermissionDenied, match="operator role"):
        _resolve(bob, p)


@pytest.mark.django_db(transaction=True)
def test_a_read_only_deployment_speaks_before_someone_elses_claim(
    oscar, olga, paused, deployment_a
):
    p = paused("refund_approval", REFUND)
    deployment_a.read_only = True
    deployment_a.save()
    _claim(p.row, olga)

    with pytest.raises(PermissionDenied, match="read-only"):
        _resolve(oscar, p)


@pytest.mark.django_db(transaction=True)
def test_someone_elses_claim_speaks_before_the_stale_guard(oscar, olga, paused, graph_client):
    p = paused("refund_approval", REFUND)
    _claim(p.row, olga)
    _move_on(graph_client, p)

    with pytest.raises(ClaimedByOther):
        _resolve(oscar, p)
    Claim.objects.all().delete()
    with pytest.raises(StaleDecision):
        _resolve(oscar, p)


@pytest.mark.django_db(transaction=True)
def test_the_stale_guard_speaks_before_the_input(oscar, paused, graph_client):
    p = paused("refund_approval", REFUND)
    _move_on(graph_client, p)
    edit = {
        "user": oscar,
        "deployment": p.deployment,
        "thread_id": p.thread_id,
        "checkpoint_id": p.checkpoint_id,
        "values": {"amount": float("nan")},
        "as_node": "review",
        "head_checkpoint_id": p.checkpoint_id,
        "interrupt_ids": [p.row.interrupt_id],
    }

    with pytest.raises(StaleDecision):
        do_edit_state(**edit)
    with pytest.raises(InboxRefused, match="Refused before sending"):
        do_edit_state(**{**edit, "head_checkpoint_id": "", "interrupt_ids": []})
