"""The demo graphs in graphs/, driven through a real `langgraph dev` with the official SDK.

These pin the contracts the console codes against: each interrupt's exact payload, each
resume payload, and what streams out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

ALL_DECISIONS = ["approve", "edit", "reject", "respond"]

REFUND = {"customer": "ACME", "amount": 120.0, "reason": "Charged twice for invoice 1042"}
DRAFT = {**REFUND, "currency": "USD"}

ASK = {
    "messages": [
        {
            "role": "user",
            "content": "Order B-2042 arrived broken. Please refund $42.50 and email "
            "jane@example.com.",
        }
    ]
}
REFUND_CALL = {"order_id": "B-2042", "amount": 42.5, "reason": ASK["messages"][0]["content"]}


@pytest.fixture
async def client(langgraph_url: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=langgraph_url, api_key=None)
    yield client
    await client.aclose()


async def _start(client: LangGraphClient, graph: str, input: Any, **kwargs: Any) -> tuple[str, Any]:
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], graph, input=input, **kwargs)
    return thread["thread_id"], result


async def _stream(
    client: LangGraphClient, thread_id: str, graph: str, **kwargs: Any
) -> list[StreamPart]:
    return [part async for part in client.runs.stream(thread_id, graph, **kwargs)]


def _tokens(parts: list[StreamPart]) -> list[str]:
    return [
        part.data[0]["content"]
        for part in parts
        if part.event == "messages"
        and part.data[0]["type"] == "AIMessageChunk"
        and part.data[0]["content"]
    ]


def _received(tool_message: dict[str, Any]) -> Any:
    # The tool's own receipt is the last line; an edit note from the middleware may precede it.
    return json.loads(tool_message["content"].rsplit("\n", 1)[-1])["received"]


async def test_every_demo_graph_is_served(client):
    assistants = await client.assistants.search(limit=100)

    assert {assistant["graph_id"] for assistant in assistants} == {
        "refund_approval",
        "support_agent",
        "parallel_review",
        "chatty",
        "flaky",
        "echo_review",
    }


async def test_refund_approval_waits_for_a_legacy_approval(client):
    thread_id, result = await _start(client, "refund_approval", REFUND)

    [pending] = result["__interrupt__"]
    [request] = pending["value"]
    assert request == {
        "action_request": {"action": "issue_refund", "args": DRAFT},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": request["description"],
    }
    assert "**ACME**" in request["description"]
    assert "**120.00 USD**" in request["description"]
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"


# Each agent-inbox response, and the final state it must lead to.
REVIEWS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "accept": (
        # The inbox sends the original args back as strings; the draft is what gets paid.
        {"type": "accept", "args": {"action": "issue_refund", "args": {"amount": "120.0"}}},
        {"outcome": "refunded", "refund": DRAFT, "feedback": None},
    ),
    "edit": (
        {
            "type": "edit",
            "args": {
                "action": "issue_refund",
                "args": {**DRAFT, "amount": "$95.50", "reason": "Partial refund"},
            },
        },
        {
            "outcome": "refunded",
            "refund": {**DRAFT, "amount": 95.5, "reason": "Partial refund"},
            "feedback": None,
        },
    ),
    "response": (
        {"type": "response", "args": "Ask for the second invoice first."},
        {"outcome": "feedback", "refund": None, "feedback": "Ask for the second invoice first."},
    ),
    "ignore": (
        {"type": "ignore", "args": None},
        {"outcome": "ignored", "refund": None, "feedback": None},
    ),
}


async def test_refund_approval_ends_as_the_reviewer_decided(client):
    async def review(response: dict[str, Any]) -> tuple[dict[str, Any], str]:
        thread_id, _ = await _start(client, "refund_approval", REFUND)
        final = await client.runs.wait(thread_id, "refund_approval", command={"resume": [response]})
        thread = await client.threads.get(thread_id)
        return {key: final.get(key) for key in ("outcome", "refund", "feedback")}, thread["status"]

    # Concurrently: every run waits up to a second for the server's queue to pick it up.
    results = await asyncio.gather(*(review(response) for response, _ in REVIEWS.values()))

    assert dict(zip(REVIEWS, results, strict=True)) == {
        name: (expected, "idle") for name, (_, expected) in REVIEWS.items()
    }


async def test_refund_approval_asks_again_when_an_edit_cannot_be_used(client):
    thread_id, first = await _start(client, "refund_approval", REFUND)
    edit = {"type": "edit", "args": {"action": "issue_refund", "args": {**DRAFT, "amount": "lots"}}}

    again = await client.runs.wait(thread_id, "refund_approval", command={"resume": [edit]})

    [pending] = again["__interrupt__"]
    assert pending["id"] != first["__interrupt__"][0]["id"]
    assert again["problem"] == "amount must be a number, got 'lots'"
    assert pending["value"][0]["description"].startswith(
        "**The last answer could not be used:** amount must be a number, got 'lots'"
    )


async def test_refund_approval_stops_at_a_static_breakpoint(client):
    thread_id, _ = await _start(client, "refund_approval", REFUND, interrupt_before=["review"])

    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["review"]
    assert state["interrupts"] == []
    resumed = await client.runs.wait(thread_id, "refund_approval", input=None)
    [pending] = resumed["__interrupt__"]
    assert pending["value"][0]["action_request"]["action"] == "issue_refund"


async def test_support_agent_asks_to_review_both_tool_calls_in_one_interrupt(client):
    thread = await client.threads.create()

    parts = await _stream(
        client,
        thread["thread_id"],
        "support_agent",
        input=ASK,
        stream_mode=["messages-tuple", "updates"],
    )

    tokens = _tokens(parts)
    assert len(tokens) > 5
    assert "".join(tokens) == (
        "I'll refund 42.50 USD on order B-2042 and email jane@example.com to confirm."
    )
    [pending] = next(
        part.data["__interrupt__"]
        for part in parts
        if part.event == "updates" and "__interrupt__" in part.data
    )
    actions = pending["value"]["action_requests"]
    assert [(action["name"], action["args"]) for action in actions] == [
        ("issue_refund", REFUND_CALL),
        (
            "send_email",
            {
                "to": "jane@example.com",
                "subject": "Your refund for order B-2042",
                "body": "We have refunded 42.50 USD for order B-2042. Sorry!",
            },
        ),
    ]
    assert all(action["description"] for action in actions)
    assert pending["value"]["review_configs"] == [
        {"action_name": "issue_refund", "allowed_decisions": ALL_DECISIONS},
        {"action_name": "send_email", "allowed_decisions": ALL_DECISIONS},
    ]


async def test_support_agent_runs_the_tools_with_the_reviewers_edits(client):
    thread_id, _ = await _start(client, "support_agent", ASK)
    edited = {"to": "billing@example.com", "subject": "Refund issued", "body": "On its way."}
    decisions = [
        {"type": "approve"},
        {"type": "edit", "edited_action": {"name": "send_email", "args": edited}},
    ]

    parts = await _stream(
        client,
        thread_id,
        "support_agent",
        command={"resume": {"decisions": decisions}},
        stream_mode="messages-tuple",
    )

    state = await client.threads.get_state(thread_id)
    messages = state["values"]["messages"]
    results = {message["name"]: message for message in messages if message["type"] == "tool"}
    assert _received(results["issue_refund"]) == REFUND_CALL
    assert _received(results["send_email"]) == edited
    answer = messages[-1]["content"]
    assert "I refunded 42.50 USD on order B-2042." in answer
    assert (
        "I emailed billing@example.com about 'Refund issued' (as edited by the reviewer)." in answer
    )
    tokens = _tokens(parts)
    assert len(tokens) > 5
    assert "".join(tokens) == answer


async def test_support_agent_reports_rejected_and_answered_calls(client):
    thread_id, _ = await _start(client, "support_agent", ASK)
    decisions = [
        {"type": "reject", "message": "Refunds over 40 USD need a manager"},
        {"type": "respond", "message": "Customer was told by phone."},
    ]

    final = await client.runs.wait(
        thread_id, "support_agent", command={"resume": {"decisions": decisions}}
    )

    results = {m["name"]: m for m in final["messages"] if m["type"] == "tool"}
    assert results["issue_refund"]["status"] == "error"
    assert results["send_email"]["status"] == "success"
    assert results["send_email"]["content"] == "Customer was told by phone."
    answer = final["messages"][-1]["content"]
    assert "the reviewer rejected it (Refunds over 40 USD need a manager)" in answer
    assert "the reviewer answered instead: Customer was told by phone." in answer


async def test_parallel_review_waits_on_two_interrupts_at_once(client):
    thread_id, result = await _start(client, "parallel_review", {"document": "NDA with Initech"})

    values = sorted((pending["value"] for pending in result["__interrupt__"]), key=str)
    assert [value["branch"] for value in values] == ["finance", "legal"]
    for value in values:
        assert value == {
            "question": value["question"],
            "branch": value["branch"],
            "document": "NDA with Initech",
            "options": ["approve", "reject"],
        }
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert len(thread["interrupts"]) == 2


async def test_parallel_review_resumes_each_interrupt_by_its_id(client):
    thread_id, result = await _start(client, "parallel_review", {})
    ids = {pending["value"]["branch"]: pending["id"] for pending in result["__interrupt__"]}

    partial = await client.runs.wait(
        thread_id, "parallel_review", command={"resume": {ids["legal"]: "approve"}}
    )
    final = await client.runs.wait(
        thread_id,
        "parallel_review",
        command={"resume": {ids["finance"]: {"approved": True, "note": "Net-60 is fine."}}},
    )

    assert [pending["id"] for pending in partial["__interrupt__"]] == [ids["finance"]]
    assert final["legal"] == "approve"
    assert final["finance"] == {"approved": True, "note": "Net-60 is fine."}
    assert final["decision"] == "approved"


async def test_parallel_review_fails_a_resume_without_interrupt_ids(client):
    thread_id, _ = await _start(client, "parallel_review", {})

    result = await client.runs.wait(
        thread_id, "parallel_review", command={"resume": "approve"}, raise_error=False
    )

    assert result["__error__"]["error"] == "RuntimeError"
    assert "interrupt id" in result["__error__"]["message"]
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "error"


async def test_chatty_streams_the_requested_number_of_chunks(client):
    thread = await client.threads.create()

    parts = await _stream(
        client,
        thread["thread_id"],
        "chatty",
        input={"chunks": 30, "rate": 0, "text": "one two three"},
        stream_mode=["messages-tuple", "custom"],
    )

    chunks = [part.data[0] for part in parts if part.event == "messages"]
    assert len(chunks) == 30
    assert {chunk["type"] for chunk in chunks} == {"AIMessageChunk"}
    assert chunks[-1]["chunk_position"] == "last"
    assert "".join(chunk["content"] for chunk in chunks) == " ".join(["one", "two", "three"] * 10)
    progress = [part.data for part in parts if part.event == "custom"]
    assert progress == [{"emitted": n, "total": 30} for n in range(3, 31, 3)]


async def test_chatty_paces_chunks_at_the_requested_rate(client):
    started = time.monotonic()

    _, result = await _start(client, "chatty", {"chunks": 10, "rate": 50})

    # Nine gaps of 20 ms; the server only adds time, so this lower bound is stable.
    assert time.monotonic() - started >= 0.18
    assert len(result["messages"][-1]["content"].split()) == 10


async def test_flaky_fails_with_the_message_it_was_given(client):
    thread = await client.threads.create()

    parts = await _stream(
        client,
        thread["thread_id"],
        "flaky",
        input={"fail": True, "message": "card processor timed out", "fail_at": "finish"},
        stream_mode="updates",
    )

    assert [part.event for part in parts] == ["metadata", "updates", "updates", "error"]
    assert [list(part.data) for part in parts[1:3]] == [["prepare"], ["process"]]
    assert parts[-1].data == {"error": "ValueError", "message": "card processor timed out"}
    failed = await client.threads.get(thread["thread_id"])
    assert failed["status"] == "error"


async def test_flaky_succeeds_when_not_asked_to_fail(client):
    _, result = await _start(client, "flaky", {})

    assert result == {"steps": ["prepare", "process", "finish"], "result": "ok"}


@pytest.mark.parametrize(
    ("graph", "required"),
    [
        ("refund_approval", {"customer", "amount"}),
        ("chatty", set()),
        ("flaky", set()),
        ("parallel_review", set()),
    ],
)
async def test_each_demo_graph_publishes_its_input_schema(
    client: LangGraphClient, graph: str, required: set[str]
):
    """The start-run form is built from this schema: with `typing.TypedDict` on Python 3.11 the
    server publishes none, and a form without `amount` starts a run that fails."""
    assistants = await client.assistants.search(graph_id=graph, limit=1)
    schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
    input_schema = schemas["input_schema"]
    assert input_schema, f"{graph} published no input schema"
    assert input_schema.get("properties"), f"{graph} published an input schema with no fields"
    assert required <= set(input_schema.get("required", [])), input_schema
