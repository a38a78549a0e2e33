"""What changed between two states: a pure function over JSON values, no Django, no I/O.

``diff_values(before, after)`` walks both values together and reports, in document order:

- ``added`` / ``removed`` / ``changed`` paths, written the way a person reads them:
  ``draft``, ``messages[3].content``, ``metadata["odd key"]``;
- ``appended`` for a list that grew at its end and kept everything it had (the common
  ``operator.add`` / ``add_messages`` reducer case), reported once with the new items instead of
  one ``added`` per index. A list of chat messages is flagged ``is_messages`` so the page can say
  "3 messages appended" and show them as a conversation.

Lists are compared index by index otherwise: a message whose content was replaced in place (same
position) reads ``messages[3].content changed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# LangChain message types as the server serialises them (``type`` of a message dict).
MESSAGE_TYPES = frozenset(
    {
        "human",
        "ai",
        "tool",
        "system",
        "function",
        "chat",
        "remove",
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "SystemMessage",
        "AIMessageChunk",
        "HumanMessageChunk",
        "ToolMessageChunk",
    }
)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class Appended:
    path: str
    start: int  # index of the first new item
    items: list[Any]
    is_messages: bool


@dataclass
class StateDiff:
    changes: list[Change] = field(default_factory=list)
    appended: list[Appended] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes or self.appended)

    @property
    def added(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "added"]

    @property
    def removed(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "removed"]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "changed"]

    @property
    def messages_appended(self) -> int:
        return sum(len(a.items) for a in self.appended if a.is_messages)

    def paths(self) -> dict[str, ChangeKind | Literal["appended"]]:
        """Every reported path with its kind: handy for tests and summaries."""
        out: dict[str, ChangeKind | Literal["appended"]] = {c.path: c.kind for c in self.changes}
        out.update({a.path: "appended" for a in self.appended})
        return out


def key_path(parent: str, key: str) -> str:
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{parent}[{quoted}]"


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in MESSAGE_TYPES and "content" in value


def is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_message(v) for v in value)


def _same(a: Any, b: Any) -> bool:
    # JSON equality, but 1 and True (and 1 and 1.0 of different types) are different values
    # to an operator reading state.
    if type(a) is not type(b) and not (_number(a) and _number(b)):
        return False
    return bool(a == b)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def diff_values(before: Any, after: Any, *, max_changes: int = 2000) -> StateDiff:
    """The difference from ``before`` to ``after`` (JSON-shaped values).

    ``max_changes`` bounds the report for huge states; past it the walk stops early and the last
    entry is a ``changed`` at the path where it stopped, so nothing is silently claimed equal.
    """
    result = StateDiff()
    _walk(before, after, "", result, max_changes)
    return result


def _walk(before: Any, after: Any, path: str, out: StateDiff, limit: int) -> None:
    if len(out.changes) + len(out.appended) >= limit:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            if key not in after:
                out.changes.append(Change("removed", key_path(path, str(key)), before[key], None))
        for key in after:
            child = key_path(path, str(key))
            if key not in before:
                out.changes.append(Change("added", child, None, after[key]))
            else:
                _walk(before[key], after[key], child, out, limit)
        return
    if isinstance(before, list) and isinstance(after, list):
        _walk_list(before, after, path, out, limit)
        return
    if not _same(before, after):
        out.changes.append(Change("changed", path or "(state)", before, after))


def _walk_list(before: list[Any], after: list[Any], path: str, out: StateDiff, limit: int) -> None:
    n = len(before)
    if len(after) > n and all(_same(before[i], after[i]) for i in range(n)):
        new = after[n:]
        out.appended.append(Appended(path or "(state)", n, new, is_message_list(new)))
        return
    for i in range(min(n, len(after))):
        _walk(before[i], after[i], index_path(path, i), out, limit)
    for i in range(len(after), n):
        out.changes.append(Change("removed", index_path(path, i), before[i], None))
    for i in range(n, len(after)):
        out.changes.append(Change("added", index_path(path, i), None, after[i]))
