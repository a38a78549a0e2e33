"""The "test connection" action: through the SDK client factory, with what is wrong in words."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from apps.accounts.models import Team
from apps.audit.models import AuditEntry
from apps.deployments.crypto import encrypt
from apps.deployments.models import Deployment
from dashboard.embedded import free_port
from tests.deployments.local_server import Answer, local_server


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    # These deployments live on 127.0.0.1: real servers the test starts.
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = True


def _deployment(team: Team, url: str, **fields: Any) -> Deployment:
    return Deployment.objects.create(team=team, name="Under test", url=url, **fields)


def test_it_says_a_working_deployment_answers(client, alice, deployment_a):
    client.force_login(alice)

    response = client.post(f"/deployments/{deployment_a.pk}/test/")

    assert response.status_code == 200
    assert f"{deployment_a.url} answers.".encode() in response.content
    assert not AuditEntry.objects.exists()  # testing is not a write


def test_with_htmx_it_answers_the_probe_partial(client, alice, deployment_a):
    client.force_login(alice)
    response = client.post(f"/deployments/{deployment_a.pk}/test/", headers={"HX-Request": "true"})
    assert response.content.lstrip().startswith(b'<div id="probe"')


def test_it_sends_the_key_and_headers(client, alice, team_a):
    with local_server(lambda request: Answer(200)) as server:
        deployment = _deployment(
            team_a,
            server.url,
            api_key_encrypted=encrypt("k-123"),
            headers_encrypted=encrypt('{"X-Tenant": "acme"}'),
        )
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert b"answers." in response.content
    assert server.requests[0].path == "/ok"
    assert server.requests[0].headers["x-api-key"] == "k-123"
    assert server.requests[0].headers["x-tenant"] == "acme"
    assert b"k-123" not in response.content


def test_a_redirect_is_a_failure_and_is_not_followed(client, alice, team_a):
    target = "http://169.254.169.254/latest/meta-data/"
    with local_server(lambda request: Answer(302, {"Location": target}, b"")) as server:
        deployment = _deployment(team_a, server.url)
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert b"failed" in response.content
    assert b"answers." not in response.content
    # Only the probe itself reached the server, and nothing went anywhere else.
    assert [r.path for r in server.requests] == ["/ok"]


def test_a_redirect_to_the_metadata_address_is_named_and_refused(client, alice, team_a):
    target = "http://169.254.169.254/latest/meta-data/"
    with local_server(lambda request: Answer(302, {"Location": target}, b"")) as server:
        deployment = _deployment(team_a, server.url)
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert f"redirects to {target}".encode() in response.content
    assert b"refuses to follow" in response.content


def test_a_refused_key_is_explained(client, alice, team_a):
    with local_server(lambda request: Answer(401, body=b'{"detail": "Invalid API key"}')) as server:
        deployment = _deployment(team_a, server.url, api_key_encrypted=encrypt("wrong"))
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert b"refused the API key" in response.content


def test_a_server_error_is_explained(client, alice, team_a):
    with local_server(lambda request: Answer(500, body=b"Internal Server Error")) as server:
        deployment = _deployment(team_a, server.url)
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert response.status_code == 200
    assert b"server error" in response.content


def test_a_deployment_that_is_down_is_explained(client, alice, team_a):
    deployment = _deployment(team_a, f"http://127.0.0.1:{free_port()}")
    client.force_login(alice)

    response = client.post(f"/deployments/{deployment.pk}/test/")

    assert response.status_code == 200
    assert b"Could not connect" in response.content


def test_a_deployment_that_hangs_is_explained(client, alice, team_a, settings):
    settings.DEPLOYMENT_TIMEOUT = 1
    with socket.socket() as listener:
        # Accepts connections (the kernel's backlog) and never answers.
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        deployment = _deployment(team_a, f"http://127.0.0.1:{listener.getsockname()[1]}")
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert response.status_code == 200
    assert b"did not answer within 1 s" in response.content


def test_a_stored_url_that_is_no_longer_allowed_is_not_called(client, alice, team_a, settings):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False
    with local_server(lambda request: Answer(200)) as server:
        deployment = _deployment(team_a, server.url)
        client.force_login(alice)
        response = client.post(f"/deployments/{deployment.pk}/test/")

    assert b"not allowed any more" in response.content
    assert server.requests == []


def test_a_viewer_gets_a_403(client, bob, deployment_a):
    client.force_login(bob)
    response = client.post(f"/deployments/{deployment_a.pk}/test/")
    assert response.status_code == 403
    assert b"admin role" in response.content
