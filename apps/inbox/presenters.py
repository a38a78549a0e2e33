"""What the decision page shows beside the form: the conversation so far and the state. Pure.

Messages and JSON are rendered by the thread pages' presenters (``apps.threads.presenters``), so
a conversation reads the same on the thread page and in the inbox. Graph output is untrusted
text: everything here is plain strings, autoescaped by the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.threads.presenters import MessageView, pretty_json
from apps.threads.presenters import conversation as thread_conversation

MAX_MESSAGES = 40
# What the decision page shows of an interrupt's value before "show the whole value".
PREVIEW_CHARS = 4000
# Messages written as chat-completion dicts ({"role": "user"}), in LangChain's words.
_TYPES = {"user": "human", "assistant": "ai", "tool": "tool", "system": "system"}


def bounded(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of ``text``, at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def pretty(value: Any, limit: int = 20000) -> str:
    return pretty_json(value, limit=limit)


def _typed(message: Mapping[str, Any]) -> Mapping[str, Any]:
    if message.get("type") or not message.get("role"):
        return message
    return {**message, "type": _TYPES.get(str(message["role"]), str(message["role"]))}


def conversation(values: Any) -> tuple[list[MessageView], int]:
    """The last messages of ``values["messages"]`` (and how many earlier ones were left out)."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return [], 0
    shown = [_typed(m) for m in messages[-MAX_MESSAGES:] if isinstance(m, Mapping)]
    return thread_conversation(shown), len(messages) - len(messages[-MAX_MESSAGES:])
