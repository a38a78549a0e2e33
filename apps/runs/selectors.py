"""Read access to runs, always scoped to the user's teams (another team's run is a 404)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.permissions import Action, AnyUser, teams_for
from apps.runs.models import ACTIVE_STATUSES, Run, RunEvent


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
