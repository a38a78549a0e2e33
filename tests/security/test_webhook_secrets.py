"""Issue 14, row 10: webhook URLs (a Slack URL is a bearer secret) are encrypted at rest like
deployment keys, existing rows included; what a failed delivery's target answered is never shown
to members, and admins see only its status and standard reason. Row 3 for webhooks: the sender
connects through the outbound guard, so a host that rebinds to loopback is refused then."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.audit.models import AuditEntry
from apps.workflow.models import Channel, Notification
from apps.workflow.notifications import deliver_notification, queue_notifications
from tests.deployments.local_server import Answer, local_server
from tests.fixtures.dns import PUBLIC

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"
INTERNAL_PAGE = b"<h1>Internal admin</h1> db password: hunter2"


def _raw_targets() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT target FROM workflow_channel ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_a_webhook_url_is_stored_encrypted_and_never_shown_whole(client, alice, team_a, fake_dns):
    fake_dns.answer("hooks.slack.example", [PUBLIC])
    url = f"https://hooks.slack.example{SECRET_PATH}"
    client.force_login(alice)

    client.post(
        "/workflow/settings/channels/",
        {"team": team_a.pk, "kind": "slack", "name": "Ops", "target": url},
    )
    page = client.get("/workflow/settings/")

    assert Channel.objects.get().target == url
    assert SECRET_PATH not in _raw_targets()[0]
    assert "slack.example" not in _raw_targets()[0]
    assert b"hooks.slack.example" in page.content
    assert SECRET_PATH.encode() not in page.content
    audited = AuditEntry.objects.get(action="workflow.channel_create").after
    assert SECRET_PATH not in json.dumps(audited)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_stored_webhook_urls_and_drops_stored_response_bodies(
    team_a, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    executor = MigrationExecutor(connection)
    executor.migrate([("workflow", "0001_initial")])
    try:
        old = executor.loader.project_state([("workflow", "0001_initial")]).apps
        channel = old.get_model("workflow", "Channel").objects.create(
            team_id=team_a.pk,
            kind="slack",
            name="Ops",
            target=f"https://hooks.slack.example{SECRET_PATH}",
        )
        old.get_model("workflow", "Notification").objects.create(
            interrupt_id=item.pk,
            team_id=team_a.pk,
            channel_id=channel.pk,
            status="failed",
            last_error=f"HTTP 403 from https://hooks.slack.example{SECRET_PATH}: {INTERNAL_PAGE!r}",
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert SECRET_PATH not in _raw_targets()[0]
    assert Channel.objects.get().target == f"https://hooks.slack.example{SECRET_PATH}"
    assert Notification.objects.get().last_error == "HTTP 403"


@pytest.fixture
def internal_page() -> Any:
    # A webhook target that is really an internal page: it answers 403 with text for insiders.
    with local_server(lambda request: Answer(403, body=INTERNAL_PAGE)) as running:
        yield running


def test_a_failed_webhook_shows_no_body_to_members_and_only_the_status_to_admins(
    client, alice, bob, team_a, deployment_a, item_factory, internal_page
):
    Channel.objects.create(team=team_a, kind="webhook", name="Hook", target=internal_page.url)
    item = item_factory(deployment_a)
    queue_notifications()

    assert deliver_notification(Notification.objects.get().pk) == "failed"

    assert [r.method for r in internal_page.requests] == ["POST"]
    notification = Notification.objects.get()
    assert notification.last_error == "HTTP 403 Forbidden"
    client.force_login(bob)
    as_member = client.get(f"/workflow/items/{item.pk}/").content
    client.force_login(alice)
    as_admin = client.get(f"/workflow/items/{item.pk}/").content
    assert b"hunter2" not in as_member + as_admin
    assert b"HTTP 403" not in as_member
    assert b"HTTP 403 Forbidden" in as_admin


def test_a_webhook_host_that_rebinds_to_loopback_is_refused_when_sending(
    settings, fake_dns, team_a, deployment_a, item_factory
):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False
    with local_server(lambda request: Answer(200)) as listener:
        port = listener.url.rsplit(":", 1)[1]
        # Public when saved and when the sender checks the URL, loopback when it connects.
        fake_dns.answer("hooks.rebind.test", [PUBLIC], ["127.0.0.1"])
        Channel.objects.create(
            team=team_a, kind="webhook", name="Hook", target=f"http://hooks.rebind.test:{port}/h"
        )
        item_factory(deployment_a)
        queue_notifications()

        outcome = deliver_notification(Notification.objects.get().pk)

    assert outcome == "failed"  # for good: a refused address is not retried
    assert "now resolves to 127.0.0.1" in Notification.objects.get().last_error
    assert listener.requests == []


def test_rotating_the_keys_re_encrypts_webhook_urls_so_the_old_key_can_go(settings, team_a):
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    url = f"https://hooks.slack.example{SECRET_PATH}"
    Channel.objects.create(team=team_a, kind="slack", name="Ops", target=url)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_deployment_keys", stdout=None)

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Channel.objects.get().target == url
    assert AuditEntry.objects.filter(action="secrets.rotate_keys").count() == 1
