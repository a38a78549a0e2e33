"""Test helpers: a ``SyncClient`` that looks awaitable (so every behaviour test is written once,
async, and runs against both clients), and a scripted ``MockTransport`` server."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from switchboard import Client, SyncClient, SyncRunStream
from switchboard.types import StreamPart

_END = object()


class AwaitableStream:
    """A ``SyncRunStream`` behind the ``RunStream`` interface; each pull runs in a worker
    thread, as blocking code would call it."""

    def __init__(self, stream: SyncRunStream) -> None:
        self._stream = stream
        self._iterator: Iterator[StreamPart] | None = None

    @property
    def run_id(self) -> str | None:
        return self._stream.run_id

    @property
    def thread_id(self) -> str | None:
        return self._stream.thread_id

    @property
    def last_event_id(self) -> str | None:
        return self._stream.last_event_id

    def __aiter__(self) -> AwaitableStream:
        return self

    async def __anext__(self) -> StreamPart:
        if self._iterator is None:
            self._iterator = iter(self._stream)
        part = await asyncio.to_thread(next, self._iterator, _END)
        if part is _END:
            raise StopAsyncIteration
        return part  # type: ignore[return-value]

    async def next_batch(self) -> list[StreamPart]:
        return await asyncio.to_thread(self._stream.next_batch)

    async def __aenter__(self) -> AwaitableStream:
        await asyncio.to_thread(self._stream.__enter__)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._iterator is not None:
            await asyncio.to_thread(self._iterator.close)  # type: ignore[attr-defined]
        await asyncio.to_thread(self._stream.close)


class AwaitableSync:
    """Wraps a ``SyncClient`` (or one of its namespaces) so tests can ``await`` its methods.

    Blocking methods run in a worker thread (``asyncio.to_thread``), exactly as async code
    would have to call them; stream methods return an ``AwaitableStream``.
    """

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name in ("threads", "runs", "assistants", "crons", "store"):
            return AwaitableSync(attr)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs) if _is_stream_method(name) else None
            if result is not None:
                return AwaitableStream(result)
            return asyncio.to_thread(attr, *args, **kwargs)

        return call

    async def aclose(self) -> None:
        await asyncio.to_thread(self._target.close)


def _is_stream_method(name: str) -> bool:
    return name in ("stream_run", "join_stream", "join_thread_stream", "stream")


def on_both_clients(test: Callable[..., Any]) -> Callable[..., Any]:
    """Run a live test body with the async client and with the sync client, at the same time.

    The body is written once against ``client``; it gets the ``clients`` fixture instead and
    runs once per client, concurrently, because most of a live test's time is the dev
    server picking runs up (it polls every half second) and both halves can wait together.
    A failure says which client it came from.
    """
    signature = inspect.signature(test)
    rest = [p for name, p in signature.parameters.items() if name != "client"]

    @functools.wraps(test)
    async def both(clients: dict[str, Any], **kwargs: Any) -> None:
        outcomes = await asyncio.gather(
            *(test(client, **kwargs) for client in clients.values()), return_exceptions=True
        )
        failures = [
            (kind, o)
            for kind, o in zip(clients, outcomes, strict=True)
            if isinstance(o, BaseException)
        ]
        for kind, failure in failures:
            failure.add_note(f"(with the {kind} client)")
        if failures:
            first = failures[0][1]
            for kind, other in failures[1:]:
                first.add_note(f"the {kind} client failed too: {other!r}")
            raise first

    clients = inspect.Parameter("clients", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    both.__signature__ = signature.replace(parameters=[clients, *rest])  # type: ignore[attr-defined]
    del both.__wrapped__  # pytest must see the new signature, not the body's
    return both


# -- a scripted server on httpx.MockTransport ------------------------------------------------


def sse(*events: tuple[str, Any] | tuple[str, Any, str]) -> bytes:
    """The server's wire format: ``event``, one ``data`` line, optional ``id``, CRLF."""
    out = []
    for event in events:
        name, data = event[0], event[1]
        line = f"event: {name}\r\ndata: {json.dumps(data)}\r\n"
        if len(event) == 3:
            line += f"id: {event[2]}\r\n"
        out.append(line + "\r\n")
    return "".join(out).encode()


async def chunks(*parts: bytes, fail: BaseException | None = None) -> AsyncIterator[bytes]:
    """A streamed body: each part is one network read; ``fail`` is raised after the last."""
    for part in parts:
        yield part
        await asyncio.sleep(0)
    if fail is not None:
        raise fail


class ClosableBody(httpx.AsyncByteStream):
    """A streamed response body that records when the client closes it (what closing the
    HTTP response does to the connection)."""

    def __init__(self, parts: AsyncIterator[bytes]) -> None:
        self._parts = parts
        self.closed_flag = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._parts:
            yield part

    async def aclose(self) -> None:
        self.closed_flag = True


@dataclass
class Seen:
    """What the scripted server received."""

    requests: list[httpx.Request] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(
    responses: Iterable[Handler | httpx.Response | BaseException],
) -> tuple[httpx.MockTransport, Seen]:
    """A transport answering request N with the Nth item (a response, a handler, or an
    exception to raise, e.g. ``httpx.ReadError``)."""
    queue = list(responses)
    seen = Seen()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.requests.append(request)
        if not queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    return httpx.MockTransport(handler), seen


def routed(handler: Handler) -> tuple[httpx.MockTransport, Seen]:
    seen = Seen()

    def record(request: httpx.Request) -> httpx.Response:
        seen.requests.append(request)
        return handler(request)

    return httpx.MockTransport(record), seen


def event_stream(body: bytes | AsyncIterator[bytes], **headers: str) -> httpx.Response:
    return httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream", **headers}
    )


class Sleeps(list[float]):
    """Replaces ``HttpCore.sleep``: records backoff delays instead of waiting them out."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def mock_client(
    transport: httpx.MockTransport, *, sleeps: Sleeps | None = None, **kwargs: Any
) -> Client:
    kwargs.setdefault("assistant_id", "agent")
    client = Client("http://deployment.test", transport=transport, **kwargs)
    if sleeps is not None:
        client._http.sleep = sleeps
    return client


def mock_sync_client(
    transport: httpx.MockTransport, *, sleeps: Sleeps | None = None, **kwargs: Any
) -> SyncClient:
    kwargs.setdefault("assistant_id", "agent")
    client = SyncClient("http://deployment.test", transport=transport, **kwargs)
    if sleeps is not None:
        client._client._http.sleep = sleeps
    return client
