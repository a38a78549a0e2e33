"""``client.crons``: scheduled runs, with ``langgraph_sdk``'s method and keyword names.

A cron is stored by the server and starts a run on its ``schedule`` (cron syntax, UTC unless
``timezone``): on a new thread each time (``create``) or always on one thread
(``create_for_thread``). Written once, async; ``SyncClient.crons`` is its blocking twin.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, cast

from switchboard._client import (
    QueryParams,
    StreamModes,
    Timeout,
    _compact,
    _modes,
    _seg,
    _strategy,
    _thread_id,
)
from switchboard._compat import accepts
from switchboard.errors import NotSupportedError
from switchboard.types import All, Config, Durability, MultitaskStrategyName, SortOrder, ThreadRef

if TYPE_CHECKING:
    from switchboard._client import ClientCore

Cron = dict[str, Any]
OnRunCompleted = Literal["delete", "keep"]


def _timezone(value: str | tzinfo | None) -> str | None:
    """An IANA name for the server (``ZoneInfo("Europe/Paris")`` → ``"Europe/Paris"``)."""
    if value is None or isinstance(value, str):
        return value
    key = getattr(value, "key", None)
    return key if isinstance(key, str) else value.tzname(None)


class CronsNamespace:
    """``client.crons``: create, update, search, count and delete crons."""

    def __init__(self, client: ClientCore) -> None:
        self._client = client

    def _body(
        self,
        *,
        assistant_id: str | None,
        schedule: str | None,
        input: Any,
        metadata: Mapping[str, Any] | None,
        config: Config | None,
        context: Mapping[str, Any] | None,
        checkpoint_during: bool | None,
        interrupt_before: All | Sequence[str] | None,
        interrupt_after: All | Sequence[str] | None,
        webhook: str | None,
        on_run_completed: OnRunCompleted | None,
        multitask_strategy: MultitaskStrategyName | None,
        end_time: datetime | None,
        enabled: bool | None,
        timezone: str | tzinfo | None,
        stream_mode: StreamModes | None,
        stream_subgraphs: bool | None,
        stream_resumable: bool | None,
        durability: Durability | None,
    ) -> dict[str, Any]:
        return _compact(
            assistant_id=assistant_id,
            schedule=schedule,
            input=input,
            metadata=dict(metadata) if metadata is not None else None,
            config=dict(config) if config is not None else None,
            context=dict(context) if context is not None else None,
            checkpoint_during=checkpoint_during,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            webhook=webhook,
            on_run_completed=on_run_completed,
            multitask_strategy=_strategy(multitask_strategy),
            end_time=end_time.isoformat() if end_time is not None else None,
            enabled=enabled,
            timezone=_timezone(timezone),
            stream_mode=_modes(stream_mode) if stream_mode is not None else None,
            stream_subgraphs=stream_subgraphs,
            stream_resumable=stream_resumable,
            durability=durability,
        )

    async def create(
        self,
        assistant_id: str,
        schedule: str,
        *,
        input: Any = None,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        checkpoint_during: bool | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        webhook: str | None = None,
        on_run_completed: OnRunCompleted | None = None,
        multitask_strategy: MultitaskStrategyName | None = None,
        end_time: datetime | None = None,
        enabled: bool | None = None,
        timezone: str | tzinfo | None = None,
        stream_mode: StreamModes | None = None,
        stream_subgraphs: bool | None = None,
        stream_resumable: bool | None = None,
        durability: Durability | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Cron:
        """A cron that starts a run of ``assistant_id`` on a new thread at each ``schedule``
        tick (``on_run_completed="delete"`` drops that thread afterwards).

        Returns the cron on `langgraph dev`. Aegra 0.11 starts the first run at once and
        returns that run instead (it has no ``cron_id``: find the cron with ``search``), unless
        ``enabled=False``, which returns the cron and starts nothing."""
        body = self._body(
            assistant_id=assistant_id,
            schedule=schedule,
            input=input,
            metadata=metadata,
            config=config,
            context=context,
            checkpoint_during=checkpoint_during,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            webhook=webhook,
            on_run_completed=on_run_completed,
            multitask_strategy=multitask_strategy,
            end_time=end_time,
            enabled=enabled,
            timezone=timezone,
            stream_mode=stream_mode,
            stream_subgraphs=stream_subgraphs,
            stream_resumable=stream_resumable,
            durability=durability,
        )
        result = await self._client._http.request(
            "POST", "/runs/crons", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("Cron", result)

    @accepts(thread="thread_id")
    async def create_for_thread(
        self,
        thread_id: ThreadRef,
        assistant_id: str,
        schedule: str,
        *,
        input: Any = None,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        checkpoint_during: bool | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        webhook: str | None = None,
        multitask_strategy: MultitaskStrategyName | None = None,
        end_time: datetime | None = None,
        enabled: bool | None = None,
        timezone: str | tzinfo | None = None,
        stream_mode: StreamModes | None = None,
        stream_subgraphs: bool | None = None,
        stream_resumable: bool | None = None,
        durability: Durability | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Cron:
        """A cron that starts a run of ``assistant_id`` on this one thread at each tick. On
        Aegra 0.11 it also starts the first run at once and returns it (see ``create``)."""
        body = self._body(
            assistant_id=assistant_id,
            schedule=schedule,
            input=input,
            metadata=metadata,
            config=config,
            context=context,
            checkpoint_during=checkpoint_during,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            webhook=webhook,
            on_run_completed=None,
            multitask_strategy=multitask_strategy,
            end_time=end_time,
            enabled=enabled,
            timezone=timezone,
            stream_mode=stream_mode,
            stream_subgraphs=stream_subgraphs,
            stream_resumable=stream_resumable,
            durability=durability,
        )
        result = await self._client._http.request(
            "POST",
            f"/threads/{_seg(_thread_id(thread_id))}/runs/crons",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Cron", result)

    async def update(
        self,
        cron_id: str,
        *,
        schedule: str | None = None,
        end_time: datetime | None = None,
        input: Any = None,
        metadata: Mapping[str, Any] | None = None,
        config: Config | None = None,
        context: Mapping[str, Any] | None = None,
        webhook: str | None = None,
        interrupt_before: All | Sequence[str] | None = None,
        interrupt_after: All | Sequence[str] | None = None,
        on_run_completed: OnRunCompleted | None = None,
        enabled: bool | None = None,
        timezone: str | tzinfo | None = None,
        stream_mode: StreamModes | None = None,
        stream_subgraphs: bool | None = None,
        stream_resumable: bool | None = None,
        durability: Durability | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Cron:
        """Change a cron; fields left ``None`` keep their value (``enabled=False`` pauses it)."""
        body = self._body(
            assistant_id=None,
            schedule=schedule,
            input=input,
            metadata=metadata,
            config=config,
            context=context,
            checkpoint_during=None,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            webhook=webhook,
            on_run_completed=on_run_completed,
            multitask_strategy=None,
            end_time=end_time,
            enabled=enabled,
            timezone=timezone,
            stream_mode=stream_mode,
            stream_subgraphs=stream_subgraphs,
            stream_resumable=stream_resumable,
            durability=durability,
        )
        result = await self._client._http.request(
            "PATCH",
            f"/runs/crons/{_seg(cron_id)}",
            json=body,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return cast("Cron", result)

    async def delete(
        self,
        cron_id: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> None:
        await self._client._http.request(
            "DELETE",
            f"/runs/crons/{_seg(cron_id)}",
            params=params,
            headers=headers,
            timeout=timeout,
        )

    async def search(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: ThreadRef | None = None,
        enabled: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        select: Sequence[str] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> builtins.list[Cron]:
        """Crons matching every filter given (``assistant_id`` may be a graph name: it is
        resolved to its assistant's UUID, which is all the server matches on)."""
        body = _compact(
            assistant_id=await self._client._assistant_uuid(assistant_id) if assistant_id else None,
            thread_id=_thread_id(thread_id) if thread_id is not None else None,
            enabled=enabled,
            metadata=dict(metadata) if metadata else None,
            limit=limit,
            offset=offset,
            sort_by=sort_by,
            sort_order=sort_order,
            select=list(select) if select is not None else None,
        )
        result = await self._client._http.request(
            "POST", "/runs/crons/search", json=body, params=params, headers=headers, timeout=timeout
        )
        return cast("builtins.list[Cron]", result)

    async def count(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: ThreadRef | None = None,
        metadata: Mapping[str, Any] | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> int:
        """How many crons match. ``NotSupportedError`` where the server cannot count them."""
        body = _compact(
            assistant_id=await self._client._assistant_uuid(assistant_id) if assistant_id else None,
            thread_id=_thread_id(thread_id) if thread_id is not None else None,
            metadata=dict(metadata) if metadata else None,
        )
        try:
            result = await self._client._http.request(
                "POST",
                "/runs/crons/count",
                json=body,
                params=params,
                headers=headers,
                timeout=timeout,
            )
        except NotSupportedError as error:
            error.feature = "crons.count"
            raise error from None
        return int(result)
