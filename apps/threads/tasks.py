"""Beat keeps the index in step with every deployment: one task per deployment, so one slow or
broken deployment never holds up the others (each has its own lease in SyncState)."""

from __future__ import annotations

from celery import shared_task

from apps.threads import services


@shared_task(name="threads.sync_all", ignore_result=True)
def sync_all_deployments() -> int:
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
