"""The SDK against the official ``langgraph_sdk``, measured in one run on this machine.

    python -m bench.sdk_bench [--quick] [--url http://127.0.0.1:2024]

Writes bench/results/sdk.json and prints a table:

- B2 stream decoding throughput (events/s): the same SSE bytes (``bench/sdk_corpus.py``: a real
  chatty run with four stream modes) served through ``httpx.MockTransport`` to
  ``switchboard.Client``/``SyncClient`` and to ``langgraph_sdk``'s async/sync clients, read in
  64 KiB network reads ("bulk", a fast producer or a replay) and one event per read ("trickle",
  a live run). Goal: ours ≥ 1.5x theirs.
- B3 request round trips (get thread state, search threads) against the same real
  ``langgraph dev`` (started here unless ``--url``), calls interleaved between clients, median
  per call. Goal: ours ≤ 1.05x theirs; our sync client ≤ 1.2x our async client.
- Memory while streaming 100,000 events: tracemalloc peak above the baseline, and growth
  between event 10,000 and the end (flat = no growth).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from langgraph_sdk._async.client import LangGraphClient
from langgraph_sdk._sync.client import SyncLangGraphClient
from rich.console import Console
from rich.table import Table

from bench.sdk_corpus import RUN_ID, THREAD_ID, reads
from switchboard import Client, SyncClient

RESULTS = Path(__file__).resolve().parent / "results"
BASE = "http://bench.test"
HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "content-location": f"/threads/{THREAD_ID}/runs/{RUN_ID}",
}
READ_SIZES = {"bulk": 65536, "trickle": None}


# -- B2: decoding throughput ----------------------------------------------------------------


Body = Callable[[], Iterable[bytes]]


def _async_transport(body: Body) -> httpx.MockTransport:
    async def stream() -> AsyncIterator[bytes]:
        for chunk in body():
            yield chunk

    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=HEADERS, content=stream())
    )


def _sync_transport(body: Body) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=HEADERS, content=iter(body()))
    )


async def _ours_async(body: Body) -> int:
    async with Client(BASE, assistant_id="chatty", transport=_async_transport(body)) as client:
        count = 0
        async for _ in client.stream_run(THREAD_ID, {}):
            count += 1
        return count


async def _theirs_async(body: Body) -> int:
    http = httpx.AsyncClient(base_url=BASE, transport=_async_transport(body))
    async with LangGraphClient(http) as client:
        count = 0
        async for _ in client.runs.stream(THREAD_ID, "chatty", input={}):
            count += 1
        return count


def _ours_sync(body: Body) -> int:
    with SyncClient(BASE, assistant_id="chatty", transport=_async_transport(body)) as client:
        return sum(1 for _ in client.stream_run(THREAD_ID, {}))


def _theirs_sync(body: Body) -> int:
    http = httpx.Client(base_url=BASE, transport=_sync_transport(body))
    with SyncLangGraphClient(http) as client:
        return sum(1 for _ in client.runs.stream(THREAD_ID, "chatty", input={}))


def _timed(run: Callable[[], int], total: int) -> float:
    gc.collect()
    start = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - start
    assert count == total, (count, total)
    return total / elapsed


def decoding(total: int, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {"events": total}
    for read, size in READ_SIZES.items():
        # The reads exist before the clock starts: only decoding is timed, on the same bytes.
        chunks = list(reads(total, size=size))

        def body(chunks: list[bytes] = chunks) -> list[bytes]:
            return chunks

        runners: dict[str, Callable[[], int]] = {
            "ours_async": lambda: asyncio.run(_ours_async(body)),
            "theirs_async": lambda: asyncio.run(_theirs_async(body)),
            "ours_sync": lambda: _ours_sync(body),
            "theirs_sync": lambda: _theirs_sync(body),
        }
        best: dict[str, float] = {name: 0.0 for name in runners}
        for _ in range(repeats):  # interleaved, best of N: the machine is shared
            for name, run in runners.items():
                best[name] = max(best[name], _timed(run, total))
        out[read] = {
            **{f"{name}_events_per_s": round(rate) for name, rate in best.items()},
            "async_ratio": round(best["ours_async"] / best["theirs_async"], 2),
            "sync_ratio": round(best["ours_sync"] / best["theirs_sync"], 2),
        }
    return out


# -- memory ---------------------------------------------------------------------------------


async def _memory(stream: Callable[[], AsyncIterator[Any]], total: int) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    count, at_10k = 0, 0
    async for _ in stream():
        count += 1
        if count == 10_000:
            at_10k = tracemalloc.get_traced_memory()[0]
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == total
    return {
        "peak_kib": round((peak - baseline) / 1024),
        "growth_after_10k_kib": round((current - at_10k) / 1024),
    }


async def memory(total: int) -> dict[str, Any]:
    # Here the body is produced lazily, a read at a time, so that it costs no memory itself.
    def body() -> Iterator[bytes]:
        return reads(total, size=65536)

    async def ours() -> AsyncIterator[Any]:
        async with Client(BASE, assistant_id="chatty", transport=_async_transport(body)) as c:
            async for part in c.stream_run(THREAD_ID, {}):
                yield part

    async def theirs() -> AsyncIterator[Any]:
        http = httpx.AsyncClient(base_url=BASE, transport=_async_transport(body))
        async with LangGraphClient(http) as c:
            async for part in c.runs.stream(THREAD_ID, "chatty", input={}):
                yield part

    return {
        "events": total,
        "ours": await _memory(ours, total),
        "theirs": await _memory(theirs, total),
    }


# -- B3: round trips ------------------------------------------------------------------------


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _time_calls(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def _time_sync_calls(call: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def _async_turn(
    loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[Any]]
) -> Callable[[int], list[float]]:
    return lambda n: loop.run_until_complete(_time_calls(call, n))


def _sync_turn(call: Callable[[], Any]) -> Callable[[int], list[float]]:
    return lambda n: _time_sync_calls(call, n)


def round_trips(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    from langgraph_sdk import get_client, get_sync_client

    seed = SyncClient(url)
    thread = seed.create_thread()["thread_id"]
    seed.wait_run(thread, {}, assistant_id="flaky")
    seed.close()
    operations = {
        "get_state": (
            lambda c: c.get_thread_state(thread),
            lambda c: c.threads.get_state(thread),
        ),
        "search_threads": (
            lambda c: c.search_threads(limit=10),
            lambda c: c.threads.search(limit=10),
        ),
    }
    results: dict[str, Any] = {}
    # All four clients take turns, round after round, so that drift on this shared machine
    # (other processes, the server's own state) reaches them all alike. The async clients run
    # on one loop that is driven between turns, so the sync clients never run inside it.
    loop = asyncio.new_event_loop()
    ours_async, theirs_async = Client(url), get_client(url=url, api_key=None)
    ours_sync, theirs_sync = SyncClient(url), get_sync_client(url=url, api_key=None)
    samples: dict[str, dict[str, list[float]]] = {}
    for op, (ours_call, theirs_call) in operations.items():
        turns: dict[str, Callable[[int], list[float]]] = {
            "ours_async": _async_turn(loop, functools.partial(ours_call, ours_async)),
            "theirs_async": _async_turn(loop, functools.partial(theirs_call, theirs_async)),
            "ours_sync": _sync_turn(functools.partial(ours_call, ours_sync)),
            "theirs_sync": _sync_turn(functools.partial(theirs_call, theirs_sync)),
        }
        samples[op] = {name: [] for name in turns}
        for turn in turns.values():
            turn(20)  # warm up the pools
        for _ in range(rounds):
            for name, turn in turns.items():
                samples[op][name] += turn(per_round)
    loop.run_until_complete(ours_async.aclose())
    loop.run_until_complete(theirs_async.aclose())
    loop.close()
    ours_sync.close()
    theirs_sync.close()

    for op in operations:
        results[op] = {f"{name}_ms": _median_ms(values) for name, values in samples[op].items()}
        r = results[op]
        r["async_ratio"] = round(r["ours_async_ms"] / r["theirs_async_ms"], 3)
        r["sync_ratio"] = round(r["ours_sync_ms"] / r["theirs_sync_ms"], 3)
        r["ours_sync_over_async"] = round(r["ours_sync_ms"] / r["ours_async_ms"], 3)
        r["calls_per_client"] = len(samples[op]["ours_async"])
    return results


# -- client-side cost of a call (no server) -------------------------------------------------

_STATE = json.dumps(
    {"values": {"steps": ["prepare", "process"]}, "next": [], "tasks": [], "metadata": {}}
).encode()


def _json_transport() -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=_STATE, headers={"content-type": "application/json"}
        )
    )


def client_overhead(calls: int) -> dict[str, Any]:
    """Median µs per get_thread_state when the "server" answers instantly: what each SDK adds."""

    async def async_side() -> tuple[float, float]:
        ours = Client(BASE, transport=_json_transport())
        theirs = LangGraphClient(httpx.AsyncClient(base_url=BASE, transport=_json_transport()))
        await _time_calls(lambda: ours.get_thread_state(THREAD_ID), 200)
        await _time_calls(lambda: theirs.threads.get_state(THREAD_ID), 200)
        a = await _time_calls(lambda: ours.get_thread_state(THREAD_ID), calls)
        b = await _time_calls(lambda: theirs.threads.get_state(THREAD_ID), calls)
        return statistics.median(a), statistics.median(b)

    ours_async, theirs_async = asyncio.run(async_side())
    ours = SyncClient(BASE, transport=_json_transport())
    theirs = SyncLangGraphClient(httpx.Client(base_url=BASE, transport=_json_transport()))
    _time_sync_calls(lambda: ours.get_thread_state(THREAD_ID), 200)
    _time_sync_calls(lambda: theirs.threads.get_state(THREAD_ID), 200)
    ours_sync = statistics.median(_time_sync_calls(lambda: ours.get_thread_state(THREAD_ID), calls))
    theirs_sync = statistics.median(
        _time_sync_calls(lambda: theirs.threads.get_state(THREAD_ID), calls)
    )
    ours.close()
    return {
        "ours_async_us": round(ours_async * 1e6, 1),
        "theirs_async_us": round(theirs_async * 1e6, 1),
        "ours_sync_us": round(ours_sync * 1e6, 1),
        "theirs_sync_us": round(theirs_sync * 1e6, 1),
    }


# -- report ---------------------------------------------------------------------------------


def _table(results: dict[str, Any]) -> None:
    console = Console()
    table = Table(title="switchboard SDK vs langgraph_sdk (one run, this machine)")
    for column in ("measure", "ours", "theirs", "ratio", "goal"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    for read in READ_SIZES:
        row = results["decoding"][read]
        for side in ("async", "sync"):
            table.add_row(
                f"B2 decode, {read} reads, {side} (events/s)",
                f"{row[f'ours_{side}_events_per_s']:,}",
                f"{row[f'theirs_{side}_events_per_s']:,}",
                f"{row[f'{side}_ratio']:.2f}x",
                "≥ 1.5x" if read == "bulk" else "",
            )
    for op, row in results.get("round_trips", {}).items():
        for side in ("async", "sync"):
            table.add_row(
                f"B3 {op}, {side} (median ms)",
                f"{row[f'ours_{side}_ms']:.3f}",
                f"{row[f'theirs_{side}_ms']:.3f}",
                f"{row[f'{side}_ratio']:.3f}x",
                "≤ 1.05x" if side == "async" else "(next row)",
            )
        table.add_row(
            f"B3 {op}, our sync / our async",
            f"{row['ours_sync_ms']:.3f}",
            f"{row['ours_async_ms']:.3f}",
            f"{row['ours_sync_over_async']:.3f}x",
            "≤ 1.2x",
        )
    cost = results["client_overhead"]
    for side in ("async", "sync"):
        table.add_row(
            f"client-side cost per call, {side} (median µs, no server)",
            f"{cost[f'ours_{side}_us']:.0f}",
            f"{cost[f'theirs_{side}_us']:.0f}",
            f"{cost[f'ours_{side}_us'] / cost[f'theirs_{side}_us']:.2f}x",
            "",
        )
    memory = results["memory"]
    for side in ("ours", "theirs"):
        table.add_row(
            f"memory, {memory['events']:,} events, {side} (KiB peak / growth)",
            f"{memory[side]['peak_kib']:,}" if side == "ours" else "",
            f"{memory[side]['peak_kib']:,}" if side == "theirs" else "",
            f"{memory[side]['growth_after_10k_kib']:+} KiB after 10k",
            "flat",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and calls (CI)")
    parser.add_argument("--url", help="use this LangGraph server instead of starting one")
    parser.add_argument("--no-server", action="store_true", help="skip the round trips")
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, Any] = {"quick": quick, "machine_cpus": os.cpu_count()}
    results["decoding"] = decoding(20_000 if quick else 100_000, 2 if quick else 3)
    results["memory"] = asyncio.run(memory(100_000 if not quick else 30_000))
    results["client_overhead"] = client_overhead(500 if quick else 3000)
    if not args.no_server:
        with ExitStack() as stack:
            url = args.url
            if url is None:
                from dashboard.embedded import graph_server

                state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                url = stack.enter_context(graph_server(state, state / "graph-server.log"))
            results["round_trips"] = round_trips(url, 5 if quick else 20, 20 if quick else 50)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sdk.json").write_text(json.dumps(results, indent=2) + "\n")
    _table(results)


if __name__ == "__main__":
    main()
