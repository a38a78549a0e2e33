"""F4: PostgreSQL restarted while a run streams: the relay retries, the run completes or fails
cleanly, and it is finalised exactly once.

The whole scenario lives on a private PostgreSQL cluster (tests/fixtures/private_postgres.py):
the team, deployment and run rows, the relay worker's database and the event log it writes. The
machine's shared server is never touched. Mid-run, while the relay stores about 40 events a
second, the private server is shut down with ``pg_ctl stop -m fast`` (a restart as an upgrade
or a config change does it: every connection is terminated, committed data is kept), stays down
for 3 s, and is started again on the same port. The deployment (the real graph server) keeps
running the run all along.

Beat does not run here, on purpose: its reaper hands a run whose relay gave up to a new relay
once the lease has expired, which would hide the thing under test: that the relay rides out
a database restart itself. The reaper has F1 and F3.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Team
from apps.deployments.models import Deployment
from apps.runs.events import END_EVENT, present
from apps.runs.models import Run, RunEvent, Status
from apps.runs.tasks import relay_run
from tests.fixtures.private_postgres import PRIVATE, PrivatePostgres
from tests.fixtures.workers import Process

pytestmark = [pytest.mark.slow]

CHUNKS = 400
RATE = 40  # chunks a second: the run streams for 10 s on the deployment
# Every chunk a word of its own, so the stored log shows a token lost or stored twice.
TEXT = " ".join(f"w{i}" for i in range(CHUNKS))
DOWN = 3.0  # seconds the database is away
# After the database is back: the relay's reconnect and rejoin, and the rest of the run (at most
# 10 s of streaming). Generous for a loaded 2-core machine; a relay that gave up never ends at all.
SETTLE = 40.0


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def _run(pk: int) -> Run:
    return Run.objects.using(PRIVATE).get(pk=pk)


def _streamed_text(events: list[RunEvent]) -> str:
    """The reply as the stored deltas spell it (what a page replaying the log shows)."""
    return "".join(
        op["text"]
        for event in events
        for op in present(event.event, event.data)
        if op["op"] == "message" and op["mode"] == "append"
    )


def _start_chatty(deployment_url: str) -> Run:
    team = Team.objects.using(PRIVATE).create(name="Team A", slug="team-a")
    deployment = Deployment.objects.using(PRIVATE).create(
        team=team, name="A demo", url=deployment_url
    )
    run = Run.objects.using(PRIVATE).create(
        team=team,
        deployment=deployment,
        thread_id=str(uuid.uuid4()),
        assistant_id="chatty",
        input={"chunks": CHUNKS, "rate": RATE, "text": TEXT},
        stream_mode=["values", "updates", "messages-tuple", "custom"],
        dispatched_at=timezone.now(),
    )
    # The doorbell: this run's Redis prefix, where the worker listens.
    relay_run.delay(run.pk)
    return run


def _relay_errors(worker: Process) -> str:
    """What the worker said about its tasks' failures (or its log's tail), for failure messages:
    Celery's one-line summary and the innermost traceback of the chain."""
    log = worker.log()
    summaries = [line for line in log.splitlines() if "raised unexpected" in line]
    if not summaries:
        return log[-3000:]
    last = log.rfind("Traceback (most recent call last):")
    return "\n".join(summaries) + "\n" + log[last:][-4000:]


def test_a_postgres_restart_mid_run_is_ridden_out_and_the_run_is_finalised_once(
    private_postgres: PrivatePostgres,
    start_relay_worker: Callable[..., Process],
    langgraph_url: str,
):
    worker = start_relay_worker(env={"DATABASE_URL": private_postgres.url})
    run = _start_chatty(langgraph_url)
    # About a second in: the deployment has some nine seconds of the run still to stream.
    assert _wait(lambda: _run(run.pk).last_seq >= 40, 60), "the run never streamed"
    before = _run(run.pk)
    assert before.status == Status.STREAMING, "the run ended before the fault"

    private_postgres.restart(down=DOWN)

    finished = _wait(lambda: not _run(run.pk).is_active, SETTLE)
    run.refresh_from_db()
    assert finished, (
        f"the run is still {run.status!r} {SETTLE:.0f} s after the database came back "
        f"(claims {run.claims}, {run.last_seq} events stored, {before.last_seq} before the "
        f"restart; relay worker {'alive' if worker.alive else 'exited'}). Relay worker log:\n"
        f"{_relay_errors(worker)}"
    )
    assert worker.alive, f"the relay worker exited:\n{_relay_errors(worker)}"
    assert run.last_seq > before.last_seq, "nothing was stored after the restart"

    events = list(RunEvent.objects.using(PRIVATE).filter(run_id=run.pk).order_by("seq"))
    assert [event.seq for event in events] == list(range(1, run.last_seq + 1))
    ends = [event for event in events if event.event == END_EVENT]
    assert len(ends) == 1, f"finalised {len(ends)} times: {[e.data for e in ends]}"
    end: Any = ends[0].data
    assert events[-1].event == END_EVENT
    assert end["status"] == run.status
    assert run.finished_at is not None
    assert run.lease_owner == ""

    # Completes or fails cleanly: failed only with a reason, on the run and on its end event.
    assert run.status in (Status.SUCCEEDED, Status.FAILED), run.status
    if run.status == Status.FAILED:
        assert run.error, "failed without a reason"
        assert end["error"] == run.error
    else:
        # Every token exactly once, in order, across the restart.
        assert _streamed_text(events) == TEXT
