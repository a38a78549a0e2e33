"""B7 for threads: server time of the thread list (searches in ids, metadata and messages
included) and of the home page over 100,000 indexed threads, and of a thread detail with 200
checkpoints. Budget: p95 <= 50 ms, constant query counts.

    python -m bench.threads_bench [--threads 100000] [--samples 200]

Runs against a throwaway database (created and dropped here, on the configured server: set
DATABASE_URL for PostgreSQL) and a real `langgraph dev` serving graphs/ (started here, or reuse one
with SWITCHBOARD_BENCH_GRAPH_URL). "Server time" is the time Django takes to answer the request
in-process (middleware, views, queries, templates, and for the detail page the calls to the
deployment), measured with Django's test client: no browser, no network to the console.

The 200-checkpoint thread: one run of the `flaky` graph (5 checkpoints: input, start, prepare,
process, finish), then 195 `update_thread_state` calls, each of which writes one checkpoint
(source "update") - the cheapest way to a long, real history on the in-memory server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("SWITCHBOARD_REDIS_PREFIX", f"sbbench-{os.getpid()}")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "threads.json"
BUDGET_MS = 50.0
STATUSES = ["idle"] * 6 + ["busy"] + ["interrupted"] * 2 + ["error"]
GRAPHS = ["support_agent", "refund_approval", "parallel_review", "chatty", "flaky"]
OWNERS = [f"user{i:02d}" for i in range(50)]
# What the conversations say: the message search looks for "umbrella", said in about 1 in 100.
ASKS = [
    "My order arrived broken, please refund it.",
    "Where is my parcel? It is two days late.",
    "Can you change the delivery address?",
    "I was charged twice for one order.",
]
RARE_ASK = "I left my umbrella in the shop, can you keep it?"


@contextmanager
def throwaway_database() -> Iterator[None]:
    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = f"bench_threads_{os.getpid()}"
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        test["NAME"] = str(Path(tempfile.gettempdir()) / f"bench_threads_{os.getpid()}.sqlite3")
    names = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(names, verbosity=0)


@contextmanager
def graph_server() -> Iterator[str]:
    if url := os.environ.get("SWITCHBOARD_BENCH_GRAPH_URL"):
        yield url.rstrip("/")
        return
    from dashboard.embedded import graph_server as start

    with (
        tempfile.TemporaryDirectory() as state,
        start(Path(state), Path(state) / "graph-server.log") as url,
    ):
        yield url


def populate(deployment: Any, count: int) -> None:
    from apps.threads.models import SyncState, ThreadIndex
    from apps.threads.services import search_text

    rng = random.Random(7)
    now = timezone.now()
    batch: list[ThreadIndex] = []
    for i in range(count):
        thread_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        graph = rng.choice(GRAPHS)
        metadata = {
            "graph_id": graph,
            "assistant_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, graph)),
            "owner": rng.choice(OWNERS),
            "ticket": f"T-{i}",
        }
        status = rng.choice(STATUSES)
        updated = now - timedelta(seconds=rng.randrange(30 * 86400))
        ask = RARE_ASK if rng.randrange(100) == 0 else rng.choice(ASKS)
        reply = f"ai: I looked at ticket T-{i} and sorted it out. Anything else?"
        batch.append(
            ThreadIndex(
                deployment=deployment,
                thread_id=thread_id,
                status=status,
                graph_id=graph,
                assistant_id=metadata["assistant_id"],
                metadata=metadata,
                created_at=updated - timedelta(seconds=rng.randrange(3600)),
                updated_at=updated,
                interrupt_count=rng.randint(1, 2) if status == "interrupted" else 0,
                error_type="ValueError" if status == "error" else "",
                error_message="failed on purpose" if status == "error" else "",
                search_text=search_text(thread_id, metadata),
                first_message=ask,
                last_message=reply,
                messages_text=f"{ask} {reply[4:]}".lower(),
            )
        )
        if len(batch) == 5000:
            ThreadIndex.objects.bulk_create(batch)
            batch = []
    ThreadIndex.objects.bulk_create(batch)
    SyncState.objects.create(deployment=deployment, graph_ids=GRAPHS, last_ok_at=now)
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: planner statistics and the visibility
        # map that index-only scans rely on.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE threads_threadindex")


def home_page(deployment: Any, user: Any) -> str:
    """The home page's URL, after giving it work: 200 pending items (a quarter claimed by the
    user, a quarter overdue) and 20 live runs."""
    from apps.inbox.models import Interrupt, Kind
    from apps.runs.models import Run
    from apps.workflow.models import Claim, Deadline, TimeoutAction

    now = timezone.now()
    items = Interrupt.objects.bulk_create(
        Interrupt(
            team_id=deployment.team_id,
            deployment=deployment,
            thread_id=str(uuid.uuid4()),
            checkpoint_id=str(uuid.uuid4()),
            interrupt_id=uuid.uuid4().hex,
            kind=Kind.LEGACY,
            graph_id="refund_approval",
            action_names="issue_refund",
            asked_at=now - timedelta(minutes=i),
        )
        for i in range(200)
    )
    later = now + timedelta(hours=1)
    Claim.objects.bulk_create(
        Claim(
            interrupt=item,
            team_id=deployment.team_id,
            claimed_by=user,
            claimed_at=now,
            expires_at=later,
        )
        for item in items[::4]
    )
    Deadline.objects.bulk_create(
        Deadline(
            interrupt=item,
            team_id=deployment.team_id,
            action=TimeoutAction.ESCALATE,
            due_at=now - timedelta(minutes=1),
        )
        for item in items[1::4]
    )
    Run.objects.bulk_create(
        Run(
            team_id=deployment.team_id,
            deployment=deployment,
            thread_id=str(uuid.uuid4()),
            assistant_id="chatty",
            status="streaming",
            started_by=user,
        )
        for _ in range(20)
    )
    return "/"


def long_thread(url: str, checkpoints: int) -> str:
    from switchboard import SyncClient

    with SyncClient(url, timeout=30.0) as client:
        thread_id = str(client.create_thread(metadata={"bench": "threads"})["thread_id"])
        client.wait_run(thread_id, assistant_id="flaky", input={"message": "bench"})
        have = len(client.get_state_history(thread_id, limit=1000))
        for i in range(checkpoints - have):
            client.update_thread_state(thread_id, {"result": f"edit {i}"}, as_node="finish")
        assert len(client.get_state_history(thread_id, limit=1000)) == checkpoints
    return thread_id


def measure(client: Client, url: str, samples: int) -> dict[str, Any]:
    for _ in range(10):  # warm: connections, template and client caches
        assert client.get(url).status_code == 200, url
    # Count with an execute wrapper: the test client's request_started signal resets
    # connection.queries, which would fool CaptureQueriesContext.
    statements: list[str] = []

    def count(execute: Any, sql: str, *rest: Any) -> Any:
        statements.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        client.get(url)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return {
        "url": url,
        "samples": samples,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
        "queries": len(statements),
    }


def run(threads: int, samples: int, checkpoints: int) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from apps.accounts.models import Membership, Role, Team
    from apps.deployments.models import Deployment

    with throwaway_database(), graph_server() as url:
        team = Team.objects.create(name="Bench", slug="bench")
        user = User.objects.create_user("alice", password="password")
        Membership.objects.create(user=user, team=team, role=Role.ADMIN)
        deployment = Deployment.objects.create(team=team, name="bench", url=url)

        started = time.perf_counter()
        populate(deployment, threads)
        populate_s = time.perf_counter() - started
        thread_id = long_thread(url, checkpoints)

        client = Client()
        client.force_login(user)
        first = client.get("/threads/").content.decode()
        cursor = (
            first.split('rel="next"')[0].rsplit('href="?', 1)[1].split('"')[0].replace("&amp;", "&")
        )
        cases: list[tuple[str, str]] = [
            ("list, unfiltered", "/threads/"),
            ("list, page 2 (keyset)", f"/threads/?{cursor}"),
            ("list, status + graph", "/threads/?status=interrupted&graph=support_agent"),
            ("list, metadata owner=user07", "/threads/?meta=owner%3Duser07"),
            (
                "list, updated last 24 h",
                f"/threads/?updated_after={(timezone.now() - timedelta(days=1)).strftime('%Y-%m-%d %H:%M')}",
            ),
            ("list, free text", "/threads/?q=t-4242"),
            ("list, a word said in messages", "/threads/?q=umbrella"),
            ("home, 200 items waiting, 20 live runs", home_page(deployment, user)),
            (f"detail, {checkpoints} checkpoints", f"/threads/{deployment.pk}/{thread_id}/"),
        ]
        rows = []
        for name, path in cases:
            result = measure(client, path, samples)
            result["case"] = name
            result["within_budget"] = result["p95_ms"] <= BUDGET_MS
            rows.append(result)
        return {
            "benchmark": "threads (B7: list and detail server time)",
            "database": connection.vendor,
            "indexed_threads": threads,
            "checkpoints": checkpoints,
            "budget_p95_ms": BUDGET_MS,
            "populate_seconds": round(populate_s, 1),
            "python": sys.version.split()[0],
            "results": rows,
        }


def print_table(report: dict[str, Any]) -> None:
    print(
        f"threads bench: {report['indexed_threads']:,} indexed threads on {report['database']}, "
        f"budget p95 <= {report['budget_p95_ms']} ms"
    )
    print(f"{'case':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}  ok")
    for row in report["results"]:
        print(
            f"{row['case']:<34} {row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['max_ms']:>8.2f} "
            f"{row['queries']:>8}  {'yes' if row['within_budget'] else 'NO'}"
        )


def main(
    argv: list[str] | None = None, *, out: Callable[[dict[str, Any]], None] = print_table
) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--checkpoints", type=int, default=200)
    args = parser.parse_args(argv)
    report = run(args.threads, args.samples, args.checkpoints)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(RESULTS)
    out(report)
    return 0 if all(row["within_budget"] for row in report["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
