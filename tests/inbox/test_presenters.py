"""The decision page renders messages and JSON with the thread pages' presenters, so the two agree."""

from __future__ import annotations

from typing import Any

from apps.inbox.presenters import MAX_MESSAGES, bounded, conversation, pretty
from apps.threads.presenters import conversation as thread_conversation
from apps.threads.presenters import pretty_json

MESSAGES: list[dict[str, Any]] = [
    {"type": "human", "content": "Refund order A-1?", "id": "m1"},
    {
        "type": "ai",
        "content": [{"type": "text", "text": "Checking."}, {"type": "image", "url": "x"}],
        "tool_calls": [{"id": "c1", "name": "issue_refund", "args": {"amount": 1.5}}],
        "id": "m2",
    },
    {"type": "tool", "tool_call_id": "c1", "content": "done", "status": "success", "id": "m3"},
]


def test_the_inbox_shows_a_conversation_exactly_as_the_thread_page_does():
    shown, earlier = conversation({"messages": MESSAGES})

    assert shown == thread_conversation(MESSAGES)
    assert earlier == 0
    assert [m.role for m in shown] == ["user", "assistant", "tool"]
    assert shown[1].blocks  # the non-text block is shown, as on the thread page


def test_chat_completion_messages_read_like_langchain_ones():
    shown, _ = conversation({"messages": [{"role": "user", "content": "hi"}]})

    assert [(m.role, m.text) for m in shown] == [("user", "hi")]


def test_only_the_last_messages_are_shown_and_the_rest_counted():
    messages = [{"type": "human", "content": str(n)} for n in range(MAX_MESSAGES + 5)]

    shown, earlier = conversation({"messages": messages})

    assert earlier == 5
    assert shown[0].text == "5"


def test_state_json_is_the_thread_pages_pretty_json_and_a_long_value_is_bounded():
    value = {"blob": "x" * 50_000}

    assert pretty(value) == pretty_json(value, limit=20000)
    assert len(bounded("y" * 10_000)) < 4_100
    assert bounded("short") == "short"
