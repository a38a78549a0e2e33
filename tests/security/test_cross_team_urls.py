"""Every URL that takes an object id answers 404 to a user of another team.

Walks the whole URLconf, so routes added later are covered automatically: a route whose kwarg has
no factory fails here and says how to register one (tests/fixtures/cross_team.py).
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures.cross_team import CrossTeam, Route, checked_routes

ROUTES_WITH_IDS = [route for route in checked_routes() if route.kwargs]


def test_the_walk_finds_the_routes_with_ids():
    # Guards the walk itself: if it found nothing, every test below would pass vacuously.
    names = {route.name for route in ROUTES_WITH_IDS}
    assert {"deployments:detail", "deployments:edit", "accounts:remove_member"} <= names


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda route: route.id)
def test_another_teams_object_is_a_404(route: Route, client: Client, cross_team: CrossTeam):
    url = route.url(cross_team.b)
    client.force_login(cross_team.a.admin)

    statuses = {}
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        statuses[method] = response.status_code
        # 405: the route does not take this method at all, which says nothing about the object.
        assert response.status_code in (404, 405), (
            f"alice {method.upper()} {url} answered {response.status_code}, not 404"
        )
        assert cross_team.b.team.name.encode() not in response.content
    assert 404 in statuses.values(), f"{url} answered {statuses}: no method reached the lookup"
