"""Notifications when an item appears: email, plain JSON webhooks and Slack-compatible webhooks,
per team, each with a deep link; sent by Celery with retries; one per item and channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from apps.audit.models import AuditEntry
from apps.workflow.models import Channel, Notification
from apps.workflow.notifications import deliver_notification, queue_notifications
from apps.workflow.tasks import deliver_notification as deliver_task


def _channel(team: Any, kind: str, target: str) -> Channel:
    return Channel.objects.create(team=team, kind=kind, name=kind, target=target)


def _wait(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_retried_after_a_failure_and_sent_once(
    team_a, deployment_a, item_factory, webhook_server, default_worker
):
    webhook_server.fail_first = 1
    channel = _channel(team_a, Channel.Kind.WEBHOOK, webhook_server.url)
    item = item_factory(deployment_a)

    assert queue_notifications() == 1
    _wait(lambda: Notification.objects.get().status != Notification.Status.QUEUED)

    notification = Notification.objects.get()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert [r["answered"] for r in webhook_server.requests] == [500, 200]
    ids = {r["headers"]["X-Switchboard-Delivery"] for r in webhook_server.requests}
    assert ids == {str(notification.pk)}  # the same delivery, tried twice: receivers can dedupe
    body = webhook_server.accepted[0]["json"]
    assert body["event"] == "inbox.item_waiting"
    assert body["item"]["id"] == item.pk
    assert (
        body["url"]
        == f"http://127.0.0.1:8000/inbox/{deployment_a.pk}/{item.thread_id}/#interrupt-{item.pk}"
    )
    assert notification.channel == channel

    # The next sweeps find it notified: nothing more is sent.
    assert queue_notifications() == 0
    time.sleep(1.5)
    assert len(webhook_server.requests) == 2
    assert Notification.objects.count() == 1


def test_one_notification_per_item_and_channel(team_a, deployment_a, item_factory, webhook_server):
    _channel(team_a, Channel.Kind.WEBHOOK, webhook_server.url)
    _channel(team_a, Channel.Kind.EMAIL, "ops@example.org")
    item = item_factory(deployment_a)

    counts = [queue_notifications(), queue_notifications([team_a.pk])]

    assert counts == [2, 0]
    assert Notification.objects.filter(interrupt=item).count() == 2


def test_a_slack_channel_gets_text_blocks_and_a_deep_link(
    team_a, deployment_a, item_factory, webhook_server
):
    _channel(team_a, Channel.Kind.SLACK, webhook_server.url)
    item = item_factory(deployment_a, graph_id="<refund>")
    queue_notifications()

    assert deliver_notification(Notification.objects.get().pk) == "sent"

    body = webhook_server.requests[0]["json"]
    link = f"http://127.0.0.1:8000/inbox/{deployment_a.pk}/{item.thread_id}/#interrupt-{item.pk}"
    assert set(body) == {"text", "blocks"}
    assert link in body["text"]
    assert (
        body["blocks"][0]["text"]["text"]
        == "*Waiting for a decision: issue_refund on A demo (&lt;refund&gt;).*"
    )
    assert body["blocks"][-1]["elements"][0]["url"] == link


def test_an_email_channel_sends_one_email_with_the_link(team_a, deployment_a, item_factory):
    _channel(team_a, Channel.Kind.EMAIL, "ops@example.org, lead@example.org")
    item = item_factory(deployment_a)
    queue_notifications()

    deliver_notification(Notification.objects.get().pk)
    deliver_notification(Notification.objects.get().pk)  # delivered again by Celery: nothing sent

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.org", "lead@example.org"]
    assert f"/inbox/{deployment_a.pk}/{item.thread_id}/#interrupt-{item.pk}" in mail.outbox[0].body


def test_a_permanent_failure_is_not_retried(team_a, deployment_a, item_factory, webhook_server):
    webhook_server.status_after = 404
    _channel(team_a, Channel.Kind.WEBHOOK, webhook_server.url)
    item_factory(deployment_a)
    queue_notifications()

    outcome = deliver_task.apply(args=(Notification.objects.get().pk,))

    notification = Notification.objects.get()
    assert outcome.result == "failed"
    assert notification.status == Notification.Status.FAILED
    assert "HTTP 404" in notification.last_error
    assert len(webhook_server.requests) == 1


def test_items_seen_before_the_channel_existed_are_not_announced(
    team_a, deployment_a, item_factory
):
    from datetime import timedelta

    from django.utils import timezone

    old = item_factory(deployment_a)
    type(old).objects.filter(pk=old.pk).update(first_seen_at=timezone.now() - timedelta(hours=1))
    _channel(team_a, Channel.Kind.EMAIL, "ops@example.org")

    assert queue_notifications() == 0


def test_other_teams_items_are_not_announced_on_a_teams_channel(team_a, deployment_b, item_factory):
    _channel(team_a, Channel.Kind.EMAIL, "ops@example.org")
    item_factory(deployment_b)

    assert queue_notifications() == 0


def test_an_admin_adds_a_channel_and_unsafe_urls_are_refused(client, alice, team_a):
    client.force_login(alice)

    bad = client.post(
        "/workflow/settings/channels/",
        {
            "team": team_a.pk,
            "kind": "webhook",
            "name": "x",
            "target": "http://169.254.169.254/latest",
        },
    )
    good = client.post(
        "/workflow/settings/channels/",
        {"team": team_a.pk, "kind": "slack", "name": "ops", "target": "http://127.0.0.1:9/hook"},
    )

    assert bad.status_code == 400
    assert "metadata" in bad.content.decode()
    assert good.status_code == 302
    assert Channel.objects.get().kind == "slack"
    assert AuditEntry.objects.filter(action="workflow.channel_create", actor=alice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_inbox_hook_announces_a_new_item_without_waiting_for_beat(
    team_a, deployment_a, item_factory, webhook_server, default_worker
):
    from apps.inbox.hooks import item_appeared

    _channel(team_a, Channel.Kind.WEBHOOK, webhook_server.url)
    item = item_factory(deployment_a)

    item_appeared(team_a.pk)  # what the inbox's sync calls on commit when it opened items
    # The worker marks the row sent just after the server has accepted the delivery.
    _wait(lambda: Notification.objects.filter(status=Notification.Status.SENT).exists())

    assert len(webhook_server.accepted) == 1
    assert webhook_server.accepted[0]["json"]["item"]["id"] == item.pk
