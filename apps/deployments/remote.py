"""Reading a deployment from a request without ever hanging it, and saying what went wrong.

Views ask a deployment several things at once (thread, history, runs, graph). ``fetch`` runs
those calls in parallel on a small per-process pool and waits at most ``DEPLOYMENT_TIMEOUT`` for
all of them together, whatever the SDK's own retries would do: a call still running then is
reported as slow and left to finish (or time out) on its own. Every SDK error becomes a
``Problem`` with a sentence for the page; nothing here raises to the view.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from switchboard import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    GraphNotFoundError,
    InputError,
    NotFoundError,
    NotSupportedError,
    RateLimitError,
    RedirectError,
    ServerError,
    SwitchboardError,
)

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    # Built lazily and per process: a Celery worker that forks after import must not inherit a
    # pool whose threads do not exist in the child.
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=32, thread_name_prefix="sb-read"))
        return _pool[1]


@dataclass(frozen=True)
class Problem:
    kind: str  # "down" | "slow" | "missing" | "refused" | "invalid" | "unsupported" | "error"
    message: str

    def __str__(self) -> str:
        return self.message


def describe(error: BaseException, *, what: str = "the deployment") -> Problem:
    """A sentence an operator can act on, for any SDK error."""
    detail = getattr(error, "detail", "") or str(error)
    if isinstance(error, APITimeoutError):
        return Problem("slow", f"{what.capitalize()} did not answer in time ({detail}).")
    if isinstance(error, APIConnectionError):
        return Problem("down", f"Could not reach {what}: it looks down ({detail}).")
    if isinstance(error, RedirectError):
        where = f" to {error.location}" if error.location else ""
        return Problem(
            "error",
            f"{what.capitalize()} redirected the request{where}, and the console never follows "
            "redirects: if the deployment has moved, update its URL.",
        )
    if isinstance(error, NotSupportedError):
        feature = error.feature or f"this ({error})"
        return Problem(
            "unsupported",
            f"{what.capitalize()} does not offer {feature}: its server lacks it, so the console "
            "shows the page without it.",
        )
    if isinstance(error, NotFoundError | GraphNotFoundError):
        return Problem("missing", f"{what.capitalize()} does not have this any more ({detail}).")
    if isinstance(error, AuthenticationError):
        return Problem("refused", f"{what.capitalize()} refused our credentials ({detail}).")
    if isinstance(error, RateLimitError):
        return Problem("slow", f"{what.capitalize()} is rate limiting us; try again shortly.")
    if isinstance(error, ServerError):
        return Problem("error", f"{what.capitalize()} answered with a server error ({detail}).")
    if isinstance(error, InputError):
        return Problem("invalid", f"{what.capitalize()} rejected the request: {detail}")
    return Problem("error", f"{what.capitalize()} answered with an error: {detail}")


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _call(fn: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=fn())
    except SwitchboardError as error:
        return Outcome(problem=describe(error))


def fetch(
    calls: Mapping[str, Callable[[], Any]], *, timeout: float | None = None
) -> dict[str, Outcome]:
    """Run ``calls`` in parallel; every key gets an Outcome within ``timeout`` seconds."""
    budget = float(settings.DEPLOYMENT_TIMEOUT if timeout is None else timeout)
    pool = _executor()
    futures: dict[str, Future[Outcome]] = {key: pool.submit(_call, fn) for key, fn in calls.items()}
    wait(futures.values(), timeout=budget)
    out: dict[str, Outcome] = {}
    for key, future in futures.items():
        if future.done():
            out[key] = future.result()
        else:
            future.cancel()
            out[key] = Outcome(
                problem=Problem("slow", f"The deployment did not answer within {budget:g} seconds.")
            )
    return out


def fetch_one(fn: Callable[[], Any], *, timeout: float | None = None) -> Outcome:
    return fetch({"one": fn}, timeout=timeout)["one"]
