"""Fixtures for the SDK tests. Behaviour tests take ``client`` (live) or ``make`` (mock
transport): both are parametrised over the async ``Client`` and the ``SyncClient`` (wrapped to
look awaitable), so each behaviour is written once and checked on both. Slow live tests use
``on_both_clients`` instead, which runs the same body on both clients at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from switchboard import Client, SyncClient
from tests.sdk.helpers import AwaitableSync, Sleeps, mock_client, mock_sync_client

KINDS = ["async", "sync"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(kind: str, langgraph_url: str) -> AsyncIterator[Any]:
    """A client of the real `langgraph dev` serving graphs/ (async, or sync made awaitable)."""
    if kind == "async":
        async with Client(langgraph_url, timeout=30.0) as async_client:
            yield async_client
    else:
        sync_client = SyncClient(langgraph_url, timeout=30.0)
        yield AwaitableSync(sync_client)
        sync_client.close()


@pytest.fixture
async def clients(langgraph_url: str) -> AsyncIterator[dict[str, Any]]:
    """Both clients of the real server, for tests decorated with ``on_both_clients``."""
    sync_client = SyncClient(langgraph_url, timeout=30.0)
    async with Client(langgraph_url, timeout=30.0) as async_client:
        yield {"async": async_client, "sync": AwaitableSync(sync_client)}
    sync_client.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make(kind: str, sleeps: Sleeps) -> Iterator[Callable[..., Any]]:
    """``make(transport, **client_kwargs)``: a client on a mock transport whose backoff sleeps
    are recorded in ``sleeps`` instead of waited out."""
    made: list[Any] = []

    def build(transport: httpx.MockTransport, **kwargs: Any) -> Any:
        if kind == "async":
            made.append(mock_client(transport, sleeps=sleeps, **kwargs))
            return made[-1]
        sync_client = mock_sync_client(transport, sleeps=sleeps, **kwargs)
        made.append(sync_client)
        return AwaitableSync(sync_client)

    yield build
    for item in made:
        if isinstance(item, SyncClient):
            item.close()
