"""Retention of run event logs: the events of runs that ended long ago are deleted, the runs stay.

A run's event log is what its page replays; after ``RUNS_EVENT_RETENTION_DAYS`` (0 keeps logs
forever) the log of a run that has ended is pruned, by beat every ``RUNS_EVENT_PRUNE_INTERVAL``
seconds and by ``manage.py prune_run_events``. The ``Run`` row, the run's summary, is never
touched: its status, kind, thread, counts (``last_seq`` events were stored), timings and error
stay. A run still queued or streaming keeps its log whatever its age: a relay may be writing it.

Deletes go in batches of ``BATCH`` rows, each its own statement, so pruning a large backlog never
holds one long transaction against the relays' appends.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.runs.models import FINAL_STATUSES, RunEvent

log = logging.getLogger(__name__)

BATCH = 5_000


def prune_event_logs(older_than: timedelta, batch: int = BATCH) -> int:
    """Delete the events of runs that ended more than ``older_than`` ago; return how many."""
    cutoff = timezone.now() - older_than
    ended_before_cutoff = Q(run__finished_at__lt=cutoff) | Q(
        run__finished_at__isnull=True, run__created_at__lt=cutoff
    )
    expired = RunEvent.objects.filter(ended_before_cutoff, run__status__in=FINAL_STATUSES)
    deleted = 0
    while True:
        pks = list(expired.order_by("pk").values_list("pk", flat=True)[:batch])
        if not pks:
            return deleted
        count, _ = RunEvent.objects.filter(pk__in=pks).delete()
        deleted += count


@shared_task(name="runs.prune_event_logs", ignore_result=True)
def prune_expired_event_logs() -> int:
    """Beat's entry point: prune what ``RUNS_EVENT_RETENTION_DAYS`` says has expired."""
    days = settings.RUNS_EVENT_RETENTION_DAYS
    if not days:
        return 0
    deleted = prune_event_logs(timedelta(days=days))
    if deleted:
        log.info("pruned %s run events older than %s days", deleted, days)
    return deleted
