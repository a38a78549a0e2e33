"""A replay upstream for the benchmarks: a deployment that streams recorded runs, cheap on CPU.

    python -m bench.replay.server --port 8123 [--rate 20]

It speaks the part of the LangGraph Server API the console's relays use, on plain asyncio (no
framework: one event loop, hand-parsed HTTP/1.1), so that the machine's cores are left to the
console being measured, where ``langgraph dev`` runs the graphs (about 2,500 events/s on two
cores here) and would otherwise be most of the load:

- ``POST /threads``, ``GET /threads/{t}``, ``GET /threads/{t}/state``, ``POST /threads/search``,
  ``POST /threads/count``, ``POST /assistants/search``, ``GET /ok``;
- ``POST /threads/{t}/runs/stream``: creates the run (``Content-Location`` names it, the thread is
  created if missing, ``multitask_strategy=reject`` answers 409 on a busy thread) and streams it;
  the run goes on when the client disconnects (``on_disconnect=continue``), as resumable runs do;
- ``GET /threads/{t}/runs/{r}/stream`` with ``Last-Event-ID``: the events after that id, then the
  rest live; ``GET /threads/{t}/runs/{r}``, ``GET /threads/{t}/runs``,
  ``POST /threads/{t}/runs/{r}/cancel``.

A run replays the fixture of its assistant (``bench/replay/fixtures/<graph>.json``, recorded from
``langgraph dev`` by ``bench/replay/record.py``), keeping the events of the stream modes asked
for. Its message chunks (each with the events that follow it) are paced at ``rate`` a second
(the run input's ``rate`` if it gives one, else ``--rate``) on a fixed schedule, chunk k at
start + (k - 1) / rate, as the ``chatty`` demo graph paces them; the run input's ``chunks``
sets how many (the recorded ones repeat). Every event's JSON is encoded once, when the fixture
is loaded; an event costs a frame header and one socket write per listener.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODE_OF_EVENT = {"messages": "messages-tuple"}  # SSE event name -> the stream mode that sends it
MAX_BODY = 1 << 20


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Recording:
    """A fixture split for replay: the events before the first message chunk, one group per
    chunk (the chunk and the events up to the next one), and the events after the last."""

    graph: str
    head: list[tuple[str, bytes]]
    chunks: list[list[tuple[str, bytes]]]
    tail: list[tuple[str, bytes]]
    final_values: Any

    @classmethod
    def load(cls, path: Path) -> Recording:
        fixture = json.loads(path.read_text())
        head: list[tuple[str, bytes]] = []
        chunks: list[list[tuple[str, bytes]]] = []
        final_values: Any = {}
        for event, data in fixture["events"]:
            if event == "metadata":
                continue  # made per run: it carries the run id
            if event == "values":
                final_values = data
            encoded = (event, json.dumps(data, separators=(",", ":")).encode())
            if event == "messages":
                chunks.append([encoded])
            elif chunks:
                chunks[-1].append(encoded)
            else:
                head.append(encoded)
        # What follows the last chunk's own events (the final updates and values) is the tail.
        tail: list[tuple[str, bytes]] = []
        if chunks:
            last = chunks[-1]
            while len(last) > 1 and last[-1][0] in ("updates", "values"):
                tail.insert(0, last.pop())
        return cls(fixture["graph"], head, chunks, tail, final_values)


@dataclass
class Run:
    run_id: str
    thread_id: str
    assistant_id: str
    metadata: dict[str, Any]
    status: str = "pending"
    created_at: str = field(default_factory=_now)
    frames: list[bytes] = field(default_factory=list)  # every SSE frame so far, id = index + 1
    listeners: list[asyncio.StreamWriter] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "status": self.status,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "updated_at": _now(),
            "multitask_strategy": "reject",
            "kwargs": {},
        }

    def emit(self, event: str, data: bytes) -> None:
        frame = b"event: %s\ndata: %s\nid: %d-0\n\n" % (event.encode(), data, len(self.frames) + 1)
        self.frames.append(frame)
        for writer in self.listeners:
            writer.write(frame)

    def finish(self, status: str) -> None:
        self.status = status
        for writer in self.listeners:
            writer.close()
        self.listeners.clear()
        self.done.set()


@dataclass
class Thread:
    thread_id: str
    metadata: dict[str, Any]
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    values: Any = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return any(run.status in ("pending", "running") for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "metadata": self.metadata,
            "status": "busy" if self.busy else "idle",
            "values": self.values,
            "interrupts": {},
        }


class HTTPError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}


def _response(status: int, body: Any, extra: bytes = b"") -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    return b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        status,
        REASONS.get(status, "Error").encode(),
        len(payload),
        extra,
        payload,
    )


ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^{pattern}$"), name)
    for method, pattern, name in [
        ("GET", "/ok", "ok"),
        ("POST", "/threads", "create_thread"),
        ("POST", "/threads/search", "search_threads"),
        ("POST", "/threads/count", "count_threads"),
        ("POST", "/assistants/search", "search_assistants"),
        ("GET", "/threads/(?P<t>[^/]+)", "get_thread"),
        ("GET", "/threads/(?P<t>[^/]+)/state", "get_state"),
        ("POST", "/threads/(?P<t>[^/]+)/runs/stream", "stream_run"),
        ("GET", "/threads/(?P<t>[^/]+)/runs", "list_runs"),
        ("GET", "/threads/(?P<t>[^/]+)/runs/(?P<r>[^/]+)", "get_run"),
        ("GET", "/threads/(?P<t>[^/]+)/runs/(?P<r>[^/]+)/stream", "join_stream"),
        ("POST", "/threads/(?P<t>[^/]+)/runs/(?P<r>[^/]+)/cancel", "cancel_run"),
    ]
]


class Replay:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.recordings = {path.stem: Recording.load(path) for path in FIXTURES.glob("*.json")}
        self.threads: dict[str, Thread] = {}

    # -- HTTP ---------------------------------------------------------------------------------

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length > MAX_BODY:
                    writer.write(_response(400, {"detail": "Body too large."}))
                    return
                raw = await reader.readexactly(length) if length else b""
                path = target.split("?", 1)[0].rstrip("/") or "/"
                if await self.dispatch(method, path, raw, headers, writer):
                    return  # a stream: the connection closes when it ends
                await writer.drain()
        finally:
            writer.close()

    async def dispatch(
        self,
        method: str,
        path: str,
        raw: bytes,
        headers: dict[str, str],
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; True when the answer was a stream (the connection is spent)."""
        for route_method, pattern, route in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                name = route
                break
        else:
            writer.write(_response(404, {"detail": "Not Found"}))
            return False
        try:
            body = json.loads(raw) if raw else {}
            handler = getattr(self, name)
            if name in ("stream_run", "join_stream"):
                await handler(writer, body, headers, **match.groupdict())
                return True
            status, answer = handler(body, **match.groupdict())
        except HTTPError as error:
            writer.write(_response(error.status, {"detail": error.detail}))
            return False
        except (ValueError, TypeError) as error:
            writer.write(_response(400, {"detail": str(error)}))
            return False
        writer.write(_response(status, answer))
        return False

    # -- threads and assistants ---------------------------------------------------------------

    def ok(self, body: Any) -> tuple[int, Any]:
        return 200, {"ok": True}

    def thread(self, t: str) -> Thread:
        found = self.threads.get(t)
        if found is None:
            raise HTTPError(404, f"Thread {t} not found")
        return found

    def create_thread(self, body: dict[str, Any]) -> tuple[int, Any]:
        thread_id = str(body.get("thread_id") or uuid.uuid4())
        thread = self.threads.setdefault(thread_id, Thread(thread_id, body.get("metadata") or {}))
        return 200, thread.as_dict()

    def search_threads(self, body: dict[str, Any]) -> tuple[int, Any]:
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
        rows = sorted(self.threads.values(), key=lambda thread: thread.updated_at, reverse=True)
        return 200, [thread.as_dict() for thread in rows[offset : offset + limit]]

    def count_threads(self, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, len(self.threads)

    def search_assistants(self, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, [
            {"assistant_id": graph, "graph_id": graph, "name": graph, "config": {}, "metadata": {}}
            for graph in sorted(self.recordings)
        ]

    def get_thread(self, body: Any, t: str) -> tuple[int, Any]:
        return 200, self.thread(t).as_dict()

    def get_state(self, body: Any, t: str) -> tuple[int, Any]:
        thread = self.thread(t)
        return 200, {
            "values": thread.values,
            "next": [],
            "tasks": [],
            "interrupts": [],
            "metadata": {},
            "created_at": thread.updated_at,
            "checkpoint": {"thread_id": t, "checkpoint_ns": "", "checkpoint_id": str(uuid.uuid4())},
            "parent_checkpoint": None,
        }

    # -- runs ---------------------------------------------------------------------------------

    def run(self, t: str, r: str) -> Run:
        for run in self.thread(t).runs:
            if run.run_id == r:
                return run
        raise HTTPError(404, f"Run {r} not found")

    def list_runs(self, body: Any, t: str) -> tuple[int, Any]:
        return 200, [run.as_dict() for run in reversed(self.thread(t).runs)]

    def get_run(self, body: Any, t: str, r: str) -> tuple[int, Any]:
        return 200, self.run(t, r).as_dict()

    def cancel_run(self, body: Any, t: str, r: str) -> tuple[int, Any]:
        run = self.run(t, r)
        if run.task is not None and not run.done.is_set():
            run.task.cancel()
            run.finish("interrupted")
        return 202, None

    async def stream_run(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], headers: dict[str, str], t: str
    ) -> None:
        thread = self.threads.get(t)
        if thread is None:
            if body.get("if_not_exists") != "create":
                raise HTTPError(404, f"Thread {t} not found")
            thread = self.threads[t] = Thread(t, {})
        assistant = str(body.get("assistant_id") or "")
        recording = self.recordings.get(assistant)
        if recording is None:
            raise HTTPError(404, f"No recording of assistant {assistant!r}")
        if thread.busy and body.get("multitask_strategy", "reject") == "reject":
            raise HTTPError(409, "Thread is busy with another run.")
        modes = body.get("stream_mode") or ["values"]
        modes = [modes] if isinstance(modes, str) else list(modes)
        given: dict[str, Any] = body["input"] if isinstance(body.get("input"), dict) else {}
        run = Run(str(uuid.uuid4()), t, assistant, body.get("metadata") or {})
        thread.runs.append(run)
        thread.metadata.update(graph_id=assistant, assistant_id=assistant)
        run.listeners.append(writer)
        location = f"/threads/{t}/runs/{run.run_id}"
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
            b"content-location: %s\r\nlocation: %s/stream\r\nconnection: close\r\n\r\n"
            % (location.encode(), location.encode())
        )
        rate = float(given.get("rate") or self.rate)
        chunks = int(given.get("chunks") or len(recording.chunks))
        run.task = asyncio.create_task(self.produce(run, thread, recording, modes, rate, chunks))
        await self.hold(run, writer)

    async def join_stream(
        self,
        writer: asyncio.StreamWriter,
        body: Any,
        headers: dict[str, str],
        t: str,
        r: str,
    ) -> None:
        run = self.run(t, r)
        last = headers.get("last-event-id", "0-0")
        try:
            after = int(last.split("-", 1)[0])
        except ValueError:
            after = 0
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
            b"connection: close\r\n\r\n"
        )
        writer.writelines(run.frames[after:])
        if run.done.is_set():
            return
        run.listeners.append(writer)
        await self.hold(run, writer)

    async def hold(self, run: Run, writer: asyncio.StreamWriter) -> None:
        """Keep the connection until the run ends; a client that leaves stops listening only."""
        closed = asyncio.ensure_future(writer.wait_closed())
        await asyncio.wait(
            [closed, asyncio.ensure_future(run.done.wait())], return_when="FIRST_COMPLETED"
        )
        if writer in run.listeners:
            run.listeners.remove(writer)

    async def produce(
        self,
        run: Run,
        thread: Thread,
        recording: Recording,
        modes: list[str],
        rate: float,
        chunks: int,
    ) -> None:
        def wanted(events: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
            return [
                (event, data) for event, data in events if MODE_OF_EVENT.get(event, event) in modes
            ]

        loop = asyncio.get_running_loop()
        run.status = "running"
        meta = json.dumps({"run_id": run.run_id, "attempt": 1}).encode()
        run.emit("metadata", meta)
        for event, data in wanted(recording.head):
            run.emit(event, data)
        groups = [wanted(group) for group in recording.chunks]
        start = loop.time()
        for k in range(chunks):
            delay = start + k / rate - loop.time() if rate > 0 else 0
            if delay > 0:
                await asyncio.sleep(delay)
            for event, data in groups[k % len(groups)]:
                run.emit(event, data)
        for event, data in wanted(recording.tail):
            run.emit(event, data)
        thread.values = recording.final_values
        thread.updated_at = _now()
        run.finish("success")


async def main_async(host: str, port: int, rate: float) -> None:
    replay = Replay(rate)
    server = await asyncio.start_server(replay.serve, host, port, backlog=1024)
    print(f"replay upstream on http://{host}:{port} ({sorted(replay.recordings)})", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=20.0, help="message chunks per second")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.host, args.port, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
