"""Retention: the event logs of runs that ended long ago are pruned, by beat and by a command,
and each run's summary (its row: status, counts, timings, error) stays as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.deployments.models import Deployment
from apps.runs.models import Run, RunEvent
from tests.faults.private_redis import wait_for
from tests.fixtures.runs import create_run
from tests.fixtures.workers import Process

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = ["status", "last_seq", "error", "created_at", "started_at", "finished_at", "kind"]


def _run(deployment: Deployment, days_ago: float, status: str, error: str = "") -> Run:
    """A run that started ``days_ago`` days ago and, unless it is still active, ended then."""
    at = timezone.now() - timedelta(days=days_ago)
    active = status in {"queued", "streaming"}
    run = create_run(
        deployment,
        [("custom", {"n": n}) for n in range(1, 4)],
        status=status,
        error=error,
        started_at=at,
        finished_at=None if active else at + timedelta(minutes=2),
    )
    Run.objects.filter(pk=run.pk).update(created_at=at - timedelta(seconds=1))
    run.refresh_from_db()
    return run


@pytest.fixture
def runs(deployment_a: Deployment) -> dict[str, Run]:
    return {
        "old success": _run(deployment_a, 40, "succeeded"),
        "old failure": _run(deployment_a, 31, "failed", error="boom: the graph raised"),
        "recent": _run(deployment_a, 2, "succeeded"),
        # Started 41 days ago and still streaming: a relay may be writing its log.
        "old but streaming": _run(deployment_a, 41, "streaming"),
    }


def _summaries(runs: dict[str, Run]) -> dict[str, dict[str, Any]]:
    return {
        name: Run.objects.filter(pk=run.pk).values(*SUMMARY).get() for name, run in runs.items()
    }


def _events_left(runs: dict[str, Run]) -> dict[str, int]:
    return {name: RunEvent.objects.filter(run=run).count() for name, run in runs.items()}


def test_the_command_prunes_logs_of_runs_that_ended_before_the_cutoff_and_keeps_the_runs(runs):
    before = _summaries(runs)
    out = StringIO()

    call_command("prune_run_events", "--days", "30", stdout=out)

    assert _events_left(runs) == {
        "old success": 0,
        "old failure": 0,
        "recent": 3,
        "old but streaming": 3,
    }
    assert _summaries(runs) == before
    assert "Deleted 6 run events" in out.getvalue()


def test_the_command_uses_the_retention_setting_and_refuses_to_run_without_one(runs, settings):
    settings.RUNS_EVENT_RETENTION_DAYS = 35
    call_command("prune_run_events", stdout=StringIO())
    assert _events_left(runs)["old success"] == 0
    assert _events_left(runs)["old failure"] == 3

    settings.RUNS_EVENT_RETENTION_DAYS = 0
    with pytest.raises(CommandError, match="--days"):
        call_command("prune_run_events", stdout=StringIO())


def test_beat_prunes_expired_logs_on_its_schedule(
    runs,
    start_beat: Callable[..., Process],
    start_default_worker: Callable[..., Process],
):
    before = _summaries(runs)
    env = {"RUNS_EVENT_RETENTION_DAYS": "30", "RUNS_EVENT_PRUNE_INTERVAL": "1"}
    start_default_worker(env=env)
    start_beat(env=env)

    assert wait_for(lambda: _events_left(runs)["old failure"] == 0, 60), _events_left(runs)
    assert _events_left(runs) == {
        "old success": 0,
        "old failure": 0,
        "recent": 3,
        "old but streaming": 3,
    }
    assert _summaries(runs) == before
