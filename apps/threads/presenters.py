"""Turn what a deployment returns into what the thread pages show. Pure: no ORM, no I/O.

State values, messages and checkpoint metadata are graph output, i.e. untrusted text. The
templates autoescape what they print; the one HTML builder here (``json_tree``) escapes every
key and value itself with ``conditional_escape`` before marking its result safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from apps.threads.diff import is_message, is_message_list
from apps.threads.models import ThreadStatus

# Bounds so a huge or hostile state cannot make a page slow or enormous; the export has it all.
MAX_DEPTH = 24
MAX_ITEMS = 300
MAX_STRING = 4000
MAX_NODES = 12000


def bounded_json(value: Any, limit: int, *, indent: int | None = None) -> tuple[str, bool]:
    """The JSON text of ``value`` up to ``limit`` characters, and whether it was cut.

    Encodes lazily and stops once past ``limit``: showing the start of a huge value (a node that
    wrote a whole conversation) costs what is shown, not a serialisation of all of it.
    """
    chunks: Iterator[str] = json.JSONEncoder(
        indent=indent, ensure_ascii=False, default=str
    ).iterencode(value)
    out: list[str] = []
    size = 0
    for chunk in chunks:
        out.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(out)[:limit], True
    return "".join(out), False


def pretty_json(value: Any, *, limit: int = 20000) -> str:
    text, cut = bounded_json(value, limit, indent=2)
    if cut:
        return text + f"\n… (cut at {limit} characters; export the thread for all of it)"
    return text


def short_json(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def preview_json(value: Any, limit: int = 80) -> str:
    """``short_json`` for values that may be huge: encodes only the part that is shown."""
    text, cut = bounded_json(value, limit - 1)
    return text + "…" if cut else text


# --- JSON tree -----------------------------------------------------------------------------


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.nodes = nodes


def _e(value: Any) -> str:
    return str(conditional_escape(str(value)))


def json_tree(
    value: Any, *, open_depth: int = 1, branch_href: Callable[[str], str] | None = None
) -> SafeString:
    """A collapsible tree of ``<details>`` elements: works without JS, escaped throughout.

    With ``branch_href`` and a large dict (more than ``LAZY_ABOVE`` nodes), each large top-level
    branch is sent closed and empty, with a link to ``branch_href(key)``: htmx loads the branch
    there when it is opened, and without JS the link opens it as a page (``views.state_branch``).
    """
    out: list[str] = []
    lazy = (
        branch_href if isinstance(value, dict) and _size(value, LAZY_ABOVE) > LAZY_ABOVE else None
    )
    _tree(value, 0, open_depth, out, _Budget(MAX_NODES), lazy)
    # Safe: every key and scalar went through _e (conditional_escape) in _tree/_scalar, and
    # every href too.
    return mark_safe('<div class="jtree">' + "".join(out) + "</div>")


def json_branch(value: Any) -> SafeString:
    """What a lazy branch of ``json_tree`` holds once opened: its children, one level open."""
    out: list[str] = []
    if isinstance(value, dict | list) and value:
        _children(value, 1, 2, out, _Budget(MAX_NODES), None)
    else:
        _tree(value, 1, 2, out, _Budget(MAX_NODES), None)
    # Safe: as in json_tree.
    return mark_safe('<div class="jtree">' + "".join(out) + "</div>")


# A state with more nodes than this sends its large top-level branches on demand (json_tree);
# a branch of fewer than LAZY_BRANCH nodes is cheaper to send than to ask for.
LAZY_ABOVE = 1500
LAZY_BRANCH = 50


def _size(value: Any, limit: int) -> int:
    """How many nodes ``value`` has, counting no further than just past ``limit``."""
    count = 0
    stack = [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(islice(item.values(), limit + 1 - count))
        elif isinstance(item, list):
            stack.extend(islice(item, limit + 1 - count))
    return count


def _scalar(value: Any) -> str:
    if value is None:
        return '<span class="j-null">null</span>'
    if isinstance(value, bool):
        return f'<span class="j-bool">{"true" if value else "false"}</span>'
    if isinstance(value, int | float):
        return f'<span class="j-num">{_e(value)}</span>'
    text = str(value)
    more = ""
    if len(text) > MAX_STRING:
        more = f'<span class="muted"> … {len(text) - MAX_STRING} more characters</span>'
        text = text[:MAX_STRING]
    return f'<span class="j-str">"{_e(text)}"</span>{more}'


def _summary(value: dict[Any, Any] | list[Any]) -> str:
    count = len(value)
    noun = "key" if isinstance(value, dict) else "item"
    summary = f"{count} {noun}{'' if count == 1 else 's'}"
    if isinstance(value, dict) and is_message(value):
        summary += f" · {_e(value.get('type'))} message"
    elif is_message_list(value):
        summary = f"{count} message{'' if count == 1 else 's'}"
    return summary


def _tree(
    value: Any,
    depth: int,
    open_depth: int,
    out: list[str],
    budget: _Budget,
    lazy: Callable[[str], str] | None,
) -> None:
    budget.nodes -= 1
    if budget.nodes < 0:
        if budget.nodes == -1:
            out.append('<span class="muted">… too large to show here; export the thread</span>')
        return
    if not isinstance(value, dict | list):
        out.append(_scalar(value))
        return
    if depth >= MAX_DEPTH:
        out.append('<span class="muted">… nested too deep to show; export the thread</span>')
        return
    if not value:
        out.append(f'<span class="j-empty">{"{}" if isinstance(value, dict) else "[]"}</span>')
        return
    out.append(
        f"<details{' open' if depth < open_depth else ''}><summary>{_summary(value)}</summary>"
    )
    _children(value, depth, open_depth, out, budget, lazy)
    out.append("</details>")


def _children(
    value: dict[Any, Any] | list[Any],
    depth: int,
    open_depth: int,
    out: list[str],
    budget: _Budget,
    lazy: Callable[[str], str] | None,
) -> None:
    items: Iterable[tuple[str, Any, Any]]
    if isinstance(value, dict):
        items = ((_e(k), k, v) for k, v in value.items())
    else:
        items = ((f"[{i}]", i, v) for i, v in enumerate(value))
    out.append("<ul>")
    for shown, (label, key, child) in enumerate(items):
        if shown >= MAX_ITEMS:
            out.append(f'<li class="muted">… {len(value) - MAX_ITEMS} more</li>')
            break
        out.append(f'<li><span class="j-key">{label}</span>: ')
        if (
            lazy is not None
            and isinstance(child, dict | list)
            and child
            and _size(child, LAZY_BRANCH) > LAZY_BRANCH
        ):
            # Sent empty and closed; its nodes are not counted against this page's budget.
            budget.nodes -= 1
            href = _e(lazy(str(key)))
            out.append(
                f'<details class="j-lazy" hx-get="{href}" hx-trigger="toggle once" '
                f'hx-target="find .j-branch" hx-swap="innerHTML"><summary>{_summary(child)}'
                f'</summary><div class="j-branch"><a href="{href}">Show this branch</a></div>'
                "</details>"
            )
        else:
            _tree(child, depth + 1, open_depth, out, budget, None)
        out.append("</li>")
    out.append("</ul>")


# --- Conversations -------------------------------------------------------------------------

ROLE_NAMES = {
    "human": "user",
    "HumanMessage": "user",
    "ai": "assistant",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "tool": "tool",
    "ToolMessage": "tool",
    "system": "system",
    "SystemMessage": "system",
}


@dataclass
class ToolCallView:
    id: str
    name: str
    args: str
    result: MessageView | None = None


@dataclass
class MessageView:
    index: int
    role: str
    name: str
    text: str
    blocks: list[str]  # non-text content blocks, as JSON
    id: str
    tool_calls: list[ToolCallView] = field(default_factory=list)
    tool_call_id: str = ""
    status: str = ""  # a tool message's "error" status
    shown_with_call: bool = False


def _content(content: Any) -> tuple[str, list[str]]:
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    blocks: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                texts.append(block)
            elif isinstance(block, Mapping) and block.get("type") == "text":
                texts.append(str(block.get("text", "")))
            else:
                blocks.append(pretty_json(block, limit=4000))
    elif content is not None:
        blocks.append(pretty_json(content, limit=4000))
    return "\n".join(texts), blocks


def conversation(messages: Sequence[Mapping[str, Any]]) -> list[MessageView]:
    """Messages in order, each AI tool call paired with the tool message that answered it."""
    views: list[MessageView] = []
    calls: dict[str, ToolCallView] = {}
    for index, message in enumerate(messages):
        text, blocks = _content(message.get("content"))
        mtype = str(message.get("type", ""))
        view = MessageView(
            index=index,
            role=ROLE_NAMES.get(mtype, mtype or "message"),
            name=str(message.get("name") or ""),
            text=text,
            blocks=blocks,
            id=str(message.get("id") or ""),
            tool_call_id=str(message.get("tool_call_id") or ""),
            status=str(message.get("status") or ""),
        )
        for call in message.get("tool_calls") or []:
            if not isinstance(call, Mapping):
                continue
            tool_call = ToolCallView(
                id=str(call.get("id") or ""),
                name=str(call.get("name") or "?"),
                args=pretty_json(call.get("args", {}), limit=4000),
            )
            view.tool_calls.append(tool_call)
            if tool_call.id:
                calls[tool_call.id] = tool_call
        if view.role == "tool" and view.tool_call_id in calls:
            calls[view.tool_call_id].result = view
            view.shown_with_call = True
        views.append(view)
    return views


def conversations_in(values: Any) -> list[tuple[str, list[MessageView]]]:
    """Every top-level state key that holds a list of chat messages, as a conversation."""
    if not isinstance(values, Mapping):
        return []
    return [(str(k), conversation(v)) for k, v in values.items() if is_message_list(v)]


# --- Checkpoint timeline -------------------------------------------------------------------


@dataclass
class Write:
    node: str
    wrote: Any
    wrote_nothing: bool
    error: str
    interrupted: bool
    # What it wrote as the timeline prints it (one line, and in full up to pretty_json's bound),
    # encoded once here and never past what is shown.
    preview: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        if not self.wrote_nothing:
            self.preview = preview_json(self.wrote, 80)
            self.text = pretty_json(self.wrote)


@dataclass
class TimelineRow:
    checkpoint_id: str
    parent_id: str
    step: Any
    source: str
    created_at: datetime | None
    writes: list[Write]
    writers_known: bool
    next: list[str]
    interrupts: int
    run_id: str
    is_head: bool = False
    note: str = ""  # instead of writers: a fork's copy, an update_state edit
    # created_at in the current time zone, formatted once for the template: ISO 8601, the time
    # of day, and its milliseconds.
    created_iso: str = ""
    created_time: str = ""
    created_ms: str = ""

    def __post_init__(self) -> None:
        if self.created_at is not None:
            local = (
                timezone.localtime(self.created_at)
                if timezone.is_aware(self.created_at)
                else self.created_at
            )
            self.created_iso = local.isoformat()
            self.created_time = local.strftime("%H:%M:%S")
            self.created_ms = f"{local.microsecond // 1000:03d}"


def checkpoint_id_of(state: Mapping[str, Any]) -> str:
    checkpoint = state.get("checkpoint")
    if isinstance(checkpoint, Mapping) and checkpoint.get("checkpoint_id"):
        return str(checkpoint["checkpoint_id"])
    return str(state.get("checkpoint_id") or "")


def is_unknown_checkpoint(state: Any) -> bool:
    """The server answers a checkpoint id it does not have with an empty state (no metadata, no
    time) rather than a 404."""
    return not isinstance(state, Mapping) or (
        state.get("metadata") is None and state.get("created_at") is None
    )


def parent_id_of(state: Mapping[str, Any]) -> str:
    parent = state.get("parent_checkpoint")
    if isinstance(parent, Mapping) and parent.get("checkpoint_id"):
        return str(parent["checkpoint_id"])
    return str(state.get("parent_checkpoint_id") or "")


def _writes(parent: Mapping[str, Any]) -> list[Write]:
    out = []
    for task in parent.get("tasks") or []:
        if not isinstance(task, Mapping):
            continue
        result = task.get("result")
        interrupts = task.get("interrupts") or []
        out.append(
            Write(
                node=str(task.get("name", "?")),
                wrote=result,
                wrote_nothing=result in (None, {}, []),
                error=str(task.get("error") or ""),
                interrupted=bool(interrupts) and result is None,
            )
        )
    return out


def timeline(
    history: Sequence[Mapping[str, Any]],
    *,
    head_id: str = "",
    parents: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[TimelineRow]:
    """One row per checkpoint, newest first, with what produced it.

    A checkpoint is written by the tasks of its *parent* checkpoint (``tasks[].result`` is what
    each wrote, ``None``/``{}`` when a node wrote nothing). History is a tree flattened newest
    first (forks), so parents are found by id, among ``history`` and the extra ``parents``
    (the caller fetches one item past the page for the last row). A row whose parent is not at
    hand says so rather than guessing.
    """
    by_id = {checkpoint_id_of(s): s for s in history}
    if parents:
        by_id.update(parents)
    rows = []
    for state in history:
        metadata = state.get("metadata") or {}
        parent_id = parent_id_of(state)
        parent = by_id.get(parent_id) if parent_id else None
        source = str(metadata.get("source", ""))
        note = ""
        if source == "fork":
            # A fork checkpoint is a copy of its parent where the new branch starts: nothing
            # ran to write it (the parent's tasks run next, on the new branch).
            parent, note = None, "forked from its parent: nothing written"
        elif source == "update":
            parent, note = None, "state edited (update_state): see the diff"
        writes = _writes(parent) if parent is not None else []
        created = state.get("created_at")
        rows.append(
            TimelineRow(
                checkpoint_id=checkpoint_id_of(state),
                parent_id=parent_id,
                step=metadata.get("step", ""),
                source=source,
                created_at=parse_datetime(created) if isinstance(created, str) else None,
                writes=writes,
                writers_known=parent is not None or not parent_id or bool(note),
                next=[str(n) for n in state.get("next") or []],
                interrupts=len(state.get("interrupts") or []),
                run_id=str(metadata.get("run_id") or ""),
                is_head=bool(head_id) and checkpoint_id_of(state) == head_id,
                note=note,
            )
        )
    return rows


def interrupts_of(thread: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pending interrupts of a thread dict (``interrupts`` is a map task id → list)."""
    out: list[dict[str, Any]] = []
    raw = thread.get("interrupts") or {}
    if isinstance(raw, Mapping):
        for task_id, items in raw.items():
            for item in items or []:
                if isinstance(item, Mapping):
                    out.append(
                        {
                            "task_id": str(task_id),
                            "id": str(item.get("id") or item.get("interrupt_id") or ""),
                            "value": pretty_json(item.get("value"), limit=4000),
                        }
                    )
    return out


# --- Thread list rows ----------------------------------------------------------------------

# Keys the server adds to every thread that ran; the list shows them in their own columns.
SERVER_METADATA_KEYS = frozenset({"graph_id", "assistant_id"})


@dataclass
class ListRow:
    """One row of the thread list, formatted once in Python: a 50-row page is rendered many
    times a second, and plain attribute lookups keep the template cheap."""

    thread_id: str
    url: str
    deployment: str
    status: str
    needs_human: bool
    graph_id: str
    assistant_id: str
    assistant_short: str
    columns: list[str]
    metadata: str
    interrupts: int
    error: str
    error_full: str
    created: str
    updated: str
    updated_iso: str
    live: bool
    first_message: str = ""
    last_message: str = ""


def _meta_cell(value: Any) -> str:
    return value if isinstance(value, str) else short_json(value, 80)


def list_rows(
    rows: Iterable[Any], *, detail_prefix: str, live: set[tuple[int, str]], columns: Sequence[str]
) -> list[ListRow]:
    out = []
    for row in rows:
        metadata = row.metadata if isinstance(row.metadata, Mapping) else {}
        rest = {k: v for k, v in metadata.items() if k not in SERVER_METADATA_KEYS}
        error = (
            f"{row.error_type}: {row.error_message}"
            if row.error_type and row.error_message
            else (row.error_type or row.error_message)
        )
        updated = timezone.localtime(row.updated_at)
        out.append(
            ListRow(
                thread_id=row.thread_id,
                url=f"{detail_prefix}{row.deployment_id}/{row.thread_id}/",
                deployment=row.deployment.name,
                status=row.status,
                needs_human=row.needs_human,
                graph_id=row.graph_id,
                assistant_id=row.assistant_id,
                assistant_short=("…" + row.assistant_id[-8:])
                if len(row.assistant_id) > 12
                else row.assistant_id,
                columns=[_meta_cell(metadata[key]) if key in metadata else "" for key in columns],
                metadata=short_json(rest, 120) if rest else "",
                interrupts=row.interrupt_count,
                error=error if len(error) <= 80 else error[:79] + "…",
                error_full=error,
                created=timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M"),
                updated=updated.strftime("%Y-%m-%d %H:%M:%S"),
                updated_iso=updated.isoformat(),
                # Busy on its deployment (whoever started the run), or a console run is live.
                live=row.status == ThreadStatus.BUSY or (row.deployment_id, row.thread_id) in live,
                first_message=row.first_message,
                last_message=row.last_message,
            )
        )
    return out
