"""Celery tasks for live runs. They take ids, and the lease (not Celery) decides who works."""

from __future__ import annotations

from celery import shared_task

from apps.runs import relay


# acks_late + reject_on_worker_lost: a message whose worker died is delivered again, and a
# second delivery while the first relay still runs (visibility timeout) only finds the lease
# taken. Both are safe because the relay claims with a conditional UPDATE.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def relay_run(run_id: int) -> str:
    return relay.relay(run_id)


@shared_task(ignore_result=True)
def reap_expired_leases() -> list[int]:
    return relay.reap(relay_run.delay)
