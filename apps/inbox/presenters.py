"""What the decision page shows beside the form: the conversation so far and the state. Pure.

Graph output is untrusted text: everything here is plain strings, autoescaped by the templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGES = 40
MAX_TEXT = 4000

_ROLES = {
    "human": "user",
    "HumanMessage": "user",
    "user": "user",
    "ai": "assistant",
    "AIMessage": "assistant",
    "assistant": "assistant",
    "tool": "tool",
    "ToolMessage": "tool",
    "system": "system",
    "SystemMessage": "system",
}


@dataclass
class Message:
    role: str
    text: str
    name: str = ""
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    status: str = ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(
            b if isinstance(b, str) else str(b.get("text", "")) if isinstance(b, dict) else ""
            for b in content
        )
    elif content is None:
        text = ""
    else:
        text = json.dumps(content, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


# What the decision page shows of an interrupt's value before "show the whole value".
PREVIEW_CHARS = 4000


def bounded(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of ``text``, at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def pretty(value: Any, limit: int = 20000) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return (
        text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    )


def conversation(values: Any) -> tuple[list[Message], int]:
    """The last messages of ``values["messages"]`` (and how many earlier ones were left out)."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return [], 0
    shown = messages[-MAX_MESSAGES:]
    out = []
    for message in shown:
        if not isinstance(message, dict):
            continue
        kind = str(message.get("type") or message.get("role") or "")
        calls = [
            {"name": str(c.get("name", "")), "args": pretty(c.get("args"), 2000)}
            for c in message.get("tool_calls") or []
            if isinstance(c, dict)
        ]
        out.append(
            Message(
                role=_ROLES.get(kind, kind or "message"),
                text=_text(message.get("content")),
                name=str(message.get("name") or ""),
                tool_calls=calls,
                status=str(message.get("status") or ""),
            )
        )
    return out, len(messages) - len(shown)
