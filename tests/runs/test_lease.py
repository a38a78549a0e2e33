from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from apps.runs import lease, relay
from apps.runs.models import Run, RunEvent, Status
from apps.runs.relay_loop import relay_loop
from tests.fixtures.runs import create_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(deployment_a) -> Run:
    return create_run(deployment_a, status="queued")


def test_it_lets_only_one_relay_claim_a_run(run):
    assert lease.claim(run.pk, "first")
    assert not lease.claim(run.pk, "second")
    run.refresh_from_db()
    assert (run.lease_owner, run.status, run.claims) == ("first", Status.STREAMING, 1)


def test_it_lets_another_relay_claim_an_expired_lease(run):
    assert lease.claim(run.pk, "first")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert lease.claim(run.pk, "second")
    run.refresh_from_db()
    assert (run.lease_owner, run.claims) == ("second", 2)


def test_it_never_claims_a_finished_run(run):
    Run.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED)
    assert not lease.claim(run.pk, "first")


def test_it_numbers_events_without_gaps_and_stores_the_last_upstream_id(run):
    lease.claim(run.pk, "me")
    first = lease.append(run.pk, "me", [("metadata", {"run_id": "u"}, "1-0")], upstream_run_id="u")
    rest = lease.append(run.pk, "me", [("values", {"a": 1}, "2-0"), ("custom", {"b": 2}, "")])
    assert first is not None
    assert rest is not None
    assert [s.seq for s in first + rest] == [1, 2, 3]
    run.refresh_from_db()
    assert (run.last_seq, run.last_event_id, run.upstream_run_id) == (3, "2-0", "u")
    assert list(RunEvent.objects.filter(run=run).values_list("seq", "event")) == [
        (1, "metadata"),
        (2, "values"),
        (3, "custom"),
    ]


def test_runs_written_together_each_get_their_own_numbers_and_a_lost_lease_stores_nothing(
    deployment_a,
):
    mine, also_mine, lost = (create_run(deployment_a, status="queued") for _ in range(3))
    for run in (mine, also_mine, lost):
        lease.claim(run.pk, "me")
    lease.append(mine.pk, "me", [("values", {}, "1-0")])
    Run.objects.filter(pk=lost.pk).update(lease_owner="someone else")
    results = lease.append_many(
        [
            lease.Append(mine.pk, "me", [("custom", {"n": 2}, "2-0"), ("custom", {"n": 3}, "")]),
            lease.Append(also_mine.pk, "me", [("metadata", {}, "7-0")], upstream_run_id="up"),
            lease.Append(lost.pk, "me", [("custom", {}, "9-0")]),
            lease.Append(also_mine.pk, "someone else", [("custom", {}, "8-0")]),
        ]
    )
    assert [[s.seq for s in result] if result is not None else None for result in results] == [
        [2, 3],
        [1],
        None,
        None,
    ]
    mine.refresh_from_db()
    also_mine.refresh_from_db()
    assert (mine.last_seq, mine.last_event_id) == (3, "2-0")
    assert (also_mine.last_seq, also_mine.last_event_id, also_mine.upstream_run_id) == (
        1,
        "7-0",
        "up",
    )
    assert not RunEvent.objects.filter(run=lost).exists()


def _claimed_runs(deployment: Any, count: int) -> list[Run]:
    """``count`` runs, each leased by its own relay (owner ``owner-<pk>``)."""
    runs = [create_run(deployment, status="queued") for _ in range(count)]
    for run in runs:
        lease.claim(run.pk, f"owner-{run.pk}")
    return runs


@pytest.mark.django_db(transaction=True)
def test_relays_appending_at_once_on_the_relay_loop_share_transactions_and_broadcasts(
    deployment_a, monkeypatch
):
    runs = _claimed_runs(deployment_a, 8)
    transactions = []
    writers = set()
    write = lease.append_many

    def slow_write(appends: list[lease.Append]) -> list[list[lease.Stored] | None]:
        transactions.append(len(appends))
        writers.add(threading.current_thread().name)
        time.sleep(0.02)  # a loaded database: the other relays queue up meanwhile
        return write(appends)

    monkeypatch.setattr(lease, "append_many", slow_write)
    committed: list[list[tuple[lease.Append, list[lease.Stored]]]] = []
    group = lease.GroupCommit(after=committed.append)

    async def relay(run: Run) -> None:
        for n in range(25):
            assert await group.append(run.pk, f"owner-{run.pk}", [("custom", {"n": n}, "")])

    async def every_relay() -> None:
        await asyncio.gather(*(relay(run) for run in runs))

    relay_loop.run(every_relay)
    for run in runs:
        stored = RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", "data__n")
        assert list(stored) == [(n + 1, n) for n in range(25)]
    assert sum(transactions) == 200
    assert len(transactions) < 100, f"{len(transactions)} transactions for 200 appends"
    # One writer thread, never the loop's: the loop goes on reading streams while it writes.
    assert len(writers) == 1
    assert "relay-loop" not in writers
    # The writer hands on what each transaction stored, once: what the relays then broadcast.
    assert len(committed) == len(transactions)
    assert sum(len(stored) for batch in committed for _, stored in batch) == 200


@pytest.mark.django_db(transaction=True)
def test_a_failed_group_write_fails_every_relay_of_the_batch_and_the_next_write_goes_through(
    deployment_a, monkeypatch
):
    runs = _claimed_runs(deployment_a, 3)
    write = lease.append_many
    failures = iter([OperationalError("the database went away")])

    def failing_once(appends: list[lease.Append]) -> list[list[lease.Stored] | None]:
        for failure in failures:
            raise failure
        return write(appends)

    monkeypatch.setattr(lease, "append_many", failing_once)
    group = lease.GroupCommit()

    async def append(run: Run) -> list[lease.Stored] | BaseException | None:
        try:
            return await group.append(run.pk, f"owner-{run.pk}", [("custom", {}, "")])
        except OperationalError as error:
            return error

    async def twice() -> tuple[list[Any], list[Any]]:
        first = await asyncio.gather(*(append(run) for run in runs))
        return first, await asyncio.gather(*(append(run) for run in runs))

    first, second = relay_loop.run(twice)
    assert all(isinstance(outcome, OperationalError) for outcome in first)
    assert [[stored.seq for stored in outcome] for outcome in second] == [[1], [1], [1]]


def test_it_stores_nothing_for_a_relay_that_lost_its_lease(run):
    lease.claim(run.pk, "old")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    lease.claim(run.pk, "new")
    assert lease.append(run.pk, "old", [("values", {}, "1-0")]) is None
    assert lease.finish(run.pk, "old", Status.SUCCEEDED) is None
    assert not RunEvent.objects.filter(run=run).exists()


def test_it_finishes_a_run_exactly_once_with_an_end_event(run):
    lease.claim(run.pk, "me")
    lease.append(run.pk, "me", [("values", {}, "1-0")])
    end = lease.finish(run.pk, "me", Status.SUCCEEDED)
    assert end is not None
    assert (end.seq, end.event, end.data["status"]) == (2, "switchboard/end", "succeeded")
    assert lease.finish(run.pk, "me", Status.FAILED) is None
    run.refresh_from_db()
    assert (run.status, run.lease_owner, run.last_seq) == (Status.SUCCEEDED, "", 2)


def test_it_renews_held_leases_and_reports_lost_ones(run, deployment_a):
    other = create_run(deployment_a, status="queued")
    lease.claim(run.pk, "me")
    lease.claim(other.pk, "me")
    Run.objects.filter(pk=other.pk).update(lease_owner="someone else")
    assert lease.renew({run.pk: "me", other.pk: "me"}) == {other.pk}


def test_the_reaper_re_enqueues_runs_whose_lease_expired_once_per_lease(run, deployment_a):
    fresh = create_run(deployment_a, status="queued")
    lease.claim(run.pk, "dead worker")
    lease.claim(fresh.pk, "live worker")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    sent: list[int] = []
    assert relay.reap(sent.append) == [run.pk]
    assert relay.reap(sent.append) == []
    assert sent == [run.pk]


def test_the_reaper_re_enqueues_a_queued_run_whose_message_was_lost(run, settings):
    Run.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.RUNS_REDISPATCH_SECONDS + 1)
    )
    sent: list[int] = []
    relay.reap(sent.append)
    assert sent == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_the_keeper_thread_ends_and_lets_its_connection_go_once_no_lease_is_held(run, settings):
    # A thread left running holds a database connection: in tests that connection keeps the test
    # database from being dropped at the end of the session.
    settings.RUNS_HEARTBEAT_SECONDS = 0.05
    keeper = lease.LeaseKeeper()
    assert lease.claim(run.pk, "me")
    keeper.hold(run.pk, "me")
    thread = keeper._thread
    assert thread is not None
    keeper.drop(run.pk, "me")

    thread.join(10)

    assert not thread.is_alive()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # statistics count committed updates only
def test_storing_events_updates_the_run_row_in_place_without_touching_its_indexes(run):
    def hot_and_all_updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = %s",
                [Run._meta.db_table],
            )
            hot, updates = cursor.fetchone()
        return int(hot), int(updates)

    lease.claim(run.pk, "me")
    hot_before, updates_before = hot_and_all_updates()
    for n in range(40):
        lease.append(run.pk, "me", [("values", {"n": n}, f"{n + 1}-0")])
    hot_after, updates_after = hot_and_all_updates()

    assert updates_after - updates_before == 40
    # A run row updated 20 times a second with an entry in each of its indexes every time was
    # the database's largest cost per event; a few may still miss a page with room.
    assert hot_after - hot_before >= 36
