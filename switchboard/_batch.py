"""``run_batch``: many inputs against one assistant, bounded, paced, retried, never stopped by
one failure.

Each input gets its own thread with an id chosen here, created with ``if_exists="do_nothing"``
(so creating it is idempotent), and one run with ``multitask_strategy="reject"``. That makes a
retry safe: before starting the run again after a transient failure (the response may have
been lost after the run started) the worker asks the thread for its runs and joins the one
that exists; a 409 "busy" means the earlier attempt is running and is joined too.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from switchboard._retry import Pacer
from switchboard.errors import (
    APIConnectionError,
    APITimeoutError,
    InputError,
    RateLimitError,
    RunFailedError,
    ServerError,
    SwitchboardError,
    ThreadBusyError,
)

if TYPE_CHECKING:
    from switchboard._client import ClientCore, Timeout
    from switchboard.types import Config

T = TypeVar("T")
_TRANSIENT = (APIConnectionError, APITimeoutError, ServerError, RateLimitError)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome for one input. ``ok`` is False when ``error`` is set; ``output`` holds the
    final values (with ``"__interrupt__"`` if the run paused for a human)."""

    index: int
    input: Any
    ok: bool
    output: Any = None
    error: BaseException | None = None
    thread_id: str | None = None
    run_id: str | None = None
    attempts: int = 0

    @property
    def interrupted(self) -> bool:
        return isinstance(self.output, dict) and bool(self.output.get("__interrupt__"))


class BatchProgress(Protocol):
    """Anything with ``start(total)``, ``advance(result)`` and ``stop()``."""

    def start(self, total: int | None) -> None: ...
    def advance(self, result: BatchResult) -> None: ...
    def stop(self) -> None: ...


class _RichProgress:
    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
        )
        self._task: Any = None

    def start(self, total: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task("batch", total=total, failed=0)

    def advance(self, result: BatchResult) -> None:
        failed = self._progress.tasks[0].fields["failed"] + (0 if result.ok else 1)
        self._progress.update(self._task, advance=1, failed=failed)

    def stop(self) -> None:
        self._progress.stop()


class _TqdmProgress:
    def __init__(self) -> None:
        # tqdm ships no type hints; importing it by name keeps mypy --strict quiet either way.
        self._tqdm = importlib.import_module("tqdm").tqdm
        self._bar: Any = None
        self._failed = 0

    def start(self, total: int | None) -> None:
        self._bar = self._tqdm(total=total, desc="batch", unit="run")

    def advance(self, result: BatchResult) -> None:
        if not result.ok:
            self._failed += 1
            self._bar.set_postfix(failed=self._failed)
        self._bar.update(1)

    def stop(self) -> None:
        self._bar.close()


def _progress(kind: Literal["rich", "tqdm"] | BatchProgress | None) -> BatchProgress | None:
    if kind is None:
        return None
    try:
        if kind == "rich":
            return _RichProgress()
        if kind == "tqdm":
            return _TqdmProgress()
    except ModuleNotFoundError as missing:
        extra = (
            " (the cli extra: pip install 'switchboard-langgraph[cli]')" if kind == "rich" else ""
        )
        raise InputError(f"progress={kind!r} needs {missing.name} installed{extra}") from None
    if isinstance(kind, str):
        raise InputError(
            f"progress must be 'rich', 'tqdm', None or a progress object, not {kind!r}"
        )
    return kind


class _Paced(Protocol):
    def __call__(self, call: Callable[[], Awaitable[T]], /) -> Awaitable[T]: ...


class _Item:
    """One input's journey: thread, run, attempts."""

    def __init__(
        self,
        client: ClientCore,
        index: int,
        value: Any,
        assistant: str,
        *,
        paced: _Paced,
        config: Config | None,
        metadata: Mapping[str, Any] | None,
        max_attempts: int,
        timeout: Timeout,
    ) -> None:
        self.client, self.index, self.value, self.assistant = client, index, value, assistant
        self.paced, self.config, self.max_attempts, self.timeout = (
            paced,
            config,
            max_attempts,
            timeout,
        )
        self.metadata = {**(metadata or {}), "switchboard_batch_index": index}
        self.thread_id = str(uuid.uuid4())
        self.run_id: str | None = None

    async def run(self) -> BatchResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                output = await self._attempt()
            except RunFailedError as exc:
                # The graph raised: running it again would raise again.
                return self._result(attempt, error=exc)
            except _TRANSIENT as exc:
                if attempt >= self.max_attempts:
                    return self._result(attempt, error=exc)
                retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
                await asyncio.sleep(retry_after or min(8.0, 0.5 * 2 ** (attempt - 1)))
                continue
            except SwitchboardError as exc:
                return self._result(attempt, error=exc)
            except Exception as exc:  # one bad input (unserialisable, ...) must not stop the batch
                return self._result(attempt, error=exc)
            return self._result(attempt, output=output)

    async def _attempt(self) -> Any:
        client, thread_id = self.client, self.thread_id
        await self.paced(
            lambda: client._http.request(
                "POST",
                "/threads",
                json={"thread_id": thread_id, "if_exists": "do_nothing", "metadata": self.metadata},
                idempotent=True,
                timeout=self.timeout,
            )
        )
        # An earlier attempt may have started the run before its response was lost.
        runs = await self.paced(lambda: client.list_runs(thread_id, limit=1, timeout=self.timeout))
        if runs:
            return await self._join(runs[0]["run_id"])
        try:
            return await self.paced(
                lambda: client.wait_run(
                    thread_id,
                    self.value,
                    assistant_id=self.assistant,
                    multitask_strategy="reject",
                    config=self.config,
                    metadata=self.metadata,
                    timeout=self.timeout,
                )
            )
        except ThreadBusyError:
            runs = await self.paced(lambda: client.list_runs(thread_id, limit=1))
            if not runs:
                raise
            return await self._join(runs[0]["run_id"])

    async def _join(self, run_id: str) -> Any:
        self.run_id = run_id
        return await self.paced(
            lambda: self.client.join_run(self.thread_id, run_id, timeout=self.timeout)
        )

    def _result(
        self, attempts: int, *, output: Any = None, error: BaseException | None = None
    ) -> BatchResult:
        return BatchResult(
            index=self.index,
            input=self.value,
            ok=error is None,
            output=output,
            error=error,
            thread_id=self.thread_id,
            run_id=self.run_id or getattr(error, "run_id", None),
            attempts=attempts,
        )


async def run_batch(
    client: ClientCore,
    inputs: Iterable[Any],
    assistant: str | None,
    *,
    max_concurrency: int,
    max_requests_per_minute: int | None,
    max_attempts: int,
    progress: Literal["rich", "tqdm"] | BatchProgress | None,
    config: Config | None,
    metadata: Mapping[str, Any] | None,
    timeout: Timeout,
) -> list[BatchResult]:
    if max_concurrency < 1:
        raise InputError("max_concurrency must be at least 1")
    if max_attempts < 1:
        raise InputError("max_attempts must be at least 1")
    assistant_id = assistant or client.assistant_id
    if not assistant_id:
        raise InputError("run_batch needs an assistant (id or graph name)")
    reporter = _progress(progress)
    pacer = Pacer(max_requests_per_minute) if max_requests_per_minute else None

    async def paced(call: Callable[[], Awaitable[T]]) -> T:
        if pacer is not None:
            delay = pacer.reserve(time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)
        return await call()

    total = len(inputs) if isinstance(inputs, Sized) else None
    source: Iterator[tuple[int, Any]] = enumerate(inputs)
    results: dict[int, BatchResult] = {}

    async def worker() -> None:
        # Workers pull from one iterator, so a generator of inputs is consumed lazily.
        for index, value in source:
            item = _Item(
                client,
                index,
                value,
                assistant_id,
                paced=paced,
                config=config,
                metadata=metadata,
                max_attempts=max_attempts,
                timeout=timeout,
            )
            result = await item.run()
            results[index] = result
            if reporter is not None:
                reporter.advance(result)

    if reporter is not None:
        reporter.start(total)
    try:
        workers = max_concurrency if total is None else max(1, min(max_concurrency, total))
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    finally:
        if reporter is not None:
            reporter.stop()
    return [results[index] for index in sorted(results)]
