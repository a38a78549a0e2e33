"""The API key is encrypted at rest with a key from the environment, and rotatable."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from apps.audit.models import AuditEntry
from apps.deployments.crypto import decrypt, encrypt
from apps.deployments.models import Deployment

KEY = "sk-live-0123456789abcdef"


def _stored_row(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted, headers_encrypted FROM deployments_deployment WHERE id = %s",
            [pk],
        )
        return " ".join(cursor.fetchone())


def test_the_stored_key_column_does_not_contain_the_key(client, alice, team_a, settings):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False
    client.force_login(alice)
    client.post(
        "/deployments/new/",
        {
            "team": team_a.pk,
            "name": "Prod",
            "url": "http://10.0.0.3",
            "api_key": KEY,
            "headers": "Authorization: Bearer hdr-secret-42",
            "enabled": "on",
        },
    )
    deployment = Deployment.objects.get()

    stored = _stored_row(deployment.pk)

    assert KEY not in stored
    assert "hdr-secret-42" not in stored
    assert decrypt(deployment.api_key_encrypted) == KEY


def test_a_secret_cannot_be_read_without_the_environment_key(settings, team_a):
    deployment = Deployment.objects.create(
        team=team_a, name="P", url="http://10.0.0.3", api_key_encrypted=encrypt(KEY)
    )
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="was a key dropped"):
        decrypt(deployment.api_key_encrypted)


def test_rotate_deployment_keys_re_encrypts_with_the_first_key(settings, team_a):
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    deployment = Deployment.objects.create(
        team=team_a,
        name="P",
        url="http://10.0.0.3",
        api_key_encrypted=encrypt(KEY),
        headers_encrypted=encrypt(json.dumps({"X-A": "b"})),
    )
    untouched = Deployment.objects.create(team=team_a, name="No secrets", url="http://10.0.0.4")
    updated_at = deployment.updated_at
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_deployment_keys", stdout=None)

    # The old key can now be dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    deployment.refresh_from_db()
    assert decrypt(deployment.api_key_encrypted) == KEY
    assert json.loads(decrypt(deployment.headers_encrypted)) == {"X-A": "b"}
    # Same secrets: cached clients stay valid.
    assert deployment.updated_at == updated_at
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.deployment_id, entry.actor_label) == (
        "deployment.rotate_keys",
        deployment.pk,
        "rotate_deployment_keys",
    )
    assert untouched.pk != entry.deployment_id
