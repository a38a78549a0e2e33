"""What travels from a relay to the pages watching a run: typed payloads and the one sender.

The relay stores each event in the log, then calls ``RunEvents.broadcast`` with the payload built
by ``event_payload``; the consumer builds the very same payload when it replays the log. A
payload carries the event's sequence number, so pages drop duplicates and spot gaps, and a list
of display operations ("ops") computed once here rather than once per viewer.

Graph output is untrusted: ops carry plain text only, which ``apps.runs.live`` renders into the
page's markup through the templates' autoescaping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal, TypeAlias, TypedDict

from channels.layers import get_channel_layer
from django.conf import settings

from dashboard.channel_layer import send_to_groups

# Text of one op is cut here: a page shows a multi-megabyte state as its first part plus a note.
MAX_TEXT = 20_000
END_EVENT = "switchboard/end"
# Stored where a relay joined a run followed from now again (a takeover, a reconnect): what the
# deployment sent in between is gone, and the log says so at the place it is missing.
GAP_EVENT = "switchboard/gap"


class MessageOp(TypedDict):
    op: Literal["message"]
    id: str
    role: str
    text: str
    mode: Literal["append", "replace"]


class TextOp(TypedDict):
    op: Literal["step", "values", "custom", "error", "meta", "interrupt", "other"]
    label: str
    text: str


class StatusOp(TypedDict):
    op: Literal["status"]
    status: str
    label: str
    text: str


Op: TypeAlias = MessageOp | TextOp | StatusOp


class RunEventPayload(TypedDict):
    """Group message for one stored event (``type`` is the consumer's handler name)."""

    type: Literal["run.event"]
    run_id: int
    seq: int
    event: str
    ops: list[Op]


class RunEventsPayload(TypedDict):
    """Group message for events stored together (one network read upstream, one transaction):
    one Redis round trip and one channel-layer slot for the lot, instead of one per event."""

    type: Literal["run.events"]
    run_id: int
    events: list[RunEventPayload]


class SessionEndedPayload(TypedDict):
    """Group message to a user's sockets: they logged out, so every socket of theirs closes."""

    type: Literal["session.ended"]


def broadcast_counter_key() -> str:
    """The Redis counter of events broadcast to run pages (read by ``apps.metrics``)."""
    return f"{settings.REDIS_PREFIX}:metrics:run_events_broadcast"


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def _json_text(data: Any) -> str:
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(data)
    if len(text) > MAX_TEXT:
        return f"{text[:MAX_TEXT]}\n… ({len(text) - MAX_TEXT} more characters not shown)"
    return text


def _content_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return "" if content is None else _json_text(content)


def _message_op(message: Any, mode: Literal["append", "replace"]) -> MessageOp | None:
    if not isinstance(message, dict):
        return None
    raw_type = str(message.get("type") or message.get("role") or "ai")
    role = raw_type.removesuffix("Chunk").removesuffix("MessageChunk").lower()
    role = {"aimessage": "ai", "humanmessage": "human", "toolmessage": "tool"}.get(role, role)
    text = _content_text(message.get("content"))
    if message.get("tool_calls") and mode == "replace":
        calls = ", ".join(str(call.get("name")) for call in message["tool_calls"] if call)
        text = f"{text}\n[tool calls: {calls}]" if text else f"[tool calls: {calls}]"
    return {
        "op": "message",
        "id": str(message.get("id") or "message"),
        "role": role[:40],
        "text": text[:MAX_TEXT],
        "mode": mode,
    }


def as_logged(value: Any) -> Any:
    """``value`` with every object's keys in the order the event log gives them back.

    The log is PostgreSQL's ``jsonb``, which keeps an object's keys shortest first, then by their
    bytes. A relay renders what the deployment sent and a reload renders what the log returns:
    putting both in this one order is what makes a page followed live read exactly as the same
    page reloaded (on any database)."""
    if isinstance(value, dict):
        ordered = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: as_logged(value[key]) for key in ordered}
    if isinstance(value, list):
        return [as_logged(item) for item in value]
    return value


def present(event: str, data: Any) -> list[Op]:
    """The display operations for one event. Pure: used by the relay and by replays."""
    mode = event.split("|", 1)[0]
    if mode == END_EVENT:
        status = str(data.get("status", "")) if isinstance(data, dict) else ""
        text = str(data.get("error", "")) if isinstance(data, dict) else ""
        return [{"op": "status", "status": status, "label": status.capitalize(), "text": text}]
    if mode == GAP_EVENT:
        text = str(data.get("message", "")) if isinstance(data, dict) else ""
        return [{"op": "meta", "label": "gap", "text": text[:MAX_TEXT]}]
    if mode == "metadata":
        run_id = data.get("run_id") if isinstance(data, dict) else None
        return [{"op": "meta", "label": "run", "text": f"upstream run {run_id}"}]
    if mode == "messages":  # messages-tuple: [chunk with the delta, metadata]
        if isinstance(data, list) and data:
            op = _message_op(data[0], "append")
            return [op] if op else []
        return []
    if mode in {"messages/partial", "messages/complete"}:  # accumulated content so far
        ops: list[Op] = []
        for message in data if isinstance(data, list) else []:
            op = _message_op(message, "replace")
            if op:
                ops.append(op)
        return ops
    if mode == "messages/metadata":
        return []
    # Message text reads the same in any key order; what follows is shown as JSON.
    data = as_logged(data)
    if mode == "updates":
        ops = []
        for node, update in data.items() if isinstance(data, dict) else []:
            if node == "__interrupt__":
                label = "interrupt" if update else "breakpoint"
                ops.append({"op": "interrupt", "label": label, "text": _json_text(update)})
            else:
                ops.append({"op": "step", "label": str(node)[:200], "text": _json_text(update)})
        return ops
    if mode == "values":
        return [{"op": "values", "label": "state", "text": _json_text(data)}]
    if mode == "custom":
        return [{"op": "custom", "label": "custom", "text": _json_text(data)}]
    if mode == "error":
        if isinstance(data, dict):
            text = f"{data.get('error', 'Error')}: {data.get('message', '')}"
        else:
            text = _json_text(data)
        return [{"op": "error", "label": "error", "text": text[:MAX_TEXT]}]
    return [{"op": "other", "label": event[:200], "text": _json_text(data)}]


def event_payload(run_id: int, seq: int, event: str, data: Any) -> RunEventPayload:
    return {
        "type": "run.event",
        "run_id": run_id,
        "seq": seq,
        "event": event,
        "ops": present(event, data),
    }


# A group message stays well under this (the text of one op is capped at MAX_TEXT characters, so
# a single event may still exceed it and travels alone); keeps Redis writes small.
BATCH_BYTES = 256 * 1024


def _size(payload: RunEventPayload) -> int:
    # Roughly: the text dominates; labels, ids and keys are a few hundred bytes at most.
    return 64 + sum(len(op["text"]) + 256 for op in payload["ops"])


def _chunks(payloads: list[RunEventPayload]) -> Iterator[list[RunEventPayload]]:
    chunk: list[RunEventPayload] = []
    size = 0
    for payload in payloads:
        weight = _size(payload)
        if chunk and size + weight > BATCH_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(payload)
        size += weight
    if chunk:
        yield chunk


class RunEvents:
    """The producer side: the only code that sends to a run's (or a user's) group. Sends block
    until Redis has the messages, so one thread's sends stay in order on the wire."""

    @classmethod
    def broadcast(cls, payload: RunEventPayload) -> None:
        cls.broadcast_runs([[payload]])

    @classmethod
    def broadcast_runs(cls, runs: list[list[RunEventPayload]]) -> None:
        """Send stored events of several runs, each run's in seq order, in one Redis round trip:
        a run's events go as few group messages as ``BATCH_BYTES`` allows (a single event is
        sent as it is)."""
        layer = get_channel_layer()
        if layer is None:
            return
        messages: list[tuple[str, RunEventPayload | RunEventsPayload]] = []
        for payloads in runs:
            for chunk in _chunks(payloads):
                group = run_group(chunk[0]["run_id"])
                if len(chunk) == 1:
                    messages.append((group, chunk[0]))
                else:
                    run_id = chunk[0]["run_id"]
                    messages.append(
                        (group, {"type": "run.events", "run_id": run_id, "events": chunk})
                    )
        if messages:
            count = sum(len(payloads) for payloads in runs)
            send_to_groups(layer, messages, {broadcast_counter_key(): count})

    @classmethod
    def end_sessions(cls, user_id: int) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message: SessionEndedPayload = {"type": "session.ended"}
        send_to_groups(layer, [(user_group(user_id), message)])
