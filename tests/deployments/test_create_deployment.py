"""A team admin adds a deployment: validated URL, encrypted secrets, one audit entry."""

from __future__ import annotations

import json

import pytest

from apps.accounts.models import Team
from apps.audit.models import AuditEntry
from apps.deployments.crypto import decrypt
from apps.deployments.models import Deployment


@pytest.fixture(autouse=True)
def _no_loopback(settings):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False


def _form(team: Team, **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "team": team.pk,
        "name": "Prod agents",
        "url": "http://10.20.30.40:8123/",
        "api_key": "lsv2-secret-key",
        "headers": "X-Tenant: acme\nAuthorization: Bearer t0ken",
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_it_shows_the_form_to_an_admin(client, alice):
    client.force_login(alice)
    response = client.get("/deployments/new/")
    assert response.status_code == 200
    assert b'name="api_key"' in response.content


def test_it_creates_a_deployment_with_encrypted_secrets(client, alice, team_a):
    client.force_login(alice)

    response = client.post("/deployments/new/", _form(team_a))

    deployment = Deployment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/deployments/{deployment.pk}/"
    assert deployment.team == team_a
    assert deployment.url == "http://10.20.30.40:8123"
    assert deployment.enabled
    assert not deployment.read_only
    assert decrypt(deployment.api_key_encrypted) == "lsv2-secret-key"
    assert json.loads(decrypt(deployment.headers_encrypted)) == {
        "X-Tenant": "acme",
        "Authorization": "Bearer t0ken",
    }


def test_it_writes_one_audit_entry_without_secrets(client, alice, team_a):
    client.force_login(alice)
    client.post("/deployments/new/", _form(team_a))

    entry = AuditEntry.objects.get()
    assert entry.action == "deployment.create"
    assert entry.deployment_id == Deployment.objects.get().pk
    assert (entry.after or {})["api_key"] == "set"
    assert (entry.after or {})["headers"] == ["Authorization", "X-Tenant"]
    assert "lsv2-secret-key" not in json.dumps(entry.after)
    assert "t0ken" not in json.dumps(entry.after)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", b"Only http:// and https://"),
        ("http://169.254.169.254/", b"cloud metadata address"),
        ("http://169.254.10.1/", b"link-local"),
        ("http://127.0.0.1:2024", b"loopback"),
        ("http://metadata.google.internal/", b"metadata"),
    ],
)
def test_it_refuses_unsafe_urls_and_keeps_what_was_typed(client, alice, team_a, url, words):
    client.force_login(alice)

    response = client.post("/deployments/new/", _form(team_a, url=url))

    assert response.status_code == 400
    assert words in response.content
    assert b'value="Prod agents"' in response.content
    assert not Deployment.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_never_sends_the_typed_key_back(client, alice, team_a):
    client.force_login(alice)
    response = client.post("/deployments/new/", _form(team_a, url="file:///x"))
    assert b"lsv2-secret-key" not in response.content
    assert b"t0ken" not in response.content
    assert b"enter them again" in response.content


def test_it_loopback_is_allowed_where_settings_allow_it(client, alice, team_a, settings):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = True
    client.force_login(alice)
    response = client.post("/deployments/new/", _form(team_a, url="http://127.0.0.1:2024"))
    assert response.status_code == 302


def test_it_refuses_bad_headers(client, alice, team_a):
    client.force_login(alice)
    response = client.post("/deployments/new/", _form(team_a, headers="Host: evil.example"))
    assert response.status_code == 400
    assert b"set by the HTTP client" in response.content
    response = client.post("/deployments/new/", _form(team_a, headers="no colon here"))
    assert b"Line 1" in response.content


def test_it_refuses_a_duplicate_name_in_the_team(client, alice, team_a):
    Deployment.objects.create(team=team_a, name="Prod agents", url="http://10.0.0.1")
    client.force_login(alice)
    response = client.post("/deployments/new/", _form(team_a))
    assert response.status_code == 400
    assert b"already has a deployment named" in response.content


def test_it_refuses_another_teams_id_in_the_form(client, alice, team_b):
    client.force_login(alice)
    response = client.post("/deployments/new/", _form(team_b))
    assert response.status_code == 400
    assert not Deployment.objects.exists()


def test_an_operator_gets_a_403_naming_the_admin_role(client, oscar, team_a):
    client.force_login(oscar)
    response = client.post("/deployments/new/", _form(team_a))
    assert response.status_code == 403
    assert b"admin role" in response.content
    assert not Deployment.objects.exists()
