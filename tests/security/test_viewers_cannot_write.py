"""A viewer cannot change anything: every POST route answers bob (viewer in team A) with 403 (or
405 where the route takes no POST), and leaves no audit entry. Walks the whole URLconf."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from tests.fixtures.cross_team import CrossTeam, Route, checked_routes, viewer_may_post

ROUTES = [route for route in checked_routes() if not viewer_may_post(route.name)]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_a_viewer_cannot_post(route: Route, client: Client, cross_team: CrossTeam, bob):
    url = route.url(cross_team.a)
    client.force_login(bob)
    entries = AuditEntry.objects.count()

    response = client.post(url)

    assert response.status_code in (403, 405), (
        f"bob (viewer) POST {url} answered {response.status_code}, not 403"
    )
    assert AuditEntry.objects.count() == entries


def test_the_refusal_names_the_role_needed(client: Client, cross_team: CrossTeam, bob):
    client.force_login(bob)

    response = client.post(f"/deployments/{cross_team.a.deployment.pk}/edit/")

    assert response.status_code == 403
    assert b"admin role" in response.content
