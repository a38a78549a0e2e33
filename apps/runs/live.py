"""The run page's markup, from its event log: the whole page, and each event as a live frame.

Both come from the same templates (``runs/run_detail.html`` and its partials, messages through
``threads/_message.html``), so a page that followed a run live reads exactly as one reloaded
from the log. A frame is a list of htmx out-of-band partials that the page's ws extension swaps
in: entries appended to their lists, the state, the badge and the end text replaced, message
text appended. Its first element is the event count, which carries the event's ``seq`` (and
name) for ``static/js/runs.js`` to keep order and drop duplicates.

A frame depends on the events before it (a message's first chunk adds it to the list, later
ones append to its text), never on who watches: ``RunRenderer`` folds a run's events in order
and keeps the last frames it rendered, one renderer per run per process, so an event is
rendered once however many pages watch it.

Graph output is untrusted: every value goes through the templates' autoescaping, or through
``html.escape`` in the fast paths of the frequent pieces (the event count that starts every
frame, an entry, a message's streamed text), which the tests hold equal to the templates.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from apps.runs.events import Op, RunEventPayload, present
from apps.runs.models import Status
from apps.threads.presenters import ROLE_NAMES, MessageView

TEMPLATE = "runs/run_detail.html"
# Element ids of a run's messages: msg-run-<index>.
MESSAGES_KEY = "run"
# Frames a renderer keeps for pages that are a little behind (or a second page of the run).
KEEP_FRAMES = 2048
ENTRY_LISTS = {"custom": "custom", "error": "errors"}


@dataclass
class Entry:
    seq: int
    label: str
    text: str


@dataclass
class RunPage:
    """A run's log folded into what the page shows."""

    last_seq: int = 0
    last_event: str = ""
    messages: list[MessageView] = field(default_factory=list)
    steps: list[Entry] = field(default_factory=list)
    values: str = ""
    custom: list[Entry] = field(default_factory=list)
    errors: list[Entry] = field(default_factory=list)
    meta: str = ""
    end_status: str = ""
    end_text: str = ""


def _text(text: str) -> str:
    # Without carriage returns: a "\r\n" split across two chunks then reads as one line break,
    # chunk by chunk as in the whole.
    return text.replace("\r", "")


def _role(role: str) -> str:
    return ROLE_NAMES.get(role, role or "message")


def status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status.capitalize()


def fold(events: list[tuple[int, str, Any]]) -> RunPage:
    """Fold ``(seq, event, data)`` in order into the page (the server render)."""
    page = RunPage()
    by_id: dict[str, MessageView] = {}
    for seq, event, data in events:
        page.last_seq, page.last_event = seq, event
        for op in present(event, data):
            if op["op"] == "message":
                text = _text(op["text"])
                message = by_id.get(op["id"])
                if message is None:
                    message = MessageView(
                        index=len(page.messages),
                        role=_role(op["role"]),
                        name="",
                        text="",
                        blocks=[],
                        id=op["id"],
                    )
                    by_id[op["id"]] = message
                    page.messages.append(message)
                message.text = message.text + text if op["mode"] == "append" else text
            elif op["op"] == "status":
                page.end_status, page.end_text = op["status"], op["text"]
            elif op["op"] == "values":
                page.values = op["text"]
            elif op["op"] == "meta":
                page.meta = op["text"]
            elif op["op"] in ENTRY_LISTS:
                getattr(page, ENTRY_LISTS[op["op"]]).append(Entry(seq, "", op["text"]))
            else:
                page.steps.append(Entry(seq, op["label"], op["text"]))
    return page


def _partial(name: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{TEMPLATE}#{name}", {**context, "oob": True})


def _append(target: str, markup: str) -> str:
    return f'<div hx-swap-oob="beforeend:{target}">{markup}</div>'


def message_text(index: int, text: str, *, append: bool) -> str:
    """The fast path: a message's streamed text, as ``linebreaksbr`` in the template prints it."""
    style = "beforeend" if append else "innerHTML"
    escaped = html.escape(_text(text)).replace("\n", "<br>")
    return f'<span hx-swap-oob="{style}:#msg-{MESSAGES_KEY}-{index} .msg-text">{escaped}</span>'


def count_frame(seq: int, event: str) -> str:
    """The fast path of the ``count`` partial, which starts every event's frame."""
    return (
        f'<span id="event-count" hx-swap-oob="true" data-seq="{seq}" '
        f'data-event="{html.escape(event)}">{seq}</span>'
    )


def entry_item(entry: Entry) -> str:
    """The fast path of the ``entry`` partial (a step, a custom event, an error)."""
    label = f"<strong>{html.escape(entry.label)}</strong>" if entry.label else ""
    return f'<li data-seq="{entry.seq}">{label}<pre>{html.escape(entry.text)}</pre></li>'


def message_item(message: MessageView) -> str:
    return render_to_string(
        "threads/_message.html", {"m": message, "key": MESSAGES_KEY, "live": True}
    )


def socket_frame(kind: str, **fields: Any) -> str:
    """A control frame (hello, live, error): swapped into a hidden element, read by runs.js."""
    return render_to_string(
        f"{TEMPLATE}#socket",
        {
            "oob": True,
            "kind": kind,
            "fields": [(k.replace("_", "-"), v) for k, v in fields.items()],
        },
    )


def paused_note(live: bool) -> str:
    """The page's note that live updates are paused (the channel layer is away and the socket
    reads the log every tick), swapped into its place: filled when not ``live``, else emptied."""
    return render_to_string(
        f"{TEMPLATE}#paused",
        {"oob": True, "paused": not live, "sync_seconds": f"{settings.RUNS_WS_SYNC_SECONDS:g}"},
    )


class RunRenderer:
    """Renders one run's events in seq order, each once, keeping the last ``KEEP_FRAMES``."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.last_seq = 0
        self.messages: dict[str, int] = {}
        self.frames: dict[int, str] = {}
        # Held while a socket renders (and reads the log to catch the renderer up).
        self.lock = asyncio.Lock()

    def cached(self, seq: int) -> str | None:
        return self.frames.get(seq)

    def render(self, payload: RunEventPayload) -> str:
        """The frame of the next event (``seq == last_seq + 1``)."""
        self._check(payload)
        seq = payload["seq"]
        frame = count_frame(seq, payload["event"]) + "".join(
            self._op(seq, op) for op in payload["ops"]
        )
        self.last_seq = seq
        self.frames[seq] = frame
        if len(self.frames) > KEEP_FRAMES:
            del self.frames[next(iter(self.frames))]
        return frame

    def advance(self, payload: RunEventPayload) -> None:
        """Fold the next event without rendering it (a page already has it)."""
        self._check(payload)
        for op in payload["ops"]:
            if op["op"] == "message" and op["id"] not in self.messages:
                self.messages[op["id"]] = len(self.messages)
        self.last_seq = payload["seq"]

    def _check(self, payload: RunEventPayload) -> None:
        if payload["seq"] != self.last_seq + 1:
            raise ValueError(f"run {self.run_id}: event {payload['seq']} after {self.last_seq}")

    def _op(self, seq: int, op: Op) -> str:
        if op["op"] == "message":
            index = self.messages.get(op["id"])
            if index is not None:
                return message_text(index, op["text"], append=op["mode"] == "append")
            index = self.messages[op["id"]] = len(self.messages)
            view = MessageView(
                index=index,
                role=_role(op["role"]),
                name="",
                text=_text(op["text"]),
                blocks=[],
                id=op["id"],
            )
            return _append("#messages", message_item(view))
        if op["op"] == "status":
            status = op["status"]
            badge = _partial("status", {"status": status, "label": status_label(status)})
            return badge + (_partial("end", {"end_text": op["text"]}) if op["text"] else "")
        if op["op"] == "values":
            return _partial("values", {"values": op["text"]})
        if op["op"] == "meta":
            return _partial("meta", {"meta": op["text"]})
        if op["op"] in ENTRY_LISTS:
            return _append(f"#{ENTRY_LISTS[op['op']]}", entry_item(Entry(seq, "", op["text"])))
        return _append("#steps", entry_item(Entry(seq, op["label"], op["text"])))


_shared: dict[int, tuple[RunRenderer, int]] = {}


def acquire(run_id: int) -> RunRenderer:
    """The process's renderer of a run, shared by every socket watching it here."""
    renderer, users = _shared.get(run_id) or (RunRenderer(run_id), 0)
    _shared[run_id] = (renderer, users + 1)
    return renderer


def release(run_id: int) -> None:
    renderer, users = _shared.get(run_id) or (RunRenderer(run_id), 1)
    if users <= 1:
        _shared.pop(run_id, None)
    else:
        _shared[run_id] = (renderer, users - 1)
