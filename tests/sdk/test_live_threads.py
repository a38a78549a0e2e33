"""Threads, assistants and the official namespaces against the real `langgraph dev`, for both
clients (``client`` is parametrised over async and sync)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from switchboard import GraphNotFoundError, InputError, NotFoundError


async def test_health_and_info_describe_the_deployment(client: Any) -> None:
    assert (await client.health())["ok"] is True
    info = await client.info()
    assert info["version"]
    assert "flags" in info


async def test_a_thread_is_created_found_counted_updated_copied_and_deleted(client: Any) -> None:
    suite = uuid.uuid4().hex
    thread = await client.create_thread(metadata={"suite": suite, "owner": "alice"})
    thread_id = thread["thread_id"]
    assert (await client.get_thread(thread))["thread_id"] == thread_id  # a dict works as a ref
    assert await client.get_thread_status(thread_id) == "idle"
    assert [t["thread_id"] for t in await client.search_threads(metadata={"suite": suite})] == [
        thread_id
    ]
    assert await client.count_threads(metadata={"suite": suite}) == 1

    updated = await client.update_thread_metadata(thread_id, {"owner": "bob", "tag": "x"})
    assert updated["metadata"] == {"suite": suite, "owner": "bob", "tag": "x"}

    copy = await client.copy_thread(thread_id)
    assert copy["thread_id"] != thread_id
    assert await client.count_threads(metadata={"suite": suite}) == 2

    await client.delete_thread(thread_id)
    with pytest.raises(NotFoundError) as caught:
        await client.get_thread(thread_id)
    assert caught.value.status_code == 404
    await client.delete_thread(copy)


async def test_a_thread_with_a_chosen_id_is_created_once(client: Any) -> None:
    thread_id = str(uuid.uuid4())
    first = await client.create_thread(thread_id=thread_id, if_exists="do_nothing")
    again = await client.create_thread(thread_id=thread_id, if_exists="do_nothing")
    assert first["thread_id"] == again["thread_id"] == thread_id
    await client.delete_thread(thread_id)


async def test_search_sorts_pages_and_selects_fields(client: Any) -> None:
    suite = uuid.uuid4().hex
    ids = [
        (await client.create_thread(metadata={"suite": suite, "n": n}))["thread_id"]
        for n in range(3)
    ]
    found = await client.search_threads(
        metadata={"suite": suite},
        sort_by="created_at",
        sort_order="asc",
        select=["thread_id", "status"],
    )
    assert [t["thread_id"] for t in found] == ids
    assert all(set(t) == {"thread_id", "status"} for t in found)
    page = await client.search_threads(
        metadata={"suite": suite}, sort_by="created_at", sort_order="asc", limit=1, offset=1
    )
    assert [t["thread_id"] for t in page] == ids[1:2]
    assert await client.search_threads(metadata={"suite": suite}, status="busy") == []


async def test_assistants_are_listed_and_described_by_graph_name(client: Any) -> None:
    (chatty,) = await client.list_assistants(graph_id="chatty")
    assert await client.count_assistants(graph_id="chatty") == 1
    assert (await client.get_assistant("chatty"))["assistant_id"] == chatty["assistant_id"]
    drawing = await client.get_graph("chatty")
    assert {"chat", "__start__", "__end__"} <= {node["id"] for node in drawing["nodes"]}
    assert (await client.get_graph("support_agent", xray=True))["nodes"]
    schemas = await client.get_schemas("refund_approval")
    assert "customer" in schemas["state_schema"]["properties"]
    assert isinstance(await client.get_subgraphs("refund_approval"), dict)


async def test_an_unknown_graph_is_a_graph_not_found_error(client: Any) -> None:
    with pytest.raises(GraphNotFoundError):
        await client.get_schemas("no_such_graph")
    thread = await client.create_thread()
    with pytest.raises(GraphNotFoundError) as caught:
        await client.wait_run(thread, {}, assistant_id="no_such_graph")
    assert caught.value.status_code == 422


async def test_a_run_without_any_assistant_is_refused_locally(client: Any) -> None:
    thread = await client.create_thread()
    with pytest.raises(InputError, match="no assistant"):
        await client.create_run(thread, {})


async def test_the_official_namespaces_reach_the_same_deployment(client: Any) -> None:
    suite = uuid.uuid4().hex
    thread = await client.threads.create(metadata={"suite": suite})
    assert (await client.threads.get(thread["thread_id"]))["thread_id"] == thread["thread_id"]
    assert await client.threads.count(metadata={"suite": suite}) == 1
    assert len(await client.threads.search(metadata={"suite": suite})) == 1
    await client.threads.update(thread["thread_id"], {"k": 1})

    other = await client.threads.create()

    async def stream_on_other() -> list[Any]:
        stream = client.runs.stream(other["thread_id"], "flaky", input={}, stream_mode="updates")
        return [part async for part in stream]

    result, parts = await asyncio.gather(
        client.runs.wait(thread["thread_id"], "flaky", input={}), stream_on_other()
    )
    assert result["result"] == "ok"
    assert [p.event for p in parts][-1] == "updates"
    (run,) = await client.runs.list(thread["thread_id"])
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
    assert (await client.runs.join(thread["thread_id"], run))["result"] == "ok"
    with pytest.raises(NotFoundError):  # nothing left to cancel
        await client.runs.cancel(thread["thread_id"], run)

    background = await client.runs.create(
        other["thread_id"], "flaky", input={}, stream_resumable=True
    )
    replay = client.runs.join_stream(other["thread_id"], background, last_event_id="0-0")
    events = [part.event async for part in replay]
    assert events[0] == "metadata"
    await client.runs.delete(other["thread_id"], background)
    written = await client.threads.update_state(
        thread["thread_id"], {"result": "edited"}, as_node="finish"
    )
    assert written["checkpoint"]["checkpoint_id"]
    async with client.threads.join_stream(thread["thread_id"]) as live:
        assert live.thread_id == thread["thread_id"]

    history = await client.threads.get_history(
        thread["thread_id"], limit=2, metadata={"source": "loop"}
    )
    assert len(history) == 2
    assert all(h["metadata"]["source"] == "loop" for h in history)
    assert (await client.threads.get_state(thread["thread_id"]))["values"]["result"] == "edited"
    copy = await client.threads.copy(thread["thread_id"])
    await client.threads.delete(copy["thread_id"])

    assert (await client.assistants.search(graph_id="flaky"))[0]["graph_id"] == "flaky"
    assert await client.assistants.count(graph_id="flaky") == 1
    assert (await client.assistants.get("flaky"))["graph_id"] == "flaky"
    assert (await client.assistants.get_graph("flaky"))["edges"]
    assert (await client.assistants.get_schemas("flaky"))["graph_id"] == "flaky"
    assert await client.assistants.get_subgraphs("flaky") == {}
