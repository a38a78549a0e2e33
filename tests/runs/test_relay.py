"""End to end: the run form → a real Celery relay worker → the real graph server → the event log
→ the real Redis channel layer → Daphne → a websocket reading like the page does."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from apps.runs import lease
from apps.runs.events import RunEvents, event_payload
from apps.runs.models import Run, RunEvent, Status
from apps.runs.tasks import relay_run
from tests.fixtures.frames import streamed_text
from tests.fixtures.runs import create_run
from tests.fixtures.takeover import kill_mid_run_and_take_over
from tests.fixtures.watching import wait_for
from tests.fixtures.workers import PageReader, start_chatty

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def final_message(run: Run) -> str:
    """The reply as the graph's final state holds it (the last `values` event)."""
    values = RunEvent.objects.filter(run=run, event="values").order_by("-seq").first()
    assert values is not None
    data: Any = values.data
    return str(data["messages"][-1]["content"])


def assert_complete(run: Run, events: list[dict[str, Any]]) -> None:
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert [event["seq"] for event in events] == list(range(1, run.last_seq + 1))
    assert list(RunEvent.objects.filter(run=run).values_list("seq", flat=True)) == list(
        range(1, run.last_seq + 1)
    )
    assert events[-1]["event"] == "switchboard/end"
    # Every token once, in order: the deltas the page applied spell the graph's final reply.
    assert streamed_text(events) == final_message(run)


def test_it_relays_a_burst_of_a_thousand_events_once_and_in_order_to_the_page(
    oscar, deployment_a, relay_worker, daphne_url, ws_login
):
    run = start_chatty(oscar, deployment_a, chunks=1000, rate=0)
    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    events = page.read_until_end()
    page.close()
    assert_complete(run, events)
    assert run.claims == 1
    assert len(events) > 1000
    assert sum(1 for e in events if e["event"] == "custom") == 10


def test_a_page_that_reconnects_with_a_seq_gets_exactly_the_missing_events(
    oscar, deployment_a, relay_worker, daphne_url, ws_login
):
    run = start_chatty(oscar, deployment_a, chunks=30, rate=0)
    wait_for(lambda: not Run.objects.get(pk=run.pk).is_active, "the run to finish")
    run.refresh_from_db()
    half = run.last_seq // 2
    page = PageReader(daphne_url, run.pk, ws_login(oscar), after=half)
    events = page.read_until_end()
    page.close()
    assert [event["seq"] for event in events] == list(range(half + 1, run.last_seq + 1))


def test_a_relay_worker_killed_mid_run_is_replaced_and_the_page_gets_every_event_once(
    oscar, deployment_a, start_relay_worker, daphne_url, ws_login
):
    first = start_relay_worker()
    run = start_chatty(oscar, deployment_a, chunks=200, rate=40)
    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    result: dict[str, list[dict[str, Any]]] = {}
    reader = threading.Thread(target=lambda: result.setdefault("events", page.read_until_end(120)))
    reader.start()
    kill_mid_run_and_take_over(run, first, start_relay_worker)
    reader.join(120)
    page.close()
    assert_complete(run, result["events"])
    assert run.claims == 2


def test_two_relay_tasks_for_the_same_run_never_both_relay(
    oscar, deployment_a, relay_worker, daphne_url, ws_login
):
    run = start_chatty(oscar, deployment_a, chunks=60, rate=30)
    for _ in range(5):
        relay_run.delay(run.pk)
    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    events = page.read_until_end()
    page.close()
    assert_complete(run, events)
    assert run.claims == 1
    assert relay_worker.log().count("not claimed") >= 5


def test_a_run_longer_than_the_visibility_timeout_is_relayed_once(
    oscar, deployment_a, start_relay_worker, daphne_url, ws_login
):
    worker = start_relay_worker(
        env={"CELERY_VISIBILITY_TIMEOUT": "2", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}
    )
    run = start_chatty(oscar, deployment_a, chunks=120, rate=20)  # about 6 s
    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    events = page.read_until_end()
    page.close()
    assert_complete(run, events)
    assert run.claims == 1
    # Celery did deliver the task again while the first relay was still going.
    assert worker.log().count("not claimed") >= 1


def test_a_burst_faster_than_the_channel_capacity_still_ends_contiguous_on_the_page(
    deployment_a, alice, start_daphne, ws_login, settings
):
    # 1000 events stored, then broadcast without a pause against the default channel capacity of
    # 100: the layer drops what the consumer cannot take yet, and the consumer fills the holes
    # from the log.
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] == 100
    daphne, url = start_daphne(env={"LOG_LEVEL": "INFO"})
    run = create_run(deployment_a, status="queued")
    lease.claim(run.pk, "test")
    page = PageReader(url, run.pk, ws_login(alice))
    assert page.read()["type"] == "hello"
    stored = [
        item
        for n in range(1, 1001)
        for item in lease.append(run.pk, "test", [("custom", {"n": n}, "")]) or []
    ]
    end = lease.finish(run.pk, "test", Status.SUCCEEDED)
    assert end is not None
    for item in [*stored, end]:
        RunEvents.broadcast(event_payload(run.pk, item.seq, item.event, item.data))
    events = page.read_until_end()
    page.close()
    assert [event["seq"] for event in events] == list(range(1, 1002))
    assert "is full" in daphne.log(), "the burst never overflowed the channel: nothing was proven"
