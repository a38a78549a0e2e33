"""``make run`` and ``make test`` after the virtualenv exists.

``python -m dashboard.launcher run`` prepares the embedded default and supervises the console's
processes until Ctrl-C, then stops every process it started, by pid.
``python -m dashboard.launcher test [pytest args]`` finds or starts the services the suite needs and
runs pytest against them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from dashboard.embedded import (
    BASE_DIR,
    StartupError,
    free_port,
    port_answers,
    redis_answers,
    start_graph_server,
    start_redis,
    stop,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CI_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/switchboard"
PYTEST_NO_TESTS_COLLECTED = 5
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


def _say(message: str) -> None:
    print(f"switchboard: {message}", flush=True)


def _var_dir() -> Path:
    path = Path(os.environ.get("SWITCHBOARD_VAR_DIR", BASE_DIR / "var")).resolve()
    (path / "log").mkdir(parents=True, exist_ok=True)
    return path


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR
    )


def _ensure_redis(env: dict[str, str], var: Path, started: list[subprocess.Popen[bytes]]) -> None:
    url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_answers(url):
        return
    _say(f"no Redis answers at {url}; starting a private redis-server under {var / 'redis'}")
    started.append(start_redis(url, var, var / "log" / "redis.log"))


def run() -> int:
    var = _var_dir()
    env = dict(os.environ)
    started: list[subprocess.Popen[bytes]] = []

    def shutdown(signum: int = 0, frame: FrameType | None = None) -> None:
        _say("stopping every process it started")
        for proc in reversed(started):
            stop(proc)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        _ensure_redis(env, var, started)
        _manage("migrate", "--no-input", env=env)
        _manage("ensure_demo_admin", env=env)

        port = int(env.get("SWITCHBOARD_DEMO_PORT", "2024"))
        if port_answers("127.0.0.1", port):
            port = free_port()
        graph, demo_url = start_graph_server(
            port, var / "graph-server", var / "log" / "graph-server.log"
        )
        started.append(graph)
        env["SWITCHBOARD_DEMO_URL"] = demo_url
        _manage("register_demo_deployment", demo_url, env=env)

        bin_dir = Path(sys.executable).parent
        http_port = env.get("PORT", "8000")
        logs = var / "log"
        celery = [str(bin_dir / "celery"), "-A", "dashboard"]
        relays = env.get("RELAY_CONCURRENCY", "200")
        # Paths stay whole list items (a checkout path may hold spaces); options are split.
        commands = {
            "daphne": [
                str(bin_dir / "daphne"),
                *f"-b 127.0.0.1 -p {http_port}".split(),
                "dashboard.asgi:application",
            ],
            # Relays wait on the network almost all the time: a thread pool holds hundreds of them.
            "worker-relay": [
                *celery,
                "worker",
                "-Q",
                "relay",
                "-P",
                "threads",
                "-c",
                relays,
                "-n",
                "relay@%h",
            ],
            "worker-default": [*celery, "worker", "-Q", "default", "-c", "2", "-n", "default@%h"],
            "beat": [*celery, "beat", "-s", str(var / "celerybeat-schedule")],
        }

        def spawn(name: str) -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                commands[name],
                cwd=BASE_DIR,
                env=env,
                stdout=(logs / f"{name}.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            started.append(proc)
            return proc

        supervised = {name: spawn(name) for name in commands}
        restarts: dict[str, list[float]] = {name: [] for name in commands}
        _say(f"demo deployment at {demo_url}; logs in {logs}")
        _say(f"console at http://127.0.0.1:{http_port}/  (Ctrl-C stops everything)")
        while True:
            for name, proc in list(supervised.items()):
                if proc.poll() is None:
                    continue
                # Restart a process that died, as systemd would: the run leases and the event log
                # make every step safe to redo. A process that keeps dying stops the console.
                now = time.monotonic()
                restarts[name] = [t for t in restarts[name] if now - t < RESTART_WINDOW] + [now]
                _say(f"{name} exited with {proc.returncode}; see {logs / name}.log")
                if len(restarts[name]) > MAX_RESTARTS:
                    _say(f"{name} died {MAX_RESTARTS} times in {RESTART_WINDOW:g} s: giving up")
                    shutdown()
                started.remove(proc)
                supervised[name] = spawn(name)
                _say(f"{name} restarted")
            time.sleep(1)
    except (StartupError, subprocess.CalledProcessError) as error:
        _say(f"could not start: {error}")
        for proc in reversed(started):
            stop(proc)
        return 1


def database_url() -> str | None:
    """The database of the suite and the benchmarks: DATABASE_URL, else PostgreSQL when it
    answers on localhost (it does on CI), else None for SQLite."""
    if "DATABASE_URL" in os.environ:
        return os.environ["DATABASE_URL"]
    if port_answers("127.0.0.1", 5432):
        return CI_POSTGRES_URL
    return None


def test(pytest_args: list[str]) -> int:
    var = _var_dir()
    env = dict(os.environ)
    started: list[subprocess.Popen[bytes]] = []
    try:
        _ensure_redis(env, var, started)
        database = database_url()
        if database:
            env["DATABASE_URL"] = database
        _say(f"database: {database or 'SQLite under ' + str(var)}; Redis: {env['REDIS_URL']}")
        code = subprocess.run(
            [sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env
        ).returncode
    finally:
        for proc in started:
            stop(proc)
    if code == PYTEST_NO_TESTS_COLLECTED:
        _say("pytest collected no tests: an empty selection is a failure, not a pass")
        return 1
    return code


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the console on its embedded default")
    sub.add_parser("test", help="the whole suite against real services")
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run()
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
