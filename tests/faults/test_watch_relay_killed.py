"""F1 for a watched run: the relay worker following a run the console did not start is killed
with SIGKILL mid-run; the reaper hands the run to a new worker, which rejoins the upstream
stream after the last event stored. The log ends with every upstream event once, in order, and
the upstream run is never touched."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.runs.events import GAP_EVENT
from apps.runs.models import FollowFrom, Run, Status
from tests.fixtures.takeover import kill_mid_run_and_take_over
from tests.fixtures.watching import (
    assert_contiguous,
    start_directly,
    stored_log,
    upstream_log,
    wait_for,
    watch,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_watching_relay_killed_mid_run_is_replaced_and_the_log_has_no_gap_or_duplicate(
    oscar, deployment_a, graph_client, start_relay_worker
):
    first = start_relay_worker()
    thread_id, upstream_id = start_directly(graph_client, chunks=200, rate=40)
    operator = Client()
    operator.force_login(oscar)
    run = watch(operator, deployment_a, thread_id)
    kill_mid_run_and_take_over(run, first, start_relay_worker)
    wait_for(lambda: not Run.objects.get(pk=run.pk).is_active, "the watched run to finish", 120)

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.claims == 2
    assert_contiguous(run)
    assert stored_log(run) == upstream_log(graph_client, thread_id, upstream_id)
    assert graph_client.get_run(thread_id, upstream_id)["status"] == "success"


def test_a_run_followed_from_now_says_in_its_log_where_events_were_missed_during_a_takeover(
    oscar, deployment_a, graph_client, start_relay_worker
):
    first = start_relay_worker()
    thread_id, _upstream_id = start_directly(graph_client, chunks=200, rate=40, resumable=False)
    operator = Client()
    operator.force_login(oscar)
    run = watch(operator, deployment_a, thread_id)
    assert run.follow_from == FollowFrom.NOW
    kill_mid_run_and_take_over(run, first, start_relay_worker)
    wait_for(lambda: not Run.objects.get(pk=run.pk).is_active, "the watched run to finish", 120)

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert_contiguous(run)
    events = list(run.events.order_by("seq").values_list("event", flat=True))
    # One marker, where the new relay joined: between the events of the first and the second.
    assert events.count(GAP_EVENT) == 1
    gap = events.index(GAP_EVENT)
    assert 0 < gap < len(events) - 1
    page = operator.get(f"/runs/{run.pk}/").content.decode()
    assert "not kept" in page
