"""langgraph_sdk's calls that ours took on, against the real `langgraph dev`, with the async
and the sync client: assistants create/update/versions/latest/delete, crons, the store,
threads.prune, runs.create_batch and cancel_many, params=, and the official keyword names."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from switchboard import GraphNotFoundError, InputError, NotFoundError, get_client
from tests.sdk.helpers import on_both_clients


@on_both_clients
async def test_an_assistant_is_created_versioned_rolled_back_and_deleted(client: Any) -> None:
    name = f"compat-{uuid.uuid4().hex[:8]}"
    made = await client.assistants.create(
        "flaky", config={"configurable": {"tone": "dry"}}, name=name, metadata={"v": "1"}
    )
    assert (made["graph_id"], made["name"], made["version"]) == ("flaky", name, 1)
    updated = await client.assistants.update(made["assistant_id"], metadata={"v": "2"})
    assert updated["version"] == 2
    versions = await client.assistants.get_versions(assistant_id=made["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    await client.assistants.set_latest(made["assistant_id"], 1)
    assert (await client.assistants.get(assistant_id=made["assistant_id"]))["version"] == 1
    await client.assistants.delete(made["assistant_id"])
    with pytest.raises(GraphNotFoundError):
        await client.get_assistant(made["assistant_id"])


@on_both_clients
async def test_a_cron_is_created_found_paused_and_deleted(client: Any) -> None:
    marker = uuid.uuid4().hex
    cron = await client.crons.create("flaky", "0 0 1 1 *", input={}, metadata={"marker": marker})
    assert cron["schedule"] == "0 0 1 1 *"
    assert cron["next_run_date"]
    try:
        found = await client.crons.search(assistant_id="flaky", metadata={"marker": marker})
        assert [c["cron_id"] for c in found] == [cron["cron_id"]]
        assert await client.crons.count(assistant_id="flaky", metadata={"marker": marker}) == 1
        paused = await client.crons.update(cron["cron_id"], enabled=False)
        assert paused["enabled"] is False
        thread = await client.threads.create()
        on_thread = await client.crons.create_for_thread(
            thread["thread_id"], "flaky", "0 0 1 1 *", input={}
        )
        assert on_thread["thread_id"] == thread["thread_id"]
        await client.crons.delete(on_thread["cron_id"])
    finally:
        await client.crons.delete(cron["cron_id"])
    assert await client.crons.search(metadata={"marker": marker}) == []


@on_both_clients
async def test_store_items_are_put_read_searched_listed_and_deleted(client: Any) -> None:
    space = ["compat", uuid.uuid4().hex]
    await client.store.put_item(space, "pref", {"colour": "teal", "size": 2})
    item = await client.store.get_item(space, "pref")
    assert (item["namespace"], item["key"], item["value"]) == (
        space,
        "pref",
        {"colour": "teal", "size": 2},
    )
    found = await client.store.search_items(["compat"], filter={"colour": "teal"}, limit=50)
    assert space in [i["namespace"] for i in found["items"]]
    listed = await client.store.list_namespaces(prefix=["compat"], limit=1000)
    assert space in listed["namespaces"]
    await client.store.delete_item(space, "pref")
    assert await client.store.get_item(space, "pref") is None
    with pytest.raises(InputError, match="sequence of strings"):
        await client.store.put_item("compat", "k", {})


@on_both_clients
async def test_threads_are_pruned_and_runs_made_in_a_batch_and_cancelled_together(
    client: Any,
) -> None:
    first, second = await client.threads.create(), await client.threads.create()
    pruned = await client.threads.prune([first["thread_id"], second["thread_id"]])
    assert pruned == {"pruned_count": 2}
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id=first["thread_id"])

    runs = await client.runs.create_batch(
        [{"assistant_id": "flaky", "input": {}}, {"assistant_id": "flaky", "input": {}}]
    )
    assert len({r["run_id"] for r in runs}) == 2

    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "chatty", input={"chunks": 400, "rate": 20})
    await client.runs.cancel_many(thread_id=thread["thread_id"], run_ids=[run["run_id"]])
    for _ in range(100):
        status = (await client.runs.get(thread_id=thread["thread_id"], run_id=run["run_id"]))[
            "status"
        ]
        if status not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    assert status == "interrupted"


async def test_code_written_for_langgraph_sdk_runs_unchanged(langgraph_url: str) -> None:
    client: Any  # the official names are accepted at run time; mypy reads ours
    async with get_client(url=langgraph_url) as client:
        thread = await client.threads.create(metadata={"graph_id": "flaky"})
        final = await client.runs.wait(thread["thread_id"], "flaky", input={})
        assert final["result"] == "ok"
        state = await client.threads.get_state(thread_id=thread["thread_id"])
        await client.threads.update_state(
            thread_id=thread["thread_id"], values={"result": "edited"}, as_node="finish"
        )
        history = await client.threads.get_history(thread_id=thread["thread_id"], limit=2)
        assert history[0]["values"]["result"] == "edited"
        assert history[1]["checkpoint"] == state["checkpoint"]
        runs = await client.runs.list(thread_id=thread["thread_id"])
        run = await client.runs.get(thread_id=thread["thread_id"], run_id=runs[0]["run_id"])
        assert run["status"] == "success"
        got = await client.threads.get(thread["thread_id"], params={"unused": "1"})
        assert got["thread_id"] == thread["thread_id"]


async def test_tools_and_lifecycle_modes_are_sent_and_this_server_refuses_them(
    langgraph_url: str,
) -> None:
    """langgraph-api 0.16.7 emits ``tools``/``lifecycle`` only on its v2 event protocol; on
    the run endpoints it answers 422, which reaches the caller as InputError."""
    async with get_client(url=langgraph_url) as client:
        thread = await client.threads.create()
        for mode in ("tools", "lifecycle"):
            with pytest.raises(InputError) as refused:
                async for _ in client.runs.stream(
                    thread["thread_id"], "flaky", input={}, stream_mode=["values", mode]
                ):
                    pass
            assert refused.value.status_code == 422
