"""F5: Daphne restarted while 3 runs stream: the pages reconnect, and replay + live = the complete
sequence, each event once and in order.

Daphne is killed (SIGKILL: no goodbye to the sockets) and started again on the same port; the
pages reconnect with the last sequence number they applied, as static/js/runs.js does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from apps.runs.models import RunEvent, Status
from dashboard.embedded import port_answers
from tests.faults.pages import ResyncingPage
from tests.fixtures.workers import BIN, Process, spawn_process, start_chatty

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def _daphne_on(port: int, env: dict[str, str], log_dir: Path) -> Process:
    command = [
        str(BIN / "daphne"),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "dashboard.asgi:application",
    ]
    proc = spawn_process("daphne", command, env, log_dir)
    assert _wait(lambda: port_answers("127.0.0.1", port), 60), proc.log()[-2000:]
    return proc


def test_pages_reconnect_after_daphne_restarts_and_miss_nothing(
    oscar: Any,
    deployment_a: Any,
    relay_worker: Process,
    start_daphne: Callable[..., tuple[Process, str]],
    worker_env: dict[str, str],
    ws_login: Callable[..., dict[str, str]],
    tmp_path: Path,
):
    daphne, url = start_daphne()
    port = int(urlsplit(url).port or 0)
    runs = [start_chatty(oscar, deployment_a, chunks=80, rate=16) for _ in range(3)]
    pages = [ResyncingPage(url, run.pk, ws_login(oscar)).start() for run in runs]
    assert _wait(lambda: all(page.last >= 10 for page in pages), 60), "the pages never went live"

    daphne.kill()  # SIGKILL mid-stream
    time.sleep(1)  # the runs go on without a Daphne
    restarted = _daphne_on(port, worker_env, tmp_path)
    try:
        ended = [page.wait_until_ended(90) for page in pages]
    finally:
        restarted.stop()

    for run, page, end in zip(runs, pages, ended, strict=True):
        run.refresh_from_db()
        assert end, (
            f"run {run.pk} ({run.status}): the page stopped at {page.last} of {run.last_seq}"
        )
        assert run.status == Status.SUCCEEDED, run.error
        stored = list(RunEvent.objects.filter(run=run).values_list("seq", flat=True))
        assert page.applied == stored == list(range(1, run.last_seq + 1))
        assert page.out_of_order == []
        assert page.connections >= 2, "the page never lost its socket"
