"""A team admin edits a deployment: secrets are write-only, every change is audited once."""

from __future__ import annotations

import json

import pytest

from apps.audit.models import AuditEntry
from apps.deployments.crypto import decrypt, encrypt
from apps.deployments.models import Deployment


@pytest.fixture
def prod(team_a):
    return Deployment.objects.create(
        team=team_a,
        name="Prod",
        url="http://10.0.0.7:8123",
        api_key_encrypted=encrypt("the-real-key"),
        headers_encrypted=encrypt(json.dumps({"X-Tenant": "secret-tenant"})),
    )


def _form(**overrides: str) -> dict[str, str]:
    data = {"name": "Prod", "url": "http://10.0.0.7:8123", "enabled": "on"}
    data.update(overrides)
    return data


def test_the_form_says_a_key_is_set_but_never_shows_it(client, alice, prod):
    client.force_login(alice)
    response = client.get(f"/deployments/{prod.pk}/edit/")
    assert response.status_code == 200
    assert b"A key is set" in response.content
    assert b"X-Tenant" in response.content
    assert b"the-real-key" not in response.content
    assert b"secret-tenant" not in response.content
    assert prod.api_key_encrypted.encode() not in response.content


def test_leaving_the_key_empty_keeps_it(client, alice, prod):
    client.force_login(alice)

    response = client.post(f"/deployments/{prod.pk}/edit/", _form(read_only="on"))

    assert response.status_code == 302
    prod.refresh_from_db()
    assert prod.read_only
    assert decrypt(prod.api_key_encrypted) == "the-real-key"
    assert json.loads(decrypt(prod.headers_encrypted)) == {"X-Tenant": "secret-tenant"}
    entry = AuditEntry.objects.get()
    assert entry.action == "deployment.update"
    assert ((entry.before or {})["read_only"], (entry.after or {})["read_only"]) == (False, True)


def test_a_new_key_replaces_the_old_and_the_audit_says_so_without_it(client, alice, prod):
    client.force_login(alice)

    client.post(f"/deployments/{prod.pk}/edit/", _form(api_key="new-key"))

    prod.refresh_from_db()
    assert decrypt(prod.api_key_encrypted) == "new-key"
    entry = AuditEntry.objects.get()
    assert (entry.after or {})["secrets_changed"] == ["api_key"]
    assert "new-key" not in json.dumps([entry.before, entry.after])


def test_it_clears_the_key_and_headers(client, alice, prod):
    client.force_login(alice)
    client.post(f"/deployments/{prod.pk}/edit/", _form(clear_api_key="on", clear_headers="on"))
    prod.refresh_from_db()
    assert prod.api_key_encrypted == prod.headers_encrypted == ""
    assert (AuditEntry.objects.get().after or {})["api_key"] == "not set"


def test_saving_without_changes_writes_nothing(client, alice, prod):
    client.force_login(alice)
    response = client.post(f"/deployments/{prod.pk}/edit/", _form(api_key="the-real-key"))
    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_unsafe_url_and_keeps_the_stored_one(client, alice, prod):
    client.force_login(alice)
    response = client.post(
        f"/deployments/{prod.pk}/edit/", _form(url="http://169.254.169.254/", name="Renamed")
    )
    assert response.status_code == 400
    assert b"cloud metadata address" in response.content
    assert b'value="Renamed"' in response.content
    prod.refresh_from_db()
    assert (prod.url, prod.name) == ("http://10.0.0.7:8123", "Prod")


def test_a_viewer_gets_a_403_naming_the_admin_role(client, bob, prod):
    client.force_login(bob)
    for method in ("get", "post"):
        response = getattr(client, method)(f"/deployments/{prod.pk}/edit/")
        assert response.status_code == 403
        assert b"admin role" in response.content


def test_another_teams_deployment_is_a_404(client, charlie, prod):
    client.force_login(charlie)
    assert client.post(f"/deployments/{prod.pk}/edit/", _form(name="Mine")).status_code == 404
    prod.refresh_from_db()
    assert prod.name == "Prod"
