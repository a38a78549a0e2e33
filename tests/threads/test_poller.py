"""The fast poller: what happens on a deployment behind the console's back reaches the index and
the inbox within a few polls, polls slow down when nothing happens, one poller holds a
deployment at a time, requests stay within the budget, and a broken deployment is backed off."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Team
from apps.deployments.models import Deployment
from apps.inbox.models import Interrupt, Status
from apps.threads import tasks
from apps.threads.models import PollState, SyncState, ThreadIndex
from apps.threads.pacing import Bucket
from apps.threads.poller import Pace, claim, claim_due, next_interval, poll_deployment, poll_now
from switchboard import SyncClient
from tests.fixtures.inbox import REFUND

pytestmark = pytest.mark.django_db

PACE = Pace(fast=0.5, slow=8.0, window=3.0)
# Polls a change may take to show: the first poll after it finds it, unless the budget of the
# moment makes that poll skip (a skipped poll waits for tokens that refill within a second).
CYCLES = 20


def _until(check: Callable[[], bool], poll: Callable[[], object]) -> int:
    """Poll until ``check`` holds; returns how many polls it took."""
    for cycle in range(1, CYCLES + 1):
        poll()
        if check():
            return cycle
        time.sleep(0.2)
    raise AssertionError(f"not seen after {CYCLES} polls")


def _caught_up(deployment: Deployment) -> PollState:
    """The poller has read the deployment up to now (so only what happens next is new)."""
    state, _ = PollState.objects.update_or_create(
        deployment=deployment, defaults={"cursor": timezone.now(), "cursor_ids": []}
    )
    return state


class _Broken(BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b"Internal Server Error"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _fail

    def log_message(self, *args: object) -> None:
        return


class _Quiet(BaseHTTPRequestHandler):
    """A deployment with no threads at all."""

    def do_POST(self) -> None:
        body = b"[]"
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def broken_url() -> Iterator[str]:
    yield from _serve(_Broken)


@pytest.fixture
def quiet_url() -> Iterator[str]:
    yield from _serve(_Quiet)


def test_a_run_paused_directly_on_the_deployment_reaches_the_index_and_the_inbox(
    deployment_a: Deployment, graph_client: SyncClient, oscar: User
) -> None:
    _caught_up(deployment_a)
    thread_id = str(graph_client.create_thread(metadata={"suite": "poller"})["thread_id"])
    graph_client.wait_run(thread_id, assistant_id="refund_approval", input=REFUND)

    _until(
        lambda: Interrupt.objects.filter(
            deployment=deployment_a, thread_id=thread_id, status=Status.PENDING
        ).exists(),
        lambda: poll_now(deployment_a.pk, pace=PACE),
    )

    row = ThreadIndex.objects.get(deployment=deployment_a, thread_id=thread_id)
    assert row.status == "interrupted"
    assert row.interrupt_count == 1
    browser = Client()
    browser.force_login(oscar)
    assert thread_id in browser.get("/inbox/").content.decode()
    assert not SyncState.objects.filter(
        deployment=deployment_a, last_started_at__isnull=False
    ).exists()


def test_polls_back_off_while_nothing_happens_and_speed_up_on_a_change() -> None:
    schedule, previous = [], PACE.fast
    for _ in range(6):
        previous = next_interval(
            PACE, previous=previous, changed=False, busy=False, since_change=None
        )
        schedule.append(previous)
    assert schedule == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]

    def after(**kwargs: object) -> float:
        return next_interval(PACE, previous=8.0, **kwargs)  # type: ignore[arg-type]

    assert after(changed=True, busy=False, since_change=0.0) == PACE.fast
    assert after(changed=False, busy=True, since_change=None) == PACE.fast
    assert after(changed=False, busy=False, since_change=PACE.window - 0.1) == PACE.fast
    assert after(changed=False, busy=False, since_change=PACE.window) == PACE.slow


def test_a_change_on_the_deployment_makes_the_next_poll_fast(
    deployment_a: Deployment, graph_client: SyncClient
) -> None:
    _caught_up(deployment_a)
    graph_client.create_thread(metadata={"suite": "poller", "case": "schedule"})

    _until(
        lambda: PollState.objects.get(pk=deployment_a.pk).last_change_at is not None,
        lambda: poll_now(deployment_a.pk, pace=PACE),
    )
    state = PollState.objects.get(pk=deployment_a.pk)
    assert state.interval == PACE.fast
    assert state.last_polled_at is not None
    assert state.next_poll_at == state.last_polled_at + timedelta(seconds=PACE.fast)


def test_polls_of_a_deployment_where_nothing_happens_wait_longer_each_time(
    deployment_a: Deployment, quiet_url: str
) -> None:
    quiet = Deployment.objects.create(team=deployment_a.team, name="quiet", url=quiet_url)
    PollState.objects.filter(deployment=quiet).update(interval=PACE.fast)
    intervals = []
    for _ in range(5):
        report = poll_now(quiet.pk, pace=PACE)
        assert report.ok
        state = PollState.objects.get(pk=quiet.pk)
        assert state.last_polled_at is not None
        assert state.next_poll_at == state.last_polled_at + timedelta(seconds=state.interval)
        intervals.append(report.interval)
    assert intervals == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_two_pollers_cannot_hold_one_deployments_lease_at_once(
    deployment_a: Deployment,
) -> None:
    _caught_up(deployment_a)
    first = claim(deployment_a.pk)
    assert first is not None
    assert claim(deployment_a.pk) is None
    assert deployment_a.pk not in [pk for pk, _ in claim_due()]
    assert poll_deployment(deployment_a.pk, "someone else", pace=PACE).skipped

    # A poller that died mid-poll: its lease lapses, the next one takes over, and the dead one's
    # late write-back (were it to wake) changes nothing.
    PollState.objects.filter(pk=deployment_a.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    second = claim(deployment_a.pk)
    assert second is not None
    assert second != first
    assert poll_deployment(deployment_a.pk, first, pace=PACE).skipped
    assert PollState.objects.get(pk=deployment_a.pk).lease_owner == second


def test_the_token_bucket_bounds_the_requests_across_callers() -> None:
    bucket = Bucket(key=f"test:pace:{uuid.uuid4().hex}", rate=20.0, burst=5.0)
    started = time.monotonic()
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]

    granted = 5
    while time.monotonic() - started < 1.0:
        granted += bucket.take()
    elapsed = time.monotonic() - started
    # A full bucket at the start, and what refilled meanwhile: never more.
    assert granted <= 5 + 20.0 * elapsed
    assert granted > 5

    # Requests already sent are charged into debt: nothing more until the debt is refilled.
    fresh = Bucket(key=f"test:pace:{uuid.uuid4().hex}", rate=20.0, burst=5.0)
    fresh.charge(15)
    assert not fresh.take()


def test_a_deployment_answering_errors_is_backed_off_and_reported(
    deployment_a: Deployment, broken_url: str
) -> None:
    broken = Deployment.objects.create(team=deployment_a.team, name="broken", url=broken_url)

    first = poll_now(broken.pk, pace=PACE)
    second = poll_now(broken.pk, pace=PACE)

    assert not first.ok
    assert not second.ok
    assert (first.interval, second.interval) == (2 * PACE.fast, 4 * PACE.fast)
    state = PollState.objects.get(pk=broken.pk)
    assert state.failures == 2
    assert state.last_error
    assert state.lease_owner == ""

    # The beat's task reports it and returns; the healthy deployment is polled all the same.
    _caught_up(deployment_a)
    PollState.objects.filter(pk=broken.pk).update(next_poll_at=None)
    leased = dict(claim_due())
    assert set(leased) >= {broken.pk, deployment_a.pk}
    assert tasks.poll_deployment(broken.pk, leased[broken.pk])["ok"] is False
    assert tasks.poll_deployment(deployment_a.pk, leased[deployment_a.pk])["ok"] is True


def test_a_deployment_is_due_for_a_poll_from_the_moment_it_is_saved_enabled(
    team_a: Team,
) -> None:
    new = Deployment.objects.create(team=team_a, name="new", url="http://127.0.0.1:9")
    parked = Deployment.objects.create(
        team=team_a, name="parked", url="http://127.0.0.1:9", enabled=False
    )

    assert PollState.objects.get(deployment=new).next_poll_at is None
    assert not PollState.objects.filter(deployment=parked).exists()

    parked.enabled = True
    parked.save()
    assert {pk for pk, _ in claim_due()} == {new.pk, parked.pk}


def test_beat_s_tick_leases_every_due_deployment_in_one_statement(
    team_a: Team, django_assert_num_queries: Any
) -> None:
    def deployment(name: str, **fields: Any) -> Deployment:
        return Deployment.objects.create(team=team_a, name=name, url="http://127.0.0.1:9", **fields)

    due = [deployment(f"due {n}") for n in range(3)]
    later, held, off = deployment("later"), deployment("held"), deployment("off")
    now = timezone.now()
    PollState.objects.filter(deployment=later).update(next_poll_at=now + timedelta(seconds=5))
    PollState.objects.filter(deployment=held).update(
        lease_owner="someone", lease_expires_at=now + timedelta(seconds=5)
    )
    Deployment.objects.filter(pk=off.pk).update(enabled=False)

    with django_assert_num_queries(1):
        leased = dict(claim_due(now=now))

    assert set(leased) == {d.pk for d in due}
    for pk, owner in leased.items():
        state = PollState.objects.get(pk=pk)
        assert state.lease_owner == owner
        assert state.lease_expires_at == now + timedelta(
            seconds=settings.THREADS_POLL_LEASE_SECONDS
        )
    assert PollState.objects.get(deployment=held).lease_owner == "someone"
    assert claim_due(now=now) == []


def test_the_full_sync_gives_a_deployment_enabled_without_a_save_its_poll_state(
    team_a: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    (unsaved,) = Deployment.objects.bulk_create(
        [Deployment(team=team_a, name="bulk", url="http://127.0.0.1:9")]
    )
    assert unsaved.pk not in dict(claim_due())

    queued: list[int] = []
    monkeypatch.setattr(tasks.sync_deployment, "delay", queued.append)
    tasks.sync_all_deployments()

    assert queued == [unsaved.pk]
    assert unsaved.pk in dict(claim_due())
