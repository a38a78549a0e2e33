"""The sync façade's own promises: a private loop thread, started late, fork-aware, safe from
many threads, refusing to block an event loop, and streams that clean up after themselves."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from switchboard import APITimeoutError, NotFoundError, SyncClient
from tests.sdk.helpers import ClosableBody, chunks, mock_sync_client, routed, sse

THREAD = "11111111-1111-1111-1111-111111111111"


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "switchboard-loop"]


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"thread_id": THREAD, "status": "idle", "pid": os.getpid()})


def _pid_seen_by(client: SyncClient) -> Any:
    # The mock server answers with its pid, a key a real thread does not have.
    return dict(client.get_thread(THREAD))["pid"]


def test_nothing_starts_until_the_first_call() -> None:
    before = len(_loop_threads())
    transport, _ = routed(_ok)
    with mock_sync_client(transport) as client:
        assert len(_loop_threads()) == before
        client.get_thread(THREAD)
        assert len(_loop_threads()) == before + 1
    assert len(_loop_threads()) == before


def test_close_is_idempotent_and_later_calls_say_the_client_is_closed() -> None:
    transport, _ = routed(_ok)
    client = mock_sync_client(transport)
    client.health()
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.health()


async def test_calling_it_from_a_running_event_loop_is_refused_with_a_clear_error() -> None:
    transport, seen = routed(_ok)
    with mock_sync_client(transport) as client:
        with pytest.raises(
            RuntimeError,
            match=r"SyncClient.get_thread\(\) was called from a thread that is running an event loop",
        ):
            client.get_thread(THREAD)
        with pytest.raises(RuntimeError, match="running an event loop"):
            list(client.stream_run(THREAD, {}))
    assert seen.requests == []


def test_many_threads_can_share_one_client() -> None:
    transport, seen = routed(_ok)
    errors: list[BaseException] = []
    with mock_sync_client(transport) as client:

        def work() -> None:
            try:
                for _ in range(10):
                    assert client.get_thread(THREAD)["thread_id"] == THREAD
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(16)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []
    assert len(seen.requests) == 160


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_client_used_before_a_fork_starts_afresh_in_the_child() -> None:
    transport, _ = routed(_ok)
    client = mock_sync_client(transport)
    assert _pid_seen_by(client) == os.getpid()
    parent_loop = client._portal._loop
    pid = os.fork()
    if pid == 0:  # the child: exit status says whether it worked
        try:
            ok = _pid_seen_by(client) == os.getpid()
            ok = (
                ok
                and client._portal._loop is not parent_loop
                and client._portal._pid == os.getpid()
            )
            os._exit(0 if ok else 1)
        except BaseException:
            traceback.print_exc()
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _pid_seen_by(client) == os.getpid()  # the parent is unaffected
    client.close()


def test_errors_come_out_with_a_short_traceback() -> None:
    transport, _ = routed(
        lambda request: httpx.Response(404, json={"detail": "Thread with ID x not found"})
    )
    with mock_sync_client(transport) as client, pytest.raises(NotFoundError) as caught:
        client.get_thread("x")
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert len(frames) <= 3
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def _slow_body(pause: float) -> ClosableBody:
    async def parts() -> AsyncIterator[bytes]:
        yield sse(("metadata", {"run_id": "r"}), ("values", {"n": 1}))
        await asyncio.sleep(pause)
        yield sse(("values", {"n": 2}))

    return ClosableBody(parts())


def _serve(body: ClosableBody, **headers: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=body, headers={"content-type": "text/event-stream", **headers}
        )

    return httpx.MockTransport(handler)


def test_breaking_out_of_a_sync_stream_closes_the_http_response() -> None:
    body = _slow_body(30)
    with mock_sync_client(_serve(body)) as client:
        start = time.monotonic()
        for part in client.stream_run(THREAD, {}):
            if part.event == "values":
                break
        assert body.closed_flag  # closed before the loop statement finished
        assert time.monotonic() - start < 5


def test_leaving_a_with_block_closes_the_stream_and_the_run_id_is_known_inside() -> None:
    body = _slow_body(30)
    transport = _serve(body, **{"content-location": f"/threads/{THREAD}/runs/r1"})
    with mock_sync_client(transport) as client, client.stream_run(THREAD, {}) as stream:
        assert stream.run_id == "r1"
        assert stream.next_batch()[0].event == "metadata"
        assert not body.closed_flag
    assert body.closed_flag


def test_a_sync_stream_times_out_when_no_event_arrives_within_item_timeout() -> None:
    body = _slow_body(30)
    with mock_sync_client(_serve(body), item_timeout=0.2) as client:
        received: list[str] = []

        def drain() -> None:
            for part in client.stream_run(THREAD, {}):
                received.append(part.event)

        with pytest.raises(APITimeoutError, match=r"no stream event within 0.2 s"):
            drain()
        assert received == ["metadata", "values"]
        assert body.closed_flag


class _CountingQueue(queue.SimpleQueue[Any]):
    def __init__(self) -> None:
        self.puts = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.puts += 1
        super().put(item, block, timeout)


def test_a_sync_stream_crosses_threads_a_read_at_a_time_and_hands_over_all_that_is_ready() -> None:
    reads = [sse(*(("values", {"n": 100 * i + j}) for j in range(100))) for i in range(5)]
    with mock_sync_client(_serve(ClosableBody(chunks(*reads)))) as client:
        stream = client.stream_run(THREAD, {})
        counting = _CountingQueue()
        stream._queue = counting
        first = stream.next_batch()  # starts the producer: one read's events at least
        deadline = time.monotonic() + 5
        while not (stream._producer and stream._producer.done()) and time.monotonic() < deadline:
            time.sleep(0.01)
        rest = stream.next_batch()  # everything read meanwhile, in one call
        assert stream.next_batch() == []
    assert len(first) >= 100
    assert [part.data["n"] for part in first + rest] == list(range(500))
    assert counting.puts == 6  # one hand-off per network read (and one for the end)


def test_sync_client_create_checks_the_deployment_answers() -> None:
    transport, seen = routed(lambda request: httpx.Response(200, json={"ok": True}))
    client = SyncClient.create("http://deployment.test", transport=transport)
    client.close()
    assert [r.url.path for r in seen.requests] == ["/ok"]
