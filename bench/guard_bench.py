"""What the outbound guard costs, against the same client without it, in one run on this machine.

    python -m bench.guard_bench [--quick] [--url http://127.0.0.1:2024]

Writes bench/results/guard.json and prints a table:

- S1 pooled round trips: ``SyncClient.search_threads(limit=1)`` against a real ``langgraph dev``
  (started here unless ``--url``), through the console's guarded transport and through the SDK's
  own pool, calls interleaved, median per call. The guard works when a connection is opened, so
  on a kept-alive connection it should cost next to nothing. Goal: ≤ 1.05x.
- S2 a new connection per request (the webhook sender's case): ``httpx.Client`` POSTs to
  ``http://localhost:<port>/threads/search`` with keep-alive off, through ``sync_transport()`` and
  through httpx's own transport; both resolve ``localhost`` with the system resolver, so the
  difference is the guard's check and its connecting to the checked address. Goal: ≤ 1.2x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import django
import httpx
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


def _median_ms(
    calls: dict[str, Callable[[], Any]], rounds: int, per_round: int
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):  # interleaved: the machine is shared
        for name, call in calls.items():
            for _ in range(per_round):
                start = time.perf_counter()
                call()
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: round(statistics.median(values), 3) for name, values in samples.items()}


# The console's modules are imported after django.setup() (in main), hence inside the functions.
def pooled(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    from apps.deployments.guard import GuardedAsyncTransport
    from switchboard import SyncClient

    with (
        SyncClient(url, transport=GuardedAsyncTransport()) as guarded,
        SyncClient(url) as plain,
    ):
        ms = _median_ms(
            {
                "guarded": lambda: guarded.search_threads(limit=1),
                "plain": lambda: plain.search_threads(limit=1),
            },
            rounds,
            per_round,
        )
    return {**ms, "ratio": round(ms["guarded"] / ms["plain"], 3)}


def fresh_connections(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    from apps.deployments.guard import sync_transport

    by_name = url.replace("127.0.0.1", "localhost") + "/threads/search"
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with (
        httpx.Client(transport=sync_transport(limits=no_keepalive)) as guarded,
        httpx.Client(transport=httpx.HTTPTransport(limits=no_keepalive)) as plain,
    ):
        ms = _median_ms(
            {
                "guarded": lambda: guarded.post(by_name, json={"limit": 1}).raise_for_status(),
                "plain": lambda: plain.post(by_name, json={"limit": 1}).raise_for_status(),
            },
            rounds,
            per_round,
        )
    return {**ms, "ratio": round(ms["guarded"] / ms["plain"], 3)}


def _goal(id: str, what: str, row: dict[str, Any], limit: float) -> dict[str, Any]:
    return {
        "id": id,
        "what": what,
        "ours": f"{row['guarded']} ms",
        "peer": f"{row['plain']} ms",
        "measure": f"{row['ratio']}x",
        "goal": f"≤ {limit}x",
        "met": row["ratio"] <= limit,
        "note": "median per call, interleaved",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (CI)")
    parser.add_argument("--url", help="use this LangGraph server instead of starting one")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    # The embedded default's policy: the graph server here is on loopback.
    os.environ.setdefault("ALLOW_LOOPBACK_DEPLOYMENTS", "true")
    django.setup()
    rounds, per_round = (5, 20) if args.quick else (20, 50)
    results: dict[str, Any] = {"quick": args.quick, "machine_cpus": os.cpu_count()}
    with ExitStack() as stack:
        url = args.url
        if url is None:
            from dashboard.embedded import graph_server

            state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(graph_server(state, state / "graph-server.log"))
        results["pooled"] = pooled(url, rounds, per_round)
        results["fresh_connections"] = fresh_connections(url, rounds, per_round)
    results["goals"] = [
        _goal("S1", "outbound guard: pooled SDK round trip", results["pooled"], 1.05),
        _goal(
            "S2", "outbound guard: new connection per request", results["fresh_connections"], 1.2
        ),
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "guard.json").write_text(json.dumps(results, indent=2) + "\n")
    table = Table("case", "guarded (ms)", "plain (ms)", "ratio")
    for case in ("pooled", "fresh_connections"):
        row = results[case]
        table.add_row(case, str(row["guarded"]), str(row["plain"]), f"{row['ratio']}x")
    Console().print(table)


if __name__ == "__main__":
    main()
