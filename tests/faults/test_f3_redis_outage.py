"""F3: Redis stopped while a run streams, for 8 s and for a "long" outage.

Everything that talks to Redis here (Daphne, the relay worker, beat) uses a private redis-server
started for the test on a free port, never the shared one. Redis is killed mid-run (its data goes
with it: queued and unacked Celery messages, channel groups) and started again on the same port.
The run keeps going on the deployment, and its relay keeps storing it (a relay needs only the
deployment and the database); the page (reconnecting like runs.js does) must end with every event
exactly once, in order, reading from the log what the channel layer could not bring, and the run
must be finalised, not left "streaming".

The long outage is 20 s, not 60 s: what makes 60 s hard in production is that it outlasts the
lease (10 s) and several reaper rounds (5 s), so a relay that stopped on the outage would have
lost its lease by the time Redis is back. The worker fixtures run with a 4 s lease and beat runs
the reaper every second, so 20 s is 5 lease periods and 20 reaper rounds: the same regime, in a
third of the time (the suite's budget is minutes, not hours).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.deployments.models import Deployment
from apps.runs.models import Run, RunEvent, Status
from tests.faults.pages import ResyncingPage
from tests.faults.private_redis import PrivateRedis, wait_for
from tests.fixtures.runs import create_run
from tests.fixtures.workers import Process, spawn_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 4  # RUNS_LEASE_SECONDS of the worker fixtures
REAPER = 1
# After Redis is back: Celery's broker reconnect, a reaper round, the new relay's rejoin and the
# rest of the run. Generous for a loaded 2-core CI machine; a stuck run never gets there at all.
SETTLE = 45.0
RATE = 12  # chunks per second of the chatty run
# The run goes on this long after Redis is back, so it is still producing through the whole
# outage however long the outage is, and "stored meanwhile" is bounded by what it produced.
TAIL = 10


class Supervisor:
    """Keeps the console's processes running, as systemd's ``Restart=always`` would: a process
    that exits is started again. It counts the restarts, so a test can say which died."""

    def __init__(self) -> None:
        self.starters: dict[str, Callable[[], Process]] = {}
        self.running: dict[str, Process] = {}
        self.restarts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def add(self, name: str, start: Callable[[], Process]) -> None:
        self.starters[name] = start
        self.running[name] = start()
        self.restarts[name] = 0

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for name, proc in list(self.running.items()):
                if not proc.alive and not self._stop.is_set():
                    self.restarts[name] += 1
                    # Not ready (Redis still down): try again next round.
                    with contextlib.suppress(RuntimeError):
                        self.running[name] = self.starters[name]()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(70)
        for proc in self.running.values():
            proc.stop()


@pytest.fixture
def stack(
    private_redis: PrivateRedis,
    worker_env: dict[str, str],
    start_relay_worker: Callable[..., Process],
    start_daphne: Callable[..., tuple[Process, str]],
    tmp_path: Path,
) -> Iterator[tuple[str, Supervisor]]:
    """Daphne, a relay worker, a default-queue worker (the reaper task runs there) and beat, all
    on the private Redis and under a supervisor; yields Daphne's URL and the supervisor."""
    env = {**worker_env, "REDIS_URL": private_redis.url, "RUNS_REAPER_INTERVAL": str(REAPER)}
    celery = [str(Path(sys.executable).with_name("celery")), "-A", "dashboard"]
    supervisor = Supervisor()
    supervisor.add("relay worker", lambda: start_relay_worker(env=env))
    supervisor.add(
        "default worker",
        lambda: spawn_process(
            "default",
            [
                *celery,
                "worker",
                "-Q",
                "default",
                "-P",
                "threads",
                "-c",
                "2",
                "-n",
                f"default-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            env,
            tmp_path,
        ),
    )
    supervisor.add(
        "beat",
        lambda: spawn_process(
            "beat",
            [*celery, "beat", "-l", "INFO", "-s", str(tmp_path / "beat-schedule")],
            env,
            tmp_path,
        ),
    )
    _, url = start_daphne(env=env)
    supervisor.start()
    yield url, supervisor
    supervisor.stop()


def _dispatch(run: Run, broker_url: str) -> None:
    # The test process's Celery app talks to the shared Redis; this run's doorbell must ring on
    # the private one, where the worker listens.
    from apps.runs.tasks import relay_run
    from dashboard.celery import app

    with app.connection_for_write(broker_url) as connection:
        relay_run.apply_async((run.pk,), connection=connection)  # type: ignore[call-arg]


@pytest.mark.parametrize("outage", [8, 20], ids=["8s", "long"])
def test_a_redis_outage_leaves_no_run_streaming_and_no_gap_on_the_page(
    outage: int,
    stack: tuple[str, Supervisor],
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    oscar: Any,
    ws_login: Callable[..., dict[str, str]],
):
    run = create_run(
        deployment_a,
        status="queued",
        assistant_id="chatty",
        thread_id=str(uuid.uuid4()),
        input={"chunks": RATE * (outage + TAIL), "rate": RATE},
    )
    url, supervisor = stack
    page = ResyncingPage(url, run.pk, ws_login(oscar)).start()
    _dispatch(run, private_redis.url)
    assert wait_for(lambda: Run.objects.get(pk=run.pk).last_seq >= 15, 60), "the run never streamed"

    killed_at = timezone.now()
    private_redis.kill()
    time.sleep(outage)  # the fault itself: Redis stays down this long
    back_at = timezone.now()
    private_redis.restart()

    ended = page.wait_until_ended(TAIL + LEASE + REAPER + SETTLE)
    run.refresh_from_db()
    assert ended, (
        f"the page did not see the run end {TAIL + LEASE + REAPER + SETTLE:.0f} s after Redis came "
        f"back: run {run.status}, {run.last_seq} events stored, page at {page.last}; "
        f"restarts: {supervisor.restarts}"
    )
    assert run.status == Status.SUCCEEDED, run.error
    assert run.lease_owner == ""
    stored = list(RunEvent.objects.filter(run=run).values_list("seq", flat=True))
    assert stored == list(range(1, run.last_seq + 1))
    assert page.applied == stored, "the page missed or reordered events"
    assert page.out_of_order == [], f"the consumer skipped ahead: {page.out_of_order}"
    # The relay needs only the deployment and the database: it went on storing while Redis was
    # away (the page read those events from the log), and no other relay had to take over.
    stored_meanwhile = RunEvent.objects.filter(
        run=run, created_at__gt=killed_at, created_at__lt=back_at
    )
    # The run produced RATE events a second for the whole outage (it outlasts it by TAIL);
    # half of that allows for a loaded machine, and a relay that stopped stores none.
    produced_meanwhile = RATE * (back_at - killed_at).total_seconds()
    assert stored_meanwhile.count() >= produced_meanwhile / 2, (
        f"the relay stopped storing without Redis: {stored_meanwhile.count()} events stored "
        f"in a {outage} s outage of a run producing {RATE} a second"
    )
    assert run.claims == 1, "the relay stopped when Redis went away and another had to take over"


def test_a_relay_worker_survives_a_redis_outage(
    stack: tuple[str, Supervisor], private_redis: PrivateRedis, deployment_a: Deployment
):
    """Without a supervisor, a worker that exits on a Redis blip takes its queue offline (and
    ``make run``'s launcher stops the whole console when any process exits)."""
    _, supervisor = stack
    run = create_run(
        deployment_a,
        status="queued",
        assistant_id="chatty",
        thread_id=str(uuid.uuid4()),
        input={"chunks": 60, "rate": RATE},
    )
    _dispatch(run, private_redis.url)
    assert wait_for(lambda: Run.objects.get(pk=run.pk).last_seq >= 5, 60), "the run never streamed"

    private_redis.kill()
    time.sleep(3)
    private_redis.restart()
    assert wait_for(lambda: not Run.objects.get(pk=run.pk).is_active, LEASE + REAPER + SETTLE)

    assert supervisor.restarts == {"relay worker": 0, "default worker": 0, "beat": 0}, (
        f"processes exited on a 3 s Redis outage and had to be restarted: {supervisor.restarts} "
        "(see the relay worker's log: kombu's Redis transport raises AttributeError "
        "'NoneType' object has no attribute 'hostname' while Celery re-establishes the broker "
        "connection, and the worker stops with 'Unrecoverable error')"
    )
