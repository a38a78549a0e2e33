"""What a real server will not do on demand, at the transport seam (``httpx.MockTransport``):
retries, 429s, plain-text 500s, dropped connections, resumed streams, malformed SSE.

Every test here runs against both clients (``make`` is parametrised)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard import (
    APIConnectionError,
    Client,
    GraphNotFoundError,
    InputError,
    RateLimitError,
    RedirectError,
    RunFailedError,
    ServerError,
    StreamPart,
    SyncClient,
    ThreadBusyError,
)
from tests.sdk.helpers import Sleeps, chunks, event_stream, routed, scripted, sse

Make = Callable[..., Any]
THREAD = "11111111-1111-1111-1111-111111111111"
RUN = "22222222-2222-2222-2222-222222222222"
RUN_HEADERS = {
    "content-location": f"/threads/{THREAD}/runs/{RUN}",
    "location": f"/threads/{THREAD}/runs/{RUN}/stream",
}
BUSY = {
    "detail": "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
}


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"ok": True})


async def collect(stream: Any) -> list[StreamPart]:
    return [part async for part in stream]


async def drain(stream: Any, into: list[StreamPart]) -> None:
    """Iterate to the end, keeping what arrived before any exception."""
    async for part in stream:
        into.append(part)


# -- retries --------------------------------------------------------------------------------


async def test_a_read_is_retried_with_backoff_after_a_503(make: Make, sleeps: Sleeps) -> None:
    transport, seen = scripted(
        [httpx.Response(503), httpx.Response(502), ok({"thread_id": THREAD})]
    )
    client = make(transport)
    assert (await client.get_thread(THREAD))["thread_id"] == THREAD
    assert len(seen.requests) == 3
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5
    assert 0.75 <= sleeps[1] <= 1.0


async def test_a_429_is_retried_after_the_time_the_server_asked_for(
    make: Make, sleeps: Sleeps
) -> None:
    transport, _ = scripted(
        [httpx.Response(429, headers={"retry-after": "2"}, json={"detail": "slow down"}), ok([])]
    )
    client = make(transport)
    assert await client.search_threads() == []
    assert sleeps == [2.0]


async def test_a_429_asking_for_too_long_a_wait_raises_with_the_wait(
    make: Make, sleeps: Sleeps
) -> None:
    transport, _ = scripted(
        [httpx.Response(429, headers={"retry-after": "600"}, json={"detail": "quota"})]
    )
    client = make(transport)
    with pytest.raises(RateLimitError) as caught:
        await client.search_threads()
    assert caught.value.retry_after == 600.0
    assert caught.value.status_code == 429
    assert sleeps == []


async def test_retries_give_up_after_max_retries_and_keep_the_status(
    make: Make, sleeps: Sleeps
) -> None:
    transport, seen = scripted([httpx.Response(500, text="Internal Server Error")] * 3)
    client = make(transport, max_retries=2)
    with pytest.raises(ServerError) as caught:
        await client.get_thread_state(THREAD)
    assert caught.value.status_code == 500
    assert caught.value.detail.startswith("Internal Server Error")
    assert len(seen.requests) == 3
    assert len(sleeps) == 2


async def test_a_plain_text_500_then_a_dropped_keep_alive_connection_is_survived_by_a_read(
    make: Make, sleeps: Sleeps
) -> None:
    # Gotcha 7: uvicorn answers a crash with text/plain and closes the connection silently,
    # so the next request on it fails with ReadError.
    transport, seen = scripted(
        [
            httpx.Response(
                500, text="Internal Server Error", headers={"content-type": "text/plain"}
            ),
            httpx.ReadError("connection reset by peer"),
            ok([{"values": {}}]),
        ]
    )
    client = make(transport)
    assert await client.get_state_history(THREAD) == [{"values": {}}]
    assert len(seen.requests) == 3


async def test_run_creation_is_not_retried_after_it_may_have_reached_the_server(
    make: Make, sleeps: Sleeps
) -> None:
    for failure in (httpx.ReadError("reset"), httpx.Response(500, text="Internal Server Error")):
        transport, seen = scripted([failure])
        client = make(transport)
        with pytest.raises((APIConnectionError, ServerError)):
            await client.create_run(THREAD, {"x": 1})
        assert seen.paths() == [f"POST /threads/{THREAD}/runs"]
    assert sleeps == []


async def test_run_creation_is_retried_when_the_connection_was_refused(
    make: Make, sleeps: Sleeps
) -> None:
    transport, seen = scripted([httpx.ConnectError("refused"), ok({"run_id": RUN})])
    client = make(transport)
    assert (await client.create_run(THREAD, {"x": 1}))["run_id"] == RUN
    assert len(seen.requests) == 2
    assert len(sleeps) == 1


async def test_a_busy_thread_under_reject_raises_thread_busy_error_with_status_409(
    make: Make,
) -> None:
    transport, seen = scripted([httpx.Response(409, json=BUSY)])
    client = make(transport)
    with pytest.raises(ThreadBusyError) as caught:
        await collect(client.stream_run(THREAD, {"x": 1}))
    assert caught.value.status_code == 409
    assert seen.bodies()[0]["multitask_strategy"] == "reject"


async def test_an_unknown_graph_is_a_graph_not_found_error(make: Make) -> None:
    detail = "Invalid assistant: 'nope'. Must be either:\n- A valid assistant UUID, or\n- One of the registered graphs: chatty"
    transport, _ = scripted([httpx.Response(422, json={"detail": detail})])
    client = make(transport)
    with pytest.raises(GraphNotFoundError) as caught:
        await client.wait_run(THREAD, {}, assistant_id="nope")
    assert caught.value.status_code == 422


async def test_a_connection_that_never_opens_is_an_api_connection_error(
    make: Make, sleeps: Sleeps
) -> None:
    transport, seen = scripted([httpx.ConnectError("refused")] * 4)
    client = make(transport)
    with pytest.raises(APIConnectionError, match="ConnectError: refused"):
        await client.health()
    assert len(seen.requests) == 4


# -- redirects ------------------------------------------------------------------------------

METADATA = "http://169.254.169.254/latest/meta-data/"


def redirect(status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": METADATA, "x-request-id": "req-3"})


async def test_a_redirect_raises_and_is_neither_followed_nor_retried(
    make: Make, sleeps: Sleeps
) -> None:
    transport, seen = routed(lambda request: redirect())
    client = make(transport)
    with pytest.raises(RedirectError) as caught:
        await client.get_thread(THREAD)
    assert caught.value.status_code == 302
    assert caught.value.location == METADATA
    assert caught.value.request_id == "req-3"
    assert METADATA in caught.value.detail
    assert seen.paths() == [f"GET /threads/{THREAD}"]
    assert sleeps == []


@pytest.mark.parametrize("status", [301, 303, 307, 308])
async def test_a_redirected_run_raises_whether_streamed_waited_or_created(
    make: Make, status: int
) -> None:
    transport, seen = routed(lambda request: redirect(status))
    client = make(transport)
    with pytest.raises(RedirectError):
        await collect(client.stream_run(THREAD, {}))
    with pytest.raises(RedirectError):
        await client.wait_run(THREAD, {})
    with pytest.raises(RedirectError):
        await client.create_run(THREAD, {})
    assert {request.url.host for request in seen.requests} == {"deployment.test"}
    assert len(seen.requests) == 3


# -- limits ---------------------------------------------------------------------------------


async def test_max_concurrent_requests_bounds_requests_in_flight(make: Make) -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return ok({"thread_id": THREAD, "status": "idle"})

    client = make(httpx.MockTransport(slow), max_concurrent_requests=2)
    await asyncio.gather(*(client.get_thread(THREAD) for _ in range(6)))
    assert peak == 2


async def test_max_requests_per_minute_spaces_requests_out(make: Make) -> None:
    transport, seen = routed(lambda request: ok({"ok": True}))
    client = make(transport, max_requests_per_minute=1200)  # one per 50 ms
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(client.health() for _ in range(4)))
    assert loop.time() - start >= 0.14
    assert len(seen.requests) == 4


async def test_a_per_call_timeout_reaches_the_transport(make: Make) -> None:
    transport, seen = scripted([ok({"ok": True})])
    client = make(transport)
    await client.health(timeout=1.5)
    assert seen.requests[0].extensions["timeout"]["read"] == 1.5


# -- what goes on the wire ------------------------------------------------------------------


async def test_history_pages_with_before_in_the_form_the_server_accepts(make: Make) -> None:
    transport, seen = routed(lambda request: ok([]))
    client = make(transport)
    await client.get_state_history(THREAD, before="cp-1", limit=2, filter={"source": "loop"})
    await client.get_state_history(
        THREAD, before={"checkpoint_id": "cp-2", "checkpoint_ns": "", "thread_id": THREAD}
    )
    await client.get_state_history(
        THREAD, before={"checkpoint": {"checkpoint_id": "cp-3"}, "values": {}}
    )
    befores = [body["before"] for body in seen.bodies()]
    assert befores == [
        {"configurable": {"checkpoint_id": "cp-1"}},
        {"configurable": {"checkpoint_id": "cp-2"}},
        {"configurable": {"checkpoint_id": "cp-3"}},
    ]
    assert seen.bodies()[0] == {"limit": 2, "before": befores[0], "metadata": {"source": "loop"}}


async def test_join_stream_sends_stream_mode_as_a_json_array_string_and_the_last_event_id(
    make: Make,
) -> None:
    transport, seen = scripted(
        [event_stream(sse(("values", {"a": 1}, "5-0"))), ok({"run_id": RUN, "status": "success"})]
    )
    client = make(transport)
    await collect(
        client.join_stream(THREAD, RUN, last_event_id="4-0", stream_mode=["values", "updates"])
    )
    request = seen.requests[0]
    assert request.url.params["stream_mode"] == '["values","updates"]'
    assert request.headers["last-event-id"] == "4-0"


async def test_the_thread_stream_sends_stream_modes(make: Make) -> None:
    transport, seen = scripted(
        [event_stream(sse(("metadata", {"run_id": RUN}, "1-0"), ("end", None, "2-0")))]
    )
    client = make(transport)
    await collect(client.join_thread_stream(THREAD, stream_modes=["run_modes", "state_update"]))
    assert seen.requests[0].url.params["stream_modes"] == "run_modes,state_update"
    assert "stream_mode" not in seen.requests[0].url.params


async def test_run_options_checkpoint_id_and_defaults_go_in_the_body(make: Make) -> None:
    transport, seen = scripted([event_stream(sse(("values", {})), **RUN_HEADERS)])
    client = make(transport, assistant_id="refund_approval")
    await collect(client.stream_run(THREAD, None, checkpoint_id="cp-9", stream_mode="updates"))
    assert seen.bodies()[0] == {
        "assistant_id": "refund_approval",
        "stream_mode": ["updates"],
        "multitask_strategy": "reject",
        "checkpoint_id": "cp-9",
    }


async def test_a_bad_stream_mode_is_refused_before_anything_is_sent(make: Make) -> None:
    transport, seen = scripted([])
    client = make(transport)
    with pytest.raises(InputError, match="unknown stream_mode"):
        client.stream_run(THREAD, {}, stream_mode=["values", "tokens"])
    with pytest.raises(InputError, match="unknown multitask_strategy"):
        await client.create_run(THREAD, {}, multitask_strategy="queue")
    assert seen.requests == []


async def test_without_an_assistant_the_threads_own_graph_is_used(make: Make) -> None:
    transport, seen = scripted(
        [ok({"thread_id": THREAD, "metadata": {"graph_id": "chatty"}}), ok({"run_id": RUN})]
    )
    client = make(transport, assistant_id=None)
    await client.create_run(THREAD, {"chunks": 1})
    assert seen.bodies()[1]["assistant_id"] == "chatty"


async def test_the_api_key_is_sent_as_x_api_key(make: Make) -> None:
    transport, seen = scripted([ok()])
    client = make(transport, api_key="sk-test", headers={"Authorization": "Bearer t"})
    await client.health()
    assert seen.requests[0].headers["x-api-key"] == "sk-test"
    assert seen.requests[0].headers["authorization"] == "Bearer t"


async def test_a_checkpoint_read_by_id_is_served_from_the_cache_the_second_time(make: Make) -> None:
    transport, seen = scripted([ok({"values": {"n": 1}, "checkpoint": {"checkpoint_id": "cp"}})])
    client = make(transport)
    first = await client.get_thread_state(THREAD, "cp")
    first["values"]["n"] = 99  # callers may mutate what they got
    assert (await client.get_thread_state(THREAD, "cp"))["values"] == {"n": 1}
    assert len(seen.requests) == 1


async def test_wait_run_raises_run_failed_error_for_an_error_body(make: Make) -> None:
    body = {"__error__": {"error": "ValueError", "message": "kaboom"}}
    transport, _ = scripted([httpx.Response(200, json=body, headers=RUN_HEADERS)])
    client = make(transport)
    with pytest.raises(RunFailedError) as caught:
        await client.wait_run(THREAD, {"fail": True})
    assert (caught.value.error_type, caught.value.detail, caught.value.run_id) == (
        "ValueError",
        "kaboom",
        RUN,
    )


async def test_a_wait_whose_connection_drops_rejoins_the_run(make: Make) -> None:
    transport, seen = scripted(
        [
            httpx.Response(
                200,
                content=chunks(b"\n", fail=httpx.ReadError("dropped")),
                headers={**RUN_HEADERS, "location": f"/threads/{THREAD}/runs/{RUN}/join"},
            ),
            ok({"done": True}),
        ]
    )
    client = make(transport)
    assert await client.wait_run(THREAD, {"x": 1}) == {"done": True}
    assert seen.paths()[1] == f"GET /threads/{THREAD}/runs/{RUN}/join"


# -- streams --------------------------------------------------------------------------------


async def test_the_run_id_is_known_from_the_headers_before_the_first_event(make: Make) -> None:
    seen_at_creation: list[Any] = []
    transport, _ = scripted(
        [event_stream(sse(("metadata", {"run_id": RUN}), ("values", {})), **RUN_HEADERS)]
    )
    client = make(transport)
    parts: list[StreamPart] = []

    def created(run: Any) -> None:
        seen_at_creation.append((dict(run), len(parts)))

    stream = client.stream_run(THREAD, {}, on_run_created=created)
    async with stream:
        assert stream.run_id == RUN
        parts += [part async for part in stream]
    assert seen_at_creation == [({"run_id": RUN, "thread_id": THREAD}, 0)]
    assert [p.event for p in parts] == ["metadata", "values"]


async def test_without_headers_the_run_id_comes_from_the_metadata_event(make: Make) -> None:
    transport, _ = scripted([event_stream(sse(("metadata", {"run_id": RUN, "attempt": 1})))])
    client = make(transport)
    stream = client.stream_run(THREAD, {})
    await collect(stream)
    assert stream.run_id == RUN


async def test_a_resumable_stream_dropped_mid_way_resumes_after_the_last_event_id(
    make: Make, sleeps: Sleeps
) -> None:
    first = sse(("metadata", {"run_id": RUN}, "1-0"), ("values", {"n": 1}, "2-0"))
    rest = sse(("values", {"n": 2}, "3-0"), ("values", {"n": 3}, "4-0"))
    transport, seen = scripted(
        [
            event_stream(
                chunks(first, b'event: values\r\ndata: {"n"', fail=httpx.ReadError("reset")),
                **RUN_HEADERS,
            ),
            event_stream(rest),
            ok({"run_id": RUN, "status": "success"}),
        ]
    )
    client = make(transport)
    parts = await collect(
        client.stream_run(THREAD, {}, stream_resumable=True, on_disconnect="continue")
    )
    assert [(p.data, p.id) for p in parts] == [
        ({"run_id": RUN}, "1-0"),
        ({"n": 1}, "2-0"),
        ({"n": 2}, "3-0"),
        ({"n": 3}, "4-0"),
    ]
    rejoin = seen.requests[1]
    assert f"{rejoin.method} {rejoin.url.path}" == f"GET /threads/{THREAD}/runs/{RUN}/stream"
    assert rejoin.headers["last-event-id"] == "2-0"
    assert seen.bodies()[0]["stream_resumable"] is True
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 1.25


async def test_a_resumable_stream_that_ends_while_the_run_runs_is_rejoined(make: Make) -> None:
    transport, seen = scripted(
        [
            event_stream(sse(("values", {"n": 1}, "1-0")), **RUN_HEADERS),
            ok({"run_id": RUN, "status": "running"}),
            event_stream(sse(("values", {"n": 2}, "2-0"))),
            ok({"run_id": RUN, "status": "success"}),
        ]
    )
    client = make(transport)
    parts = await collect(client.stream_run(THREAD, {}, stream_resumable=True))
    assert [p.data for p in parts] == [{"n": 1}, {"n": 2}]
    assert seen.paths()[1] == f"GET /threads/{THREAD}/runs/{RUN}"
    assert seen.requests[2].headers["last-event-id"] == "1-0"


async def test_a_non_resumable_stream_that_drops_raises_instead_of_losing_events_silently(
    make: Make,
) -> None:
    transport, seen = scripted(
        [
            event_stream(
                chunks(sse(("values", {"n": 1})), fail=httpx.RemoteProtocolError("peer closed")),
                **RUN_HEADERS,
            )
        ]
    )
    client = make(transport)
    received: list[StreamPart] = []
    with pytest.raises(APIConnectionError, match="stream dropped"):
        await drain(client.stream_run(THREAD, {}), received)
    assert [p.data for p in received] == [{"n": 1}]
    assert len(seen.requests) == 1


async def test_reconnecting_gives_up_after_five_failed_attempts(make: Make, sleeps: Sleeps) -> None:
    transport, seen = scripted(
        [
            event_stream(
                chunks(sse(("values", {}, "1-0")), fail=httpx.ReadError("reset")), **RUN_HEADERS
            )
        ]
        + [httpx.ConnectError("refused")] * 5
    )
    client = make(transport, max_retries=0)
    with pytest.raises(APIConnectionError, match="gave up reconnecting after 5 attempts"):
        await collect(client.stream_run(THREAD, {}, stream_resumable=True))
    assert len(sleeps) == 5
    for delay, base in zip(sleeps, [1, 2, 4, 5, 5], strict=True):
        assert base <= delay <= base * 1.25
    assert len(seen.requests) == 6


async def test_a_cross_origin_location_is_never_followed(make: Make) -> None:
    headers = {**RUN_HEADERS, "location": "http://evil.example/steal"}
    transport, seen = scripted(
        [event_stream(chunks(sse(("values", {}, "1-0")), fail=httpx.ReadError("reset")), **headers)]
        + [ok({"status": "running"})] * 2
    )
    client = make(transport)
    with pytest.raises(APIConnectionError):
        await collect(client.stream_run(THREAD, {}, stream_resumable=True))
    assert all(r.url.host == "deployment.test" for r in seen.requests)


async def test_malformed_sse_does_not_end_the_stream(make: Make) -> None:
    body = (
        b"event: values\r\ndata: {not json}\r\n\r\n"
        b"garbage line without a colon\r\n\r\n"
        b": comment\r\n"
        b"data: 7\r\n\r\n"
        b'event: values\r\ndata: {"ok": true}\r\n\r\n'
    )
    transport, _ = scripted([event_stream(body, **RUN_HEADERS)])
    client = make(transport)
    assert await collect(client.stream_run(THREAD, {})) == [
        StreamPart("values", "{not json}", None),
        StreamPart("message", 7, None),
        StreamPart("values", {"ok": True}, None),
    ]


async def test_an_error_event_raises_run_failed_error_after_the_events_before_it(
    make: Make,
) -> None:
    body = sse(
        ("metadata", {"run_id": RUN}, "1-0"),
        ("values", {"steps": ["prepare"]}, "2-0"),
        ("error", {"error": "ValueError", "message": "flaky failed on purpose"}, "3-0"),
    )
    transport, _ = scripted([event_stream(body, **RUN_HEADERS)])
    client = make(transport)
    received: list[StreamPart] = []
    with pytest.raises(RunFailedError) as caught:
        await drain(client.stream_run(THREAD, {"fail": True}), received)
    assert [p.event for p in received] == ["metadata", "values"]
    assert (caught.value.error_type, caught.value.event_id, caught.value.run_id) == (
        "ValueError",
        "3-0",
        RUN,
    )


async def test_a_background_stream_creates_the_run_then_follows_it_from_its_first_event(
    make: Make,
) -> None:
    transport, seen = scripted(
        [
            ok({"run_id": RUN, "thread_id": THREAD, "status": "pending"}),
            event_stream(sse(("metadata", {"run_id": RUN}, "1-0"), ("values", {}, "2-0"))),
            ok({"run_id": RUN, "status": "success"}),
        ]
    )
    client = make(transport)
    created: list[Any] = []
    stream = client.stream_run(THREAD, {"x": 1}, is_background=True, on_run_created=created.append)
    assert [p.id for p in await collect(stream)] == ["1-0", "2-0"]
    assert seen.paths()[:2] == [
        f"POST /threads/{THREAD}/runs",
        f"GET /threads/{THREAD}/runs/{RUN}/stream",
    ]
    assert seen.bodies()[0]["stream_resumable"] is True
    assert seen.requests[1].headers["last-event-id"] == "0-0"
    assert created == [{"run_id": RUN, "thread_id": THREAD}]


async def test_create_builds_a_client_only_if_the_deployment_answers(kind: str) -> None:
    up, seen = scripted([ok({"ok": True})])
    down, _ = scripted([httpx.ConnectError("refused")])
    if kind == "async":
        client = await Client.create("http://deployment.test", transport=up, max_retries=0)
        await client.aclose()
        with pytest.raises(APIConnectionError):
            await Client.create("http://deployment.test", transport=down, max_retries=0)
    else:
        sync = await asyncio.to_thread(SyncClient.create, "http://deployment.test", transport=up)
        sync.close()
        with pytest.raises(APIConnectionError):
            await asyncio.to_thread(
                SyncClient.create, "http://deployment.test", transport=down, max_retries=0
            )
    assert seen.paths() == ["GET /ok"]


async def test_a_bad_url_or_a_reserved_header_is_refused_at_construction() -> None:
    with pytest.raises(InputError, match="http"):
        Client("localhost:2024")
    with pytest.raises(InputError, match="api_key="):
        Client("http://deployment.test", headers={"X-Api-Key": "k"})
