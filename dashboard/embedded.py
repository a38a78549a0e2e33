"""The embedded default's local services: a Redis when none answers, and the demo graph server.

Shared by the launcher (``make run``) and the test suite's fixtures, so both start them the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
GRAPHS_DIR = BASE_DIR / "graphs"


PR_SET_PDEATHSIG = 1


class StartupError(RuntimeError):
    pass


def _die_with(parent: int) -> None:
    """In the child, before exec: the kernel kills it with SIGKILL when its parent dies, however
    the parent died (a SIGKILL or an OOM kill leaves it no chance to stop its children)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def tied_to_this_process() -> Callable[[], None]:
    """A ``preexec_fn`` that ties a child's life to the calling thread's process (Linux; the
    signal is sent when the thread that started the child ends, so start children from the
    thread that supervises them)."""
    return functools.partial(_die_with, os.getpid())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start_redis(
    url: str, var_dir: Path, log: Path, *, tied: bool = False
) -> subprocess.Popen[bytes]:
    """Start a private redis-server for ``url`` (on a fresh Debian machine it comes from the
    ``redis-server`` package, which `make` installs with apt-get when it is missing). ``tied``:
    it dies with this process (see ``tied_to_this_process``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartupError(
            "No Redis answers at REDIS_URL and redis-server is not installed: apt-get install redis-server"
        )
    parts = urlsplit(url)
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            parts.hostname or "127.0.0.1",
            "--port",
            str(parts.port or 6379),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=tied_to_this_process() if tied else None,
    )
    try:
        wait_until(lambda: redis_answers(url), 10, f"redis-server on {url}", proc)
    except StartupError:
        stop(proc)
        raise
    return proc


def wait_until(
    check: object, seconds: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise StartupError(f"{what} exited with code {proc.returncode} before it was ready.")
        time.sleep(0.1)
    raise StartupError(f"{what} was not ready after {seconds:.0f} s.")


def graph_server_ok(url: str) -> bool:
    try:
        with urlopen(f"{url}/ok", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def resolved_config(state_dir: Path) -> Path:
    """Write graphs/langgraph.json into ``state_dir`` with absolute paths.

    `langgraph dev` resolves graph paths and dependencies against its working directory, not the
    config file, and it must run in ``state_dir`` because the in-memory runtime keeps its state in
    ``<cwd>/.langgraph_api``.
    """
    config = json.loads((GRAPHS_DIR / "langgraph.json").read_text())
    config["dependencies"] = [str((GRAPHS_DIR / dep).resolve()) for dep in config["dependencies"]]
    config["graphs"] = {
        name: f"{(GRAPHS_DIR / path).resolve()}:{variable}"
        for name, spec in config["graphs"].items()
        for path, variable in [spec.rsplit(":", 1)]
    }
    target = state_dir / "langgraph.json"
    target.write_text(json.dumps(config, indent=2))
    return target


def start_graph_server(
    port: int, state_dir: Path, log: Path, *, jobs: int = 10, tied: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``langgraph dev`` serving graphs/ on loopback and wait for ``/ok``.

    The in-memory runtime keeps its state in ``<cwd>/.langgraph_api``, so the server runs with
    ``state_dir`` as its working directory. Reload stays off: the watcher restarts the server on
    every write in its directory.
    """
    if port_answers("127.0.0.1", port):
        raise StartupError(f"Port {port} is taken; the graph server needs a free port.")
    state_dir.mkdir(parents=True, exist_ok=True)
    binary = Path(sys.executable).with_name("langgraph")
    env = {
        **os.environ,
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_API_KEY": "",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [
            str(binary),
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(resolved_config(state_dir)),
            "--n-jobs-per-worker",
            str(jobs),
        ],
        cwd=state_dir,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=tied_to_this_process() if tied else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: graph_server_ok(url), 60, f"The graph server (log: {log})", proc)
    except StartupError:
        stop(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a process we started, and everything in its session, by pid."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def graph_server(state_dir: Path, log: Path) -> Iterator[str]:
    proc, url = start_graph_server(free_port(), state_dir, log)
    try:
        yield url
    finally:
        stop(proc)
