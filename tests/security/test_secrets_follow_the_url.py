"""Issue 14, row 5: a deployment's stored API key and headers stay bound to the URL they were
given for. Changing the URL with the key field empty is refused unless the admin enters the
secrets again, removes them, or confirms they go to the new host (which the audit records); so
"change the URL, leave the key empty, press Test connection" no longer hands the key to a host
the admin controls. Two local listeners record what reaches them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role
from apps.audit.models import AuditEntry
from apps.deployments import clients
from apps.deployments.crypto import decrypt, encrypt
from apps.deployments.models import Deployment
from apps.deployments.services import register_demo_deployment
from tests.deployments.local_server import Answer, local_server

KEY = "the-write-only-key"


@pytest.fixture
def home() -> Any:
    # Where the deployment really is.
    with local_server(lambda request: Answer(200)) as running:
        yield running


@pytest.fixture
def elsewhere() -> Any:
    # A host the team admin controls and would like the key sent to.
    with local_server(lambda request: Answer(200)) as running:
        yield running


@pytest.fixture
def prod(team_a: Any, home: Any) -> Deployment:
    return Deployment.objects.create(
        team=team_a,
        name="Prod",
        url=home.url,
        api_key_encrypted=encrypt(KEY),
        headers_encrypted=encrypt(json.dumps({"Authorization": "Bearer tenant-secret"})),
    )


def _edit(client: Any, deployment: Deployment, **fields: str) -> Any:
    data = {"name": deployment.name, "enabled": "on", **fields}
    return client.post(f"/deployments/{deployment.pk}/edit/", data)


def _secrets_seen(server: Any) -> list[tuple[str | None, str | None]]:
    return [(r.headers.get("x-api-key"), r.headers.get("authorization")) for r in server.requests]


def test_a_new_url_with_an_empty_key_field_does_not_take_the_stored_key_there(
    client, alice, prod, elsewhere
):
    client.force_login(alice)

    edited = _edit(client, prod, url=elsewhere.url)
    client.post(f"/deployments/{prod.pk}/test/")

    assert edited.status_code == 400
    assert b"stay with that URL" in edited.content
    assert b'name="move_secrets"' in edited.content  # the way to confirm is offered
    prod.refresh_from_db()
    assert prod.url != elsewhere.url
    assert elsewhere.requests == []


def test_confirming_sends_the_stored_secrets_to_the_new_host_and_the_audit_says_so(
    client, alice, prod, elsewhere
):
    client.force_login(alice)

    edited = _edit(client, prod, url=elsewhere.url, move_secrets="on")
    client.post(f"/deployments/{prod.pk}/test/")

    assert edited.status_code == 302
    entry = AuditEntry.objects.get(action="deployment.update")
    assert (entry.after or {})["url"] == elsewhere.url
    assert (entry.after or {})["secrets_moved_to_new_url"] == ["api_key", "headers"]
    assert KEY not in json.dumps([entry.before, entry.after])
    assert _secrets_seen(elsewhere) == [(KEY, "Bearer tenant-secret")]


def test_entering_the_secrets_again_sends_only_the_new_ones(client, alice, prod, elsewhere):
    client.force_login(alice)

    edited = _edit(
        client, prod, url=elsewhere.url, api_key="key-for-elsewhere", headers="X-Tenant: there"
    )
    client.post(f"/deployments/{prod.pk}/test/")

    assert edited.status_code == 302
    prod.refresh_from_db()
    assert decrypt(prod.api_key_encrypted) == "key-for-elsewhere"
    assert _secrets_seen(elsewhere) == [("key-for-elsewhere", None)]
    assert "secrets_moved_to_new_url" not in (AuditEntry.objects.get().after or {})


def test_a_new_key_alone_does_not_take_the_stored_headers_along(client, alice, prod, elsewhere):
    client.force_login(alice)

    edited = _edit(client, prod, url=elsewhere.url, api_key="key-for-elsewhere")

    assert edited.status_code == 400
    assert b"extra headers" in edited.content
    prod.refresh_from_db()
    assert decrypt(prod.api_key_encrypted) == KEY


def test_removing_the_secrets_lets_the_url_change(client, alice, prod, elsewhere):
    client.force_login(alice)

    edited = _edit(client, prod, url=elsewhere.url, clear_api_key="on", clear_headers="on")
    client.post(f"/deployments/{prod.pk}/test/")

    assert edited.status_code == 302
    assert _secrets_seen(elsewhere) == [(None, None)]


def test_a_url_changed_by_another_path_reaches_the_new_host_without_the_secrets(
    db, home, elsewhere
):
    # The launcher re-points the demo deployment at another port (a system write, no form).
    demo, _ = register_demo_deployment(home.url)
    Deployment.objects.filter(pk=demo.pk).update(api_key_encrypted=encrypt(KEY))
    demo, _ = register_demo_deployment(elsewhere.url)

    clients.sync_client_for(demo).health()

    assert _secrets_seen(elsewhere) == [(None, None)]


def test_saving_a_re_pointed_deployment_asks_before_binding_its_secrets_to_the_new_url(
    db, client, home, elsewhere
):
    demo, _ = register_demo_deployment(home.url)
    Deployment.objects.filter(pk=demo.pk).update(api_key_encrypted=encrypt(KEY))
    demo, _ = register_demo_deployment(elsewhere.url)
    admin = User.objects.create_user("dana", "dana@example.org", "password")
    Membership.objects.create(user=admin, team=demo.team, role=Role.ADMIN)
    client.force_login(admin)
    detail = client.get(f"/deployments/{demo.pk}/")

    refused = _edit(client, demo, url=elsewhere.url)
    confirmed = _edit(client, demo, url=elsewhere.url, move_secrets="on")
    clients.sync_client_for(Deployment.objects.get(pk=demo.pk)).health()

    assert f"Given for {home.url}: not sent to this URL".encode() in detail.content
    assert refused.status_code == 400
    assert f"stored for {home.url}".encode() in refused.content
    assert confirmed.status_code == 302
    assert _secrets_seen(elsewhere) == [(KEY, None)]


def test_test_connection_says_when_the_stored_key_was_held_back(db, client, home):
    with local_server(lambda request: Answer(401, body=b'{"detail": "no key"}')) as moved_to:
        demo, _ = register_demo_deployment(home.url)
        Deployment.objects.filter(pk=demo.pk).update(api_key_encrypted=encrypt(KEY))
        demo, _ = register_demo_deployment(moved_to.url)
        admin = User.objects.create_user("dana", "dana@example.org", "password")
        Membership.objects.create(user=admin, team=demo.team, role=Role.ADMIN)
        client.force_login(admin)

        response = client.post(f"/deployments/{demo.pk}/test/")

    assert f"were given for {home.url} and were not sent".encode() in response.content
    assert _secrets_seen(moved_to) == [(None, None)]
