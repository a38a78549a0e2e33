"""Runs and streams against the real `langgraph dev`, for both clients: every stream mode,
every multitask strategy, failures, resumable streams, background runs, the thread stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard import (
    Client,
    NotFoundError,
    RunFailedError,
    ServerError,
    StreamMode,
    StreamPart,
    ThreadBusyError,
)
from tests.sdk.helpers import on_both_clients

FAST = {"chunks": 3, "rate": 0}
SLOW = {"chunks": 200, "rate": 20}  # ten seconds unless something stops it


async def collect(stream: Any) -> list[StreamPart]:
    return [part async for part in stream]


def _id_key(event_id: str | None) -> tuple[int, ...]:
    return tuple(int(n) for n in str(event_id).split("-"))


async def wait_until_running(client: Any, thread_id: str, run_id: str) -> None:
    for _ in range(100):
        if (await client.get_run(thread_id, run_id))["status"] == "running":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never started")


EXPECTED_EVENTS = {
    StreamMode.VALUES: {"values"},
    StreamMode.UPDATES: {"updates"},
    StreamMode.MESSAGES: {"messages/metadata", "messages/partial"},
    StreamMode.MESSAGES_TUPLE: {"messages"},
    StreamMode.CUSTOM: {"custom"},
    StreamMode.EVENTS: {"events"},
    StreamMode.TASKS: {"tasks"},
    StreamMode.CHECKPOINTS: {"checkpoints"},
    StreamMode.DEBUG: {"debug"},
}


@on_both_clients
async def test_every_stream_mode_streams_its_own_events(client: Any) -> None:
    # One run per mode, all at once (the dev server picks runs up every half second).
    async def run_in(mode: StreamMode) -> tuple[Any, list[StreamPart]]:
        thread = await client.create_thread()
        stream = client.stream_run(thread, FAST, assistant_id="chatty", stream_mode=[mode])
        return stream, await collect(stream)

    # tools and lifecycle: this server refuses them on run endpoints (test_live_compat).
    modes = [m for m in StreamMode if m not in (StreamMode.TOOLS, StreamMode.LIFECYCLE)]
    results = await asyncio.gather(*(run_in(mode) for mode in modes))
    for mode, (stream, parts) in zip(modes, results, strict=True):
        assert parts[0].event == "metadata", mode
        assert parts[0].data["run_id"] == stream.run_id, mode
        events = {p.event for p in parts[1:]}
        assert EXPECTED_EVENTS[mode] <= events <= EXPECTED_EVENTS[mode] | {"messages/complete"}, (
            mode
        )
        if mode is StreamMode.MESSAGES_TUPLE:
            tokens = [p.data[0]["content"] for p in parts if p.event == "messages"]
            assert "".join(tokens).startswith("Switchboard streams every")
        if mode is StreamMode.CUSTOM:
            assert parts[-1].data == {"emitted": 3, "total": 3}


@on_both_clients
async def test_several_modes_stream_together(client: Any) -> None:
    thread = await client.create_thread()
    parts = await collect(
        client.stream_run(
            thread, FAST, assistant_id="chatty", stream_mode=["values", "updates", "custom"]
        )
    )
    assert {p.event for p in parts} == {"metadata", "values", "updates", "custom"}


@on_both_clients
async def test_a_busy_thread_under_reject_raises_thread_busy_error_with_status_409(
    client: Any,
) -> None:
    thread = await client.create_thread()
    first = await client.create_run(thread, SLOW, assistant_id="chatty")
    with pytest.raises(ThreadBusyError) as caught:
        await collect(
            client.stream_run(thread, FAST, assistant_id="chatty", multitask_strategy="reject")
        )
    assert caught.value.status_code == 409
    with pytest.raises(ThreadBusyError):
        await client.wait_run(thread, FAST, assistant_id="chatty")  # reject is the default
    assert await client.cancel_run(thread, first, action="rollback") is None  # 202, no body
    for _ in range(50):  # a rolled back run is deleted with its checkpoints
        try:
            await client.get_run(thread, first)
        except NotFoundError:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the rolled back run is still there")


@on_both_clients
async def test_enqueue_runs_the_new_run_after_the_current_one(client: Any) -> None:
    thread = await client.create_thread()
    first = await client.create_run(thread, {"chunks": 5, "rate": 25}, assistant_id="chatty")
    second = await client.create_run(
        thread, FAST, assistant_id="chatty", multitask_strategy="enqueue"
    )
    assert second["status"] == "pending"
    await client.join_run(thread, second)
    runs = {r["run_id"]: r["status"] for r in await client.list_runs(thread)}
    assert runs == {first["run_id"]: "success", second["run_id"]: "success"}


@on_both_clients
async def test_interrupt_cancels_the_current_run_and_keeps_it(client: Any) -> None:
    thread = await client.create_thread()
    first = await client.create_run(thread, SLOW, assistant_id="chatty")
    await wait_until_running(client, thread["thread_id"], first["run_id"])
    await client.wait_run(thread, FAST, assistant_id="chatty", multitask_strategy="interrupt")
    assert (await client.get_run(thread, first))["status"] == "interrupted"
    third = await client.create_run(thread, SLOW, assistant_id="chatty")
    await client.cancel_run(thread, third, wait=True)  # waits until it stopped
    assert (await client.get_run(thread, third))["status"] == "interrupted"


@on_both_clients
async def test_rollback_cancels_and_deletes_the_current_run(client: Any) -> None:
    thread = await client.create_thread()
    first = await client.create_run(thread, SLOW, assistant_id="chatty")
    await wait_until_running(client, thread["thread_id"], first["run_id"])
    await client.wait_run(thread, FAST, assistant_id="chatty", multitask_strategy="rollback")
    with pytest.raises(NotFoundError):
        await client.get_run(thread, first)


@on_both_clients
async def test_a_failing_graph_raises_run_failed_error_from_a_stream_and_from_wait(
    client: Any,
) -> None:
    one, two, three = [await client.create_thread() for _ in range(3)]
    seen: list[StreamPart] = []

    async def stream_it() -> None:
        async for part in client.stream_run(
            one, {"fail": True, "message": "nope"}, assistant_id="flaky"
        ):
            seen.append(part)

    outcomes: tuple[Any, ...] = await asyncio.gather(
        stream_it(),
        client.wait_run(
            two, {"fail": True, "message": "late", "fail_at": "finish"}, assistant_id="flaky"
        ),
        client.wait_run(three, {"fail": True}, assistant_id="flaky", raise_error=False),
        return_exceptions=True,
    )
    streamed, waited, returned = outcomes
    assert isinstance(streamed, RunFailedError)
    assert (streamed.error_type, streamed.detail) == ("ValueError", "nope")
    assert streamed.run_id == seen[0].data["run_id"]
    assert isinstance(waited, RunFailedError)
    assert str(waited).startswith("run failed: ValueError: late")
    assert returned["__error__"]["error"] == "ValueError"
    assert await client.get_thread_status(two) == "error"


@on_both_clients
async def test_a_resumable_run_is_rejoined_after_any_event_id(client: Any) -> None:
    thread = await client.create_thread()
    created: list[Any] = []
    stream = client.stream_run(
        thread,
        {"chunks": 4, "rate": 0},
        assistant_id="chatty",
        stream_mode=["updates", "custom"],
        stream_resumable=True,
        on_disconnect="continue",
        on_run_created=created.append,
    )
    parts = await collect(stream)
    assert created == [{"run_id": stream.run_id, "thread_id": thread["thread_id"]}]
    assert all(p.id for p in parts)
    assert stream.last_event_id == parts[-1].id
    # Ids are "<ms>-<seq>" and may repeat (gotcha 18): a replay starts after *all* events
    # carrying the given id.
    cut = parts[1].id
    replay = await collect(client.join_stream(thread, stream.run_id, last_event_id=cut))
    later = [p for p in parts if _id_key(p.id) > _id_key(cut)]
    assert [(p.event, p.data) for p in replay] == [(p.event, p.data) for p in later]
    everything = await collect(client.join_stream(thread, stream.run_id, last_event_id="0-0"))
    assert [p.data for p in everything] == [p.data for p in parts]
    only_custom = await collect(
        client.join_stream(thread, stream.run_id, last_event_id="0-0", stream_mode=["custom"])
    )
    assert {p.event for p in only_custom} <= {"custom", "metadata"}


@on_both_clients
async def test_a_background_stream_follows_the_run_from_its_first_event(client: Any) -> None:
    thread = await client.create_thread()
    stream = client.stream_run(
        thread, FAST, assistant_id="chatty", stream_mode=["values"], is_background=True
    )
    parts = await collect(stream)
    assert parts[0].event == "metadata"
    assert parts[0].data["run_id"] == stream.run_id
    assert parts[-1].data["messages"][-1]["content"].startswith("Switchboard streams")
    assert (await client.get_run(thread, stream.run_id))["status"] == "success"


@on_both_clients
async def test_the_thread_stream_carries_each_runs_events(client: Any) -> None:
    thread = await client.create_thread()
    stream = client.join_thread_stream(thread, stream_modes=["run_modes"])
    async with stream:
        run = await client.create_run(thread, FAST, assistant_id="chatty", stream_mode=["custom"])
        events = []
        async for part in stream:
            events.append(part)
            if part.event == "metadata" and part.data.get("status") == "run_done":
                break
    assert any(p.event == "custom" for p in events)
    assert events[-1].data["run_id"] == run["run_id"]


@on_both_clients
async def test_runs_are_listed_fetched_joined_and_deleted(client: Any) -> None:
    thread = await client.create_thread()
    run = await client.create_run(thread, {}, assistant_id="flaky", metadata={"who": "alice"})
    assert (await client.join_run(thread, run))["steps"] == ["prepare", "process", "finish"]
    fetched = await client.get_run(thread, run["run_id"])
    assert (fetched["status"], fetched["metadata"]["who"]) == ("success", "alice")
    assert [r["run_id"] for r in await client.list_runs(thread, status="success")] == [
        run["run_id"]
    ]
    # Several columns: the server reads `select` repeated, not comma-joined.
    assert await client.list_runs(thread, select=["run_id", "status"]) == [
        {"run_id": run["run_id"], "status": "success"}
    ]
    await client.delete_run(thread, run)
    assert await client.list_runs(thread) == []


@on_both_clients
async def test_a_stateless_run_needs_no_thread(client: Any) -> None:
    waited, parts = await asyncio.gather(
        client.wait_run(None, {}, assistant_id="flaky"),
        collect(client.stream_run(None, {}, assistant_id="flaky", stream_mode="updates")),
    )
    assert waited["result"] == "ok"
    assert [next(iter(p.data)) for p in parts[1:]] == ["prepare", "process", "finish"]


async def test_after_a_plain_text_500_the_next_write_still_goes_through(langgraph_url: str) -> None:
    # Gotcha 7 on the real server: a flat `before` makes /history crash with a plain-text 500,
    # and uvicorn then drops that keep-alive connection without a word. A write sent right
    # after must not land on it (a ReadError there cannot be retried). Without the fresh
    # connection the SDK uses after a 5xx, about half of these writes fail on this server.
    async with Client(langgraph_url, max_retries=0) as client:
        thread = await client.create_thread()
        await client.wait_run(thread, {}, assistant_id="flaky")
        (state,) = await client.get_state_history(thread, limit=1)
        assert state["checkpoint"] is not None
        flat = {"limit": 1, "before": {"checkpoint_id": state["checkpoint"]["checkpoint_id"]}}
        for _ in range(8):
            with pytest.raises(ServerError) as caught:
                await client._http.request(
                    "POST", f"/threads/{thread['thread_id']}/history", json=flat
                )
            assert caught.value.detail.startswith("Internal Server Error")
            assert (await client.create_thread())["thread_id"]
