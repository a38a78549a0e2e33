"""Notifications: ``queue_notifications`` (beat, and the inbox's "item appeared" hook) makes one
``Notification`` per item and channel (unique constraint), whose delivery ``receivers`` enqueues
on commit; ``deliver_notification`` claims it with a conditional UPDATE and sends it through
``notify``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.inbox.models import Interrupt, Status
from apps.workflow import notify
from apps.workflow.models import Channel, Notification

log = logging.getLogger(__name__)

NOTIFY_LEASE = timedelta(seconds=60)
# Items first seen longer ago than this are not announced (a new channel does not flood).
NOTIFY_HORIZON = timedelta(days=1)


def create_notification(**fields: Any) -> Notification | None:
    """One notification row, or None when it exists already (the constraint). Its delivery is
    enqueued on commit by ``receivers.notification_created``."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(**fields)
    except IntegrityError:
        return None
    return notification


def queue_notifications(team_ids: Sequence[int] | None = None) -> int:
    """Announce pending items that appeared since each enabled channel was made (and within
    the horizon), once per item and channel. Returns how many were queued."""
    now = timezone.now()
    channels = Channel.objects.filter(enabled=True)
    if team_ids is not None:
        channels = channels.filter(team_id__in=list(team_ids))
    queued = 0
    for channel in channels:
        since = max(channel.created_at, now - NOTIFY_HORIZON)
        already = Notification.objects.filter(
            interrupt=OuterRef("pk"), channel=channel, reason=Notification.Reason.APPEARED
        )
        items = (
            Interrupt.objects.filter(
                team_id=channel.team_id, status=Status.PENDING, first_seen_at__gte=since
            )
            .filter(~Exists(already))
            .values_list("pk", flat=True)
        )
        for item_id in items:
            created = create_notification(
                interrupt_id=item_id,
                team_id=channel.team_id,
                channel=channel,
                reason=Notification.Reason.APPEARED,
            )
            queued += created is not None
    return queued


def _item_view(item: Interrupt) -> notify.ItemView:
    return notify.ItemView(
        item_id=item.pk,
        team=item.team.name,
        deployment=item.deployment.name,
        deployment_id=item.deployment_id,
        graph=item.graph_id,
        thread_id=item.thread_id,
        kind=item.kind,
        actions=tuple(str(a.get("name", "")) for a in item.actions if isinstance(a, dict)),
        node=item.node,
        asked_at=timezone.localtime(item.asked_at).isoformat(),
    )


def _admin_emails(team_id: int) -> list[str]:
    return sorted(
        {
            email
            for email in Membership.objects.filter(team_id=team_id, role=Role.ADMIN).values_list(
                "user__email", flat=True
            )
            if email
        }
    )


def _send(notification: Notification) -> None:
    item = _item_view(notification.interrupt)
    reason = notification.reason
    channel = notification.channel
    if channel is None:
        subject, body = notify.email_message(item, reason)
        notify.send_email(_admin_emails(notification.team_id), subject, body)
    elif channel.kind == Channel.Kind.EMAIL:
        subject, body = notify.email_message(item, reason)
        notify.send_email(
            [a.strip() for a in channel.target.split(",") if a.strip()], subject, body
        )
    elif channel.kind == Channel.Kind.SLACK:
        notify.post_json(channel.target, notify.slack_body(item, reason), notification.pk)
    else:
        notify.post_json(
            channel.target, notify.webhook_body(item, reason, notification.pk), notification.pk
        )


def deliver_notification(notification_id: int, *, last_try: bool = False) -> str:
    """Send one notification. Claims it first (conditional UPDATE: queued, lease free), so a
    redelivered task never sends what another is sending or has sent. Raises
    ``TransientDeliveryError`` for the task to retry, unless ``last_try``, when it is marked
    failed instead."""
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + NOTIFY_LEASE)
    )
    if not claimed:
        return "taken"
    notification = Notification.objects.select_related(
        "channel", "interrupt", "interrupt__team", "interrupt__deployment"
    ).get(pk=notification_id)
    Notification.objects.filter(pk=notification_id).update(attempts=F("attempts") + 1)
    try:
        _send(notification)
    except notify.DeliveryError as error:
        final = error.permanent or last_try
        Notification.objects.filter(pk=notification_id).update(
            last_error=str(error)[:2000],
            claimed_until=None,
            status=Notification.Status.FAILED if final else Notification.Status.QUEUED,
        )
        if final:
            log.warning("notification %s failed for good: %s", notification_id, error)
            return "failed"
        raise
    Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return "sent"
