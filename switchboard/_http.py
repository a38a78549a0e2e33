"""The one module that touches httpx: sending with retries, pacing, and following streams.

Threading rule: an ``HttpCore`` (and every ``with_options`` view of it) belongs to one event
loop. Their shared ``_Pool`` creates the ``httpx.AsyncClient`` (and the semaphore) on first
use inside that loop, and again after a fork, so a client built before a Celery worker forks
never shares a socket with its parent.
"""

# ``timeout=`` arguments here are httpx timeouts handed to the transport, not deadlines the
# caller should implement with asyncio.timeout, so ASYNC109 does not apply.

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Self, TypeAlias
from urllib.parse import urlencode, urlsplit

import httpx

from switchboard import _json
from switchboard._errors import error_for_status, run_failed
from switchboard._retry import Pacer, RetryPolicy, TransportFailure, is_idempotent
from switchboard._sse import SSEDecoder, _as_text, decode_data
from switchboard._version import __version__
from switchboard.errors import (
    APIConnectionError,
    APITimeoutError,
    InputError,
    SwitchboardError,
)
from switchboard.types import RunCreated, StreamPart

Params: TypeAlias = Mapping[str, str | int | float | bool | list[str] | None]
TimeoutArg: TypeAlias = float | httpx.Timeout | None

_USER_AGENT = f"switchboard-langgraph/{__version__}"
_new_part = tuple.__new__
_RUN_PATH = re.compile(r"(?:/threads/(?P<thread_id>[^/]+))?/runs/(?P<run_id>[^/?#]+)")
_TERMINAL_EVENTS = frozenset({"error", "end"})


def _query(params: Params) -> str:
    """``params`` as a query string; ``None`` values are left out, booleans are lower-case, and
    a list repeats its key (``select=a&select=b``, as the server reads it)."""
    pairs = []
    for key, value in params.items():
        items: list[str | int | float | bool | None] = (
            list(value) if isinstance(value, list | tuple) else [value]
        )
        for item in items:
            if item is None:
                continue
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append((key, text))
    return urlencode(pairs)


def _failure_kind(exc: httpx.TransportError) -> TransportFailure:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout"
    if isinstance(exc, httpx.TimeoutException):
        return "read_timeout" if isinstance(exc, httpx.ReadTimeout) else "write"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.ReadError):
        return "read"
    if isinstance(exc, httpx.WriteError):
        return "write"
    return "protocol"


def _transport_error(exc: httpx.TransportError, method: str, path: str) -> SwitchboardError:
    what = type(exc).__name__
    reason = str(exc) or what
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{what}: {reason} [{method} {path}]")
    return APIConnectionError(f"{what}: {reason} [{method} {path}]")


def _decoded(data: Any) -> Any:
    if isinstance(data, bytes):
        try:
            return _json.loads(data)
        except ValueError:
            return data.decode("utf-8", "replace")
    return data


def _run_from_location(location: str | None) -> RunCreated | None:
    if not location:
        return None
    match = _RUN_PATH.search(urlsplit(location).path)
    if match is None:
        return None
    return RunCreated(run_id=match["run_id"], thread_id=match["thread_id"])


_DEFAULT_MAX_CONNECTIONS = 100  # httpx's own default


class _Pool:
    """The connections, concurrency and rate limits of one client, shared by every
    ``with_options`` view of it. Created on first use inside the loop, and again after a fork,
    so a client built before a Celery worker forks never shares a socket with its parent."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        *,
        max_connections: int,
        max_requests_per_minute: int | None,
        max_concurrent_requests: int | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._base_url = base_url
        self._headers = headers
        self._timeout = timeout
        self._max_connections = max_connections
        self._max_concurrent = max_concurrent_requests
        self.pacer = Pacer(max_requests_per_minute) if max_requests_per_minute else None
        self.transport = transport
        self.client: httpx.AsyncClient | None = None
        self.fresh_client: httpx.AsyncClient | None = None
        self.semaphore: asyncio.Semaphore | None = None
        self.suspect_until = 0.0
        self.pid = os.getpid()

    def _new_client(self, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=self._timeout,
            transport=self.transport,
            limits=limits,
            follow_redirects=False,
        )

    def http(self) -> httpx.AsyncClient:
        if self.pid != os.getpid():
            # Forked: the parent's sockets are not ours to use or to close.
            self.client, self.fresh_client, self.semaphore = None, None, None
            self.pid = os.getpid()
        if self.client is None:
            # Idle connections are dropped before uvicorn's 5 s keep-alive closes them, so a
            # request rarely meets a connection the server is closing.
            self.client = self._new_client(
                httpx.Limits(max_connections=self._max_connections, keepalive_expiry=4.0)
            )
            if self._max_concurrent:
                self.semaphore = asyncio.Semaphore(self._max_concurrent)
        return self.client

    def http_for(self, idempotent: bool) -> httpx.AsyncClient:
        client = self.http()
        if idempotent or self.transport is not None or time.monotonic() >= self.suspect_until:
            return client
        # Shortly after a 5xx, a pooled connection may be one the server is about to drop
        # without a word (uvicorn after a crash page, gotcha 7): a request on it fails with
        # ReadError and, if it is not idempotent, cannot be retried. Send those on a
        # connection of their own instead.
        if self.fresh_client is None:
            self.fresh_client = self._new_client(
                httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=0)
            )
        return self.fresh_client

    async def aclose(self) -> None:
        clients = (self.client, self.fresh_client)
        self.client = self.fresh_client = None
        if self.pid == os.getpid():
            for client in clients:
                if client is not None:
                    await client.aclose()


def _as_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class HttpCore:
    """Sends requests for one ``Client``: base URL, headers, retries, rate and concurrency
    limits. Every public method of ``Client`` ends in ``request`` or ``stream`` here.

    ``with_options`` makes a view with its own retries and timeout on the same ``_Pool``."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None,
        headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_requests_per_minute: int | None,
        max_concurrent_requests: int | None,
        max_connections: int | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"url must be an http(s) URL of a deployment, got {url!r}")
        if max_concurrent_requests is not None and max_concurrent_requests < 1:
            raise InputError("max_concurrent_requests must be at least 1")
        if max_connections is not None and max_connections < 1:
            raise InputError("max_connections must be at least 1")
        if max_retries < 0:
            raise InputError("max_retries must be zero or more")
        self.base_url = url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc)
        merged = {"User-Agent": _USER_AGENT}
        for key, value in (headers or {}).items():
            if key.lower() == "x-api-key":
                raise InputError("pass the key as api_key=, not as an x-api-key header")
            merged[key] = value
        if api_key:
            merged["x-api-key"] = api_key
        self._headers = merged
        self._timeout = _as_timeout(timeout)
        self._timeout_dict = self._timeout.as_dict()
        self.policy = RetryPolicy(max_retries=max_retries)
        self._pool = _Pool(
            self.base_url,
            merged,
            self._timeout,
            max_connections=max_connections or _DEFAULT_MAX_CONNECTIONS,
            max_requests_per_minute=max_requests_per_minute,
            max_concurrent_requests=max_concurrent_requests,
            transport=transport,
        )
        # Replaced in tests to record (and skip) backoff sleeps.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> HttpCore:
        """A copy that sends with other retries and/or timeout over the same pool."""
        if max_retries is not None and max_retries < 0:
            raise InputError("max_retries must be zero or more")
        view = copy.copy(self)
        if max_retries is not None:
            view.policy = dataclasses.replace(self.policy, max_retries=max_retries)
        if timeout is not None:
            view._timeout = _as_timeout(timeout)
            view._timeout_dict = view._timeout.as_dict()
        return view

    def shares_pool_with(self, other: HttpCore) -> bool:
        return self._pool is other._pool

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- pacing ----------------------------------------------------------------------------

    async def _wait_turn(self) -> None:
        pacer = self._pool.pacer
        if pacer is not None:
            delay = pacer.reserve(time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)

    # -- requests --------------------------------------------------------------------------

    def _build(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Params | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutArg,
        stream: bool,
    ) -> httpx.Request:
        # Built here rather than with AsyncClient.build_request, which parses the URL three
        # times over (base, join, params): that was most of a request's client-side cost.
        request_headers = dict(self._headers)
        content = None
        if json is not None:
            content = _json.dumps(json)
            request_headers["Content-Type"] = "application/json"
        if stream:
            request_headers["Accept"] = "text/event-stream"
            request_headers["Cache-Control"] = "no-store"
        else:
            request_headers["Accept"] = "application/json"
        if headers:
            request_headers.update(headers)
        url = self.base_url + path
        if params:
            query = _query(params)
            if query:
                url += "?" + query
        if timeout is None:
            timeouts = self._timeout_dict
        elif isinstance(timeout, httpx.Timeout):
            timeouts = timeout.as_dict()
        else:
            timeouts = httpx.Timeout(timeout).as_dict()
        self._pool.http()  # the pool exists (and is this process's) before the request goes out
        return httpx.Request(
            method, url, headers=request_headers, content=content, extensions={"timeout": timeouts}
        )

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send until a 2xx arrives or the retry policy gives up (then raise).

        Redirects are never followed: a 3xx raises ``RedirectError`` (not retried). With
        ``stream=True`` the returned response is open and the caller must close it.
        """
        if idempotent is None:
            idempotent = is_idempotent(method, path)
        request = self._build(
            method, path, json=json, params=params, headers=headers, timeout=timeout, stream=stream
        )
        attempt = 0
        while True:
            retry_after: float | None = None
            await self._wait_turn()
            pool = self._pool
            http = pool.http_for(idempotent)
            try:
                if pool.semaphore is not None:
                    async with pool.semaphore:
                        response = await http.send(request, stream=stream)
                else:
                    response = await http.send(request, stream=stream)
            except httpx.TransportError as exc:
                error = _transport_error(exc, method, path)
                retry = self.policy.retry_failure(_failure_kind(exc), idempotent=idempotent)
            else:
                if response.status_code < 300:
                    return response
                if response.status_code >= 500:
                    pool.suspect_until = time.monotonic() + 2.0
                content = await response.aread()
                await response.aclose()
                error = error_for_status(
                    response.status_code,
                    content=content,
                    headers=response.headers,
                    method=method,
                    path=path,
                    reason=response.reason_phrase,
                )
                retry = self.policy.retry_status(response.status_code, idempotent=idempotent)
                retry_after = getattr(error, "retry_after", None)
            delay = self.policy.delay(attempt, retry_after) if retry else None
            if delay is None:
                raise error from None
            attempt += 1
            await self.sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send and decode the JSON body (``None`` for an empty one, e.g. 202/204)."""
        response = await self.send(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            timeout=timeout,
            idempotent=idempotent,
        )
        content = response.content
        if not content or content.isspace():
            return None
        try:
            return _json.loads(content)
        except ValueError:
            raise APIConnectionError(
                f"the deployment sent a body that is not JSON [{method} {path}]: {content[:200]!r}",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None

    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = None,
        resumable: bool = False,
        last_event_id: str | None = None,
        thread_stream: bool = False,
        on_run_created: Callable[[RunCreated], None] | None = None,
        prepare: Callable[[RunStream], Awaitable[None]] | None = None,
    ) -> RunStream:
        return RunStream(
            self,
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            timeout=timeout,
            resumable=resumable,
            last_event_id=last_event_id,
            thread_stream=thread_stream,
            on_run_created=on_run_created,
            prepare=prepare,
        )

    async def wait(
        self,
        path: str,
        *,
        json: Any,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = None,
        on_run_created: Callable[[RunCreated], None] | None = None,
    ) -> tuple[Any, RunCreated | None]:
        """POST a ``/wait`` run and return ``(final values, run)``. If the connection drops
        while the server holds the response open, rejoin the run at its ``Location``
        (``.../join``) instead of failing: the run itself goes on without us."""
        response = await self.send(
            "POST", path, json=json, params=params, headers=headers, timeout=timeout, stream=True
        )
        created = _run_from_location(response.headers.get("content-location"))
        if created is not None and on_run_created is not None:
            on_run_created(created)
        location = response.headers.get("location")
        try:
            content = await response.aread()
        except httpx.TransportError as exc:
            if not (location and self.same_origin(location)):
                raise _transport_error(exc, "POST", path) from None
            content = await self.request_bytes(
                "GET", urlsplit(location).path, headers=headers, timeout=timeout
            )
        finally:
            await response.aclose()
        if not content or content.isspace():
            return None, created
        return _json.loads(content), created

    async def request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = None,
    ) -> bytes:
        response = await self.send(method, path, params=params, headers=headers, timeout=timeout)
        return response.content

    def same_origin(self, location: str) -> bool:
        parts = urlsplit(location)
        if not parts.scheme and not parts.netloc:
            return True
        return (parts.scheme, parts.netloc) == self._origin


class RunStream:
    """An async iterator of ``StreamPart``s from one run (or thread) stream.

    The request goes out on first iteration or on ``async with``. ``run_id``/``thread_id``
    are set as soon as the response headers (``Content-Location``) or the first ``metadata``
    event name them, and ``on_run_created`` fires once at that moment. ``last_event_id`` is
    the id of the last event received (resumable and thread streams only); every
    ``StreamPart`` carries its own ``id`` too.

    Reconnects (contract §5.5): a resumable stream that drops, or ends without a terminal
    event while its run is still pending/running, is rejoined at its ``Location`` with
    ``Last-Event-ID``, backing off ``min(5, 2**n)`` s plus jitter, five tries, the count reset
    whenever events arrive. A stream ``error`` event raises ``RunFailedError`` after the
    events before it were delivered. Closing the stream (``aclose``, leaving ``async with``,
    breaking out of a sync iteration) closes the HTTP response.
    """

    def __init__(
        self,
        core: HttpCore,
        method: str,
        path: str,
        *,
        json: Any,
        params: Params | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutArg,
        resumable: bool,
        last_event_id: str | None,
        thread_stream: bool,
        on_run_created: Callable[[RunCreated], None] | None,
        prepare: Callable[[RunStream], Awaitable[None]] | None = None,
    ) -> None:
        self._core = core
        self._prepare = prepare
        self._method = method
        self._path = path
        self._json = json
        self._params = params
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._resumable = resumable or last_event_id is not None
        self._thread_stream = thread_stream
        self._on_run_created = on_run_created
        self._location: str | None = path if method == "GET" else None
        self._buffer: deque[StreamPart] = deque()
        self._gen: AsyncGenerator[list[StreamPart], None] | None = None
        self._finished = False
        self._response: httpx.Response | None = None
        self._closed = False
        self.last_event_id = last_event_id
        self.run_id: str | None = None
        self.thread_id: str | None = None
        match = _RUN_PATH.search(path)
        if match is not None and method == "GET":
            self.run_id, self.thread_id = match["run_id"], match["thread_id"]
        elif path.startswith("/threads/"):
            self.thread_id = path.split("/")[2]
        if method == "GET" and last_event_id:
            self._headers["Last-Event-ID"] = last_event_id

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StreamPart]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamPart]:
        # An async generator: resuming one costs less than a coroutine call per event.
        buffer, loads, new = self._buffer, _json.loads, _new_part
        while True:
            while buffer:
                event, data, event_id = buffer.popleft()
                if data is not None:  # raw: JSON bytes
                    # Decoded one at a time as handed out: only the event in hand is alive,
                    # which keeps the garbage collector's young generation small.
                    try:
                        data = loads(data)
                    except ValueError:
                        data = _as_text(data)
                yield new(StreamPart, (event, data, event_id))
            batch = await self.raw_batch()
            if not batch:
                return
            buffer.extend(batch)

    async def __anext__(self) -> StreamPart:
        buffer = self._buffer
        while not buffer:
            batch = await self.raw_batch()
            if not batch:
                raise StopAsyncIteration
            buffer.extend(batch)
        event, data, event_id = buffer.popleft()
        # Decoded one at a time as handed out: only the event in hand is alive, which keeps
        # the garbage collector's young generation small (it is the cost of batching).
        if type(data) is bytes:
            try:
                data = _json.loads(data)
            except ValueError:
                data = _as_text(data)
        return _new_part(StreamPart, (event, data, event_id))

    async def next_batch(self) -> list[StreamPart]:
        """The next events as they arrived together (one network read; ``[]`` at the end):
        cheaper per event than iterating when the caller stores events in batches."""
        return decode_data(await self.raw_batch(), _json.loads)

    async def raw_batch(self) -> list[StreamPart]:
        """Like ``next_batch``, with each event's data still JSON bytes."""
        if self._buffer:
            batch = list(self._buffer)
            self._buffer.clear()
            return batch
        if self._closed:
            return []
        if self._gen is None:
            self._gen = self._batches()
        try:
            return await anext(self._gen)
        except StopAsyncIteration:
            self._closed = True
            return []

    async def __aenter__(self) -> Self:
        # Send the request now (without waiting for an event), so that the run id is known
        # and a 409 or 404 raises here.
        if self._gen is None and not self._closed:
            await self._run_prepare()
            self._response = await self._open(reconnecting=False)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        gen, self._gen = self._gen, None
        if gen is not None:
            await gen.aclose()
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()

    # -- internals -------------------------------------------------------------------------

    def _announce(self, run_id: str, thread_id: str | None) -> None:
        if self.run_id is not None:
            return
        self.run_id = run_id
        if thread_id:
            self.thread_id = thread_id
        if self._on_run_created is not None:
            self._on_run_created(RunCreated(run_id=run_id, thread_id=self.thread_id))

    async def _open(self, reconnecting: bool) -> httpx.Response:
        if not reconnecting:
            response = await self._core.send(
                self._method,
                self._path,
                json=self._json,
                params=self._params,
                headers=self._headers,
                timeout=self._timeout,
                stream=True,
            )
        else:
            headers = {k: v for k, v in self._headers.items() if k.lower() != "last-event-id"}
            if self.last_event_id:
                headers["Last-Event-ID"] = self.last_event_id
            assert self._location is not None
            response = await self._core.send(
                "GET",
                self._location,
                params=self._params if self._method == "GET" else None,
                headers=headers,
                timeout=self._timeout,
                stream=True,
                idempotent=True,
            )
        if not reconnecting:
            created = _run_from_location(response.headers.get("content-location"))
            if created is not None:
                self._announce(created["run_id"], created["thread_id"])
            location = response.headers.get("location")
            if location and self._core.same_origin(location):
                self._location = urlsplit(location).path
        return response

    async def _run_still_going(self) -> bool:
        if self._thread_stream:
            return True  # a thread stream never ends by itself
        if self.run_id is None or self.thread_id is None:
            return False
        try:
            run = await self._core.request(
                "GET", f"/threads/{self.thread_id}/runs/{self.run_id}", idempotent=True
            )
        except SwitchboardError:
            return False
        return isinstance(run, dict) and run.get("status") in ("pending", "running")

    def retarget(self, *, json: Any) -> None:
        """Set the request body (called by a ``prepare`` hook before the request goes out)."""
        self._json = json

    def switch_to_join(self, thread_id: str, run_id: str) -> None:
        """Follow an already created resumable run from its first event (background runs):
        ``GET .../stream`` with ``Last-Event-ID: 0-0`` replays everything after id 0-0."""
        self._announce(run_id, thread_id)
        self._method, self._json = "GET", None
        self._path = self._location = f"/threads/{thread_id}/runs/{run_id}/stream"
        self._resumable = True
        self._headers["Last-Event-ID"] = self.last_event_id or "0-0"

    async def _run_prepare(self) -> None:
        if self._prepare is not None:
            prepare, self._prepare = self._prepare, None
            await prepare(self)

    async def _batches(self) -> AsyncGenerator[list[StreamPart], None]:
        core = self._core
        await self._run_prepare()
        # JSON is decoded when an event is handed out (see __anext__), or by the sync client on
        # its caller's thread, so that the objects are made and dropped on one core.
        attempt = 0
        reconnecting = False
        while True:
            response = self._response  # already open if __aenter__ sent the request
            if response is None:
                try:
                    response = await self._open(reconnecting)
                except (APIConnectionError, APITimeoutError):
                    if not reconnecting:
                        raise
                    response = None
            dropped: SwitchboardError | None = None
            finished = False
            if response is not None:
                self._response = response
                decoder = SSEDecoder(last_event_id=self.last_event_id, loads=None)
                try:
                    async for chunk in response.aiter_bytes():
                        parts = decoder.feed(chunk)
                        if parts:
                            attempt = 0
                            batch, failure = self._inspect(parts)
                            if batch:
                                yield batch
                            if failure is not None:
                                raise failure
                    parts = decoder.flush()
                    if parts:
                        batch, failure = self._inspect(parts)
                        if batch:
                            yield batch
                        if failure is not None:
                            raise failure
                except httpx.TransportError as exc:
                    method = "GET" if reconnecting else self._method
                    path = (self._location if reconnecting else None) or self._path
                    dropped = _transport_error(exc, method, path)
                    dropped.detail = f"stream dropped: {dropped.detail}"
                finally:
                    self._response = None
                    await response.aclose()
                finished = self._finished
            else:
                dropped = APIConnectionError("could not reconnect to the stream")
            if finished:
                return
            can_resume = self._location is not None and (
                self._resumable or self.last_event_id is not None or self._thread_stream
            )
            if not can_resume:
                if dropped is not None:
                    raise dropped from None
                return
            if dropped is None and not await self._run_still_going():
                return
            # A clean end while the run still runs is usually the run finishing a moment
            # before its status flips: rejoin at once the first time.
            delay = (
                0.0 if dropped is None and attempt == 0 else core.policy.reconnect_delay(attempt)
            )
            if delay is None:
                error = dropped or APIConnectionError("stream ended early")
                error.detail = f"gave up reconnecting after {attempt} attempts: {error.detail}"
                raise error from None
            attempt += 1
            reconnecting = True
            await core.sleep(delay)

    def _inspect(self, parts: list[StreamPart]) -> tuple[list[StreamPart], SwitchboardError | None]:
        """Note run ids and ids; cut the batch at a terminal event. ``parts`` are raw: plain
        ``(event, JSON bytes, id)`` tuples."""
        if self.run_id is None or self._thread_stream:
            for event, raw, _ in parts:
                if event == "metadata":
                    data = _decoded(raw)
                    run_id = data.get("run_id") if isinstance(data, dict) else None
                    if isinstance(run_id, str) and data.get("status") is None:
                        self._announce(run_id, None)
                    break
        last_id = parts[-1][2]
        if last_id is not None:
            self.last_event_id = last_id
        for index, (event, raw, event_id) in enumerate(parts):
            if event in _TERMINAL_EVENTS:
                self._finished = True
                self.last_event_id = event_id or self.last_event_id
                if event == "error":
                    return parts[:index], run_failed(
                        _decoded(raw),
                        run_id=self.run_id,
                        thread_id=self.thread_id,
                        event_id=event_id,
                    )
                return parts[:index], None
        return parts, None
