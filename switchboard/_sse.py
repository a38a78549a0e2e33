"""Server-sent events: bytes in, ``StreamPart``s out. Pure, incremental, no I/O.

Follows the WHATWG event-stream rules with the server's habits in mind (contract §5.1):
lines end in ``\\r\\n``, ``\\n`` or ``\\r`` (a ``\\r\\n`` may be split across reads); a blank
line dispatches; ``:`` lines are comments (heartbeats); repeated ``data:`` lines join with
``\\n``; ``id:`` sets the last event id (ignored if it contains NUL); unknown fields and
``retry:`` are ignored; an event cut off by the end of the body is not dispatched. ``data``
is JSON-decoded; data that is not JSON (a proxy's error page) is passed on as text rather
than ending the stream.

Speed comes from working on whole reads: an event in the server's own layout (``event``, one
``data`` line, an optional ``id``, a blank line) is taken apart with three ``find(b"\\n")``
calls (memchr, so the size of the data hardly matters) and a few slices, with no Python step
per line and no generator per line. Anything else goes through the general line rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from switchboard.types import StreamPart

logger = logging.getLogger("switchboard")

_BOM = b"\xef\xbb\xbf"
_EVENT_NAMES = {
    name.encode(): name
    for name in (
        "metadata",
        "values",
        "updates",
        "messages",
        "messages/partial",
        "messages/complete",
        "messages/metadata",
        "custom",
        "events",
        "tasks",
        "checkpoints",
        "debug",
        "error",
        "end",
        "feedback",
        "state_update",
    )
}
_new_part = tuple.__new__


def _lf(text: bytes) -> bytes:
    return text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _as_text(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    logger.warning("SSE data is not JSON; passing it on as text: %.200r", text)
    return text


class SSEDecoder:
    """Incremental decoder: ``feed(read)`` returns the events that read completed; ``flush()``
    at the end of the body returns what a final bare CR completed."""

    __slots__ = ("_data", "_event", "_started", "_tail", "last_event_id", "loads")

    def __init__(
        self,
        *,
        last_event_id: str | None = None,
        loads: Callable[[bytes], Any] | None = json.loads,
    ) -> None:
        # loads=None: leave each event's data as its JSON bytes (decode later, decode_data).
        self.last_event_id = last_event_id
        self.loads = loads
        self._tail = b""  # the part of the last read after its last LF
        self._event = ""  # fields of an event seen line by line, not dispatched yet
        self._data: bytes | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[StreamPart]:
        if self._tail:
            chunk = self._tail + chunk
        elif not self._started:
            if not chunk:
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        held = b""
        if chunk.endswith(b"\r"):
            # Hold a trailing CR back: its LF may be the first byte of the next read.
            held, chunk = b"\r", chunk[:-1]
        # find() rather than ``in`` throughout: for one byte it is memchr, many times faster.
        end = chunk.rfind(b"\n") + 1
        if not end and chunk.find(b"\r") >= 0:
            chunk = _lf(chunk)  # lines that end in a bare CR only
            end = chunk.rfind(b"\n") + 1
        self._tail = chunk[end:] + held
        return self._parse(chunk, end) if end else []

    def flush(self) -> list[StreamPart]:
        """End of body. An event still open here (no blank line yet) was cut off: per the
        spec it is not dispatched (a resumable stream replays it)."""
        tail, self._tail = self._tail, b""
        out = self._parse(_lf(tail), len(tail)) if tail.endswith(b"\r") else []
        self._event, self._data = "", None
        return out

    def _parse(self, text: bytes, end: int) -> list[StreamPart]:
        """Decode the lines in ``text[:end]`` (``end`` is just past an LF; a CR before an LF
        is part of the line ending)."""
        out: list[StreamPart] = []
        append = out.append
        loads = self.loads
        names = _EVENT_NAMES
        find = text.find
        startswith = text.startswith
        pending = self._data is not None or bool(self._event)
        pos = 0
        while pos < end:
            # Fast path, inlined (it runs once per event): a whole event in the server's
            # layout, "event: N", "data: D", maybe "id: I", blank line; CRLF or LF.
            if not pending and startswith(b"event: ", pos):
                name_end = find(b"\n", pos)
                data_at = name_end + 1
                data_end = find(b"\n", data_at) if startswith(b"data: ", data_at) else -1
                after = data_end + 1
                id_end = find(b"\n", after) if startswith(b"id: ", after) else data_end
                blank = id_end + 1
                if data_end >= 0 and id_end >= 0 and blank < end:
                    if text[blank] == 10:
                        next_pos = blank + 1
                    elif text[blank] == 13 and blank + 1 < end and text[blank + 1] == 10:
                        next_pos = blank + 2
                    else:
                        next_pos = -1
                    # The CR of a CRLF ends the line; it is not part of the value.
                    name = text[pos + 7 : name_end - (text[name_end - 1] == 13)]
                    data = text[data_at + 6 : data_end - (text[data_end - 1] == 13)]
                    event_id = (
                        text[after + 4 : id_end - (text[id_end - 1] == 13)]
                        if id_end > data_end
                        else b""
                    )
                    # A bare CR inside would make these more lines than they seem.
                    if (
                        next_pos > 0
                        and data.find(b"\r") < 0
                        and name.find(b"\r") < 0
                        and event_id.find(b"\r") < 0
                    ):
                        if event_id and event_id.find(b"\0") < 0:
                            try:
                                self.last_event_id = event_id.decode()
                            except UnicodeDecodeError:
                                self.last_event_id = event_id.decode("utf-8", "replace")
                        event = names.get(name) or name.decode("utf-8", "replace") or "message"
                        if loads is None:
                            # Raw: a plain tuple (data still JSON bytes), made into a
                            # StreamPart when its data is decoded (decode_data).
                            append((event, data or None, self.last_event_id))  # type: ignore[arg-type]
                        else:
                            if data:
                                try:
                                    value = loads(data)
                                except ValueError:
                                    value = _as_text(data)
                            else:
                                value = None
                            append(_new_part(StreamPart, (event, value, self.last_event_id)))
                        pos = next_pos
                        continue
            # Slow path: one line by the general rules.
            line_end = find(b"\n", pos)
            line = text[
                pos : line_end - 1 if line_end > pos and text[line_end - 1] == 13 else line_end
            ]
            if line.find(b"\r") >= 0:
                rest = _lf(text[pos:end])
                return out + self._parse(rest, len(rest))
            self._line(line, append)
            pending = self._data is not None or bool(self._event)
            pos = line_end + 1
        return out

    def _line(self, line: bytes, append: Callable[[StreamPart], None]) -> None:
        if not line:
            data, event = self._data, self._event
            if data is None and not event:
                return
            self._data, self._event = None, ""
            value: Any = None
            loads = self.loads
            if data and loads is None:
                value = data
            elif data and loads is not None:
                try:
                    value = loads(data)
                except ValueError:
                    value = _as_text(data)
            append(_new_part(StreamPart, (event or "message", value, self.last_event_id)))
            return
        name, _, value_bytes = line.partition(b":")
        if value_bytes[:1] == b" ":
            value_bytes = value_bytes[1:]
        if name == b"data":
            self._data = value_bytes if self._data is None else self._data + b"\n" + value_bytes
        elif name == b"event":
            self._event = value_bytes.decode("utf-8", "replace")
        elif name == b"id" and value_bytes.find(b"\0") < 0:
            self.last_event_id = value_bytes.decode("utf-8", "replace") or None
        # comments (empty field name), "retry" and unknown fields are ignored


def decode_data(parts: list[StreamPart], loads: Callable[[bytes], Any]) -> list[StreamPart]:
    """JSON-decode the data of parts decoded with ``loads=lambda b: b`` (raw bytes)."""
    out: list[StreamPart] = []
    append = out.append
    for event, data, event_id in parts:
        if type(data) is bytes:
            try:
                data = loads(data)
            except ValueError:
                data = _as_text(data)
        append(_new_part(StreamPart, (event, data, event_id)))
    return out
