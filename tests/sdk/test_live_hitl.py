"""Human in the loop, state and time travel against the real `langgraph dev`, for both clients:
the three interrupt formats resumed with exact payloads, parallel interrupts by id, breakpoints,
editing state as a node, forking from a checkpoint, and paging history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from switchboard import ConflictError, InputError, StreamPart, is_paused_at_breakpoint, needs_human
from tests.sdk.helpers import on_both_clients

REFUND = {"customer": "ACME", "amount": 120, "reason": "arrived broken"}
SUPPORT = {
    "messages": [
        {
            "role": "user",
            "content": "Order A-1001 arrived broken. Please refund $42.50 and email jane@example.com.",
        }
    ]
}


async def collect(stream: Any) -> list[StreamPart]:
    return [part async for part in stream]


async def paused(client: Any, graph: str, value: Any, **options: Any) -> str:
    """A new thread of ``graph`` run until it stops; returns the thread id."""
    thread = await client.create_thread()
    await client.wait_run(thread, value, assistant_id=graph, **options)
    return str(thread["thread_id"])


@on_both_clients
async def test_the_seed_flow_edits_state_as_a_node_resumes_from_that_checkpoint_and_keeps_history(
    client: Any,
) -> None:
    thread = await client.create_thread()
    parts = await collect(client.stream_run(thread, REFUND, assistant_id="refund_approval"))
    assert "__interrupt__" in parts[-1].data
    assert await client.get_thread_status(thread) == "interrupted"

    # "Edit and approve" without answering the interrupt: write the refund as if review ran.
    edited = {"customer": "ACME", "amount": 99.0, "currency": "USD", "reason": "partial"}
    written = await client.update_thread_state(thread, {"refund": edited}, as_node="review")
    checkpoint_id = written["checkpoint"]["checkpoint_id"]
    assert (await client.get_thread_state(thread))["next"] == ["issue_refund"]

    resumed = await collect(
        client.stream_run(thread, None, checkpoint_id=checkpoint_id, assistant_id="refund_approval")
    )
    final = [p.data for p in resumed if p.event == "values"][-1]
    assert (final["outcome"], final["refund"]["amount"]) == ("refunded", 99.0)

    history = await client.get_state_history(thread, limit=20)
    sources = [h["metadata"]["source"] for h in history]
    assert sources[0] == "loop"
    assert "update" in sources
    assert sources[-1] == "input"
    update = next(h for h in history if h["metadata"]["source"] == "update")
    assert update["checkpoint"]["checkpoint_id"] == checkpoint_id
    assert (await client.get_thread_state(thread, checkpoint_id))["values"]["refund"] == edited
    at = await client.get_thread_state(thread, checkpoint=written["checkpoint"])
    assert at["checkpoint"]["checkpoint_id"] == checkpoint_id


@on_both_clients
async def test_legacy_interrupts_are_resumed_with_each_kind_of_human_response(client: Any) -> None:
    threads = await asyncio.gather(*(paused(client, "refund_approval", REFUND) for _ in range(3)))
    (record,) = await client.get_interrupts(threads[0])
    assert (record.format, record.node, record.actions[0].name) == (
        "legacy",
        "review",
        "issue_refund",
    )
    assert record.actions[0].allowed_decisions == ("accept", "edit", "response", "ignore")
    with pytest.raises(ConflictError, match="moved on"):  # the operator saw another checkpoint
        await client.resume(
            threads[0], "accept", expected_checkpoint_id="1f1e0000-0000-6000-8000-000000000000"
        )
    accepted, edited, answered = await asyncio.gather(
        client.resume(threads[0], "accept", expected_checkpoint_id=record.checkpoint_id),
        client.resume(threads[1], {"type": "edit", "args": {"amount": "95.50"}}),
        client.resume(threads[2], {"type": "response", "args": "call the customer first"}),
    )
    assert (accepted["outcome"], accepted["refund"]["amount"]) == ("refunded", 120.0)
    assert (edited["outcome"], edited["refund"]["amount"]) == ("refunded", 95.5)
    assert (answered["outcome"], answered["feedback"]) == ("feedback", "call the customer first")
    for thread in threads:
        assert await client.get_interrupts(thread) == []


@on_both_clients
async def test_a_middleware_request_with_two_tool_calls_is_decided_differently_per_call(
    client: Any,
) -> None:
    thread = await paused(client, "support_agent", SUPPORT)
    (record,) = await client.get_interrupts(thread)
    assert record.format == "middleware"
    assert [a.name for a in record.actions] == ["issue_refund", "send_email"]
    refund_args = {**record.actions[0].args, "amount": 40.0}

    with pytest.raises(InputError, match="need exactly one decision each"):
        await client.resume(thread, "approve")  # refused before anything is sent
    final = await client.resume(
        thread, [{"type": "edit", "args": refund_args}, {"type": "reject", "message": "no email"}]
    )
    tools = {m["name"]: m for m in final["messages"] if m["type"] == "tool"}
    assert (
        json.loads(tools["issue_refund"]["content"].rsplit("\n", 1)[-1])["received"]["amount"]
        == 40.0
    )
    assert tools["send_email"]["status"] == "error"
    assert "no email" in tools["send_email"]["content"]
    assert final["messages"][-1]["content"].startswith("Here is what happened.")


@on_both_clients
async def test_two_parallel_interrupts_are_resumed_by_id_together_or_one_at_a_time(
    client: Any,
) -> None:
    together, apart = await asyncio.gather(
        paused(client, "parallel_review", {}), paused(client, "parallel_review", {})
    )
    records = await client.get_interrupts(together)
    assert {(r.format, r.node) for r in records} == {
        ("generic", "legal_review"),
        ("generic", "finance_review"),
    }
    with pytest.raises(InputError, match="2 interrupts are pending"):
        await client.resume(together, "approve")
    assert await client.get_thread_status(together) == "interrupted"  # nothing was sent

    async def both_at_once() -> Any:
        by_node = {r.node: r.interrupt_id for r in records}
        answers = {
            by_node["legal_review"]: "approve",
            by_node["finance_review"]: {"approved": True, "note": "ok"},
        }
        return await client.resume(together, by_id=answers)

    async def one_at_a_time() -> Any:
        first, second = await client.get_interrupts(apart)
        await client.resume(apart, by_id={first.interrupt_id: "reject"})
        (left,) = await client.get_interrupts(apart)
        assert left.interrupt_id == second.interrupt_id  # the other one is still pending
        return await client.resume(apart, by_id={left.interrupt_id: "approve"})

    final, final_apart = await asyncio.gather(both_at_once(), one_at_a_time())
    assert final["decision"] == "approved"
    assert final_apart["decision"] == "rejected"


@on_both_clients
async def test_a_breakpoint_pauses_without_an_interrupt_record_and_continues_with_no_input(
    client: Any,
) -> None:
    thread = await paused(client, "refund_approval", REFUND, interrupt_before=["review"])
    assert await client.get_interrupts(thread) == []
    data = await client.get_thread(thread)
    assert is_paused_at_breakpoint(data)
    assert not needs_human(data)
    await client.wait_run(thread, None, assistant_id="refund_approval")
    assert needs_human(await client.get_thread(thread))
    assert len(await client.get_interrupts(thread)) == 1


@on_both_clients
async def test_a_thread_forks_from_an_earlier_checkpoint_and_keeps_the_old_branch(
    client: Any,
) -> None:
    thread = await paused(client, "flaky", {})
    history = await client.get_state_history(thread, limit=10)
    after_prepare = next(h for h in history if h["next"] == ["process"])
    fork_from = after_prepare["checkpoint"]["checkpoint_id"]

    await client.wait_run(thread, None, assistant_id="flaky", checkpoint_id=fork_from)
    after = await client.get_state_history(thread, limit=20)
    assert len(after) > len(history)
    children = [
        h for h in after if (h["parent_checkpoint"] or {}).get("checkpoint_id") == fork_from
    ]
    assert len(children) == 2  # the original step and the fork
    assert (await client.get_thread_state(thread))["values"]["steps"] == [
        "prepare",
        "process",
        "finish",
    ]


@on_both_clients
async def test_history_pages_with_before_and_filters_by_metadata(client: Any) -> None:
    thread = await paused(client, "flaky", {})
    everything = await client.get_state_history(thread, limit=20)
    pages: list[Any] = []
    before = None
    while True:
        page = await client.get_state_history(thread, limit=2, before=before)
        if not page:
            break
        pages += page
        before = page[-1]  # a state works as the cursor; so do a checkpoint or an id
    assert [p["checkpoint"]["checkpoint_id"] for p in pages] == [
        h["checkpoint"]["checkpoint_id"] for h in everything
    ]
    inputs = await client.get_state_history(thread, filter={"source": "input"})
    assert [h["metadata"]["source"] for h in inputs] == ["input"]
