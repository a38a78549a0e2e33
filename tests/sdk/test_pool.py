"""One connection pool per client: ``with_options`` views share it (and its loop thread), and
``max_connections`` sizes it. Every test runs against both clients."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from switchboard import APIConnectionError, APITimeoutError, Client, InputError, SyncClient
from tests.sdk.helpers import AwaitableSync, Sleeps, event_stream, routed, sse

Make = Callable[..., Any]
THREAD = "11111111-1111-1111-1111-111111111111"


def view_of(client: Any, **options: Any) -> Any:
    """``client.with_options(**options)``, made awaitable again for the sync client."""
    if isinstance(client, AwaitableSync):
        return AwaitableSync(client._target.with_options(**options))
    return client.with_options(**options)


def _loop_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "switchboard-loop")


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused")


def thread(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"thread_id": THREAD, "status": "idle"})


# -- with_options ---------------------------------------------------------------------------


async def test_a_view_with_fewer_retries_fails_fast_and_the_client_keeps_its_own(
    make: Make, sleeps: Sleeps
) -> None:
    transport, seen = routed(refused)
    client = make(transport)
    fast = view_of(client, max_retries=0)
    with pytest.raises(APIConnectionError):
        await fast.get_thread(THREAD)
    assert (len(seen.requests), sleeps) == (1, [])
    with pytest.raises(APIConnectionError):
        await client.get_thread(THREAD)
    assert (len(seen.requests), len(sleeps)) == (5, 3)


async def test_a_view_timeout_reaches_the_transport_and_the_client_keeps_its_own(
    make: Make,
) -> None:
    transport, seen = routed(thread)
    client = make(transport, timeout=30.0)
    await view_of(client, timeout=2.5).get_thread(THREAD)
    await view_of(client, timeout=httpx.Timeout(4.0, connect=1.0)).get_thread(THREAD)
    await client.get_thread(THREAD)
    timeouts = [request.extensions["timeout"] for request in seen.requests]
    assert [(t["connect"], t["read"]) for t in timeouts] == [(2.5, 2.5), (1.0, 4.0), (30.0, 30.0)]


async def test_a_view_shares_the_clients_pool_limits_and_loop_thread(make: Make, kind: str) -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return thread(request)

    client = make(httpx.MockTransport(slow), max_concurrent_requests=1)
    view = view_of(client, max_retries=1, timeout=5.0)
    loops_before = _loop_threads()
    await asyncio.gather(*(c.get_thread(THREAD) for c in (client, view) * 3))
    assert peak == 1  # one semaphore for both: they are one client on the wire
    if kind == "async":
        assert view._http.shares_pool_with(client._http)
        assert view._http._pool.client is client._http._pool.client is not None
    else:
        sync_client, sync_view = client._target, view._target
        assert sync_view._portal is sync_client._portal
        assert sync_view._client._http.shares_pool_with(sync_client._client._http)
        # Only the one loop thread the client's first call started.
        assert _loop_threads() == loops_before + 1


async def test_a_view_streams_and_keeps_the_clients_assistant(make: Make) -> None:
    body = sse(("metadata", {"run_id": "r1"}), ("values", {"n": 1}), ("end", None))
    transport, seen = routed(lambda request: event_stream(body))
    client = make(transport, assistant_id="chatty")
    view = view_of(client, max_retries=0)
    parts = [part async for part in view.stream_run(THREAD, {})]
    assert [part.event for part in parts] == ["metadata", "values"]
    assert [request.extensions["timeout"]["read"] for request in seen.requests] == [30.0]
    assert b'"assistant_id":"chatty"' in seen.requests[0].content


async def test_closing_a_view_leaves_the_client_open(make: Make) -> None:
    transport, seen = routed(thread)
    client = make(transport)
    view = view_of(client, max_retries=0)
    await view.get_thread(THREAD)
    await view.aclose()
    await client.get_thread(THREAD)
    await view.get_thread(THREAD)
    assert len(seen.requests) == 3


def test_a_sync_view_stops_with_the_client_and_keeps_it_alive() -> None:
    transport, _ = routed(thread)
    client = SyncClient("http://deployment.test", transport=transport)
    view = client.with_options(max_retries=0)
    with view:
        view.get_thread(THREAD)
    client.get_thread(THREAD)  # leaving the view's with block closed nothing
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        view.get_thread(THREAD)

    # A view alone keeps its client (and so the loop thread) alive.
    orphan = SyncClient("http://deployment.test", transport=transport).with_options(timeout=3.0)
    gc.collect()
    assert orphan.get_thread(THREAD)["thread_id"] == THREAD
    assert orphan._view_of is not None
    orphan._view_of.close()


def test_with_options_checks_its_arguments() -> None:
    client = Client("http://deployment.test")
    with pytest.raises(InputError, match="max_retries"):
        client.with_options(max_retries=-1)
    same = client.with_options()
    assert same._http.policy == client._http.policy
    assert same._http._timeout == client._http._timeout


# -- max_connections ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def hanging_sse_server() -> AsyncIterator[str]:
    """A real server on loopback that answers every request with an SSE stream that sends
    one event and then stays open: each open stream holds one connection of the pool."""
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            event = sse(("metadata", {"run_id": "r1"}))
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
                + f"{len(event):x}\r\n".encode()
                + event
                + b"\r\n"
            )
            await writer.drain()
            await release.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_max_connections_bounds_the_streams_open_at_once(kind: str) -> None:
    async with hanging_sse_server() as url:
        options: dict[str, Any] = {
            "assistant_id": "agent",
            "max_retries": 0,
            "timeout": httpx.Timeout(10.0, pool=0.3),
            "max_connections": 2,
        }
        client: Any = Client(url, **options) if kind == "async" else SyncClient(url, **options)
        wrapped = client if kind == "async" else AwaitableSync(client)
        try:
            async with contextlib.AsyncExitStack() as streams:
                first = await streams.enter_async_context(wrapped.stream_run(THREAD, {}))
                await streams.enter_async_context(wrapped.stream_run(THREAD, {}))
                with pytest.raises(APITimeoutError, match="PoolTimeout"):
                    async with wrapped.stream_run(THREAD, {}):
                        pass
                await first.aclose()  # gives its connection back
                async with wrapped.stream_run(THREAD, {}) as third:
                    assert third.run_id is None or third.run_id == "r1"
        finally:
            await wrapped.aclose()


async def test_max_connections_is_checked() -> None:
    with pytest.raises(InputError, match="max_connections"):
        Client("http://deployment.test", max_connections=0)
