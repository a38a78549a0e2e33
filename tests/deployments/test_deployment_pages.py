"""The deployment list and detail pages (reading)."""

from __future__ import annotations

import pytest

from apps.deployments.crypto import encrypt
from apps.deployments.models import Deployment


@pytest.fixture
def prod(team_a):
    return Deployment.objects.create(
        team=team_a, name="Prod", url="http://10.0.0.7", api_key_encrypted=encrypt("k3y-v4lue")
    )


@pytest.fixture
def other(team_b):
    return Deployment.objects.create(team=team_b, name="Theirs", url="http://10.0.0.8")


def test_the_list_shows_only_my_teams_deployments(client, bob, prod, other):
    client.force_login(bob)
    response = client.get("/deployments/")
    assert response.status_code == 200
    assert b"Prod" in response.content
    assert b"Theirs" not in response.content
    # A viewer is offered no way to add or edit.
    assert b"/deployments/new/" not in response.content
    assert b"/edit/" not in response.content


def test_an_admin_is_offered_add_and_edit(client, alice, prod):
    client.force_login(alice)
    response = client.get("/deployments/")
    assert b"/deployments/new/" in response.content
    assert f"/deployments/{prod.pk}/edit/".encode() in response.content


def test_the_detail_page_says_a_key_is_set_and_never_shows_it(client, alice, prod):
    client.force_login(alice)
    response = client.get(f"/deployments/{prod.pk}/")
    assert response.status_code == 200
    assert b"k3y-v4lue" not in response.content
    assert prod.api_key_encrypted.encode() not in response.content
    assert b"Test connection" in response.content


def test_a_viewer_sees_the_detail_without_admin_actions(client, bob, prod):
    client.force_login(bob)
    response = client.get(f"/deployments/{prod.pk}/")
    assert response.status_code == 200
    assert b"Test connection" not in response.content


def test_another_teams_deployment_is_a_404(client, alice, other):
    client.force_login(alice)
    assert client.get(f"/deployments/{other.pk}/").status_code == 404


def test_graph_output_like_names_are_escaped(client, alice, team_a):
    evil = Deployment.objects.create(
        team=team_a, name="<script>x()</script>", url="http://10.0.0.9"
    )
    client.force_login(alice)
    response = client.get(f"/deployments/{evil.pk}/")
    assert b"<script>x()</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_anonymous_users_are_sent_to_log_in(client, prod):
    response = client.get(f"/deployments/{prod.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
