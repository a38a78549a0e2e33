"""Deciding an item settles its workflow, in the decision's own transaction: the claim is
released, a waiting first approval is completed, and a waiting deadline is closed."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from apps.inbox.models import Decision
from apps.workflow.models import Approval, Claim, Deadline


@receiver(post_save, sender=Decision, dispatch_uid="workflow-decision-settles-item")
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
