"""The operator's day, page by page: server time of every page and form post of the journeys
(#15) with 100,000 threads indexed, and a check that none of them scans a big table whole.

    python -m bench.journey_bench [--threads 100000] [--samples 30]

Seeds a throwaway database as ``bench.threads_bench`` does (100,000 indexed threads, 200 pending
items with claims and overdue deadlines, 20 live runs) and pauses real threads of
``refund_approval`` on a real `langgraph dev` serving graphs/ (started here, or reuse one with
SWITCHBOARD_BENCH_GRAPH_URL), one per decision to post. "Server time" is the time Django takes to
answer in-process, measured with Django's test client (no browser, no network to the console);
for the pages and posts that call the deployment (decide, start a run, the start form, the
thread page) it includes those calls to the real graph server. The Celery tasks the posts enqueue
(relaying a run, a bulk job) are queued, not run: their work is not the page's.

Every SELECT a page runs is EXPLAINed (PostgreSQL); a sequential scan of a table holding more
than ``BIG_TABLE_ROWS`` rows is reported and fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("SWITCHBOARD_REDIS_PREFIX", f"sbbench-{os.getpid()}")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from apps.accounts.models import Membership, Role, Team  # noqa: E402
from apps.deployments.models import Deployment  # noqa: E402
from apps.inbox.models import Interrupt, Status  # noqa: E402
from apps.inbox.records import sync_thread_interrupts  # noqa: E402
from apps.runs.models import Run  # noqa: E402
from bench.threads_bench import graph_server, home_page, populate, throwaway_database  # noqa: E402
from switchboard import SyncClient  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "journey.json"
BUDGET_MS = 50.0
BIG_TABLE_ROWS = 10_000
WARM = 3
REFUND = {
    "customer": "ACME",
    "order_id": "A-1001",
    "amount": 42.5,
    "messages": [{"role": "user", "content": "Order A-1001 arrived broken. Please refund it."}],
}


class DecisionForm(HTMLParser):
    """The fields of the decision page's form, with "accept" (or "approve") chosen wherever a
    decision is asked: what an operator who accepts as is would post."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self.choices: dict[str, set[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "decision-form":
            self.inside = True
        if not self.inside or tag != "input" or not a.get("name"):
            return
        kind = a.get("type", "text")
        if kind == "radio":
            self.choices.setdefault(a["name"], set()).add(a.get("value", ""))
        elif kind not in ("checkbox", "submit", "button"):
            self.fields.setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False

    def accepting(self) -> dict[str, list[str]]:
        data = dict(self.fields)
        for name, values in self.choices.items():
            chosen = next((v for v in ("accept", "approve") if v in values), sorted(values)[0])
            data[name] = [chosen]
        data["step"] = ["review"]
        return data


def pause_refunds(url: str, deployment: Deployment, count: int) -> list[Interrupt]:
    """``count`` refund threads stopped at their interrupt on the graph server, and synced."""
    items = []
    with SyncClient(url, timeout=60.0) as client:
        for _ in range(count):
            thread_id = str(client.create_thread(metadata={"bench": "journey"})["thread_id"])
            client.wait_run(
                thread_id, input=REFUND, assistant_id="refund_approval", raise_error=False
            )
            items.extend(sync_thread_interrupts(deployment, thread_id).pending)
    return items


class Statements:
    """Every SELECT (with its parameters) that ran inside ``record``."""

    def __init__(self) -> None:
        self.selects: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            self.selects.append((sql, params))
        return execute(sql, params, many, context)


def big_tables() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s",
            [BIG_TABLE_ROWS],
        )
        return {row[0] for row in cursor.fetchall()}


def seq_scans(statements: Statements, big: set[str]) -> list[str]:
    """The big tables some statement reads with a sequential scan."""
    if connection.vendor != "postgresql" or not big:
        return []
    found: set[str] = set()
    with connection.cursor() as cursor:
        for sql, params in statements.selects:
            cursor.execute(f"EXPLAIN {sql}", params)
            for (line,) in cursor.fetchall():
                if "Seq Scan on " in line:
                    table = line.split("Seq Scan on ", 1)[1].split()[0]
                    if table in big:
                        found.add(table)
    return sorted(found)


def measure(
    name: str,
    url: str,
    call: Callable[[int], Any],
    samples: int,
    ok: tuple[int, ...],
    big: set[str],
) -> dict[str, Any]:
    """``call(i)`` for i in 0..WARM+samples-1; the first WARM warm caches and connections, the
    next one's statements are EXPLAINed too."""
    for i in range(WARM):
        assert call(i).status_code in ok, (name, i)
    statements = Statements()
    times = []
    for i in range(WARM, WARM + samples):
        start = time.perf_counter()
        if i == WARM:
            with connection.execute_wrapper(statements):
                response = call(i)
        else:
            response = call(i)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in ok, (name, i, response.status_code)
    times.sort()
    return {
        "case": name,
        "url": url,
        "samples": samples,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
        "queries": len(statements.selects),
        "seq_scans": seq_scans(statements, big),
    }


def cycle(values: list[Any]) -> Callable[[int], Any]:
    return lambda i: values[i % len(values)]


def journeys(
    client: Client, deployment: Deployment, user: User, url: str, samples: int
) -> Iterator[tuple[str, str, Callable[[int], Any], tuple[int, ...]]]:
    """(case, url label, call, accepted status codes), in the order of the day."""
    n = WARM + samples
    home_page(deployment, user)
    yield "home", "/", lambda i: client.get("/"), (200,)
    yield "inbox list", "/inbox/", lambda i: client.get("/inbox/"), (200,)

    paused = pause_refunds(url, deployment, n)
    pages = [f"/inbox/{deployment.pk}/{item.thread_id}/" for item in paused]
    yield "decision page", "/inbox/<d>/<thread>/", lambda i: client.get(pages[i]), (200,)

    forms = []
    for page in pages:
        parser = DecisionForm()
        parser.feed(client.get(page).content.decode())
        forms.append(parser.accepting())
    yield (
        "decide POST (accept; resumes on the graph server)",
        "POST /inbox/<d>/<thread>/",
        lambda i: client.post(pages[i], forms[i]),
        (302,),
    )

    synthetic = list(
        Interrupt.objects.filter(deployment=deployment, status=Status.PENDING)
        .exclude(thread_id__in=[p.thread_id for p in paused])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    claimable = cycle(synthetic)
    yield (
        "claim POST (from the list)",
        "POST /workflow/items/<pk>/claim/",
        lambda i: client.post(
            f"/workflow/items/{claimable(i)}/claim/",
            headers={"HX-Request": "true", "HX-Target": f"claim-cell-{claimable(i)}"},
        ),
        (200,),
    )
    three = [str(pk) for pk in synthetic[:3]]
    yield "bulk page", "/workflow/bulk/", lambda i: client.get("/workflow/bulk/"), (200,)
    yield (
        "bulk page, three picked",
        "/workflow/bulk/?item=...",
        lambda i: client.get("/workflow/bulk/", {"item": three}),
        (200,),
    )
    batches = [[str(pk) for pk in synthetic[3 * k + 3 : 3 * k + 6]] for k in range(n)]
    yield (
        "bulk decide POST (three items; the job is queued)",
        "POST /workflow/bulk/",
        lambda i: client.post(
            "/workflow/bulk/",
            {"pick": "1", "item": batches[i], "decision": "approve", "confirm_total": "3"},
        ),
        (302,),
    )
    yield "start-run form", "/runs/new/", lambda i: client.get("/runs/new/"), (200,)
    yield (
        "start form, graph chosen (htmx partial)",
        "/runs/new/ (htmx, graph chosen)",
        lambda i: client.get(
            "/runs/new/",
            {"deployment": str(deployment.pk), "assistant_id": "refund_approval"},
            headers={"HX-Request": "true", "HX-Target": "run-choices"},
        ),
        (200,),
    )
    start = {
        "deployment": deployment.pk,
        "assistant_id": "chatty",
        "input": json.dumps({"chunks": 3, "rate": 0}),
        "stream_mode": ["values", "messages-tuple"],
        "multitask_strategy": "reject",
    }
    yield (
        "start POST (the relay is queued)",
        "POST /runs/new/",
        lambda i: client.post("/runs/new/", start),
        (302,),
    )
    run = Run.objects.filter(deployment=deployment, assistant_id="chatty").latest("pk")
    yield "run page", "/runs/<id>/", lambda i: client.get(f"/runs/{run.pk}/"), (200,)
    thread = f"/threads/{deployment.pk}/{paused[0].thread_id}/"
    yield "thread page", "/threads/<d>/<thread>/", lambda i: client.get(thread), (200,)
    yield "thread list", "/threads/", lambda i: client.get("/threads/"), (200,)
    yield "metrics", "/workflow/metrics/", lambda i: client.get("/workflow/metrics/"), (200,)


def run(threads: int, samples: int) -> dict[str, Any]:
    with throwaway_database(), graph_server() as url:
        team = Team.objects.create(name="Bench", slug="bench")
        user = User.objects.create_user("alice", password="password")
        Membership.objects.create(user=user, team=team, role=Role.ADMIN)
        deployment = Deployment.objects.create(team=team, name="bench", url=url)
        started = time.perf_counter()
        populate(deployment, threads)
        populate_s = time.perf_counter() - started
        big = big_tables()

        client = Client()
        client.force_login(user)
        rows = []
        for name, label, call, ok in journeys(client, deployment, user, url, samples):
            row = measure(name, label, call, samples, ok, big)
            row["within_budget"] = row["p95_ms"] <= BUDGET_MS
            rows.append(row)
            print(f"journey bench: {name}: p95 {row['p95_ms']} ms", flush=True)
        return {
            "benchmark": "journey (#15: each journey page's server time, 100,000 threads)",
            "database": connection.vendor,
            "indexed_threads": threads,
            "big_tables": sorted(big),
            "budget_p95_ms": BUDGET_MS,
            "populate_seconds": round(populate_s, 1),
            "python": sys.version.split()[0],
            # Server time on a shared machine is only as quiet as the machine: the load with it.
            "load_average_1m": round(os.getloadavg()[0], 1),
            "cpus": os.cpu_count(),
            "results": rows,
        }


def print_table(report: dict[str, Any]) -> None:
    print(
        f"journey bench: {report['indexed_threads']:,} indexed threads on {report['database']}; "
        f"EXPLAINed for sequential scans of: {', '.join(report['big_tables']) or 'none'}; "
        f"load average {report['load_average_1m']} on {report['cpus']} CPUs"
    )
    print(f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}  seq scans")
    for row in report["results"]:
        print(
            f"{row['case']:<52} {row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['queries']:>8}"
            f"  {', '.join(row['seq_scans']) or '-'}"
        )


def main(
    argv: list[str] | None = None, *, out: Callable[[dict[str, Any]], None] = print_table
) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10,000 threads, 10 samples")
    args = parser.parse_args(argv)
    if args.quick:
        args.threads, args.samples = 10_000, 10
    report = run(args.threads, args.samples)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(RESULTS)
    out(report)
    return 0 if not any(row["seq_scans"] for row in report["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
