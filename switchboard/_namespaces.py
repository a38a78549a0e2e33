"""``client.threads`` / ``client.runs`` / ``client.assistants``: the official ``langgraph_sdk``
method names over the same ``Client`` methods (no second implementation). ``client.crons`` and
``client.store`` live in ``_crons`` and ``_store``.

Run methods keep the official positional order ``(thread_id, assistant_id, *, input=...)``;
every method takes ``langgraph_sdk``'s keyword names (``thread_id=``, ``run_id=``,
``assistant_id=``, ``values=``) as well as ours (``thread=``, ``run=``, ``assistant=``).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypedDict, TypeVar, Unpack

from switchboard._client import (
    ClientCore,
    OnCompletion,
    QueryParams,
    Strategy,
    StreamModes,
    Timeout,
)
from switchboard._compat import accepts
from switchboard.types import (
    All,
    Checkpoint,
    Command,
    Config,
    DisconnectMode,
    Durability,
    IfNotExists,
    Run,
    RunCreated,
    ThreadRef,
    ThreadState,
)

if TYPE_CHECKING:
    from switchboard._http import RunStream

P = ParamSpec("P")
T = TypeVar("T")


class _Namespace:
    def __init__(self, client: ClientCore) -> None:
        self._client = client


def _alias(fn: Callable[Concatenate[ClientCore, P], T]) -> Callable[Concatenate[_Namespace, P], T]:
    @functools.wraps(fn)
    def method(self: _Namespace, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return fn(self._client, *args, **kwargs)

    return method


class _CommonRunOptions(TypedDict, total=False):
    input: Any
    command: Command | None
    multitask_strategy: Strategy
    checkpoint_id: str | None
    checkpoint: Checkpoint | Mapping[str, Any] | None
    interrupt_before: All | Sequence[str] | None
    interrupt_after: All | Sequence[str] | None
    metadata: Mapping[str, Any] | None
    config: Config | None
    context: Mapping[str, Any] | None
    if_not_exists: IfNotExists | None
    after_seconds: float | None
    durability: Durability | None
    webhook: str | None
    on_completion: OnCompletion | None
    strict_resume: bool | None
    params: QueryParams | None
    headers: Mapping[str, str] | None
    timeout: Timeout


class CreateRunOptions(_CommonRunOptions, total=False):
    stream_mode: StreamModes | None
    stream_subgraphs: bool
    stream_resumable: bool
    on_run_created: Callable[[RunCreated], None] | None


class StreamRunOptions(_CommonRunOptions, total=False):
    stream_mode: StreamModes
    stream_subgraphs: bool
    stream_resumable: bool
    on_disconnect: DisconnectMode | None
    is_background: bool
    on_run_created: Callable[[RunCreated], None] | None


class WaitRunOptions(_CommonRunOptions, total=False):
    on_disconnect: DisconnectMode | None
    raise_error: bool
    on_run_created: Callable[[RunCreated], None] | None


class ThreadsNamespace(_Namespace):
    create = _alias(ClientCore.create_thread)
    get = _alias(ClientCore.get_thread)
    update = _alias(ClientCore.update_thread_metadata)
    delete = _alias(ClientCore.delete_thread)
    search = _alias(ClientCore.search_threads)
    count = _alias(ClientCore.count_threads)
    copy = _alias(ClientCore.copy_thread)
    get_state = _alias(ClientCore.get_thread_state)
    update_state = _alias(ClientCore.update_thread_state)
    join_stream = _alias(ClientCore.join_thread_stream)
    prune = _alias(ClientCore.prune_threads)

    @accepts(thread_id="thread")
    async def get_history(
        self,
        thread: ThreadRef,
        *,
        limit: int = 10,
        before: str | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        checkpoint: Checkpoint | Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> builtins.list[ThreadState]:
        """``get_state_history`` under its official name (``metadata`` is the filter)."""
        return await self._client.get_state_history(
            thread,
            limit=limit,
            before=before,
            filter=metadata,
            checkpoint=checkpoint,
            params=params,
            headers=headers,
            timeout=timeout,
        )


class RunsNamespace(_Namespace):
    @accepts(thread_id="thread")
    def stream(
        self,
        thread: ThreadRef | None,
        assistant_id: str | None = None,
        **options: Unpack[StreamRunOptions],
    ) -> RunStream:
        return self._client.stream_run(thread, assistant_id=assistant_id, **options)

    @accepts(thread_id="thread")
    async def create(
        self,
        thread: ThreadRef | None,
        assistant_id: str | None = None,
        **options: Unpack[CreateRunOptions],
    ) -> Run:
        return await self._client.create_run(thread, assistant_id=assistant_id, **options)

    @accepts(thread_id="thread")
    async def wait(
        self,
        thread: ThreadRef | None,
        assistant_id: str | None = None,
        **options: Unpack[WaitRunOptions],
    ) -> Any:
        return await self._client.wait_run(thread, assistant_id=assistant_id, **options)

    get = _alias(ClientCore.get_run)
    cancel = _alias(ClientCore.cancel_run)
    join = _alias(ClientCore.join_run)
    join_stream = _alias(ClientCore.join_stream)
    delete = _alias(ClientCore.delete_run)
    list = _alias(ClientCore.list_runs)
    create_batch = _alias(ClientCore.create_runs)
    cancel_many = _alias(ClientCore.cancel_runs)


class AssistantsNamespace(_Namespace):
    search = _alias(ClientCore.list_assistants)
    count = _alias(ClientCore.count_assistants)
    get = _alias(ClientCore.get_assistant)
    get_graph = _alias(ClientCore.get_graph)
    get_schemas = _alias(ClientCore.get_schemas)
    get_subgraphs = _alias(ClientCore.get_subgraphs)
    create = _alias(ClientCore.create_assistant)
    update = _alias(ClientCore.update_assistant)
    delete = _alias(ClientCore.delete_assistant)
    get_versions = _alias(ClientCore.get_assistant_versions)
    set_latest = _alias(ClientCore.set_latest_assistant_version)


__all__ = [
    "AssistantsNamespace",
    "CreateRunOptions",
    "RunsNamespace",
    "StreamRunOptions",
    "ThreadsNamespace",
    "WaitRunOptions",
]
