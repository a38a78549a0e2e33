"""``get_client()`` / ``get_sync_client()``: ``langgraph_sdk``'s entry points, so that

    from langgraph_sdk import get_client

becomes ``from switchboard import get_client`` and nothing else changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import httpx

from switchboard._async import Client
from switchboard._sync import SyncClient

DEFAULT_URL: Final = "http://localhost:8123"
_API_KEY_VARIABLES: Final = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


class _NotProvided:
    def __repr__(self) -> str:
        return "<from the environment>"


NOT_PROVIDED: Final = _NotProvided()


def _api_key(api_key: str | _NotProvided | None) -> str | None:
    # As langgraph_sdk does: not given → the first of these variables that is set; an
    # explicit None → no key at all. (Client itself never reads the environment.)
    if not isinstance(api_key, _NotProvided):
        return api_key
    for name in _API_KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value.removeprefix('"').removesuffix('"')
    return None


def _timeout(timeout: float | httpx.Timeout | None) -> float | httpx.Timeout:
    # langgraph_sdk's default: runs may take minutes before their first byte.
    return httpx.Timeout(connect=5, read=300, write=300, pool=5) if timeout is None else timeout


def get_client(
    *,
    url: str | None = None,
    api_key: str | _NotProvided | None = NOT_PROVIDED,
    headers: Mapping[str, str] | None = None,
    timeout: float | httpx.Timeout | None = None,
    **options: Any,
) -> Client:
    """An async ``Client``, built as ``langgraph_sdk.get_client`` builds its own.

    Args:
        url: the deployment root (default ``http://localhost:8123``; there is no in-process
            transport: pass the server's URL).
        api_key: sent as ``x-api-key``; when not given, read from ``LANGGRAPH_API_KEY``,
            ``LANGSMITH_API_KEY`` or ``LANGCHAIN_API_KEY``; ``None`` sends none.
        headers: extra headers on every request.
        timeout: per request (default: connect 5 s, read and write 300 s).
        **options: any other ``Client`` argument (``assistant_id``, ``max_retries``, ...).
    """
    return Client(
        url or DEFAULT_URL, _api_key(api_key), headers=headers, timeout=_timeout(timeout), **options
    )


def get_sync_client(
    *,
    url: str | None = None,
    api_key: str | _NotProvided | None = NOT_PROVIDED,
    headers: Mapping[str, str] | None = None,
    timeout: float | httpx.Timeout | None = None,
    **options: Any,
) -> SyncClient:
    """A ``SyncClient``, built as ``langgraph_sdk.get_sync_client`` builds its own (same
    arguments as ``get_client``)."""
    return SyncClient(
        url or DEFAULT_URL, _api_key(api_key), headers=headers, timeout=_timeout(timeout), **options
    )
