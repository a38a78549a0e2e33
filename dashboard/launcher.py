"""``make run``, ``make test`` and the production command.

``python -m dashboard.launcher run`` prepares the embedded default (a private Redis when none
answers, the demo graph server, the demo admin) and supervises the console's processes until
Ctrl-C, then stops every process it started, by pid.
``python -m dashboard.launcher serve`` is the production command: it migrates the database, then
supervises Daphne (on all interfaces, reading the proxy's X-Forwarded-* headers), the relay and
default workers and beat, all logging to its own stdout. ``--processes`` picks some of them (one
per container, see compose.yaml), ``--no-migrate`` skips the migration.
``python -m dashboard.launcher test [pytest args]`` finds or starts the services the suite needs and
runs pytest against them.

Every child is restarted when it dies (as systemd would) and dies with the launcher, even when the
launcher itself is killed with SIGKILL (``dashboard.embedded.tied_to_this_process``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO

from dashboard.embedded import (
    BASE_DIR,
    StartupError,
    free_port,
    port_answers,
    redis_answers,
    start_graph_server,
    start_redis,
    stop,
    tied_to_this_process,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CI_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/switchboard"
PYTEST_NO_TESTS_COLLECTED = 5
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
PROCESSES = ("daphne", "worker-relay", "worker-default", "beat")

Starter = Callable[[], subprocess.Popen[bytes]]


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


class GaveUp(Exception):
    pass


class Supervisor:
    """The launcher's children by name, in start order: each restarted when it dies, all stopped
    in reverse order at the end."""

    def __init__(self, logs: Path | None) -> None:
        self.logs = logs
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.starters: dict[str, Starter] = {}
        self.restarts: dict[str, list[float]] = {}

    def start(self, name: str, starter: Starter) -> subprocess.Popen[bytes]:
        self.starters[name] = starter
        self.restarts.setdefault(name, [])
        self.children[name] = proc = starter()
        return proc

    def _where(self, name: str) -> str:
        return f"; see {self.logs / name}.log" if self.logs else ""

    def check(self) -> None:
        """Restart every child that died; raise GaveUp for one that keeps dying."""
        for name, proc in list(self.children.items()):
            if proc.poll() is None:
                continue
            now = time.monotonic()
            self.restarts[name] = [t for t in self.restarts[name] if now - t < RESTART_WINDOW]
            self.restarts[name].append(now)
            _say(f"{name} exited with {proc.returncode}{self._where(name)}")
            if len(self.restarts[name]) > MAX_RESTARTS:
                raise GaveUp(f"{name} died {MAX_RESTARTS} times in {RESTART_WINDOW:g} s: giving up")
            try:
                # Assigning to an existing key keeps the start order for stop_all.
                self.children[name] = self.starters[name]()
            except StartupError as error:
                _say(f"{name} did not come back: {error}")
                continue
            _say(f"{name} restarted")

    def watch(self) -> None:
        while True:
            self.check()
            time.sleep(1)

    def stop_all(self) -> None:
        for proc in reversed(list(self.children.values())):
            stop(proc)


def _supervise(supervisor: Supervisor, body: Callable[[], None]) -> int:
    """Run ``body`` (which starts children and watches them) until Ctrl-C or SIGTERM; then stop
    every child."""

    def shutdown(signum: int = 0, frame: FrameType | None = None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        body()
    except (StartupError, subprocess.CalledProcessError, GaveUp) as error:
        _say(f"could not go on: {error}")
        return 1
    finally:
        _say("stopping every process it started")
        supervisor.stop_all()
    return 0


def process_commands(
    env: dict[str, str], *, production: bool, beat_schedule: Path
) -> dict[str, list[str]]:
    """The console's processes, as the command lines the README's Deploying section documents."""
    bin_dir = Path(sys.executable).parent
    celery = [str(bin_dir / "celery"), "-A", "dashboard"]
    port = env.get("PORT", "8000")
    if production:
        # All interfaces (a container's, or a host behind its proxy); the client's address and
        # scheme from the proxy's headers; no access log of Daphne's own (the request line of
        # dashboard/logs.py is the structured one).
        daphne = ["-b", env.get("BIND_ADDRESS", "0.0.0.0"), "-p", port, "--proxy-headers", "-v", "0"]  # fmt: skip
    else:
        daphne = ["-b", "127.0.0.1", "-p", port]
    # Paths stay whole list items (a checkout path may hold spaces).
    return {
        "daphne": [str(bin_dir / "daphne"), *daphne, "dashboard.asgi:application"],
        # Relays wait on the network almost all the time: a thread pool holds hundreds of them.
        "worker-relay": [
            *celery, "worker", "-Q", "relay", "-P", "threads",
            "-c", env.get("RELAY_CONCURRENCY", "200"), "-n", "relay@%h",
        ],
        "worker-default": [
            *celery, "worker", "-Q", "default", "-c", env.get("DEFAULT_CONCURRENCY", "2"),
            "-n", "default@%h",
        ],
        "beat": [*celery, "beat", "-s", str(beat_schedule)],
    }  # fmt: skip


def _starter(name: str, command: list[str], env: dict[str, str], log: Path | None) -> Starter:
    def start() -> subprocess.Popen[bytes]:
        out: IO[bytes] | None = log.open("ab") if log else None
        return subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**env, "SWITCHBOARD_PROCESS": name},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            # Its own session: Ctrl-C in the terminal reaches the launcher only, which stops the
            # children in order.
            start_new_session=True,
            preexec_fn=tied_to_this_process(),
        )

    return start


def run() -> int:
    var = _var_dir()
    logs = var / "log"
    env = dict(os.environ)
    supervisor = Supervisor(logs)

    def body() -> None:
        url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
        if not redis_answers(url):
            _say(
                f"no Redis answers at {url}; starting a private redis-server under {var / 'redis'}"
            )
            supervisor.start("redis", lambda: start_redis(url, var, logs / "redis.log", tied=True))
        _manage("migrate", "--no-input", env=env)
        _manage("ensure_demo_admin", env=env)

        port = int(env.get("SWITCHBOARD_DEMO_PORT", "2024"))
        if port_answers("127.0.0.1", port):
            port = free_port()
        state = var / "graph-server"
        demo_url = f"http://127.0.0.1:{port}"
        supervisor.start(
            "graph-server",
            lambda: start_graph_server(port, state, logs / "graph-server.log", tied=True)[0],
        )
        env["SWITCHBOARD_DEMO_URL"] = demo_url
        _manage("register_demo_deployment", demo_url, env=env)

        commands = process_commands(
            env, production=False, beat_schedule=var / "celerybeat-schedule"
        )
        for name, command in commands.items():
            supervisor.start(name, _starter(name, command, env, logs / f"{name}.log"))
        _say(f"demo deployment at {demo_url}; logs in {logs}")
        _say(f"console at http://127.0.0.1:{env.get('PORT', '8000')}/  (Ctrl-C stops everything)")
        supervisor.watch()

    return _supervise(supervisor, body)


def serve(processes: list[str], *, migrate: bool) -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if "SECRET_KEY" not in env:
        _say("serve is the production command: set SECRET_KEY and the rest of .env.example")
        return 2
    var = Path(env.get("SWITCHBOARD_VAR_DIR", BASE_DIR / "var")).resolve()
    commands = process_commands(env, production=True, beat_schedule=var / "celerybeat-schedule")
    supervisor = Supervisor(None)

    def body() -> None:
        if migrate:
            _manage("migrate", "--no-input", env=env)
        if "beat" in processes:
            var.mkdir(parents=True, exist_ok=True)
        for name in processes:
            supervisor.start(name, _starter(name, commands[name], env, None))
        _say(f"serving {', '.join(processes)}")
        supervisor.watch()

    return _supervise(supervisor, body)


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
        url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
        if not redis_answers(url):
            _say(
                f"no Redis answers at {url}; starting a private redis-server under {var / 'redis'}"
            )
            started.append(start_redis(url, var, var / "log" / "redis.log", tied=True))
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


def _process_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(PROCESSES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown process {', '.join(unknown) or '(none)'}: choose from {', '.join(PROCESSES)}"
        )
    return names


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the console on its embedded default")
    serve_parser = sub.add_parser("serve", help="the console in production (SECRET_KEY set)")
    serve_parser.add_argument(
        "--processes",
        type=_process_list,
        default=list(PROCESSES),
        help=f"comma-separated, from {','.join(PROCESSES)} (default: all)",
    )
    serve_parser.add_argument(
        "--no-migrate", dest="migrate", action="store_false", help="do not migrate first"
    )
    sub.add_parser("test", help="the whole suite against real services")
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run()
    if args.command == "serve":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return serve(args.processes, migrate=args.migrate)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
