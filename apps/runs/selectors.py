"""Read access to runs, always scoped to the user's teams (another team's run is a 404)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.permissions import Action, AnyUser, teams_for
from apps.runs.models import ACTIVE_STATUSES, Run, RunEvent
from apps.threads.models import ThreadIndex


def runs_for(user: AnyUser, action: Action = "view") -> QuerySet[Run]:
    return Run.objects.filter(team__in=teams_for(user, action))


def get_run_for(user: AnyUser, pk: int) -> Run:
    try:
        return runs_for(user).select_related("deployment", "team", "started_by").get(pk=pk)
    except Run.DoesNotExist:
        raise Http404("No such run.") from None


def events_after(run_id: int, after: int, limit: int) -> list[RunEvent]:
    """Up to ``limit`` stored events of a run with ``seq > after``, in order."""
    return list(RunEvent.objects.filter(run_id=run_id, seq__gt=after).order_by("seq")[:limit])


def live_thread_keys(deployment_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(deployment id, thread id) of every thread with a console run queued or streaming."""
    rows = (
        Run.objects.filter(deployment_id__in=list(deployment_ids), status__in=ACTIVE_STATUSES)
        .values_list("deployment_id", "thread_id")
        .distinct()
    )
    return {(deployment_id, thread_id) for deployment_id, thread_id in rows}


def runs_of_thread(user: AnyUser, deployment_id: int, thread_id: str) -> QuerySet[Run]:
    """The console's runs on one thread, newest first (for the thread page)."""
    return runs_for(user).filter(deployment_id=deployment_id, thread_id=thread_id)


def upstream_runs_of_thread(user: AnyUser, deployment_id: int, thread_id: str) -> dict[str, int]:
    """Upstream run id -> console run pk, for the thread page to link each run to its live
    page (the newest 200)."""
    return {
        run.upstream_run_id: run.pk
        for run in runs_of_thread(user, deployment_id, thread_id).only("pk", "upstream_run_id")[
            :200
        ]
        if run.upstream_run_id
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def graph_names(runs: Sequence[Run]) -> dict[int, str]:
    """Run pk -> the graph name to show. A run started by graph name shows it; a resume or a
    decision started by assistant id shows its thread's graph from the index (one query), or the
    assistant id when the thread is not indexed yet."""
    by_id = {run.pk: run.assistant_id for run in runs}
    unnamed = [run for run in runs if _is_uuid(run.assistant_id)]
    if unnamed:
        rows = ThreadIndex.objects.filter(
            deployment_id__in={run.deployment_id for run in unnamed},
            thread_id__in={run.thread_id for run in unnamed},
        ).exclude(graph_id="")
        graphs = {
            (r.deployment_id, r.thread_id): r.graph_id
            for r in rows.only("deployment_id", "thread_id", "graph_id")
        }
        for run in unnamed:
            by_id[run.pk] = graphs.get((run.deployment_id, run.thread_id), run.assistant_id)
    return by_id
