"""Beat keeps the index in step with every deployment.

- ``threads.poll_due`` every tick leases the deployments whose fast poll is due and hands each
  to ``threads.poll_deployment`` (``apps.threads.poller``): changes are in the index and the
  inbox within seconds.
- ``threads.sync_all`` now and then mirrors each deployment in full, one task per deployment, so
  one slow or broken deployment never holds up the others (each has its own lease in SyncState):
  the safety net for what polling cannot see, and for deployments enabled without a save
  (which then have no poll state for the tick to lease until this makes one).
"""

from __future__ import annotations

from celery import shared_task

from apps.threads import poller, services


@shared_task(name="threads.sync_all", ignore_result=True)
def sync_all_deployments() -> int:
    poller.ensure_poll_states()
    ids = services.enabled_deployment_ids()
    for pk in ids:
        sync_deployment.delay(pk)
    return len(ids)


@shared_task(name="threads.sync_deployment", ignore_result=True)
def sync_deployment(deployment_id: int) -> dict[str, object]:
    # Takes an id, re-reads the row, returns quietly if it is gone; the SyncState lease (a
    # conditional UPDATE) decides who syncs, so a duplicate delivery just skips.
    report = services.sync_deployment(deployment_id)
    return {
        "ok": report.ok,
        "skipped": report.skipped,
        "seen": report.seen,
        "written": report.written,
    }


@shared_task(name="threads.poll_due", ignore_result=True)
def poll_due() -> int:
    leased = poller.claim_due()
    for deployment_id, owner in leased:
        poll_deployment.delay(deployment_id, owner)
    return len(leased)


@shared_task(name="threads.poll_deployment", ignore_result=True)
def poll_deployment(deployment_id: int, owner: str) -> dict[str, object]:
    # A message delivered after its lease lapsed finds another owner on the row and skips.
    report = poller.poll_deployment(deployment_id, owner)
    if report.overflowed:
        sync_deployment.delay(deployment_id)
    return {
        "ok": report.ok,
        "skipped": report.skipped,
        "changed": report.changed,
        "interval": report.interval,
    }
