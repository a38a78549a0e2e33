"""Every route that changes a deployment passes the gate: walks the whole URLconf.

Each route is either registered in tests/fixtures/gate.py with a recipe that makes its change,
or said not to change a deployment, with the reason; a new route that is neither fails here.
For each gated route, an approval rule, someone else's claim, a read-only deployment and the
viewer role each refuse the change, and nothing reaches the real graph server: the thread still
sits on the same checkpoint, no run was created on it, and the console started no run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Status
from apps.runs.models import Run
from apps.workflow.models import ApprovalRule, BulkItem, Claim
from switchboard import SyncClient
from tests.fixtures.cross_team import iter_routes
from tests.fixtures.gate import GATED, GateCase, classification, head_checkpoint

REFUSALS = ["approval_rule", "claim_by_someone_else", "read_only_deployment", "viewer"]


def test_every_route_is_either_gated_or_says_why_it_changes_no_deployment():
    unclassified = [
        route.id
        for route in iter_routes()
        # Unnamed routes inside a namespace (the admin's) are classified by "namespace:".
        if classification(route.name or f"{route.namespace or ''}:") is None
    ]
    assert not unclassified, (
        f"Routes {unclassified} are not classified. If a route changes a deployment, send it "
        "through apps.gate.gate and register a recipe with gated_route() in tests/fixtures/gate.py; "
        "if it does not, say why with not_a_deployment_write()."
    )


def test_every_gated_route_exists():
    names = {route.name for route in iter_routes()}
    assert set(GATED) <= names, set(GATED) - names


@pytest.fixture
def olga(team_a):
    user = User.objects.create_user("olga", "olga@example.org", "password")
    Membership.objects.create(user=user, team=team_a, role=Role.OPERATOR)
    return user


def _arrange(
    refusal: str, case: GateCase, team_a: Any, people: dict[str, User], olga: User, role: str
) -> User:
    """Set up ``refusal`` for the case; returns who tries the change."""
    oscar, bob = people["operator"], people["viewer"]
    deployment = case.paused.deployment
    if refusal == "approval_rule":
        ApprovalRule.objects.create(team=team_a, tool="", decision="", min_role=Role.ADMIN)
    elif refusal == "claim_by_someone_else":
        for row in case.paused.rows:
            Claim.objects.create(
                interrupt=row,
                team_id=row.team_id,
                claimed_by=olga,
                claimed_at=timezone.now(),
                expires_at=timezone.now() + timedelta(minutes=30),
            )
    elif refusal == "read_only_deployment":
        deployment.read_only = True
        deployment.save()
        return people[role]
    else:
        return bob
    return oscar


def _upstream(graph_client: SyncClient, thread_id: str) -> tuple[str, int]:
    return head_checkpoint(graph_client, thread_id), len(
        graph_client.list_runs(thread_id, limit=100)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refusal", REFUSALS)
@pytest.mark.parametrize("name", sorted(GATED))
def test_a_gated_route_is_refused_and_nothing_reaches_the_deployment(
    name, refusal, gate_case, graph_client, team_a, alice, oscar, bob, olga
):
    recipe = GATED[name]
    case = gate_case(recipe)
    thread_id = case.paused.thread_id
    before = _upstream(graph_client, thread_id)
    runs_before = set(Run.objects.values_list("pk", flat=True))
    touched = recipe.upstream(case) if recipe.upstream is not None else None
    people = {"admin": alice, "operator": oscar, "viewer": bob}
    actor = _arrange(refusal, case, team_a, people, olga, recipe.role)
    client = Client()
    client.force_login(actor)

    try:
        response = recipe.act(case, client, actor)
    except PermissionDenied:
        response = None  # a service refusing a viewer before the job exists

    if response is not None:
        assert response.status_code in (302, 400, 403, 409), response.status_code
        if response.status_code == 302:
            # Only the run page's cancel answers a refusal with a redirect and a message.
            assert name == "runs:cancel", (name, response["Location"])
    assert _upstream(graph_client, thread_id) == before
    if recipe.upstream is not None:
        assert recipe.upstream(case) == touched
    assert set(Run.objects.values_list("pk", flat=True)) == runs_before
    assert not Decision.objects.exists()
    assert not AuditEntry.objects.filter(action="gate.intent").exists()
    for row in case.paused.rows:
        row.refresh_from_db()
        assert row.status == Status.PENDING
    if case.run is not None:
        case.run.refresh_from_db()
        assert (case.run.status, case.run.cancel_requested) == ("queued", "")
    if name == "workflow:bulk" and response is None and refusal != "viewer":
        assert BulkItem.objects.get().outcome == BulkItem.Outcome.REFUSED
