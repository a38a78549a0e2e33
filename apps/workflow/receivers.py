"""How the team workflow reacts to the inbox and to its own rows; connected in
``WorkflowConfig.ready()``.

- Deciding an item settles its workflow, in the decision's own transaction: the claim is
  released, a waiting first approval is completed, and a waiting deadline is closed.
- An item appeared (the inbox's hook): its notifications are queued at once.
- A notification was created: its delivery is enqueued when the transaction commits.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.inbox.models import Decision
from apps.workflow.models import Approval, Claim, Deadline, Notification
from apps.workflow.tasks import deliver_notification, notify_new_items

log = logging.getLogger(__name__)


def decision_settles_item(
    sender: type[Decision], instance: Decision, created: bool, **kwargs: Any
) -> None:
    if not created or instance.voided:
        return
    now = timezone.now()
    Claim.objects.filter(interrupt_id=instance.interrupt_id).delete()
    Approval.objects.filter(
        interrupt_id=instance.interrupt_id, state=Approval.State.WAITING
    ).update(state=Approval.State.COMPLETED, completed_at=now)
    Deadline.objects.filter(
        interrupt_id=instance.interrupt_id, state=Deadline.State.WAITING
    ).update(
        state=Deadline.State.DONE,
        outcome=f"Decided by {instance.decided_by_label} before its timeout.",
        finished_at=now,
    )


def notification_created(
    sender: type[Notification], instance: Notification, created: bool, **kwargs: Any
) -> None:
    # In the creating transaction (a savepoint that a duplicate rolls back, with this).
    if created:
        deliver_notification.delay_on_commit(instance.pk)  # type: ignore[attr-defined]


def item_appeared(team_id: int) -> None:
    """Queue notifications for the team's new items now. Never raises for the broker's sake:
    the beat sweep announces them a little later anyway."""
    try:
        notify_new_items.delay([team_id])
    except OperationalError:
        log.warning(
            "could not enqueue notifications for team %s; the beat sweep will",
            team_id,
            exc_info=True,
        )
