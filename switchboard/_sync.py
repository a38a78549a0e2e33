"""``SyncClient``: the async ``Client`` driven from blocking code.

Threading rules (the whole design):

* One private event loop runs in one daemon thread per ``SyncClient``; the async ``Client``
  and its ``httpx.AsyncClient`` live on it. Every sync method is one line: it submits the
  async method to that loop as a task and blocks on a lock until it is done. Any number of
  threads may call one ``SyncClient`` at once.
* Nothing starts until the first call: building a ``SyncClient`` at import time in a Celery
  parent is safe. After a fork the child sees a new pid and starts its own loop thread and
  connection pool; the parent's are never touched.
* Never call a ``SyncClient`` from a thread that runs an event loop (including its own loop
  thread, e.g. from an ``on_run_created`` callback): that would block the loop, so it raises
  ``RuntimeError`` at once. Use ``Client`` there.
* A stream is read ahead by a task on the loop into a bounded queue, and its JSON decoded on
  the caller's thread; ``item_timeout`` bounds the wait for the next event. Leaving the
  iteration early (``break``, an exception, ``close()``) stops that task and closes the HTTP
  response before returning.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import os
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from switchboard import _json
from switchboard._async import Client
from switchboard._crons import CronsNamespace
from switchboard._http import RunStream
from switchboard._namespaces import AssistantsNamespace, RunsNamespace, ThreadsNamespace
from switchboard._sse import _as_text, decode_data
from switchboard._store import StoreNamespace
from switchboard.errors import APITimeoutError, SwitchboardError
from switchboard.types import StreamPart

P = ParamSpec("P")
T = TypeVar("T")

# Events a sync stream may read ahead of its consumer: reading pauses at the first number and
# resumes below the second. Counted in events, not reads, so that a live stream arriving one
# event per read still hands over hundreds at a time when its consumer falls behind.
_AHEAD_HIGH = 4096
_AHEAD_LOW = 1024

# Loops inherited from a parent process: never closed (the parent owns them), only kept
# referenced so that garbage collection does not try to.
_INHERITED_LOOPS: list[asyncio.AbstractEventLoop] = []


def _refuse_inside_event_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"SyncClient.{what}() was called from a thread that is running an event loop; it would "
        "block that loop. Use switchboard.Client (await it) there, or call the SyncClient "
        "from a worker thread (asyncio.to_thread)."
    )


class _Portal:
    """The loop thread of one ``SyncClient`` and the door into it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.closed = False

    def _start(self) -> asyncio.AbstractEventLoop:
        pid = os.getpid()
        if pid != self._pid:
            # Forked: the lock may have been held by a thread that does not exist here.
            self._lock = threading.Lock()
            if self._loop is not None:
                _INHERITED_LOOPS.append(self._loop)
            self._loop, self._thread, self._pid = None, None, pid
        with self._lock:
            if self.closed:
                raise RuntimeError("this SyncClient is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._run, args=(loop, ready), name="switchboard-loop", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and self._pid == os.getpid() and not self.closed:
            return loop
        return self._start()

    def on_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the loop thread and wait for its result.

        Leaner than ``run_coroutine_threadsafe`` (a task and a bare lock, no chained
        futures): on this path every microsecond is paid by each sync call.
        """
        loop = self.loop()  # raises if closed, before any coroutine exists
        awaitable = make()  # a bad argument raises here, in the caller's thread
        done = threading.Lock()
        done.acquire()
        box: list[asyncio.Task[T]] = []

        def start() -> None:
            try:
                box.append(loop.create_task(_awaited(awaitable)))
            finally:
                if box:
                    box[0].add_done_callback(lambda _: done.release())
                else:  # could not even start (the loop is shutting down)
                    done.release()

        loop.call_soon_threadsafe(start)
        try:
            done.acquire()
        except BaseException:  # e.g. KeyboardInterrupt while waiting: stop the request too
            loop.call_soon_threadsafe(lambda: box and box[0].cancel())
            raise
        if not box or box[0].cancelled():
            raise concurrent.futures.CancelledError()
        task = box[0]
        error = task.exception()
        if error is None:
            return task.result()
        if isinstance(error, SwitchboardError):
            # The frames inside the loop thread are noise to the caller.
            raise error.with_traceback(None) from None
        raise error

    def close(self, client: Client) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._pid != os.getpid():
            return
        if threading.current_thread() is thread:
            # Closed from the loop thread itself (a finalizer ran there): cannot wait.
            loop.create_task(client.aclose()).add_done_callback(lambda _: loop.stop())
            return
        future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
        with contextlib.suppress(Exception):  # closing must not raise (timeouts included)
            future.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


class _SyncBase:
    _portal: _Portal
    _item_timeout: float | None

    def _target(self) -> Any:
        raise NotImplementedError


def _sync(
    fn: Callable[Concatenate[Any, P], Awaitable[T]],
) -> Callable[Concatenate[_SyncBase, P], T]:
    """The blocking twin of an async method: same signature, same docstring."""
    name = fn.__name__

    @functools.wraps(fn)
    def method(self: _SyncBase, /, *args: P.args, **kwargs: P.kwargs) -> T:
        _refuse_inside_event_loop(name)
        return self._portal.call(lambda: fn(self._target(), *args, **kwargs))

    return method


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _sync_stream(
    fn: Callable[Concatenate[Any, P], RunStream],
) -> Callable[Concatenate[_SyncBase, P], SyncRunStream]:
    """The blocking twin of a stream method: returns a ``SyncRunStream``."""

    @functools.wraps(fn)
    def method(self: _SyncBase, /, *args: P.args, **kwargs: P.kwargs) -> SyncRunStream:
        # Building the stream sends nothing; pulling from it is what blocks (and is guarded).
        return SyncRunStream(self._portal, fn(self._target(), *args, **kwargs), self._item_timeout)

    signature = inspect.signature(fn)
    method.__signature__ = signature.replace(return_annotation="SyncRunStream")  # type: ignore[attr-defined]
    return method


class SyncRunStream:
    """A blocking iterator of ``StreamPart``s over a ``RunStream``.

    A producer task on the loop thread reads ahead into a bounded queue, so a consumer keeping
    up pays one queue hand-off per network read, not a thread round trip. ``item_timeout``
    bounds the wait for the next event (``APITimeoutError``, and the stream is closed).

    ``run_id``, ``thread_id`` and ``last_event_id`` mirror the async stream. ``with`` opens
    the request at once (so ``run_id`` is known before the first event); leaving the loop or
    the ``with`` block closes the HTTP response. ``on_run_created`` callbacks run on the
    client's loop thread: keep them short, and do not call the SyncClient from them.
    """

    def __init__(self, portal: _Portal, stream: RunStream, item_timeout: float | None) -> None:
        self._portal = portal
        self._stream = stream
        self._item_timeout = item_timeout
        self._closed = False
        self._queue: queue.SimpleQueue[list[StreamPart] | BaseException] = queue.SimpleQueue()
        self._producer: asyncio.Task[None] | None = None
        self._room: asyncio.Event | None = None  # set when the queue has room again
        self._paused = False  # the producer waits for room
        self._ahead = 0  # events read ahead and not handed out yet (under _ahead_lock)
        self._ahead_lock = threading.Lock()
        self._stash: list[StreamPart] | BaseException | None = None  # taken, not handed out
        self._done = False

    @property
    def run_id(self) -> str | None:
        return self._stream.run_id

    @property
    def thread_id(self) -> str | None:
        return self._stream.thread_id

    @property
    def last_event_id(self) -> str | None:
        return self._stream.last_event_id

    def __iter__(self) -> Iterator[StreamPart]:
        loads, as_text, new = _json.loads, _as_text, tuple.__new__
        try:
            while True:
                batch = self._next_raw()
                if not batch:
                    return
                # Decode one event at a time: only the event in hand is alive, which keeps
                # the garbage collector's young generation small.
                for event, data, event_id in batch:
                    if data is not None:  # raw: JSON bytes
                        try:
                            data = loads(data)
                        except ValueError:
                            data = as_text(data)
                    yield new(StreamPart, (event, data, event_id))
        finally:
            self.close()

    def next_batch(self) -> list[StreamPart]:
        """The events that arrived since the last call (at least one; ``[]`` at the end).
        Cheaper per event than iterating when the caller stores events in batches."""
        return decode_data(self._next_raw(), _json.loads)

    def _next_raw(self) -> list[StreamPart]:
        _refuse_inside_event_loop("next_batch")
        if self._closed or self._done:
            return []
        if self._producer is None:
            self._portal.call(self._start)
        item, self._stash = self._stash, None
        if item is None:
            try:
                item = self._queue.get(timeout=self._item_timeout)
            except queue.Empty:
                self.close()
                raise APITimeoutError(
                    f"no stream event within {self._item_timeout:g} s (item_timeout); stream closed"
                ) from None
        batch = self._unwrap(item)
        # Take whatever else is ready too (one hand-off for many reads), but keep an error
        # or the end for the next call: these events come first.
        while batch and not self._queue.empty():
            more = self._queue.get_nowait()
            if isinstance(more, BaseException) or not more:
                self._stash = more
                break
            batch += more
        with self._ahead_lock:
            self._ahead -= len(batch)
            low = self._ahead < _AHEAD_LOW
        if low and self._paused:
            self._paused = False
            room = self._room
            if room is not None:
                self._portal.loop().call_soon_threadsafe(room.set)
        return batch

    def _unwrap(self, item: list[StreamPart] | BaseException) -> list[StreamPart]:
        if isinstance(item, BaseException):
            self._done = True
            self.close()
            if isinstance(item, SwitchboardError):
                raise item.with_traceback(None) from None
            raise item
        if not item:
            self._done = True
        return item

    async def _start(self) -> None:
        self._room = asyncio.Event()
        self._producer = asyncio.get_running_loop().create_task(self._produce())

    async def _produce(self) -> None:
        assert self._room is not None
        put = self._queue.put
        try:
            while True:
                batch = await self._stream.raw_batch()  # JSON is decoded on our caller's thread
                with self._ahead_lock:
                    self._ahead += len(batch)
                    full = self._ahead >= _AHEAD_HIGH
                put(batch)
                if not batch:
                    return
                if full:
                    # The consumer is behind: wait until it makes room.
                    self._room.clear()
                    self._paused = True
                    with self._ahead_lock:  # it may have caught up meanwhile
                        behind = self._ahead >= _AHEAD_LOW
                    if behind:
                        await self._room.wait()
                    self._paused = False
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            put(exc)

    def __enter__(self) -> Self:
        _refuse_inside_event_loop("stream")
        self._portal.call(self._stream.__aenter__)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A stream dropped half-read (next_batch() without close()) must not keep its
        # connection and read-ahead task alive.
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        """Stop reading ahead and close the HTTP response (idempotent; called when an
        iteration ends early)."""
        if self._closed:
            return
        self._closed = True
        portal = self._portal
        if portal.closed or portal._pid != os.getpid() or portal._loop is None:
            return
        if portal.on_loop_thread():
            portal._loop.create_task(self._shutdown())
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), portal._loop)
        with contextlib.suppress(Exception):  # closing must not raise (timeouts included)
            future.result(timeout=10)

    async def _shutdown(self) -> None:
        producer = self._producer
        if producer is not None and not producer.done():
            producer.cancel()
            await asyncio.wait({producer})
        await self._stream.aclose()


class _SyncNamespace(_SyncBase):
    _attr = ""

    def __init__(self, owner: SyncClient) -> None:
        self._owner = owner
        self._portal = owner._portal
        self._item_timeout = owner._item_timeout

    def _target(self) -> Any:
        return getattr(self._owner._client, self._attr)


class SyncThreadsNamespace(_SyncNamespace):
    _attr = "threads"
    create = _sync(ThreadsNamespace.create)
    get = _sync(ThreadsNamespace.get)
    update = _sync(ThreadsNamespace.update)
    delete = _sync(ThreadsNamespace.delete)
    search = _sync(ThreadsNamespace.search)
    count = _sync(ThreadsNamespace.count)
    copy = _sync(ThreadsNamespace.copy)
    get_state = _sync(ThreadsNamespace.get_state)
    update_state = _sync(ThreadsNamespace.update_state)
    get_history = _sync(ThreadsNamespace.get_history)
    join_stream = _sync_stream(ThreadsNamespace.join_stream)
    prune = _sync(ThreadsNamespace.prune)


class SyncRunsNamespace(_SyncNamespace):
    _attr = "runs"
    stream = _sync_stream(RunsNamespace.stream)
    create = _sync(RunsNamespace.create)
    wait = _sync(RunsNamespace.wait)
    get = _sync(RunsNamespace.get)
    cancel = _sync(RunsNamespace.cancel)
    join = _sync(RunsNamespace.join)
    join_stream = _sync_stream(RunsNamespace.join_stream)
    delete = _sync(RunsNamespace.delete)
    list = _sync(RunsNamespace.list)
    create_batch = _sync(RunsNamespace.create_batch)
    cancel_many = _sync(RunsNamespace.cancel_many)


class SyncAssistantsNamespace(_SyncNamespace):
    _attr = "assistants"
    search = _sync(AssistantsNamespace.search)
    count = _sync(AssistantsNamespace.count)
    get = _sync(AssistantsNamespace.get)
    get_graph = _sync(AssistantsNamespace.get_graph)
    get_schemas = _sync(AssistantsNamespace.get_schemas)
    get_subgraphs = _sync(AssistantsNamespace.get_subgraphs)
    create = _sync(AssistantsNamespace.create)
    update = _sync(AssistantsNamespace.update)
    delete = _sync(AssistantsNamespace.delete)
    get_versions = _sync(AssistantsNamespace.get_versions)
    set_latest = _sync(AssistantsNamespace.set_latest)


class SyncCronsNamespace(_SyncNamespace):
    _attr = "crons"
    create = _sync(CronsNamespace.create)
    create_for_thread = _sync(CronsNamespace.create_for_thread)
    update = _sync(CronsNamespace.update)
    delete = _sync(CronsNamespace.delete)
    search = _sync(CronsNamespace.search)
    count = _sync(CronsNamespace.count)


class SyncStoreNamespace(_SyncNamespace):
    _attr = "store"
    put_item = _sync(StoreNamespace.put_item)
    get_item = _sync(StoreNamespace.get_item)
    delete_item = _sync(StoreNamespace.delete_item)
    search_items = _sync(StoreNamespace.search_items)
    list_namespaces = _sync(StoreNamespace.list_namespaces)


class SyncClient(_SyncBase):
    """Blocking client with exactly the methods of ``Client`` (see the module docstring for
    the threading rules). Same arguments as ``Client``, plus ``item_timeout``: seconds a sync
    stream may wait for its next event (``None``: forever).

    ``max_connections`` bounds the requests and open streams on the wire at once, across
    every thread using this client (``None``: httpx's default, 100); a process that follows
    more runs than that at once needs a larger pool.

    Example:
        >>> with SyncClient("http://127.0.0.1:2024", assistant_id="chatty") as client:
        ...     thread = client.create_thread()
        ...     for part in client.stream_run(thread, input={"chunks": 5}):
        ...         print(part.event)
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        assistant_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_requests_per_minute: int | None = None,
        max_concurrent_requests: int | None = None,
        max_connections: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        item_timeout: float | None = 300.0,
    ) -> None:
        # Building the async Client does no I/O and starts nothing; its connection pool is
        # made on the loop thread at first use (and again in a forked child).
        self._client = Client(
            url,
            api_key,
            assistant_id=assistant_id,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            max_requests_per_minute=max_requests_per_minute,
            max_concurrent_requests=max_concurrent_requests,
            max_connections=max_connections,
            transport=transport,
        )
        self._item_timeout = item_timeout
        self._portal = _Portal()
        self._finalizer = weakref.finalize(self, self._portal.close, self._client)
        self._view_of: SyncClient | None = None  # set on a with_options view: its owner

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Self:
        """A view of this client with other retries and/or timeout (``None``: unchanged).

        The view is cheap (no I/O, no new thread): it runs on this client's loop thread and
        sends over its connection pool, sharing its rate and concurrency limits and caches.
        It does not own them: closing the view does nothing, and it stops working when this
        client is closed (it keeps this client alive while it is referenced).

        Args:
            max_retries: retries for idempotent requests and never-sent failures.
            timeout: seconds (or an ``httpx.Timeout``) per request.

        Returns:
            A client of the same type with the same methods.

        Example:
            >>> fast = client.with_options(max_retries=0, timeout=3.0)
            >>> fast.get_thread(thread_id)  # a refused connection raises at once
        """
        view = object.__new__(type(self))
        view._client = self._client.with_options(max_retries=max_retries, timeout=timeout)
        view._item_timeout = self._item_timeout
        view._portal = self._portal
        view._view_of = self
        return view

    @classmethod
    def create(
        cls,
        url: str,
        api_key: str | None = None,
        *,
        assistant_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_requests_per_minute: int | None = None,
        max_concurrent_requests: int | None = None,
        max_connections: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        item_timeout: float | None = 300.0,
    ) -> Self:
        """Build a client and check the deployment is up with ``health()`` (raises if not)."""
        client = cls(
            url,
            api_key,
            assistant_id=assistant_id,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            max_requests_per_minute=max_requests_per_minute,
            max_concurrent_requests=max_concurrent_requests,
            max_connections=max_connections,
            transport=transport,
            item_timeout=item_timeout,
        )
        try:
            client.health()
        except BaseException:
            client.close()
            raise
        return client

    def _target(self) -> Client:
        return self._client

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def assistant_id(self) -> str | None:
        return self._client.assistant_id

    @assistant_id.setter
    def assistant_id(self, value: str | None) -> None:
        self._client.assistant_id = value

    @functools.cached_property
    def threads(self) -> SyncThreadsNamespace:
        return SyncThreadsNamespace(self)

    @functools.cached_property
    def runs(self) -> SyncRunsNamespace:
        return SyncRunsNamespace(self)

    @functools.cached_property
    def assistants(self) -> SyncAssistantsNamespace:
        return SyncAssistantsNamespace(self)

    @functools.cached_property
    def crons(self) -> SyncCronsNamespace:
        return SyncCronsNamespace(self)

    @functools.cached_property
    def store(self) -> SyncStoreNamespace:
        return SyncStoreNamespace(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the loop thread. Safe to call twice; does
        nothing on a ``with_options`` view (the client it came from owns them)."""
        if self._view_of is None:
            self._finalizer()

    # Every method below is the async Client's, run on the loop thread.
    health = _sync(Client.health)
    info = _sync(Client.info)
    list_assistants = _sync(Client.list_assistants)
    count_assistants = _sync(Client.count_assistants)
    get_assistant = _sync(Client.get_assistant)
    get_graph = _sync(Client.get_graph)
    get_schemas = _sync(Client.get_schemas)
    get_subgraphs = _sync(Client.get_subgraphs)
    create_assistant = _sync(Client.create_assistant)
    update_assistant = _sync(Client.update_assistant)
    delete_assistant = _sync(Client.delete_assistant)
    get_assistant_versions = _sync(Client.get_assistant_versions)
    set_latest_assistant_version = _sync(Client.set_latest_assistant_version)
    create_thread = _sync(Client.create_thread)
    get_thread = _sync(Client.get_thread)
    get_thread_status = _sync(Client.get_thread_status)
    search_threads = _sync(Client.search_threads)
    count_threads = _sync(Client.count_threads)
    update_thread_metadata = _sync(Client.update_thread_metadata)
    delete_thread = _sync(Client.delete_thread)
    copy_thread = _sync(Client.copy_thread)
    prune_threads = _sync(Client.prune_threads)
    join_thread_stream = _sync_stream(Client.join_thread_stream)
    get_thread_state = _sync(Client.get_thread_state)
    update_thread_state = _sync(Client.update_thread_state)
    get_state_history = _sync(Client.get_state_history)
    stream_run = _sync_stream(Client.stream_run)
    create_run = _sync(Client.create_run)
    wait_run = _sync(Client.wait_run)
    list_runs = _sync(Client.list_runs)
    get_run = _sync(Client.get_run)
    cancel_run = _sync(Client.cancel_run)
    join_run = _sync(Client.join_run)
    join_stream = _sync_stream(Client.join_stream)
    delete_run = _sync(Client.delete_run)
    create_runs = _sync(Client.create_runs)
    cancel_runs = _sync(Client.cancel_runs)
    get_interrupts = _sync(Client.get_interrupts)
    resume = _sync(Client.resume)
    run_batch = _sync(Client.run_batch)
