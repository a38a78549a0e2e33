"""The bench's replay upstream (bench/replay/server.py) is a deployment the relay can follow: a
console run streams from it to the page with every event once and in order, and a relay killed
mid-run is replaced by one that rejoins the replayed stream after the last event it stored."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.deployments.models import Deployment
from apps.runs.models import Run, Status
from dashboard.embedded import free_port, port_answers
from tests.faults.private_redis import wait_for
from tests.fixtures.workers import PageReader, Process, spawn_process, start_chatty

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def replay_deployment(team_a: Any, tmp_path: Path) -> Iterator[Deployment]:
    port = free_port()
    command = [sys.executable, "-m", "bench.replay.server", "--port", str(port)]
    proc = spawn_process("replay", command, dict(os.environ), tmp_path)
    try:
        assert wait_for(lambda: port_answers("127.0.0.1", port), 30), proc.log()
        yield Deployment.objects.create(team=team_a, name="Replay", url=f"http://127.0.0.1:{port}")
    finally:
        proc.stop()


def _seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [frame["seq"] for frame in frames]


def test_a_run_from_the_replay_upstream_reaches_the_page_whole_and_in_order(
    replay_deployment: Deployment,
    relay_worker: Process,
    daphne_url: str,
    oscar: Any,
    ws_login: Callable[..., dict[str, str]],
):
    run = start_chatty(oscar, replay_deployment, chunks=30, rate=50)
    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    events = page.read_until_end(timeout=60)
    page.close()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert _seqs(events) == list(range(1, run.last_seq + 1))
    # metadata, the first values, 30 chunks with their custom events, the last update and values
    assert [frame["event"] for frame in events].count("messages") == 30
    assert run.last_seq == 1 + 1 + 60 + 2 + 1  # and the console's end event


def test_a_killed_relay_is_replaced_by_one_that_rejoins_the_replayed_stream(
    replay_deployment: Deployment,
    start_relay_worker: Callable[..., Process],
    start_beat: Callable[..., Process],
    daphne_url: str,
    oscar: Any,
    ws_login: Callable[..., dict[str, str]],
):
    first = start_relay_worker()
    start_beat(env={"RUNS_REAPER_INTERVAL": "1"})
    run = start_chatty(oscar, replay_deployment, chunks=200, rate=20)
    assert wait_for(lambda: Run.objects.get(pk=run.pk).last_seq >= 20, 60), "never streamed"
    first.kill(signal.SIGKILL)
    start_relay_worker()

    page = PageReader(daphne_url, run.pk, ws_login(oscar))
    events = page.read_until_end(timeout=120)
    page.close()

    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error
    assert run.claims == 2
    assert _seqs(events) == list(range(1, run.last_seq + 1))
    assert [frame["event"] for frame in events].count("messages") == 200
