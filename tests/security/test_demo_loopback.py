"""Issue 14, row 4: in production mode the demo deployment has no exemption from the loopback
rule: its admin cannot point it at a local port, and nothing calls it on loopback. The embedded
default (DEBUG, no SECRET_KEY: ``ALLOW_LOOPBACK_DEPLOYMENTS`` on) still reaches it there."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role
from apps.deployments import clients
from apps.deployments.models import Deployment
from apps.deployments.services import register_demo_deployment
from switchboard import SwitchboardError
from tests.deployments.local_server import Answer, LocalServer, local_server


@pytest.fixture
def demo_server() -> Any:
    # Stands in for the embedded graph server on 127.0.0.1, recording what reaches it.
    with local_server(lambda request: Answer(200)) as running:
        yield running


@pytest.fixture
def demo(db: None, demo_server: LocalServer) -> Deployment:
    deployment, _ = register_demo_deployment(demo_server.url)
    return deployment


@pytest.fixture
def demo_admin(demo: Deployment) -> User:
    user = User.objects.create_user("dana", "dana@example.org", "password")
    Membership.objects.create(user=user, team=demo.team, role=Role.ADMIN)
    return user


@pytest.fixture
def production_mode(settings: Any) -> None:
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False  # its default when SECRET_KEY is set


def test_in_production_the_demo_cannot_be_pointed_at_a_local_port(
    production_mode, demo, demo_admin, client
):
    client.force_login(demo_admin)

    response = client.post(
        f"/deployments/{demo.pk}/edit/",
        {"name": demo.name, "url": "http://127.0.0.1:6379", "enabled": "on"},
    )

    assert response.status_code == 400
    assert b"loopback" in response.content
    demo.refresh_from_db()
    assert demo.url != "http://127.0.0.1:6379"


def test_in_production_test_connection_does_not_call_the_demo_on_loopback(
    production_mode, demo, demo_admin, demo_server, client
):
    client.force_login(demo_admin)

    response = client.post(f"/deployments/{demo.pk}/test/")

    assert b"answers." not in response.content
    assert b"loopback" in response.content
    assert demo_server.requests == []


def test_in_production_the_console_does_not_read_the_demo_on_loopback(
    production_mode, demo, demo_server
):
    with (
        clients.probe_client_for(demo, timeout=5.0) as client,
        pytest.raises(SwitchboardError, match="loopback"),
    ):
        client.health()
    with pytest.raises(SwitchboardError, match="loopback"):
        clients.sync_client_for(demo).health()

    assert demo_server.requests == []


def test_the_embedded_default_still_reaches_the_demo_on_loopback(
    settings, demo, demo_admin, demo_server, client
):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = True
    client.force_login(demo_admin)

    response = client.post(f"/deployments/{demo.pk}/test/")

    assert f"{demo.url} answers.".encode() in response.content
    assert [request.path for request in demo_server.requests] == ["/ok"]
