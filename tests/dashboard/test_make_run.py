"""`make run` end to end: the launcher brings up the whole console on its embedded default, and
Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from dashboard.embedded import BASE_DIR, free_port

pytestmark = pytest.mark.slow


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _child_running(parent: int, marker: str) -> int:
    for pid in _descendants(parent):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError(f"no process of {parent} runs {marker!r}")


def _poll_output(path: Path, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not printed within {seconds} s"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except HTTPError as error:
        return error.code, error.read()


def _poll(url: str, seconds: float, ready) -> tuple[int, bytes]:
    deadline = time.monotonic() + seconds
    last: tuple[int, bytes] | Exception = OSError("never answered")
    while time.monotonic() < deadline:
        try:
            last = _get(url)
            if ready(*last):
                return last
        except OSError as error:
            last = error
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {seconds} s: {last!r}")


def test_make_run_serves_the_console_reports_healthy_and_stops_everything_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        SWITCHBOARD_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        SWITCHBOARD_DEMO_PORT=str(free_port()),
        SWITCHBOARD_REDIS_PREFIX=f"{os.environ['SWITCHBOARD_REDIS_PREFIX']}-make-run",
        RELAY_CONCURRENCY="8",
    )
    output = tmp_path / "launcher.out"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "dashboard.launcher", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _, body = _poll(f"http://127.0.0.1:{port}/accounts/login/", 60, lambda s, b: s == 200)
        assert b"Log in to Switchboard" in body

        _, body = _poll(f"http://127.0.0.1:{port}/readyz", 60, lambda s, b: s == 200)
        checks = {check["name"]: check["ok"] for check in json.loads(body)["checks"]}
        assert checks == {"database": True, "redis": True, "worker": True}

        printed = output.read_text()
        assert "demo admin created: log in as 'admin' with password" in printed
        assert f"console at http://127.0.0.1:{port}/" in printed

        # A worker that dies is restarted, as systemd would, and the console is healthy again.
        relay_worker = _child_running(launcher.pid, "relay@")
        os.kill(relay_worker, signal.SIGKILL)
        _poll_output(output, "worker-relay restarted", 30)
        _, body = _poll(f"http://127.0.0.1:{port}/readyz", 60, lambda s, b: s == 200)
        assert _child_running(launcher.pid, "relay@") != relay_worker

        started = _descendants(launcher.pid)
        assert len(started) >= 5  # graph server, daphne, two workers, beat
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [pid for pid in started if _alive(pid)] == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in _descendants(launcher.pid):
            os.kill(pid, signal.SIGKILL)
