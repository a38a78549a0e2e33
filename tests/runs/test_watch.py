"""Watch live: a run the console did not start, started on the real graph server with the SDK,
is shown busy, followed by a relay worker that joins its stream, and logged once and in order."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from apps.runs.models import FollowFrom, Origin, Run, Status
from tests.fixtures.watching import (
    assert_contiguous,
    busy,
    start_directly,
    stored_log,
    upstream_ended,
    upstream_log,
    wait_for,
    watch,
)
from tests.fixtures.workers import PageReader, start_chatty

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ended(run: Run) -> bool:
    run.refresh_from_db()
    return not run.is_active


def test_a_run_started_on_the_deployment_is_shown_busy_watched_live_and_logged_once_in_order(
    oscar, deployment_a, graph_client, relay_worker
):
    thread_id, upstream_id = start_directly(graph_client, chunks=120, rate=30)
    operator = client_for(oscar)
    operator.post(f"/threads/sync/{deployment_a.pk}/")

    listing = operator.get(f"/threads/?deployment={deployment_a.pk}").content.decode()
    row = listing[listing.index(thread_id) :].split("</tr>")[0]
    assert "badge busy live" in row
    page = operator.get(f"/threads/{deployment_a.pk}/{thread_id}/").content.decode()
    assert 'id="watch-live"' in page
    assert "Watch live</button>" in page

    run = watch(operator, deployment_a, thread_id)
    assert (run.origin, run.follow_from) == (Origin.FOLLOW, FollowFrom.START)
    assert run.upstream_run_id == upstream_id
    wait_for(lambda: ended(run), "the watched run to finish", 120)

    assert run.status == Status.SUCCEEDED, run.error
    assert_contiguous(run)
    # Every event of the upstream run once, in its order, from its start.
    assert stored_log(run) == upstream_log(graph_client, thread_id, upstream_id)
    assert graph_client.get_run(thread_id, upstream_id)["status"] == "success"
    assert AuditEntry.objects.filter(action="run.watch", target_id=str(run.pk)).count() == 1
    note = client_for(oscar).get(f"/runs/{run.pk}/").content.decode()
    assert "following from its start" in note


def test_two_viewers_share_one_run_record_and_one_relay(
    oscar, alice, deployment_a, graph_client, relay_worker, daphne_url, ws_login
):
    thread_id, upstream_id = start_directly(graph_client, chunks=150, rate=30)
    first = watch(client_for(oscar), deployment_a, thread_id)
    second = watch(client_for(alice), deployment_a, thread_id)
    assert second.pk == first.pk
    assert Run.objects.filter(upstream_run_id=upstream_id).count() == 1

    pages = [PageReader(daphne_url, first.pk, ws_login(user)) for user in (oscar, alice)]
    seen = [page.read_until_end(120) for page in pages]
    for page in pages:
        page.close()

    first.refresh_from_db()
    assert first.claims == 1  # one relay followed it for both
    for events in seen:
        assert [event["seq"] for event in events] == list(range(1, first.last_seq + 1))
    assert stored_log(first) == upstream_log(graph_client, thread_id, upstream_id)


def test_a_run_that_is_not_resumable_is_followed_from_now_and_says_so(
    oscar, deployment_a, graph_client, relay_worker
):
    thread_id, _upstream_id = start_directly(graph_client, chunks=80, rate=30, resumable=False)
    run = watch(client_for(oscar), deployment_a, thread_id)
    assert run.follow_from == FollowFrom.NOW
    wait_for(lambda: ended(run), "the watched run to finish", 120)
    assert run.status == Status.SUCCEEDED, run.error
    assert_contiguous(run)
    note = client_for(oscar).get(f"/runs/{run.pk}/").content.decode()
    assert "following from now: earlier events are not shown" in note


def test_a_viewer_may_not_watch_and_sees_why(bob, deployment_a, graph_client):
    thread_id, upstream_id = start_directly(graph_client, chunks=60, rate=30)
    viewer = client_for(bob)
    page = viewer.get(f"/threads/{deployment_a.pk}/{thread_id}/").content.decode()
    assert "Watching runs needs the operator role." in page
    assert viewer.post(f"/runs/watch/{deployment_a.pk}/{thread_id}/").status_code == 403
    assert not Run.objects.filter(upstream_run_id=upstream_id).exists()
    wait_for(lambda: upstream_ended(graph_client, thread_id, upstream_id), "the run to end")


def test_a_watch_of_an_idle_thread_says_nothing_is_running(oscar, deployment_a, graph_client):
    thread_id = str(graph_client.create_thread()["thread_id"])
    response = client_for(oscar).post(f"/runs/watch/{deployment_a.pk}/{thread_id}/", follow=True)
    assert "Nothing is running on this thread now." in response.content.decode()
    assert not Run.objects.filter(thread_id=thread_id).exists()


def test_a_watched_run_on_a_read_only_deployment_cannot_be_cancelled(
    oscar, deployment_a, graph_client, relay_worker
):
    deployment_a.read_only = True
    deployment_a.save()
    thread_id, upstream_id = start_directly(graph_client, chunks=80, rate=30)
    operator = client_for(oscar)
    run = watch(operator, deployment_a, thread_id)  # watching writes nothing: allowed

    response = operator.post(f"/runs/{run.pk}/cancel/", {"action": "interrupt"})
    assert response.status_code == 403
    wait_for(lambda: ended(run), "the watched run to finish", 120)
    assert run.status == Status.SUCCEEDED, run.error
    assert run.cancel_requested == ""
    assert graph_client.get_run(thread_id, upstream_id)["status"] == "success"


def test_watching_a_run_the_console_started_opens_that_run(
    oscar, deployment_a, graph_client, relay_worker
):
    started = start_chatty(oscar, deployment_a, chunks=150, rate=30)
    wait_for(lambda: busy(graph_client, started.thread_id), "the deployment to report it busy")
    assert watch(client_for(oscar), deployment_a, started.thread_id).pk == started.pk
    assert not Run.objects.filter(origin=Origin.FOLLOW).exists()
    wait_for(lambda: ended(started), "the run to finish", 120)
