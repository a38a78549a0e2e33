"""`make run` supervises every process it starts, its private Redis included, and takes them all
with it when it dies, however it dies.

The launcher runs for real (``python -m dashboard.launcher run``) with a Redis URL nothing answers
on, so it starts a private redis-server; the test kills that Redis with SIGKILL, as the chaos run
did, and then kills the launcher itself with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from dashboard.embedded import BASE_DIR, free_port, redis_answers
from tests.e2e.processes import (
    READINESS_PATH,
    alive,
    child_running,
    cmdline,
    descendants,
    poll,
    port_free,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def make_run(tmp_path):
    """``make run`` on free ports and a Redis port of its own; yields (launcher, port, redis
    URL, output file). Whatever is left of its tree is killed afterwards."""
    port = free_port()
    redis_url = f"redis://127.0.0.1:{free_port()}/0"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        SWITCHBOARD_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        SWITCHBOARD_DEMO_PORT=str(free_port()),
        REDIS_URL=redis_url,
        SWITCHBOARD_REDIS_PREFIX=f"{os.environ['SWITCHBOARD_REDIS_PREFIX']}-supervision",
        RELAY_CONCURRENCY="4",
    )
    output = tmp_path / "launcher.out"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "dashboard.launcher", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )
    tree: set[int] = set()
    try:
        yield launcher, port, redis_url, output, tree
    finally:
        tree |= descendants(launcher.pid)
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _ready(port: int) -> dict[str, bool]:
    body = poll(f"http://127.0.0.1:{port}{READINESS_PATH}", 120, lambda s, b: s == 200)
    return {check["name"]: check["ok"] for check in json.loads(body)["checks"]}


def test_a_private_redis_killed_under_make_run_comes_back_and_a_sigkilled_launcher_leaves_nothing(
    make_run,
):
    launcher, port, redis_url, output, tree = make_run
    assert _ready(port)["redis"] is True
    assert "starting a private redis-server" in output.read_text()

    # Redis is killed: the launcher starts it again, and the console is ready again by itself.
    first_redis = child_running(launcher.pid, "redis-server")
    os.kill(first_redis, signal.SIGKILL)
    wait_for(lambda: "redis restarted" in output.read_text(), 30, "the launcher restarts Redis")
    second_redis = child_running(launcher.pid, "redis-server")
    assert second_redis != first_redis
    assert redis_answers(redis_url)
    assert _ready(port)["redis"] is True

    # The launcher is killed with no chance to clean up: every child, the restarted Redis among
    # them, goes with it, and Daphne's port is free for the next start.
    tree |= descendants(launcher.pid)
    running = "\n".join(cmdline(pid) for pid in tree)
    for process in ("redis-server", "daphne", "relay@", "default@", " beat ", "langgraph dev"):
        assert process in running, f"{process!r} is not among the launcher's children"
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    wait_for(lambda: not [pid for pid in tree if alive(pid)], 20, "every child dies")
    assert port_free(port)
    assert not redis_answers(redis_url)
