"""``ClientCore``: the async SDK's calls. Everything the SDK does is written here once; ``Client``
(``switchboard._async``) adds ``langgraph_sdk``'s namespaces over these calls, and ``SyncClient``
is a façade that runs them on a private loop thread."""

# ``timeout=`` parameters are per-call HTTP timeouts handed to httpx, not asyncio deadlines.

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Self, TypeAlias, cast
from urllib.parse import quote

import httpx

from switchboard import _json
from switchboard._batch import BatchProgress, BatchResult, run_batch
from switchboard._compat import accepts
from switchboard._errors import run_failed
from switchboard._hitl import _MISSING, InterruptRecord, ResumeComposer, interrupts_from_state
from switchboard._http import HttpCore, Params, RunStream
from switchboard.errors import (
    ConflictError,
    GraphNotFoundError,
    InputError,
    NotFoundError,
    NotSupportedError,
    ServerError,
)
from switchboard.types import (
    All,
    Assistant,
    CancelAction,
    Checkpoint,
    Command,
    Config,
    DisconnectMode,
    Durability,
    GraphDrawing,
    GraphSchemas,
    IfExists,
    IfNotExists,
    MultitaskStrategy,
    MultitaskStrategyName,
    Run,
    RunCreated,
    SortOrder,
    StreamMode,
    StreamModeName,
    Thread,
    ThreadRef,
    ThreadState,
    ThreadStatus,
    ThreadStreamMode,
    UpdateStateResponse,
)

StreamModes: TypeAlias = StreamMode | StreamModeName | Sequence[StreamMode | StreamModeName]
Strategy: TypeAlias = MultitaskStrategy | MultitaskStrategyName
RunRef: TypeAlias = str | Mapping[str, Any]
Timeout: TypeAlias = float | httpx.Timeout | None
OnCompletion: TypeAlias = Literal["delete", "keep"]
QueryParams: TypeAlias = Params

_STREAM_MODES = frozenset(m.value for m in StreamMode)
_STRATEGIES = frozenset(m.value for m in MultitaskStrategy)
_CHECKPOINT_CACHE_SIZE = 256


def _seg(value: str) -> str:
    # Ids go into paths: quote everything so "/" or "?" can never change the route. Quoting
    # leaves "." and ".." as they are, and httpx removes such dot segments ("/threads/../runs"
    # is sent as "/runs"), so an id that is one is no id.
    if value in {"", ".", ".."}:
        raise InputError(f"{value!r} is not an id")
    return quote(value, safe="")


def _thread_id(thread: ThreadRef) -> str:
    if isinstance(thread, str):
        if not thread:
            raise InputError("thread id is empty")
        return thread
    if isinstance(thread, Mapping):
        value = thread.get("thread_id") or thread.get("id")
        if isinstance(value, str) and value:
            return value
    raise InputError(f"expected a thread id or a thread dict, got {type(thread).__name__}")


def _run_id(run: RunRef) -> str:
    if isinstance(run, str) and run:
        return run
    if isinstance(run, Mapping):
        value = run.get("run_id") or run.get("id")
        if isinstance(value, str) and value:
            return value
    raise InputError(f"expected a run id or a run dict, got {type(run).__name__}")


def _modes(stream_mode: StreamModes) -> list[str]:
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    bad = [m for m in modes if str(m) not in _STREAM_MODES]
    if bad or not modes:
        raise InputError(
            f"unknown stream_mode {bad or modes!r}; use any of: {', '.join(sorted(_STREAM_MODES))}"
        )
    return [str(m) for m in dict.fromkeys(modes)]


def _strategy(value: Strategy | None) -> str | None:
    if value is None:
        return None
    if str(value) not in _STRATEGIES:
        raise InputError(
            f"unknown multitask_strategy {value!r}; use one of: {', '.join(sorted(_STRATEGIES))}"
        )
    return str(value)


def _before(before: str | Mapping[str, Any]) -> dict[str, Any]:
    """History ``before`` in the only form the server accepts (contract §3.4, gotcha 6)."""
    if isinstance(before, str):
        return {"configurable": {"checkpoint_id": before}}
    if "configurable" in before:
        return dict(before)
    checkpoint: Mapping[str, Any] = before.get("checkpoint") or before  # a ThreadState works too
    checkpoint_id = checkpoint.get("checkpoint_id")
    if not isinstance(checkpoint_id, str):
        raise InputError("before= needs a checkpoint id, a checkpoint, or a thread state")
    configurable: dict[str, Any] = {"checkpoint_id": checkpoint_id}
    if checkpoint.get("checkpoint_ns"):
        configurable["checkpoint_ns"] = checkpoint["checkpoint_ns"]
    return {"configurable": configurable}


def _merged(query: Mapping[str, Any], params: QueryParams | None) -> dict[str, Any]:
    """Our query parameters, then the caller's ``params=`` (theirs win)."""
    return {**query, **params} if params else dict(query)


_HEALTH_PATHS = ("/ok", "/health", "/info")
_HEALTHY = frozenset({"ok", "healthy", "up", "pass"})


def _health_answer(path: str, answer: Any) -> dict[str, Any]:
    if path == "/ok" or not isinstance(answer, dict):
        return cast("dict[str, Any]", answer)
    if path == "/health":
        status = answer.get("status")
        if answer.get("ok") is not True and str(status).lower() not in _HEALTHY:
            raise ServerError(f"the deployment reports itself unhealthy at {path}: {answer}")
    return {**answer, "ok": True}


def _unsupported(error: NotSupportedError, feature: str) -> NotSupportedError:
    error.feature = feature
    return error


def _compact(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _raise_run_error(result: Any, thread_id: str | None, run_id: str | None = None) -> Any:
    if isinstance(result, dict) and "__error__" in result:
        raise run_failed(result["__error__"], run_id=run_id, thread_id=thread_id)
    return result


class ClientCore:
    """Async client for one LangGraph deployment.

    Args:
        url: the deployment root, e.g. ``http://127.0.0.1:2024``.
        api_key: sent as ``x-api-key`` (never read from the environment implicitly).
        assistant_id: default assistant id or graph name for run methods; each run method
            also takes ``assistant_id=``. Without either, the thread's own assistant is used.
        headers: extra headers on every request (e.g. ``Authorization`` for custom auth).
        timeout: seconds (or an ``httpx.Timeout``) per request; run streams stay alive on the
            server's 5 s heartbeats, so this bounds silence, not stream length.
        max_retries: retries for idempotent requests and never-sent failures (see ``_retry``).
        max_requests_per_minute: spaces requests evenly to stay under this rate.
        max_concurrent_requests: at most this many requests in flight at once (streams count
            only until their response headers arrive).
        max_connections: size of the connection pool, i.e. how many requests and open
            streams this client (and its ``with_options`` views) can have on the wire at
            once; more wait up to the timeout for a free connection. ``None`` keeps httpx's
            default of 100: raise it for a process that follows more runs than that at once
            (a relay worker). The pool keeps at most 20 idle connections whatever this is.
        transport: an ``httpx.AsyncBaseTransport`` (tests inject ``httpx.MockTransport``).

    Example:
        >>> async with Client("http://127.0.0.1:2024", assistant_id="refund_approval") as c:
        ...     thread = await c.create_thread()
        ...     async for part in c.stream_run(thread, input={"amount": 40}):
        ...         print(part.event, part.data)
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
    ) -> None:
        self.url = url
        self.assistant_id = assistant_id
        self._http = HttpCore(
            url,
            api_key=api_key,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            max_requests_per_minute=max_requests_per_minute,
            max_concurrent_requests=max_concurrent_requests,
            max_connections=max_connections,
            transport=transport,
        )
        self._view_of: ClientCore | None = None  # set on a with_options view: its owner
        self._assistant_uuids: dict[str, str] = {}
        self._server: dict[str, str] = {}  # what this server turned out to offer
        self._checkpoints: collections.OrderedDict[tuple[str, str, bool], bytes] = (
            collections.OrderedDict()
        )

    @classmethod
    async def create(
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
        )
        try:
            await client.health()
        except BaseException:
            await client.aclose()
            raise
        return client

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Self:
        """A view of this client with other retries and/or timeout (``None``: unchanged).

        The view is cheap (no I/O, nothing new is opened): it sends over this client's
        connection pool and shares its rate and concurrency limits and caches. It does not own
        the pool: closing the view does nothing; close the client it came from.

        Args:
            max_retries: retries for idempotent requests and never-sent failures.
            timeout: seconds (or an ``httpx.Timeout``) per request.

        Returns:
            A client of the same type with the same methods.

        Example:
            >>> fast = client.with_options(max_retries=0, timeout=3.0)
            >>> await fast.get_thread(thread_id)  # a refused connection raises at once
        """
        view = object.__new__(type(self))
        view.url = self.url
        view.assistant_id = self.assistant_id
        view._http = self._http.with_options(max_retries=max_retries, timeout=timeout)
        view._assistant_uuids = self._assistant_uuids
        view._server = self._server
        view._checkpoints = self._checkpoints
        view._view_of = self
        return view

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice; does nothing on a ``with_options``
        view (the client it came from owns the pool)."""
        if self._view_of is None:
            await self._http.aclose()

    # -- helpers -----------------------------------------------------------------------------

    async def _assistant(self, assistant_id: str | None, thread_id: str | None) -> str:
        if assistant_id:
            return assistant_id
        if self.assistant_id:
            return self.assistant_id
        if thread_id:
            metadata = (await self.get_thread(thread_id)).get("metadata") or {}
            found = metadata.get("assistant_id") or metadata.get("graph_id")
            if isinstance(found, str) and found:
                return found
        raise InputError(
            "no assistant: pass assistant_id=..., or build the Client with assistant_id=..."
        )

    async def _assistant_uuid(self, assistant: str | None) -> str:
        """Endpoints that take only assistant UUIDs (get, schemas, subgraphs) also accept a
        graph name here: it resolves to that graph's system assistant."""
        name = assistant or self.assistant_id
        if not name:
            raise InputError("no assistant: pass one, or build the Client with assistant_id=...")
        if name in self._assistant_uuids:
            return self._assistant_uuids[name]
        if len(name) == 36 and name.count("-") == 4:
            return name
        found = await self.list_assistants(graph_id=name, metadata={"created_by": "system"})
        found = found or await self.list_assistants(graph_id=name)
        if not found:
            raise GraphNotFoundError(f"no assistant or graph named {name!r} on {self.url}")
        self._assistant_uuids[name] = found[0]["assistant_id"]
        return found[0]["assistant_id"]

    def _run_body(
        self,
        *,
        assistant_id: str,
        input: Any,
        command: Command | None,
        stream_mode: StreamModes | None,
        stream_subgraphs: bool | None,
        stream_resumable: bool | None,
        on_disconnect: DisconnectMode | None,
        multitask_strategy: Strategy | None,
        checkpoint_id: str | None,
        checkpoint: Checkpoint | Mapping[str, Any] | None,
        interrupt_before: All | Sequence[str] | None,
        interrupt_after: All | Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        config: Config | None,
        context: Mapping[str, Any] | None,
        if_not_exists: IfNotExists | None,
        after_seconds: float | None,
        durability: Durability | None,
        webhook: str | None,
        on_completion: OnCompletion | None,
        strict_resume: bool | None,
        stateful: bool,
    ) -> dict[str, Any]:
        return _compact(
            assistant_id=assistant_id,
            input=input,
            command=dict(command) if command is not None else None,
            stream_mode=_modes(stream_mode) if stream_mode is not None else None,
            stream_subgraphs=stream_subgraphs or None,
            stream_resumable=stream_resumable or None,
            on_disconnect=on_disconnect,
            multitask_strategy=_strategy(multitask_strategy) if stateful else None,
            checkpoint_id=checkpoint_id,
            checkpoint=dict(checkpoint) if checkpoint is not None else None,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            metadata=dict(metadata) if metadata is not None else None,
            config=dict(config) if config is not None else None,
            context=dict(context) if context is not None else None,
            if_not_exists=if_not_exists,
            after_seconds=after_seconds,
            durability=durability,
            webhook=webhook,
            on_completion=None if stateful else on_completion,
            strict_resume=strict_resume,
        )

    # -- meta --------------------------------------------------------------------------------

    async def health(
        self,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, Any]:
        """Is the deployment up? Asks what the server offers, in this order: ``GET /ok``
        (LangGraph servers), ``GET /health`` (Aegra), ``GET /info``; a 404 or 405 moves on to
        the next, and the one that answered is remembered for the next call.

        Returns the server's answer with ``"ok": true`` (``/ok`` answers that itself). Raises
        ``ServerError`` when ``/health`` says the server is not healthy, ``NotFoundError``
        when none of the three exists (not a LangGraph server), and the usual errors for
        refused connections, timeouts and keys.
        """
        remembered = self._server.get("health")
        paths = [remembered] if remembered else list(_HEALTH_PATHS)
        missing: NotFoundError | NotSupportedError | None = None
        for path in paths:
            try:
                answer = await self._http.request(
                    "GET", path, params=params, headers=headers, timeout=timeout
                )
            except (NotFoundError, NotSupportedError) as error:
                missing = error
                continue
            self._server["health"] = path
            return _health_answer(path, answer)
        if remembered:  # the server changed under us: ask afresh
            del self._server["health"]
            return await self.health(params=params, headers=headers, timeout=timeout)
        raise NotFoundError(
            f"{self.url} answers none of {', '.join(_HEALTH_PATHS)}: is it a LangGraph server?",
            status_code=missing.status_code if missing else None,
            request_id=missing.request_id if missing else None,
        )

    async def info(
        self,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, Any]:
        """``GET /info``: server version and capability flags."""
        return cast(
            "dict[str, Any]",
            await self._http.request(
                "GET", "/info", params=params, headers=headers, timeout=timeout
            ),
        )

    # -- assistants --------------------------------------------------------------------------

    async def list_assistants(
        self,
        *,
        graph_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        select: Sequence[str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[Assistant]:
        body = _compact(
            graph_id=graph_id,
            metadata=metadata,
            name=name,
            limit=limit,
            offset=offset,
            sort_by=sort_by,
            sort_order=sort_order,
            select=list(select) if select is not None else None,
        )
        result = await self._http.request(
            "POST", "/assistants/search", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("list[Assistant]", result)

    async def count_assistants(
        self,
        *,
        graph_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> int:
        """How many assistants match. ``NotSupportedError`` where the server cannot count."""
        body = _compact(graph_id=graph_id, metadata=metadata, name=name)
        try:
            result = await self._http.request(
                "POST",
                "/assistants/count",
                json=body,
                params=params,
                headers=headers,
                timeout=timeout,
            )
        except NotSupportedError as error:
            raise _unsupported(error, "count_assistants") from None
        return int(result)

    @accepts(assistant_id="assistant")
    async def get_assistant(
        self,
        assistant: str | None = None,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Assistant:
        """An assistant by UUID or graph name (default: the client's assistant)."""
        uuid = await self._assistant_uuid(assistant)
        result = await self._http.request(
            "GET", f"/assistants/{_seg(uuid)}", params=params, headers=headers, timeout=timeout
        )
        return cast("Assistant", result)

    @accepts(assistant_id="assistant")
    async def get_graph(
        self,
        assistant: str | None = None,
        xray: bool | int = False,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> GraphDrawing:
        """Nodes and edges of the assistant's graph; ``xray`` expands subgraphs. A graph name
        is resolved to its assistant's UUID first (Aegra takes only UUIDs here)."""
        uuid = await self._assistant_uuid(assistant)
        xray_param = str(xray).lower() if isinstance(xray, bool) else xray
        result = await self._http.request(
            "GET",
            f"/assistants/{_seg(uuid)}/graph",
            params=_merged({"xray": xray_param}, params),
            headers=headers,
            timeout=timeout,
        )
        return cast("GraphDrawing", result)

    @accepts(assistant_id="assistant")
    async def get_schemas(
        self,
        assistant: str | None = None,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> GraphSchemas:
        """Input, output, state, config and context JSON Schemas of the assistant's graph."""
        uuid = await self._assistant_uuid(assistant)
        result = await self._http.request(
            "GET",
            f"/assistants/{_seg(uuid)}/schemas",
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("GraphSchemas", result)

    @accepts(assistant_id="assistant")
    async def get_subgraphs(
        self,
        assistant: str | None = None,
        namespace: str | None = None,
        recurse: bool = False,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, GraphSchemas]:
        uuid = await self._assistant_uuid(assistant)
        path = f"/assistants/{_seg(uuid)}/subgraphs"
        if namespace:
            path += f"/{_seg(namespace)}"
        result = await self._http.request(
            "GET",
            path,
            params=_merged({"recurse": str(recurse).lower()}, params),
            headers=headers,
            timeout=timeout,
        )
        return cast("dict[str, GraphSchemas]", result)

    async def create_assistant(
        self,
        graph_id: str | None,
        config: Config | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        assistant_id: str | None = None,
        if_exists: IfExists | None = None,
        name: str | None = None,
        description: str | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Assistant:
        """A new assistant (version 1) of graph ``graph_id`` with its own config, context and
        metadata. With your own ``assistant_id`` and ``if_exists="do_nothing"`` it is
        idempotent (and retried as such)."""
        body = _compact(
            graph_id=graph_id,
            config=dict(config) if config is not None else None,
            context=dict(context) if context is not None else None,
            metadata=dict(metadata) if metadata is not None else None,
            assistant_id=assistant_id,
            if_exists=if_exists,
            name=name,
            description=description,
        )
        result = await self._http.request(
            "POST",
            "/assistants",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
            idempotent=bool(assistant_id and if_exists == "do_nothing"),
        )
        return cast("Assistant", result)

    @accepts(assistant_id="assistant")
    async def update_assistant(
        self,
        assistant: str,
        *,
        graph_id: str | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Assistant:
        """Write a new version of the assistant (the server makes it the latest); fields left
        ``None`` keep their value."""
        uuid = await self._assistant_uuid(assistant)
        body = _compact(
            graph_id=graph_id,
            config=dict(config) if config is not None else None,
            context=dict(context) if context is not None else None,
            metadata=dict(metadata) if metadata is not None else None,
            name=name,
            description=description,
        )
        result = await self._http.request(
            "PATCH",
            f"/assistants/{_seg(uuid)}",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Assistant", result)

    @accepts(assistant_id="assistant")
    async def delete_assistant(
        self,
        assistant: str,
        *,
        delete_threads: bool = False,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Delete the assistant (and, with ``delete_threads=True``, its threads)."""
        uuid = await self._assistant_uuid(assistant)
        query = {"delete_threads": True} if delete_threads else {}
        await self._http.request(
            "DELETE",
            f"/assistants/{_seg(uuid)}",
            params=_merged(query, params) or None,
            headers=headers,
            timeout=timeout,
        )
        self._assistant_uuids.pop(assistant, None)

    @accepts(assistant_id="assistant")
    async def get_assistant_versions(
        self,
        assistant: str,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[Assistant]:
        """The assistant's versions, newest first."""
        uuid = await self._assistant_uuid(assistant)
        body = _compact(metadata=metadata, limit=limit, offset=offset)
        result = await self._http.request(
            "POST",
            f"/assistants/{_seg(uuid)}/versions",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("list[Assistant]", result)

    @accepts(assistant_id="assistant")
    async def set_latest_assistant_version(
        self,
        assistant: str,
        version: int,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Assistant:
        """Make ``version`` the one runs use (roll back, or forward again)."""
        uuid = await self._assistant_uuid(assistant)
        result = await self._http.request(
            "POST",
            f"/assistants/{_seg(uuid)}/latest",
            json={"version": version},
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Assistant", result)

    # -- threads -----------------------------------------------------------------------------

    async def create_thread(
        self,
        metadata: Mapping[str, Any] | None = None,
        *,
        thread_id: str | None = None,
        if_exists: IfExists | None = None,
        graph_id: str | None = None,
        ttl: int | Mapping[str, Any] | None = None,
        supersteps: Sequence[Mapping[str, Any]] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Thread:
        """Create a thread. With your own ``thread_id`` and ``if_exists="do_nothing"`` the call
        is idempotent (and retried as such). ``ttl`` in minutes (or ``{"ttl", "strategy"}``);
        ``supersteps`` pre-populates its history (``[{"updates": [{"values", "as_node"}]}]``)."""
        meta = dict(metadata or {})
        if graph_id:
            meta["graph_id"] = graph_id
        body = _compact(
            metadata=meta or None,
            thread_id=thread_id,
            if_exists=if_exists,
            ttl={"ttl": ttl, "strategy": "delete"} if isinstance(ttl, int) else ttl,
            supersteps=[dict(step) for step in supersteps] if supersteps is not None else None,
        )
        result = await self._http.request(
            "POST",
            "/threads",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
            idempotent=bool(thread_id and if_exists == "do_nothing"),
        )
        return cast("Thread", result)

    @accepts(thread_id="thread")
    async def get_thread(
        self,
        thread: ThreadRef,
        *,
        include: Sequence[str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Thread:
        """The thread; ``include=["ttl"]`` adds its time to live."""
        query = {"include": ",".join(include)} if include else {}
        result = await self._http.request(
            "GET",
            f"/threads/{_seg(_thread_id(thread))}",
            params=_merged(query, params) or None,
            headers=headers,
            timeout=timeout,
        )
        return cast("Thread", result)

    @accepts(thread_id="thread")
    async def get_thread_status(
        self,
        thread: ThreadRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ThreadStatus:
        """``idle`` | ``busy`` | ``interrupted`` | ``error``. Tell a pending human decision from
        a breakpoint with ``needs_human(thread)`` / ``is_paused_at_breakpoint(thread)``."""
        thread_data = await self.get_thread(thread, params=params, headers=headers, timeout=timeout)
        return thread_data["status"]

    async def search_threads(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        ids: Sequence[str] | None = None,
        status: ThreadStatus | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        select: Sequence[str] | None = None,
        extract: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[Thread]:
        """Threads matching all filters (metadata/values by JSON containment), newest
        ``updated_at`` first unless ``sort_by``/``sort_order`` say otherwise.

        ``select`` names the fields wanted; a server that cannot project (Aegra 0.11 answers
        422) is asked again without it, and whole threads come back (remembered for next time).
        """
        if self._server.get("thread_select") == "unsupported":
            select = None
        body = _compact(
            metadata=metadata,
            values=values,
            ids=list(ids) if ids is not None else None,
            status=status,
            limit=limit,
            offset=offset,
            sort_by=sort_by,
            sort_order=sort_order,
            select=list(select) if select is not None else None,
            extract=extract,
        )
        try:
            result = await self._http.request(
                "POST",
                "/threads/search",
                json=body,
                params=params,
                headers=headers,
                timeout=timeout,
            )
        except InputError as error:
            if select is None or "select" not in error.detail:
                raise
            self._server["thread_select"] = "unsupported"
            del body["select"]
            result = await self._http.request(
                "POST",
                "/threads/search",
                json=body,
                params=params,
                headers=headers,
                timeout=timeout,
            )
        return cast("list[Thread]", result)

    async def count_threads(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        status: ThreadStatus | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> int:
        """The real total (``X-Pagination-Total`` on search is not one). Raises
        ``NotSupportedError`` (``feature="count_threads"``) where the server has no count
        endpoint (Aegra 0.11 answers 405): show the page without a total there."""
        body = _compact(metadata=metadata, values=values, status=status)
        try:
            result = await self._http.request(
                "POST", "/threads/count", json=body, params=params, headers=headers, timeout=timeout
            )
        except NotSupportedError as error:
            raise _unsupported(error, "count_threads") from None
        return int(result)

    @accepts(thread_id="thread")
    async def update_thread_metadata(
        self,
        thread: ThreadRef,
        metadata: Mapping[str, Any],
        *,
        ttl: int | Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Thread:
        """Shallow-merge ``metadata`` into the thread's metadata (and set its ``ttl``, in
        minutes). Returns the updated thread."""
        body = _compact(
            metadata=dict(metadata),
            ttl={"ttl": ttl, "strategy": "delete"} if isinstance(ttl, int) else ttl,
        )
        result = await self._http.request(
            "PATCH",
            f"/threads/{_seg(_thread_id(thread))}",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Thread", result)

    @accepts(thread_id="thread")
    async def delete_thread(
        self,
        thread: ThreadRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        await self._http.request(
            "DELETE",
            f"/threads/{_seg(_thread_id(thread))}",
            params=params,
            headers=headers,
            timeout=timeout,
        )

    @accepts(thread_id="thread")
    async def copy_thread(
        self,
        thread: ThreadRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Thread:
        """A new thread with this one's metadata and full checkpoint history."""
        result = await self._http.request(
            "POST",
            f"/threads/{_seg(_thread_id(thread))}/copy",
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Thread", result)

    async def prune_threads(
        self,
        thread_ids: Sequence[str],
        strategy: Literal["delete", "keep_latest"] = "delete",
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, Any]:
        """Delete these threads (``"delete"``), or keep only their latest checkpoint
        (``"keep_latest"``). Returns the server's answer, e.g. ``{"pruned_count": 2}``."""
        body = {"thread_ids": list(thread_ids), "strategy": strategy}
        result = await self._http.request(
            "POST", "/threads/prune", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("dict[str, Any]", result)

    @accepts(thread_id="thread", stream_mode="stream_modes")
    def join_thread_stream(
        self,
        thread: ThreadRef,
        *,
        stream_modes: Sequence[ThreadStreamMode | str] = ("run_modes",),
        last_event_id: str | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> RunStream:
        """Every run's events on the thread, live, never ending by itself (close it).

        Sends ``stream_modes`` (plural, comma-separated: what the server reads, gotcha 10).
        Events carry ids; a dropped connection is rejoined after ``last_event_id``.
        """
        modes = [stream_modes] if isinstance(stream_modes, str) else [str(m) for m in stream_modes]
        return self._http.stream(
            "GET",
            f"/threads/{_seg(_thread_id(thread))}/stream",
            params=_merged({"stream_modes": ",".join(modes)}, params),
            headers=headers,
            timeout=timeout,
            last_event_id=last_event_id,
            thread_stream=True,
        )

    # -- state -------------------------------------------------------------------------------

    @accepts(thread_id="thread")
    async def get_thread_state(
        self,
        thread: ThreadRef,
        checkpoint_id: str | None = None,
        *,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        subgraphs: bool = False,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ThreadState:
        """The latest state, or the state at ``checkpoint_id`` (or at a subgraph
        ``checkpoint``). Reads by checkpoint id are immutable and served from a cache."""
        thread_id = _thread_id(thread)
        base = f"/threads/{_seg(thread_id)}/state"
        if isinstance(checkpoint_id, Mapping):
            # langgraph_sdk's second positional parameter is the checkpoint dict.
            checkpoint, checkpoint_id = checkpoint_id, None
        if checkpoint is not None:
            result = await self._http.request(
                "POST",
                f"{base}/checkpoint",
                json={"checkpoint": dict(checkpoint), "subgraphs": subgraphs},
                params=params,
                headers=headers,
                timeout=timeout,
            )
            return cast("ThreadState", result)
        query = _merged({"subgraphs": str(subgraphs).lower()}, params)
        if checkpoint_id is None:
            result = await self._http.request(
                "GET", base, params=query, headers=headers, timeout=timeout
            )
            return cast("ThreadState", result)
        key = (thread_id, checkpoint_id, subgraphs)
        raw = self._checkpoints.get(key)
        if raw is None:
            raw = await self._http.request_bytes(
                "GET",
                f"{base}/{_seg(checkpoint_id)}",
                params=query,
                headers=headers,
                timeout=timeout,
            )
            self._checkpoints[key] = raw
            if len(self._checkpoints) > _CHECKPOINT_CACHE_SIZE:
                self._checkpoints.popitem(last=False)
        else:
            self._checkpoints.move_to_end(key)
        return cast("ThreadState", _json.loads(raw))

    @accepts(thread_id="thread", values="state_update")
    async def update_thread_state(
        self,
        thread: ThreadRef,
        state_update: Mapping[str, Any] | Sequence[Any] | None,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
        *,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> UpdateStateResponse:
        """Apply ``state_update`` as if ``as_node`` had just run, writing a new checkpoint
        (from ``checkpoint_id`` to fork). ``as_node=<the interrupted node>`` skips that node
        ("edit and approve"). Returns the new checkpoint: resume or fork from its id.
        ``as_node="__end__"`` with ``None`` ends the graph there; Aegra 0.11 then still
        reports the thread ``interrupted`` (its status changes only with runs), while its state
        has no ``next`` and no interrupts."""
        body = _compact(
            values=state_update,
            as_node=as_node,
            checkpoint_id=checkpoint_id,
            checkpoint=dict(checkpoint) if checkpoint is not None else None,
        )
        if state_update is None:
            body["values"] = None
        result = await self._http.request(
            "POST",
            f"/threads/{_seg(_thread_id(thread))}/state",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("UpdateStateResponse", result)

    @accepts(thread_id="thread")
    async def get_state_history(
        self,
        thread: ThreadRef,
        *,
        limit: int = 10,
        before: str | Mapping[str, Any] | None = None,
        filter: Mapping[str, Any] | None = None,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[ThreadState]:
        """Checkpoints newest first. Page with ``before=<last item>`` (an id, a checkpoint or a
        state); ``filter`` matches checkpoint metadata, e.g. ``{"source": "input"}``."""
        body = _compact(
            limit=limit,
            before=_before(before) if before is not None else None,
            metadata=filter,
            checkpoint=dict(checkpoint) if checkpoint is not None else None,
        )
        result = await self._http.request(
            "POST",
            f"/threads/{_seg(_thread_id(thread))}/history",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("list[ThreadState]", result)

    # -- runs --------------------------------------------------------------------------------

    @accepts(thread_id="thread")
    def stream_run(
        self,
        thread: ThreadRef | None,
        input: Any = None,
        *,
        command: Command | None = None,
        assistant_id: str | None = None,
        stream_mode: StreamModes = ("values", "updates"),
        stream_subgraphs: bool = False,
        stream_resumable: bool = False,
        on_disconnect: DisconnectMode | None = None,
        multitask_strategy: Strategy = "reject",
        checkpoint_id: str | None = None,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        is_background: bool = False,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        if_not_exists: IfNotExists | None = None,
        after_seconds: float | None = None,
        durability: Durability | None = None,
        webhook: str | None = None,
        on_completion: OnCompletion | None = None,
        strict_resume: bool | None = None,
        on_run_created: Callable[[RunCreated], None] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> RunStream:
        """Start a run and stream its events (``thread=None``: a stateless run).

        ``checkpoint_id`` resumes or forks from that checkpoint (``input=None`` to replay).
        ``is_background=True`` creates the run detached from this connection (``POST
        .../runs``, resumable) and follows it from its first event, so closing the stream
        never affects the run. ``stream_resumable=True`` (with ``on_disconnect="continue"``)
        lets a dropped stream, or another process, rejoin with ``join_stream(...,
        last_event_id=...)``. The run id is on ``stream.run_id`` and passed to
        ``on_run_created`` as soon as the response headers arrive.

        ``on_completion`` (stateless runs: ``"delete"`` or ``"keep"`` the temporary thread)
        and ``strict_resume`` (refuse a ``command.resume`` that answers nothing) are sent as is
        for servers that read them.

        Raises (on first iteration): ``ThreadBusyError`` (409) when the thread has a run in
        flight under ``multitask_strategy="reject"``; ``RunFailedError`` on an ``error`` event.

        Server differences: Aegra 0.11 does not refuse a busy thread under ``"reject"`` (the
        run is accepted: check ``get_thread_status`` first where that matters), keeps a run's
        ``metadata`` for tracing only (``list_runs``/``get_run`` do not return it), and reports
        a failed node as ``"<Type>: execution failed"`` without the exception's message.
        """
        thread_id = _thread_id(thread) if thread is not None else None
        _modes(stream_mode)
        _strategy(multitask_strategy)
        options: dict[str, Any] = {
            "input": input,
            "command": command,
            "stream_mode": stream_mode,
            "stream_subgraphs": stream_subgraphs,
            "stream_resumable": stream_resumable or is_background,
            "on_disconnect": None if is_background else on_disconnect,
            "multitask_strategy": multitask_strategy,
            "checkpoint_id": checkpoint_id,
            "checkpoint": checkpoint,
            "interrupt_before": interrupt_before,
            "interrupt_after": interrupt_after,
            "metadata": metadata,
            "config": config,
            "context": context,
            "if_not_exists": if_not_exists,
            "after_seconds": after_seconds,
            "durability": durability,
            "webhook": webhook,
            "on_completion": on_completion,
            "strict_resume": strict_resume,
            "stateful": thread_id is not None,
        }
        runs = f"/threads/{_seg(thread_id)}/runs" if thread_id else "/runs"

        async def prepare(stream: RunStream) -> None:
            body = self._run_body(
                assistant_id=await self._assistant(assistant_id, thread_id), **options
            )
            if not is_background:
                stream.retarget(json=body)
                return
            run = await self._http.request(
                "POST", runs, json=body, params=params, headers=headers, timeout=timeout
            )
            stream.switch_to_join(run["thread_id"], run["run_id"])

        return self._http.stream(
            "POST",
            f"{runs}/stream",
            params=params,
            headers=headers,
            timeout=timeout,
            resumable=stream_resumable or is_background,
            on_run_created=on_run_created,
            prepare=prepare,
        )

    @accepts(thread_id="thread")
    async def create_run(
        self,
        thread: ThreadRef | None,
        input: Any = None,
        *,
        command: Command | None = None,
        assistant_id: str | None = None,
        stream_mode: StreamModes | None = None,
        stream_subgraphs: bool = False,
        stream_resumable: bool = False,
        multitask_strategy: Strategy = "reject",
        checkpoint_id: str | None = None,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        if_not_exists: IfNotExists | None = None,
        after_seconds: float | None = None,
        durability: Durability | None = None,
        webhook: str | None = None,
        on_completion: OnCompletion | None = None,
        strict_resume: bool | None = None,
        on_run_created: Callable[[RunCreated], None] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Run:
        """Start a background run and return it (status ``pending``). Never retried blindly.
        ``on_run_created`` is called with its ids. On Aegra 0.11 ``"reject"`` does not refuse
        a busy thread (see ``stream_run``)."""
        thread_id = _thread_id(thread) if thread is not None else None
        body = self._run_body(
            assistant_id=await self._assistant(assistant_id, thread_id),
            input=input,
            command=command,
            stream_mode=stream_mode,
            stream_subgraphs=stream_subgraphs,
            stream_resumable=stream_resumable,
            on_disconnect=None,
            multitask_strategy=multitask_strategy,
            checkpoint_id=checkpoint_id,
            checkpoint=checkpoint,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            metadata=metadata,
            config=config,
            context=context,
            if_not_exists=if_not_exists,
            after_seconds=after_seconds,
            durability=durability,
            webhook=webhook,
            on_completion=on_completion,
            strict_resume=strict_resume,
            stateful=thread_id is not None,
        )
        path = f"/threads/{_seg(thread_id)}/runs" if thread_id else "/runs"
        result = await self._http.request(
            "POST", path, json=body, params=params, headers=headers, timeout=timeout
        )
        if on_run_created is not None:
            on_run_created(RunCreated(run_id=result["run_id"], thread_id=result.get("thread_id")))
        return cast("Run", result)

    @accepts(thread_id="thread")
    async def wait_run(
        self,
        thread: ThreadRef | None,
        input: Any = None,
        *,
        command: Command | None = None,
        assistant_id: str | None = None,
        multitask_strategy: Strategy = "reject",
        checkpoint_id: str | None = None,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        on_disconnect: DisconnectMode | None = None,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        if_not_exists: IfNotExists | None = None,
        after_seconds: float | None = None,
        durability: Durability | None = None,
        webhook: str | None = None,
        on_completion: OnCompletion | None = None,
        strict_resume: bool | None = None,
        raise_error: bool = True,
        on_run_created: Callable[[RunCreated], None] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Any:
        """Run to the end (or the next interrupt) and return the final values; a pause adds
        ``"__interrupt__": [...]``. Raises ``RunFailedError`` if the graph raised (unless
        ``raise_error=False``, which returns ``{"__error__": ...}``). ``on_run_created`` is
        called with the run's ids as soon as the response headers arrive. On Aegra 0.11
        ``"reject"`` does not refuse a busy thread (see ``stream_run``)."""
        thread_id = _thread_id(thread) if thread is not None else None
        body = self._run_body(
            assistant_id=await self._assistant(assistant_id, thread_id),
            input=input,
            command=command,
            stream_mode=None,
            stream_subgraphs=None,
            stream_resumable=None,
            on_disconnect=on_disconnect,
            multitask_strategy=multitask_strategy,
            checkpoint_id=checkpoint_id,
            checkpoint=checkpoint,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            metadata=metadata,
            config=config,
            context=context,
            if_not_exists=if_not_exists,
            after_seconds=after_seconds,
            durability=durability,
            webhook=webhook,
            on_completion=on_completion,
            strict_resume=strict_resume,
            stateful=thread_id is not None,
        )
        path = f"/threads/{_seg(thread_id)}/runs/wait" if thread_id else "/runs/wait"
        result, created = await self._http.wait(
            path,
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
            on_run_created=on_run_created,
        )
        if not raise_error:
            return result
        run_id = created["run_id"] if created else None
        return _raise_run_error(
            result, thread_id or (created["thread_id"] if created else None), run_id
        )

    @accepts(thread_id="thread")
    async def list_runs(
        self,
        thread: ThreadRef,
        *,
        limit: int = 10,
        offset: int = 0,
        status: str | None = None,
        select: Sequence[str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[Run]:
        """The thread's runs, newest first. Aegra 0.11 does not return a run's ``metadata``."""
        query: dict[str, Any] = {"limit": limit, "offset": offset, "status": status}
        if select:
            query["select"] = list(select)
        result = await self._http.request(
            "GET",
            f"/threads/{_seg(_thread_id(thread))}/runs",
            params=_merged(query, params),
            headers=headers,
            timeout=timeout,
        )
        return cast("list[Run]", result)

    @accepts(thread_id="thread", run_id="run")
    async def get_run(
        self,
        thread: ThreadRef,
        run: RunRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Run:
        result = await self._http.request(
            "GET",
            f"/threads/{_seg(_thread_id(thread))}/runs/{_seg(_run_id(run))}",
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Run", result)

    @accepts(thread_id="thread", run_id="run")
    async def cancel_run(
        self,
        thread: ThreadRef,
        run: RunRef,
        *,
        wait: bool = False,
        action: CancelAction = "interrupt",
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Any:
        """Cancel a pending or running run. ``action="rollback"`` also deletes it and its
        checkpoints. With ``wait=True`` returns the run's final values once it stopped."""
        return await self._http.request(
            "POST",
            f"/threads/{_seg(_thread_id(thread))}/runs/{_seg(_run_id(run))}/cancel",
            params=_merged({"wait": int(wait), "action": action}, params),
            headers=headers,
            timeout=timeout,
        )

    @accepts(thread_id="thread", run_id="run")
    async def join_run(
        self,
        thread: ThreadRef,
        run: RunRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Any:
        """Wait for a run to finish and return the thread's final values (like ``wait_run``)."""
        thread_id, run_id = _thread_id(thread), _run_id(run)
        result = await self._http.request(
            "GET",
            f"/threads/{_seg(thread_id)}/runs/{_seg(run_id)}/join",
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return _raise_run_error(result, thread_id, run_id)

    @accepts(thread_id="thread", run_id="run")
    def join_stream(
        self,
        thread: ThreadRef,
        run: RunRef,
        *,
        last_event_id: str | None = None,
        stream_mode: StreamModes | None = None,
        cancel_on_disconnect: bool = False,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> RunStream:
        """Follow a run that is already going: from ``last_event_id`` (resumable runs replay
        what came after it; ``"0-0"`` replays everything), or from now on otherwise.
        ``stream_mode`` filters, sent as one JSON array string (what the server reads)."""
        query: dict[str, Any] = {}
        if cancel_on_disconnect:
            query["cancel_on_disconnect"] = "true"
        if stream_mode is not None:
            query["stream_mode"] = _json.dumps(_modes(stream_mode)).decode()
        return self._http.stream(
            "GET",
            f"/threads/{_seg(_thread_id(thread))}/runs/{_seg(_run_id(run))}/stream",
            params=_merged(query, params) or None,
            headers=headers,
            timeout=timeout,
            last_event_id=last_event_id,
        )

    @accepts(thread_id="thread", run_id="run")
    async def delete_run(
        self,
        thread: ThreadRef,
        run: RunRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        await self._http.request(
            "DELETE",
            f"/threads/{_seg(_thread_id(thread))}/runs/{_seg(_run_id(run))}",
            params=params,
            headers=headers,
            timeout=timeout,
        )

    async def create_runs(
        self,
        payloads: Sequence[Mapping[str, Any]],
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[Run]:
        """Start several stateless background runs in one request (``POST /runs/batch``);
        each payload is a run body (``assistant_id``, ``input``, ...). Never retried blindly."""
        body = [{k: v for k, v in payload.items() if v is not None} for payload in payloads]
        result = await self._http.request(
            "POST", "/runs/batch", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("list[Run]", result)

    @accepts(thread_id="thread")
    async def cancel_runs(
        self,
        thread: ThreadRef | None = None,
        run_ids: Sequence[str] | None = None,
        status: Literal["pending", "running", "all"] | None = None,
        *,
        action: CancelAction = "interrupt",
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Cancel many runs at once: these ``run_ids`` (of ``thread``), or every run of
        ``status`` (optionally only on ``thread``)."""
        body = _compact(
            thread_id=_thread_id(thread) if thread is not None else None,
            run_ids=list(run_ids) if run_ids is not None else None,
            status=status,
        )
        await self._http.request(
            "POST",
            "/runs/cancel",
            json=body,
            params=_merged({"action": action}, params),
            headers=headers,
            timeout=timeout,
        )

    # -- human in the loop -------------------------------------------------------------------

    @accepts(thread_id="thread")
    async def get_interrupts(
        self,
        thread: ThreadRef,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[InterruptRecord]:
        """The interrupts waiting for a human, normalised (legacy | middleware | generic).
        Empty when the thread is paused at a static breakpoint."""
        thread_id = _thread_id(thread)
        state = await self.get_thread_state(
            thread_id, params=params, headers=headers, timeout=timeout
        )
        return interrupts_from_state(cast("Mapping[str, Any]", state), thread_id=thread_id)

    @accepts(thread_id="thread")
    async def resume(
        self,
        thread: ThreadRef,
        answer: Any = _MISSING,
        *,
        by_id: Mapping[str, Any] | None = None,
        assistant_id: str | None = None,
        expected_checkpoint_id: str | None = None,
        update: Mapping[str, Any] | None = None,
        config: Config | None = None,
        metadata: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Any:
        """Answer the pending interrupts and run on to the end or the next interrupt.

        The payload is built and checked by ``ResumeComposer`` (format, decision count and
        order, allowed decision types, ids) before anything is sent; give ``answer`` when
        one interrupt is pending, ``by_id={interrupt_id: answer}`` otherwise. With
        ``expected_checkpoint_id`` the resume is refused (``ConflictError``) if the thread
        has moved on from the checkpoint the operator saw. Returns the run's final values.
        """
        thread_id = _thread_id(thread)
        state = await self.get_thread_state(
            thread_id, params=params, headers=headers, timeout=timeout
        )
        records = interrupts_from_state(cast("Mapping[str, Any]", state), thread_id=thread_id)
        checkpoint = state.get("checkpoint")
        current = checkpoint["checkpoint_id"] if checkpoint else None
        if expected_checkpoint_id is not None and current != expected_checkpoint_id:
            raise ConflictError(
                f"thread {thread_id} moved on: it is at checkpoint {current}, not "
                f"{expected_checkpoint_id}; reload its interrupts"
            )
        payload = ResumeComposer(records).compose(answer, by_id=by_id)
        command: Command = {"resume": payload}
        if update is not None:
            command["update"] = dict(update)
        metadata_assistant = (state.get("metadata") or {}).get("assistant_id")
        return await self.wait_run(
            thread_id,
            command=command,
            assistant_id=assistant_id or self.assistant_id or metadata_assistant,
            config=config,
            metadata=metadata,
            params=params,
            headers=headers,
            timeout=timeout,
        )

    # -- batch -------------------------------------------------------------------------------

    @accepts(assistant_id="assistant")
    async def run_batch(
        self,
        inputs: Iterable[Any],
        assistant: str | None = None,
        *,
        max_concurrency: int = 4,
        max_requests_per_minute: int | None = None,
        max_attempts: int = 3,
        progress: Literal["rich", "tqdm"] | BatchProgress | None = None,
        config: Config | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: Timeout = None,
    ) -> list[BatchResult]:
        """Run ``assistant`` once per input, each on its own new thread, ``max_concurrency``
        at a time; returns one ``BatchResult`` per input, in input order. One failure never
        stops the batch; transient failures are retried without ever starting a second run
        for the same input (a lost response is recovered by joining the run that exists)."""
        return await run_batch(
            self,
            inputs,
            assistant,
            max_concurrency=max_concurrency,
            max_requests_per_minute=max_requests_per_minute,
            max_attempts=max_attempts,
            progress=progress,
            config=config,
            metadata=metadata,
            timeout=timeout,
        )
