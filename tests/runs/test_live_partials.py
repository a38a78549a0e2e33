"""The run page's live frames (``apps.runs.live``): applied as htmx applies them, they give the
markup the server renders for the same events; hostile graph output stays escaped and bounded."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.template.loader import render_to_string

from apps.runs.events import MAX_TEXT, event_payload, present
from apps.runs.live import (
    Entry,
    RunRenderer,
    count_frame,
    entry_item,
    message_item,
    message_text,
    paused_note,
)
from apps.runs.models import RunEvent
from apps.threads.presenters import MessageView
from tests.fixtures.frames import parse_frame, pre_texts
from tests.fixtures.runs import create_run

pytestmark = pytest.mark.django_db

VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "source"}
REPLACED = ["run-status", "run-meta", "values", "end-text", "event-count"]
LISTS = ["messages", "steps", "custom", "errors"]


def _chunk(text: str, message_id: str = "m-1") -> tuple[str, Any]:
    return ("messages", [{"type": "AIMessageChunk", "id": message_id, "content": text}, {}])


EVENTS: list[tuple[str, Any]] = [
    ("metadata", {"run_id": "up-1"}),
    ("values", {"messages": [], "note": "<b>start</b>"}),
    _chunk("Hello, <world>"),
    _chunk(" & 'friends'\r"),
    _chunk("\nsecond line\r\nthird"),
    ("updates", {"agent": {"said": '"quoted" **bold** [x](javascript:alert(1))'}}),
    _chunk("tool said <i>hi</i>", "m-2"),
    ("messages/partial", [{"type": "ai", "id": "m-1", "content": "Hello again\nall"}]),
    ("custom", {"progress": 0.5}),
    ("error", {"error": "Boom<script>", "message": "it 'broke'"}),
    ("updates", {"__interrupt__": [{"value": {"question": "ok?"}}]}),
    ("switchboard/end", {"status": "interrupted", "error": "stopped <here>"}),
]


class _TopLevel(HTMLParser):
    """Splits a frame into its top-level elements, as htmx walks a message's children."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text, self.depth, self.start = text, 0, 0
        self.parts: list[tuple[dict[str, str | None], str]] = []
        self.first: dict[str, str | None] = {}
        self.lines = [0]
        for line in text.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.feed(text)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.start, self.first = self._offset(), dict(attrs)
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1
        if self.depth == 0:
            end = self.text.index(">", self._offset()) + 1
            self.parts.append((self.first, self.text[self.start : end]))


def _inner(markup: str) -> str:
    return markup[markup.index(">") + 1 : markup.rindex("<")]


def _element(page: str, element_id: str) -> str:
    """The markup of the element with this id in a page (its tag ends at the matching close)."""
    start = page.rindex("<", 0, page.index(f'id="{element_id}"'))
    tag = re.match(r"<(\w+)", page[start:]).group(1)  # type: ignore[union-attr]
    depth, at = 0, start
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            at = start + found.end()
            break
    return page[start:at]


def _panels(page: str) -> dict[str, str]:
    return {name: _element(page, name) for name in REPLACED + LISTS}


def _apply(panels: dict[str, str], frame: str) -> None:
    """Apply a frame's out-of-band partials as htmx does (the swaps the frames use)."""
    for attrs, markup in _TopLevel(frame).parts:
        oob = str(attrs["hx-swap-oob"])
        if oob == "true":
            element_id = str(attrs["id"])
            panels[element_id] = markup.replace(' hx-swap-oob="true"', "", 1)
            continue
        style, selector = oob.split(":", 1)
        if style == "beforeend" and selector.lstrip("#") in LISTS:
            name = selector.lstrip("#")
            panels[name] = panels[name][: panels[name].rindex("</")] + _inner(markup) + "</ol>"
            continue
        message_id = re.fullmatch(r"#(msg-run-\d+) \.msg-text", selector).group(1)  # type: ignore[union-attr]
        messages = panels["messages"]
        text_at = messages.index('<div class="msg-text">', messages.index(f'id="{message_id}"'))
        open_end = text_at + len('<div class="msg-text">')
        close = messages.index("</div>", open_end)
        kept = messages[open_end:close] if style == "beforeend" else ""
        panels["messages"] = messages[:open_end] + kept + _inner(markup) + messages[close:]


def test_a_page_that_followed_the_run_live_reads_as_the_page_rendered_from_its_log(
    client, alice, deployment_a
):
    client.force_login(alice)
    empty = create_run(deployment_a, [], status="streaming", upstream_run_id="up-1")
    full = create_run(deployment_a, EVENTS, status="interrupted", upstream_run_id="up-1")
    followed = _panels(client.get(f"/runs/{empty.pk}/").content.decode())
    renderer = RunRenderer(empty.pk)
    # The events as the log holds them (PostgreSQL's jsonb orders an object's keys its own way).
    for seq, event, data in full.events.order_by("seq").values_list("seq", "event", "data"):
        _apply(followed, renderer.render(event_payload(empty.pk, seq, event, data)))

    rendered = _panels(client.get(f"/runs/{full.pk}/").content.decode())
    assert followed == rendered
    assert "Hello again<br>all" in rendered["messages"]
    assert "tool said &lt;i&gt;hi&lt;/i&gt;" in rendered["messages"]


def test_the_run_page_holds_the_empty_note_that_a_socket_without_the_channel_layer_fills(
    client, alice, deployment_a, settings
):
    settings.RUNS_WS_SYNC_SECONDS = 2.5
    client.force_login(alice)
    active = create_run(deployment_a, [], status="streaming")
    ended = create_run(deployment_a, [("custom", {"n": 1})], status="success")

    note = _element(client.get(f"/runs/{active.pk}/").content.decode(), "live-paused")
    assert note == '<p id="live-paused" class="panel" role="status"></p>'
    # The socket's note swaps its content into that element (a live region kept in place).
    assert paused_note(live=True) == note.replace(">", ' hx-swap-oob="innerHTML">', 1)
    assert _inner(paused_note(live=False)) == (
        "Live updates paused: showing the saved log, read again every 2.5 s."
    )
    assert 'id="live-paused"' not in client.get(f"/runs/{ended.pk}/").content.decode()


def test_streamed_text_appended_chunk_by_chunk_reads_as_the_template_prints_the_whole():
    chunks = ["a <b>", "\r", '\nc & "d"\r\n', "e\re'"]
    whole = MessageView(index=0, role="assistant", name="", text="", blocks=[], id="x")
    whole.text = "".join(chunks).replace("\r", "")
    panels = {"messages": '<ol id="messages" class="conversation"></ol>'}
    first = MessageView(index=0, role="assistant", name="", text="", blocks=[], id="x")
    _apply(panels, f'<div hx-swap-oob="beforeend:#messages">{message_item(first)}</div>')
    for chunk in chunks:
        _apply(panels, message_text(0, chunk, append=True))
    assert _inner(panels["messages"]) == message_item(whole)


def test_a_run_frame_starts_with_its_seq_and_event_for_the_page_script_even_for_a_hostile_name():
    name = '"><img src=x onerror=alert(1)>|x'
    frame = RunRenderer(1).render(event_payload(1, 1, name, {"a": 1}))
    assert parse_frame(frame) == {"type": "event", "seq": 1, "event": name, "html": frame}
    assert "<img" not in frame


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("custom", {"html": "<script>alert('x')</script>", "q": "\"'", "md": "**b** [x](y)"}),
        ("updates", {"<node onclick=x>": "</pre><script>alert(1)</script>"}),
        ("values", {"big": '<&">' * 50_000}),
        ("messages", [{"type": "ai", "id": '"><script>', "content": "<script>" * 30_000}, {}]),
        ("messages/complete", [{"type": "<b>x</b>", "id": "m", "content": "\"'" * 100_000}]),
        ("error", {"error": "<script>", "message": "x" * 200_000}),
    ],
)
def test_hostile_graph_output_is_escaped_and_bounded(event: str, data: Any):
    renderer = RunRenderer(1)
    renderer.render(event_payload(1, 1, "messages", [{"type": "ai", "id": "m"}, {}]))
    frame = renderer.render(event_payload(1, 2, event, data))
    for tag in ("<script", "<img", "<node", "<b>", "<&"):
        assert tag not in frame
    # A value is cut at MAX_TEXT characters; escaping at most sextuples one (" is &quot;).
    assert len(frame) <= 6 * MAX_TEXT + 4096
    for text in pre_texts(parse_frame(frame)):
        assert len(text) <= MAX_TEXT + 100


@pytest.mark.parametrize("label", ["", "agent", "<b>\"n'&"])
def test_the_fast_paths_print_what_the_page_templates_print(label: str):
    hostile = '<script>"it\'s" & more</script>\n  {}'
    entry = Entry(7, label, hostile)
    template = "runs/run_detail.html#{}"
    assert entry_item(entry) == render_to_string(template.format("entry"), {"entry": entry})
    count = {"seq": 7, "event": label or hostile, "oob": True}
    assert count_frame(7, label or hostile) == render_to_string(template.format("count"), count)


def test_an_event_reads_the_same_live_and_from_the_log_whatever_order_its_keys_came_in(
    deployment_a,
):
    # As a graph sends a message: longest keys first, nested objects too, two nodes at once.
    sent = {
        "review_step": {"messages": [{"content": "ok", "additional_kwargs": {}, "id": "m1"}]},
        "tools": {"result": {"amount": 120, "currency_code": "USD", "id": 7}},
    }
    run = create_run(deployment_a, [("updates", sent), ("values", sent)])
    logged = {row.seq: row.data for row in RunEvent.objects.filter(run=run)}

    assert present("updates", sent) == present("updates", logged[1])
    assert present("values", sent) == present("values", logged[2])
