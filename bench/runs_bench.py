"""Live runs, measured against their floor and their peer in one run on this machine.

    python -m bench.runs_bench [--quick] [--sizes 100,200] [--upstream langgraph|replay|both]
                               [--only B4|CPU]

Starts everything it measures (a graph server serving graphs/, the replay upstream, Daphne, relay
workers, beat) on a database and Redis prefix of its own, and writes bench/results/runs.json
(runs-b4.json with ``--only B4``) plus a table:

- B1 event latency deployment → page (relay → log → channel layer → Daphne → websocket) at 100
  events/s, against (a) the official ``langgraph_sdk`` reading the same run's stream directly
  (events are matched by position; the page's extra delay over the direct reader is what the
  console adds) and (b) the write-then-broadcast floor: a minimal script doing what any console
  that keeps a replayable log must do per event, one PostgreSQL INSERT with the console's commit
  settings, one Redis PUBLISH and one websocket frame to a reader (``floor``).
- CPU per delivered event: N runs from the replay upstream at 20 events/s, one page each, every
  console process's CPU (relay workers, Daphne, beat, PostgreSQL, Redis) over the events the pages
  received, against ``langgraph_sdk`` reading the same replayed streams directly in a process of
  its own (``--sdk-reader``), which is the read a relay has to do anyway.
- B4 concurrent relays: N runs at 20 events/s each (a model streaming tokens), N rising until
  the goal is missed; lag = how far each event arrives behind the graph's fixed emission schedule
  (chatty paces chunk k at t1 + (k-1)/rate), counted from the run's fastest event, so a run whose
  first events were already late is not excused; memory per relay from the relay workers' RSS,
  and each component's share of the two cores. The pages are read by one asyncio thread that acks
  as runs.js does, so the bench's own "browsers" take as little of the machine as they can.
  Upstreams (``--upstream``): ``langgraph`` (the real ``langgraph dev`` running ``chatty``),
  ``replay`` (``bench/replay/server.py`` replaying a recorded ``chatty`` stream on the same
  schedule, cheap on CPU, so the figure measures the console rather than the producer) or both.
- B5 seconds from SIGKILL of the relay worker to events flowing to the page again (default
  lease, heartbeat and reaper settings, a second worker already running, beat running; the
  reaper runs on the relay queue, so the surviving relay worker re-dispatches the run).
- B6 "Run" pressed (HTTP POST of the form) → first event on the page, against
  ``langgraph_sdk`` ``runs.stream`` → its first event.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parent.parent
RESULTS = BASE / "bench" / "results"
PG = "postgres://postgres@127.0.0.1:5432"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(values, 0.5) * 1000, 3),
        "p99_ms": round(pct(values, 0.99) * 1000, 3),
        "n": len(values),
    }


def rss_kb(pid: int) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total


class Stack:
    """The processes under test, on a database and a Redis prefix of their own."""

    def __init__(self, jobs: int, graph: bool = True, replay: bool = False) -> None:
        self.tag = f"bench{os.getpid()}"
        self.tmp = Path(f"/tmp/{self.tag}")
        self.tmp.mkdir(parents=True, exist_ok=True)
        subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {self.tag}"], check=True)
        os.environ.update(
            DATABASE_URL=f"{PG}/{self.tag}",
            SWITCHBOARD_REDIS_PREFIX=self.tag,
            DJANGO_SETTINGS_MODULE="dashboard.settings",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(BASE),
            # Production mode, as the console is deployed: with DEBUG on, Django formats and
            # keeps every SQL statement, which alone costs the relays a tenth of their CPU.
            # Plain HTTP on loopback, so no TLS redirect; the deployment is on loopback too.
            SECRET_KEY=secrets.token_urlsafe(64),
            FIELD_ENCRYPTION_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            ALLOW_LOOPBACK_DEPLOYMENTS="true",
            # Production pages name their static files by the manifest collectstatic writes.
            STATIC_ROOT=str(self.tmp / "static"),
        )
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
            cwd=BASE,
            check=True,
        )
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0", "--skip-checks"], cwd=BASE
        )
        if migrated.returncode:
            subprocess.run(["psql", PG, "-qc", f"DROP DATABASE {self.tag}"], check=False)
            raise SystemExit("migrate failed; see above")
        import django

        django.setup()
        self.procs: list[Any] = []
        self.graph_url = self._graph_server(jobs) if graph else ""
        self.replay_url = self._replay() if replay else ""
        self.daphne_url = self._daphne()
        self.workers = [self.relay_worker(), self.relay_worker()]
        # Beat sends the lease reaper to the relay queue: with the relay workers, that is all a
        # dead relay's replacement needs (B5).
        self.beat = self._spawn(
            "beat",
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "dashboard",
                "beat",
                "-l",
                "INFO",
                "-s",
                str(self.tmp / "beat-schedule"),
            ],
            dict(os.environ),
            self.tmp,
        )
        self.procs.append(self.beat)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Any:
        from tests.fixtures.workers import Process, spawn_process

        if name != "graph":
            return spawn_process(name, command, env, log_dir)
        # The graph server must run in its app directory, not in the repository.
        log_path = log_dir / f"{name}.log"
        popen = subprocess.Popen(
            command,
            cwd=log_dir / "graphs",
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Process(name, popen, log_path)

    def _graph_server(self, jobs: int) -> str:
        from dashboard.embedded import free_port, graph_server_ok

        app = self.tmp / "graphs"
        app.mkdir(exist_ok=True)
        for path in (BASE / "graphs").iterdir():
            if path.is_file() and not (app / path.name).exists():
                (app / path.name).symlink_to(path)
        port = free_port()
        env = {
            **os.environ,
            "LANGSMITH_TRACING": "false",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGSMITH_API_KEY": "",
        }
        proc = self._spawn(
            "graph",
            [
                str(Path(sys.executable).parent / "langgraph"),
                "dev",
                "--no-browser",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--config",
                "langgraph.json",
                "--n-jobs-per-worker",
                str(jobs),
            ],
            env,
            self.tmp,
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not graph_server_ok(url):
            if time.monotonic() > deadline or not proc.alive:
                raise RuntimeError(proc.log()[-2000:])
            time.sleep(0.2)
        return url

    def _replay(self) -> str:
        from dashboard.embedded import free_port, port_answers

        port = free_port()
        proc = self._spawn(
            "replay",
            [sys.executable, "-m", "bench.replay.server", "--port", str(port)],
            dict(os.environ),
            self.tmp,
        )
        self.procs.append(proc)
        while not port_answers("127.0.0.1", port):
            if not proc.alive:
                raise RuntimeError(proc.log()[-2000:])
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}"

    def _daphne(self) -> str:
        from dashboard.embedded import free_port, port_answers

        port = free_port()
        proc = self._spawn(
            "daphne",
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "dashboard.asgi:application",
            ],
            dict(os.environ),
            self.tmp,
        )
        self.procs.append(proc)
        while not port_answers("127.0.0.1", port):
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}"

    def relay_worker(self) -> Any:
        proc = self._spawn(
            "relay",
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "dashboard",
                "worker",
                "-Q",
                "relay",
                "-P",
                "threads",
                "-c",
                "150",
                "-n",
                f"relay-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            dict(os.environ),
            self.tmp,
        )
        self.procs.append(proc)
        while " ready." not in proc.log():
            time.sleep(0.1)
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        from django.db import connections

        connections.close_all()
        subprocess.run(
            ["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {self.tag} WITH (FORCE)"], check=False
        )


def setup_people(stack: Stack) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """The bench's operator, a deployment per upstream started (by name), the page headers."""
    from django.contrib.auth.models import User
    from django.test import Client

    from apps.accounts.models import Membership, Role, Team
    from apps.deployments.models import Deployment

    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench", "b@example.org", "password")
    Membership.objects.create(user=user, team=team, role=Role.OPERATOR)
    deployments = {
        name: Deployment.objects.create(team=team, name=f"bench {name}", url=url)
        for name, url in (("langgraph", stack.graph_url), ("replay", stack.replay_url))
        if url
    }
    client = Client()
    client.force_login(user)
    headers = {
        "Cookie": f"sessionid={client.cookies['sessionid'].value}",
        # The console checks a socket's Origin exactly, scheme and port included, as a page sends it.
        "Origin": stack.daphne_url,
    }
    return user, deployments, headers


def start(user: Any, deployment: Any, chunks: int, rate: float) -> Any:
    from apps.runs.services import do_start_run

    return do_start_run(
        user=user,
        deployment=deployment,
        thread_id=None,
        kind="input",
        input={"chunks": chunks, "rate": rate},
        assistant_id="chatty",
        stream_mode=["messages-tuple"],
    )


def page_times(
    stack: Stack,
    run_id: int,
    headers: dict[str, str],
    out: list[float],
    timeout: float = 300,
    seqs: list[int] | None = None,
) -> None:
    from tests.fixtures.workers import PageReader

    try:
        page = PageReader(stack.daphne_url, run_id, headers)
    except Exception as error:  # the machine is saturated: count the run as incomplete
        print(f"run {run_id}: could not connect: {error}", file=sys.stderr)
        return
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            frame = page.read(deadline - time.monotonic())
            if frame["type"] == "event" and frame["event"] == "messages":
                out.append(time.perf_counter())
                if seqs is not None:
                    seqs.append(frame["seq"])
            if frame["type"] == "event" and frame["event"] == "switchboard/end":
                return
    except Exception as error:
        print(f"run {run_id}: reader stopped: {error}", file=sys.stderr)
    finally:
        page.close()


def follow_pages(
    stack: Stack, run_ids: list[int], headers: dict[str, str], timeout: float = 300
) -> dict[int, list[float]]:
    """Arrival times of every ``messages`` event on each run's page, all pages read by one
    asyncio thread. Acks go out as ``static/js/runs.js`` sends them: 50 ms after the first
    event not yet acknowledged."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from tests.fixtures.frames import parse_frame

    arrivals: dict[int, list[float]] = {run_id: [] for run_id in run_ids}

    async def page(run_id: int) -> None:
        url = stack.daphne_url.replace("http://", "ws://") + f"/ws/runs/{run_id}/?after=0"
        try:
            async with connect(url, additional_headers=headers, open_timeout=30) as socket:
                applied = [0]  # the last seq seen: an ack sends what it is when it fires
                ack: asyncio.Task[None] | None = None
                async for raw in socket:
                    frame = parse_frame(raw)
                    if frame["type"] != "event":
                        continue
                    if frame["event"] == "messages":
                        arrivals[run_id].append(time.perf_counter())
                    if frame["event"] == "switchboard/end":
                        return
                    applied[0] = frame["seq"]
                    if ack is None or ack.done():
                        ack = asyncio.create_task(acknowledge(socket, applied))
        except Exception as error:  # the machine is saturated: the run counts as incomplete
            print(f"run {run_id}: reader stopped: {error!r}", file=sys.stderr)

    async def acknowledge(socket: Any, applied: list[int]) -> None:
        await asyncio.sleep(0.05)
        with contextlib.suppress(ConnectionClosed):  # the run ended meanwhile
            await socket.send(json.dumps({"type": "ack", "seq": applied[0]}))

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(*(page(run_id) for run_id in run_ids)), timeout)

    try:
        asyncio.run(main())
    except TimeoutError:
        print(f"B4: pages still reading after {timeout:.0f} s", file=sys.stderr)
    return arrivals


class CpuShares:
    """Each component's share of the machine (percent of one core) between start and stop."""

    def __init__(self, stack: Stack) -> None:
        self.groups: dict[str, list[int]] = {
            "graph server": [p.pid for p in stack.procs if p.name == "graph"],
            "replay upstream": [p.pid for p in stack.procs if p.name == "replay"],
            "relay workers": [w.pid for w in stack.workers],
            "daphne": [p.pid for p in stack.procs if p.name == "daphne"],
            "beat": [stack.beat.pid],
        }
        self.start = self._sample()
        self.started = time.monotonic()

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _children(pid: int) -> list[int]:
        found = [pid]
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            for child in children:
                found += CpuShares._children(int(child))
        return found

    @staticmethod
    def _named(name: str) -> list[int]:
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def _sample(self) -> dict[str, dict[int, float]]:
        pids = {
            name: [c for p in roots for c in self._children(p)]
            for name, roots in self.groups.items()
        }
        pids["postgresql"] = self._named("postgres")
        pids["redis"] = self._named("redis-server")
        pids["bench readers"] = [os.getpid()]
        return {name: {pid: self._cpu(pid) for pid in group} for name, group in pids.items()}

    def stop(self) -> dict[str, float]:
        """Percent of one core per component; ``self.seconds`` keeps the CPU seconds."""
        end, elapsed = self._sample(), time.monotonic() - self.started
        self.seconds = {
            name: sum(cpu - self.start[name].get(pid, 0.0) for pid, cpu in end[name].items())
            for name in end
        }
        return {name: round(100 * used / elapsed, 1) for name, used in self.seconds.items()}


def redis_hop(samples: int) -> list[float]:
    import redis

    r = redis.Redis()
    channel = f"hop-{uuid.uuid4().hex}"
    sub = r.pubsub()  # type: ignore[no-untyped-call]
    sub.subscribe(channel)
    sub.get_message(timeout=1)
    hops = []
    for _ in range(samples):
        t = time.perf_counter()
        r.publish(channel, b"x")
        while sub.get_message(timeout=1) is None:
            pass
        hops.append(time.perf_counter() - t)
    return hops


def floor(samples: int) -> list[float]:
    """The least any console that logs before it broadcasts pays per event, timed from the start
    of the INSERT to the frame read: one transaction inserting one row into a copy of the event
    table (its indexes included) with ``synchronous_commit`` off, as the relays commit, one Redis
    PUBLISH, and a minimal asyncio websocket server, subscribed to that channel, sending the
    message as one frame to a reader."""
    import psycopg
    import redis
    import redis.asyncio
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.sync.client import connect

    channel = f"floor-{uuid.uuid4().hex}"
    subscribed = threading.Event()
    listening: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def forward(socket: ServerConnection) -> None:
        subscriber = redis.asyncio.Redis().pubsub()
        await subscriber.subscribe(channel)
        subscribed.set()
        async for message in subscriber.listen():
            if message["type"] == "message":
                await socket.send(message["data"].decode())

    async def server() -> None:
        done = asyncio.Event()
        async with serve(forward, "127.0.0.1", 0) as running:
            port = running.sockets[0].getsockname()[1]
            listening.append((port, asyncio.get_running_loop(), done))
            await done.wait()

    thread = threading.Thread(target=asyncio.run, args=(server(),), daemon=True)
    thread.start()
    while not listening:
        time.sleep(0.01)
    port, loop, done = listening[0]
    publisher = redis.Redis()
    payload = json.dumps({"type": "event", "event": "messages", "data": ["x" * 40, {}]})
    times = []
    with (
        psycopg.connect(os.environ["DATABASE_URL"]) as db,
        connect(f"ws://127.0.0.1:{port}") as reader,
    ):
        db.execute("CREATE TEMP TABLE floor_event (LIKE runs_runevent INCLUDING ALL)")
        db.commit()
        subscribed.wait(10)
        for seq in range(1, samples + 1):
            t = time.perf_counter()
            db.execute("SET LOCAL synchronous_commit TO OFF")
            db.execute(
                "INSERT INTO floor_event (run_id, seq, event, data, upstream_id, created_at)"
                " VALUES (1, %s, 'messages', %s::jsonb, '', now())",
                (seq, payload),
            )
            db.commit()
            publisher.publish(channel, payload)
            reader.recv()
            times.append(time.perf_counter() - t)
    loop.call_soon_threadsafe(done.set)
    thread.join(5)
    return times


def b1(
    stack: Stack, user: Any, deployment: Any, headers: dict[str, str], chunks: int
) -> dict[str, Any]:
    from langgraph_sdk import get_sync_client

    from apps.runs.models import Run

    run = start(user, deployment, chunks, 100)
    page: list[float] = []
    reader = threading.Thread(target=page_times, args=(stack, run.pk, headers, page))
    reader.start()
    while not Run.objects.get(pk=run.pk).upstream_run_id:
        time.sleep(0.002)
    run.refresh_from_db()
    direct: list[float] = []
    sdk = get_sync_client(url=stack.graph_url, api_key=None)
    for part in sdk.runs.join_stream(
        run.thread_id, run.upstream_run_id, stream_mode="messages-tuple", last_event_id="0-0"
    ):
        if part.event == "messages":
            direct.append(time.perf_counter())
    reader.join()
    # The direct reader joined late and got a replay burst first: compare from 20 % in.
    n = min(len(page), len(direct))
    start_at = n // 5
    delta = [page[k] - direct[k] for k in range(start_at, n)]
    return {
        "page_minus_direct": ms(delta),
        "events": n,
        "page_events": len(page),
        "direct_events": len(direct),
    }


def b4(
    stack: Stack,
    user: Any,
    deployment: Any,
    headers: dict[str, str],
    count: int,
    chunks: int,
    rate: float,
) -> dict[str, Any]:
    idle = sum(rss_kb(w.pid) for w in stack.workers)
    runs = [start(user, deployment, chunks, rate) for _ in range(count)]
    shares = CpuShares(stack)
    peak = idle
    result: dict[int, list[float]] = {}
    reader = threading.Thread(
        target=lambda: result.update(follow_pages(stack, [run.pk for run in runs], headers))
    )
    reader.start()
    while reader.is_alive():
        peak = max(peak, sum(rss_kb(w.pid) for w in stack.workers))
        time.sleep(0.5)
    cpu = shares.stop()
    lags = []
    for arrivals in result.values():
        if arrivals:
            behind = [t - k / rate for k, t in enumerate(arrivals)]
            fastest = min(behind)
            lags += [late - fastest for late in behind]
    complete = sum(1 for arrivals in result.values() if len(arrivals) == chunks)
    return {
        "upstream": "replay" if deployment.url == stack.replay_url else "langgraph",
        "runs": count,
        "complete_runs": complete,
        "lag": ms(lags),
        "memory_per_relay_kb": round((peak - idle) / max(count, 1)),
        "cpu_percent": cpu,
    }


# The console's processes, as CpuShares names them; the upstream and the bench's own pages are not.
CONSOLE = ("relay workers", "daphne", "beat", "postgresql", "redis")


def cpu_per_event(
    stack: Stack, user: Any, deployment: Any, headers: dict[str, str], count: int, chunks: int
) -> dict[str, Any]:
    """CPU seconds per event delivered to a page, summed over the console's processes, against
    ``langgraph_sdk`` reading as many runs of the same replayed streams in a process of its own."""
    shares = CpuShares(stack)
    runs = [start(user, deployment, chunks, 20) for _ in range(count)]
    arrivals = follow_pages(stack, [run.pk for run in runs], headers)
    shares.stop()
    delivered = sum(len(times) for times in arrivals.values())
    ours = {name: shares.seconds[name] for name in CONSOLE}
    peer = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.runs_bench",
            "--sdk-reader",
            f"{stack.replay_url},{count},{chunks}",
        ],
        cwd=BASE,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(peer.stdout.strip().splitlines()[-1])
    per_event = {name: round(1000 * used / max(delivered, 1), 3) for name, used in ours.items()}
    console_ms = round(1000 * sum(ours.values()) / max(delivered, 1), 3)
    sdk_ms = round(1000 * theirs["cpu_seconds"] / max(theirs["events"], 1), 3)
    return {
        "runs": count,
        "events_delivered": delivered,
        "events_expected": count * chunks,
        "console_ms_per_event": console_ms,
        "console_ms_per_event_by_process": per_event,
        "langgraph_sdk_ms_per_event": sdk_ms,
        "langgraph_sdk_events": theirs["events"],
        "ratio": round(console_ms / sdk_ms, 2) if sdk_ms else None,
    }


def sdk_reader(url: str, count: int, chunks: int) -> dict[str, Any]:
    """``langgraph_sdk``'s async client reading ``count`` runs of the replay upstream at once,
    as a relay reads them: the CPU this process used for it, and the message events it read."""
    from langgraph_sdk import get_client

    async def read(client: Any) -> int:
        thread = await client.threads.create()
        seen = 0
        async for part in client.runs.stream(
            thread["thread_id"],
            "chatty",
            input={"chunks": chunks, "rate": 20},
            stream_mode="messages-tuple",
        ):
            seen += part.event == "messages"
        return seen

    async def main() -> int:
        client = get_client(url=url, api_key=None)
        return sum(await asyncio.gather(*(read(client) for _ in range(count))))

    before = resource.getrusage(resource.RUSAGE_SELF)
    events = asyncio.run(main())
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_seconds": used, "events": events}


def b5(stack: Stack, user: Any, deployment: Any, headers: dict[str, str]) -> dict[str, Any]:
    from apps.runs.models import Run
    from apps.runs.services import do_cancel_run

    run = start(user, deployment, 3000, 50)
    arrivals: list[float] = []
    seqs: list[int] = []
    reader = threading.Thread(
        target=page_times, args=(stack, run.pk, headers, arrivals), kwargs={"seqs": seqs}
    )
    reader.start()
    # Let the page catch up first: the kill must interrupt a live stream, not a backlog.
    settle = time.monotonic() + 120
    while len(seqs) < 100 or Run.objects.get(pk=run.pk).last_seq - seqs[-1] > 5:
        if time.monotonic() > settle or not reader.is_alive():
            raise RuntimeError("B5: the page never caught up with the run")
        time.sleep(0.05)
    # The lease owner names the relay's host:pid: SIGKILL exactly that worker.
    pid = int(Run.objects.get(pk=run.pk).lease_owner.split(":")[1])
    victim = next(worker for worker in stack.workers if worker.pid == pid)
    claims = Run.objects.get(pk=run.pk).claims
    killed = time.perf_counter()
    victim.kill()
    stack.workers.remove(victim)
    # What the dead relay stored is all it will ever store: "live again" is the page receiving
    # an event stored after that, by the relay that took over.
    stored_by_victim = Run.objects.get(pk=run.pk).last_seq
    resumed = reclaimed = None
    while time.perf_counter() - killed < 120 and resumed is None:
        if reclaimed is None and Run.objects.get(pk=run.pk).claims > claims:
            reclaimed = time.perf_counter()
        resumed = next(
            (t for t, seq in zip(arrivals, seqs, strict=False) if seq > stored_by_victim), None
        )
        time.sleep(0.05)
    stack.workers.append(stack.relay_worker())
    do_cancel_run(user=user, run=Run.objects.get(pk=run.pk), action="interrupt")
    reader.join(60)
    from django.conf import settings

    return {
        "seconds_to_live_again": round(resumed - killed, 2) if resumed else None,
        "seconds_to_reclaimed": round(reclaimed - killed, 2) if reclaimed else None,
        "lease_seconds": settings.RUNS_LEASE_SECONDS,
        "reaper_interval_seconds": settings.CELERY_BEAT_SCHEDULE["runs-reap-expired-leases"][
            "schedule"
        ],
    }


def b6(stack: Stack, headers: dict[str, str], deployment: Any, repeats: int) -> dict[str, Any]:
    import httpx
    from langgraph_sdk import get_sync_client

    from tests.fixtures.workers import PageReader

    ours = []
    session = headers["Cookie"].split("=", 1)[1]
    with httpx.Client(base_url=stack.daphne_url) as http:
        # Production cookies are Secure, which an HTTP client keeps back: send them by hand.
        http.get("/runs/new/", headers={"Cookie": f"sessionid={session}"})
        token = http.cookies.get("csrftoken") or ""
        http.cookies.clear()
        cookies = f"sessionid={session}; csrftoken={token}"
        for _ in range(repeats):
            t = time.perf_counter()
            response = http.post(
                "/runs/new/",
                data={
                    "deployment": deployment.pk,
                    "assistant_id": "chatty",
                    "input": '{"chunks": 5, "rate": 0}',
                    "stream_mode": "messages-tuple",
                    "multitask_strategy": "reject",
                    "csrfmiddlewaretoken": token,
                },
                headers={
                    "X-CSRFToken": token,
                    "Referer": stack.daphne_url + "/runs/new/",
                    "Cookie": cookies,
                },
            )
            if response.status_code != 302:
                raise RuntimeError(f"the form answered {response.status_code}")
            run_id = int(response.headers["location"].rstrip("/").split("/")[-1])
            page = PageReader(
                stack.daphne_url,
                run_id,
                {**headers, "Cookie": f"{headers['Cookie']}; csrftoken={token}"},
            )
            while True:
                frame = page.read()
                if frame["type"] == "event":
                    ours.append(time.perf_counter() - t)
                    break
            page.close()
    theirs = []
    sdk = get_sync_client(url=stack.graph_url, api_key=None)
    for _ in range(repeats):
        thread = sdk.threads.create()
        t = time.perf_counter()
        for _part in sdk.runs.stream(
            thread["thread_id"],
            "chatty",
            input={"chunks": 5, "rate": 0},
            stream_mode="messages-tuple",
        ):
            theirs.append(time.perf_counter() - t)
            break
    return {"ours": ms(ours), "langgraph_sdk": ms(theirs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", help="B4 run counts, comma-separated (e.g. 100,200)")
    parser.add_argument(
        "--upstream",
        choices=["langgraph", "replay", "both"],
        default="both",
        help="what B4's runs stream from (B1, B5 and B6 always use langgraph dev)",
    )
    parser.add_argument("--only", choices=["B4", "CPU"], help="run only this benchmark")
    parser.add_argument("--sdk-reader", help=argparse.SUPPRESS)  # the CPU bench's peer process
    args = parser.parse_args()
    if args.sdk_reader:
        url, count, chunks = args.sdk_reader.split(",")
        print(json.dumps(sdk_reader(url, int(count), int(chunks))))
        return 0
    quick = args.quick
    sizes = [5, 10] if quick else [10, 25, 50, 100, 200]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    upstreams = ["langgraph", "replay"] if args.upstream == "both" else [args.upstream]
    if args.only == "CPU":
        upstreams = []
    graph = args.only is None or "langgraph" in upstreams
    # The graph server runs a job per concurrent run only when B4 streams from it.
    jobs = max(sizes) + 10 if "langgraph" in upstreams else 20
    stack = Stack(jobs=jobs, graph=graph, replay=args.only == "CPU" or "replay" in upstreams)
    results: dict[str, Any] = {"quick": quick, "machine_cpus": os.cpu_count(), "only": args.only}
    try:
        user, deployments, headers = setup_people(stack)
        if args.only is None:
            deployment = deployments["langgraph"]
            hop = redis_hop(500 if quick else 2000)
            results["hop"] = ms(hop)
            results["floor"] = ms(floor(300 if quick else 2000))
            results["B1"] = b1(stack, user, deployment, headers, 300 if quick else 1000)
            print(json.dumps(results), flush=True)
            results["B6"] = b6(stack, headers, deployment, 5 if quick else 15)
        if args.only in (None, "CPU") and stack.replay_url:
            results["CPU"] = cpu_per_event(
                stack,
                user,
                deployments["replay"],
                headers,
                5 if quick else 20,
                60 if quick else 200,
            )
            print(json.dumps(results["CPU"]), flush=True)
        results["B4"] = []
        for upstream in upstreams:
            for n in sizes:  # rising until the goal is missed: larger counts only miss it further
                chunks = 60 if quick else 200
                found = b4(stack, user, deployments[upstream], headers, n, chunks, 20)
                results["B4"].append(found)
                print(json.dumps(found), flush=True)
                if found["lag"]["p99_ms"] > 50 and not args.sizes:
                    break
        if args.only is None:
            results["B5"] = b5(stack, user, deployments["langgraph"], headers)
    finally:
        stack.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "runs.json" if args.only is None else f"runs-{args.only.lower()}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))
    _table(results)
    return 0


def _table(r: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str]] = []
    if r.get("B1"):
        rows += _b1_b6_rows(r)
    if r.get("CPU"):
        cpu = r["CPU"]
        rows.append(
            (
                f"CPU per delivered event, {cpu['runs']} runs",
                f"console {cpu['console_ms_per_event']} ms, "
                f"langgraph_sdk {cpu['langgraph_sdk_ms_per_event']} ms",
                f"{cpu['ratio']}x (goal <= 2x)",
            )
        )
    for b4r in r["B4"]:
        rows.append(
            (
                f"B4 {b4r['runs']} concurrent relays ({b4r.get('upstream', 'langgraph')})",
                f"lag p99 {b4r['lag']['p99_ms']} ms, {b4r['complete_runs']} complete, "
                f"{b4r['memory_per_relay_kb']} kB/relay",
                "p99 ≤ 50 ms: " + ("yes" if b4r["lag"]["p99_ms"] <= 50 else "no"),
            )
        )
    if r.get("B5"):
        rows.append(
            (
                "B5 SIGKILL relay → live again",
                f"{r['B5']['seconds_to_live_again']} s",
                "goal ≤ 20 s",
            )
        )
    width = max(len(row[0]) for row in rows)
    for name, value, verdict in rows:
        print(f"{name:<{width}}  {value:<48}  {verdict}")


def _b1_b6_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    hop, low, b1r, b6r = r["hop"], r["floor"], r["B1"], r["B6"]
    extra = b1r["page_minus_direct"]
    return [
        ("hop: redis-py PUBLISH→SUBSCRIBE", f"p50 {hop['p50_ms']} ms  p99 {hop['p99_ms']} ms", ""),
        ("floor: INSERT, PUBLISH, ws frame", f"p50 {low['p50_ms']} ms  p99 {low['p99_ms']} ms", ""),
        (
            "B1 page - direct langgraph_sdk",
            f"p50 {extra['p50_ms']} ms  p99 {extra['p99_ms']} ms",
            f"p50 <= 2x floor ({2 * low['p50_ms']:.2f} ms): "
            f"{'yes' if extra['p50_ms'] <= 2 * low['p50_ms'] else 'no'}; p99 ≤ +5 ms: "
            f"{'yes' if extra['p99_ms'] <= 5 else 'no'}",
        ),
        ("B6 Run → first event (ours)", f"p50 {b6r['ours']['p50_ms']} ms", ""),
        (
            "B6 runs.stream first event (sdk)",
            f"p50 {b6r['langgraph_sdk']['p50_ms']} ms",
            f"+{b6r['ours']['p50_ms'] - b6r['langgraph_sdk']['p50_ms']:.1f} ms (goal ≤ +30)",
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
