"""Retry, reconnect and pacing decisions as data: pure functions, no I/O, no httpx.

Which requests may be sent twice:

* idempotent requests (GET, and POSTs that only read: search, count, history, state at a
  checkpoint) retry on any transport failure, on 408/429/5xx, with exponential backoff and
  jitter, honouring ``Retry-After``;
* everything else (run creation above all) retries only when the request provably never
  reached the server: connection refused / connect or pool timeout, or a 429 (the server
  turned it away before acting). A read error or a 5xx after sending may mean the run exists.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

TransportFailure: TypeAlias = Literal[
    "connect", "connect_timeout", "pool_timeout", "read", "read_timeout", "write", "protocol"
]
# Failures that happen before a single byte of the request reached the server.
_NEVER_SENT: frozenset[TransportFailure] = frozenset({"connect", "connect_timeout", "pool_timeout"})
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_READ_POSTS = re.compile(
    r"^/(?:threads|assistants|runs/crons|store/items)/(?:search|count)$"
    r"|^/threads/[^/]+/(?:history|state/checkpoint)$"
    r"|^/store/namespaces$|^/assistants/[^/]+/versions$"
)


def is_idempotent(method: str, path: str) -> bool:
    """Whether sending ``method path`` twice has the same effect as sending it once."""
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return True
    return method == "POST" and _READ_POSTS.match(path) is not None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``retry-after`` as seconds or
    an HTTP date), or ``None``. ``headers`` keys are lower-case."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited out: the error is raised instead.
    max_retry_after: float = 60.0
    # Stream reconnects (contract §5.5): min(cap, base * 2**n) + up to 25 % jitter, 5 tries.
    reconnect_base: float = 1.0
    reconnect_cap: float = 5.0
    max_reconnects: int = 5

    def retry_status(self, status: int, *, idempotent: bool) -> bool:
        if status == 429:
            return True
        return idempotent and status in _RETRY_STATUSES

    def retry_failure(self, failure: TransportFailure, *, idempotent: bool) -> bool:
        return idempotent or failure in _NEVER_SENT

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to sleep before retry number ``attempt`` (0-based), ``None`` = give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after
        backoff = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return backoff * (1.0 - 0.25 * random.random())

    def reconnect_delay(self, attempt: int) -> float | None:
        if attempt >= self.max_reconnects:
            return None
        base = min(self.reconnect_cap, self.reconnect_base * 2.0**attempt)
        return base + random.uniform(0.0, base * 0.25)


class Pacer:
    """Spaces requests evenly so that at most ``per_minute`` start in any minute.

    ``reserve(now)`` books the next free slot and returns how long to wait for it; callers
    that arrive together get consecutive slots (a generic cell-rate algorithm, burst of one).
    """

    def __init__(self, per_minute: int) -> None:
        if per_minute <= 0:
            raise ValueError("max_requests_per_minute must be a positive integer")
        self.interval = 60.0 / per_minute
        self._next_slot = float("-inf")

    def reserve(self, now: float) -> float:
        slot = max(self._next_slot, now)
        self._next_slot = slot + self.interval
        return slot - now
