"""Celery tasks of the team workflow. They take ids; a conditional UPDATE (a lease or a state
change) decides who works, so a redelivered or concurrent task finds the work taken."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from apps.workflow import bulk, notifications, timeouts
from apps.workflow.notify import TransientDeliveryError


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_bulk_job(job_id: int) -> str:
    return bulk.process_bulk_job(job_id)


@shared_task(ignore_result=True)
def notify_new_items(team_ids: list[int] | None = None) -> int:
    return notifications.queue_notifications(team_ids)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(TransientDeliveryError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def deliver_notification(self: Task[Any, Any], notification_id: int) -> str:
    # On the last try a transient failure is final: the row says "failed" with the error.
    last_try = self.request.retries >= (self.max_retries or 0)
    return notifications.deliver_notification(notification_id, last_try=last_try)


@shared_task(ignore_result=True)
def apply_timeouts() -> list[int]:
    return timeouts.apply_due_timeouts()
