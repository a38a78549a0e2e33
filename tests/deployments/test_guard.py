"""The outbound guard's transport keeps what the SDK does with its own pool: shortly after a 5xx,
a request that is not a plain read goes on a connection of its own (the server may be closing
the pooled one, and such a request could not be retried). Against a real keep-alive server."""

from __future__ import annotations

import asyncio

import httpx

from apps.deployments.guard import GuardedAsyncTransport
from tests.deployments.local_server import Answer, Recorded, local_server


def _first_fails(request: Recorded) -> Answer:
    return Answer(500) if request.path == "/fails" else Answer(200)


async def _send(url: str, *requests: tuple[str, str]) -> None:
    async with httpx.AsyncClient(base_url=url, transport=GuardedAsyncTransport()) as client:
        for method, path in requests:
            await client.request(method, path, json={} if method == "POST" else None)


def test_after_a_server_error_a_post_goes_on_a_new_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/fails"), ("POST", "/threads")))

    failed, post = server.requests
    assert post.peer_port != failed.peer_port


def test_without_a_server_error_requests_share_the_pooled_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/ok"), ("POST", "/threads"), ("GET", "/ok")))

    assert len({request.peer_port for request in server.requests}) == 1


def test_after_a_server_error_reads_stay_on_the_pooled_connection():
    with local_server(_first_fails, keep_alive=True) as server:
        asyncio.run(_send(server.url, ("GET", "/fails"), ("GET", "/ok")))

    assert len({request.peer_port for request in server.requests}) == 1
