"""Issue 14, row 3: a deployment URL whose host resolved to a public address when it was saved
and to 127.0.0.1 later is refused when the console connects, by every client the console builds
(the guard checks the address each connection actually goes to). An enabled/disabled toggle with
an unchanged URL is checked again too. DNS is the test's own (``fake_dns``): no /etc/hosts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from apps.audit.models import AuditEntry
from apps.deployments import clients
from apps.deployments.guard import sync_transport
from apps.deployments.models import Deployment
from apps.deployments.urlcheck import check_url
from switchboard import SwitchboardError
from tests.deployments.local_server import Answer, LocalServer, local_server
from tests.fixtures.dns import PUBLIC, FakeDNS

HOST = "agents.rebind.test"


@pytest.fixture
def production_policy(settings: Any) -> None:
    # Production mode: loopback is not a place for deployments (the test settings allow it).
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False


@pytest.fixture
def server() -> Any:
    with local_server(lambda request: Answer(200)) as running:
        yield running


def _port(server: LocalServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _saved_while_public(client: Any, alice: Any, team_a: Any, url: str) -> Deployment:
    client.force_login(alice)
    response = client.post(
        "/deployments/new/", {"team": team_a.pk, "name": "Rebinding", "url": url, "enabled": "on"}
    )
    assert response.status_code == 302, response.content.decode()
    return Deployment.objects.get(name="Rebinding")


def test_the_guard_refuses_a_host_that_rebinds_to_loopback_between_save_and_connect(
    production_policy, server
):
    dns = FakeDNS()
    dns.answer(HOST, [PUBLIC], ["127.0.0.1"])
    url = f"http://{HOST}:{_port(server)}"

    assert check_url(url, resolve=dns) == url  # when it was saved: a public address

    with (
        httpx.Client(transport=sync_transport(dns)) as client,
        pytest.raises(httpx.ConnectError, match=r"now resolves to 127\.0\.0\.1.*loopback"),
    ):
        client.get(f"{url}/ok")
    assert server.requests == []


def _sync(deployment: Deployment) -> Any:
    return clients.sync_client_for(deployment).health()


def _probe(deployment: Deployment) -> Any:
    with clients.probe_client_for(deployment, timeout=5.0) as client:
        return client.health()


def _async(deployment: Deployment) -> Any:
    async def health() -> Any:
        async with clients.async_client_for(deployment) as client:
            return await client.health()

    return asyncio.run(health())


@pytest.mark.parametrize("call", [_sync, _probe, _async], ids=["sync", "probe", "async"])
def test_every_client_the_console_builds_refuses_the_rebound_address(
    call: Callable[[Deployment], Any],
    production_policy,
    fake_dns,
    server,
    client,
    alice,
    team_a,
):
    fake_dns.answer(HOST, [PUBLIC])
    deployment = _saved_while_public(client, alice, team_a, f"http://{HOST}:{_port(server)}")
    fake_dns.answer(HOST, ["127.0.0.1"])

    with pytest.raises(SwitchboardError, match=r"127\.0\.0\.1.*loopback"):
        call(deployment)

    assert server.requests == []


def test_test_connection_refuses_a_host_that_rebinds_after_the_check(
    production_policy, fake_dns, server, client, alice, team_a
):
    fake_dns.answer(HOST, [PUBLIC])
    deployment = _saved_while_public(client, alice, team_a, f"http://{HOST}:{_port(server)}")
    # The probe checks the URL first (public still), then connects: by then it is loopback.
    fake_dns.answer(HOST, [PUBLIC], ["127.0.0.1"])

    response = client.post(f"/deployments/{deployment.pk}/test/")

    assert response.status_code == 200
    assert b"answers." not in response.content
    assert b"now resolves to 127.0.0.1" in response.content
    assert server.requests == []


def test_the_guard_connects_to_the_address_it_checked_keeping_the_host_name(
    fake_dns, server, client, alice, team_a
):
    # Loopback allowed (the embedded default): the connection goes where the resolver said,
    # and the request still names the host of the URL.
    fake_dns.answer(HOST, ["127.0.0.1"])
    deployment = _saved_while_public(client, alice, team_a, f"http://{HOST}:{_port(server)}")

    assert clients.sync_client_for(deployment).health() == {"ok": True}

    assert server.requests[0].headers["host"] == f"{HOST}:{_port(server)}"


def test_toggling_a_deployment_checks_its_unchanged_url_again(
    production_policy, fake_dns, server, client, alice, team_a
):
    fake_dns.answer(HOST, [PUBLIC])
    url = f"http://{HOST}:{_port(server)}"
    deployment = _saved_while_public(client, alice, team_a, url)
    audited = AuditEntry.objects.count()
    fake_dns.answer(HOST, ["127.0.0.1"])

    response = client.post(
        f"/deployments/{deployment.pk}/edit/", {"name": "Rebinding", "url": url}
    )  # "enabled" unticked: the toggle alone

    assert response.status_code == 400
    assert b"loopback" in response.content
    deployment.refresh_from_db()
    assert deployment.enabled
    assert AuditEntry.objects.count() == audited


def test_toggling_checks_an_unchanged_literal_url_under_todays_settings(
    settings, server, client, alice, team_a
):
    deployment = Deployment.objects.create(team=team_a, name="Local", url=server.url)
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False  # the console moved to production mode since
    client.force_login(alice)

    response = client.post(
        f"/deployments/{deployment.pk}/edit/", {"name": "Local", "url": server.url}
    )

    assert response.status_code == 400
    assert b"loopback" in response.content
    deployment.refresh_from_db()
    assert deployment.enabled


def test_the_client_checks_the_address_when_it_connects_not_when_the_url_was_saved(
    settings, server, team_a
):
    deployment = Deployment.objects.create(team=team_a, name="Local", url=server.url)
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False

    with pytest.raises(SwitchboardError, match="loopback"):
        clients.sync_client_for(deployment).health()

    assert server.requests == []
