"""What the SDK does where servers differ (Aegra 0.11 vs `langgraph dev`), each case on a
scripted transport. The contract test (tests/contract) runs the same calls on both real
servers; these pin the edges a healthy real server does not show (an unhealthy /health, a
server with none of the health endpoints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard import NotFoundError, NotSupportedError, ServerError

UUID = "7ee1f44c-9af5-5938-a42a-0bd752627c11"


def server(routes: dict[tuple[str, str], Any], seen: list[str]) -> httpx.MockTransport:
    """Answers ``routes[(method, path)]`` (a Response, or a JSON body for 200); 404 else."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        answer = routes.get((request.method, request.url.path))
        if answer is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handle)


AEGRA_HEALTH = {"status": "healthy", "database": "connected"}


async def test_health_falls_back_to_health_and_remembers_it(make: Callable[..., Any]) -> None:
    seen: list[str] = []
    client = make(server({("GET", "/health"): AEGRA_HEALTH}, seen))
    assert await client.health() == {**AEGRA_HEALTH, "ok": True}
    assert await client.health() == {**AEGRA_HEALTH, "ok": True}
    assert seen == ["GET /ok", "GET /health", "GET /health"]


async def test_health_falls_back_to_info_when_nothing_else_answers(
    make: Callable[..., Any],
) -> None:
    seen: list[str] = []
    client = make(server({("GET", "/info"): {"version": "0.1"}}, seen))
    assert (await client.health())["ok"] is True
    assert seen == ["GET /ok", "GET /health", "GET /info"]


async def test_an_unhealthy_answer_and_a_non_server_are_errors(make: Callable[..., Any]) -> None:
    unhealthy = make(server({("GET", "/health"): {"status": "unhealthy"}}, []))
    with pytest.raises(ServerError, match="unhealthy"):
        await unhealthy.health()
    nothing = make(server({}, []))
    with pytest.raises(NotFoundError, match="none of /ok, /health, /info"):
        await nothing.health()


async def test_a_missing_count_endpoint_says_which_call_the_server_lacks(
    make: Callable[..., Any],
) -> None:
    client = make(
        server({("POST", "/threads/count"): httpx.Response(405, json={"detail": "no"})}, [])
    )
    with pytest.raises(NotSupportedError) as raised:
        await client.count_threads()
    assert raised.value.feature == "count_threads"
    assert raised.value.status_code == 405


async def test_a_search_the_server_cannot_project_is_asked_again_without_select(
    make: Callable[..., Any],
) -> None:
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if b'"select"' in request.content:
            return httpx.Response(422, json={"detail": "select projection is not supported"})
        return httpx.Response(200, json=[{"thread_id": "t1", "status": "idle"}])

    client = make(httpx.MockTransport(handle))
    for _ in range(2):
        found = await client.search_threads(select=["thread_id"])
        assert found == [{"thread_id": "t1", "status": "idle"}]
    # Asked with select once; then without it, twice (the second call remembers).
    assert [b'"select"' in body for body in bodies] == [True, False, False]


async def test_the_graph_is_drawn_from_the_assistant_a_graph_name_resolves_to(
    make: Callable[..., Any],
) -> None:
    seen: list[str] = []
    routes = {
        ("POST", "/assistants/search"): [{"assistant_id": UUID, "graph_id": "flaky"}],
        ("GET", f"/assistants/{UUID}/graph"): {"nodes": [], "edges": []},
    }
    client = make(server(routes, seen))
    assert await client.get_graph("flaky") == {"nodes": [], "edges": []}
    assert await client.get_graph(UUID) == {"nodes": [], "edges": []}
    assert seen == [
        "POST /assistants/search",
        f"GET /assistants/{UUID}/graph",
        f"GET /assistants/{UUID}/graph",
    ]
