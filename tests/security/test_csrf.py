"""CSRF is enforced: a POST without the token is refused on every route (walks the URLconf)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures.cross_team import CrossTeam, Route, checked_routes

ROUTES = checked_routes()


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_a_post_without_a_csrf_token_is_refused(route: Route, cross_team: CrossTeam):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cross_team.a.admin)
    url = route.url(cross_team.a)

    response = client.post(url)

    assert response.status_code == 403, (
        f"POST {url} without a CSRF token got {response.status_code}"
    )
    assert b"CSRF" in response.content


def test_the_login_form_refuses_a_post_without_a_token(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "alice", "password": "password"})

    assert response.status_code == 403


def test_a_post_with_the_token_is_accepted(alice):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "password", "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
