"""Every websocket route that takes an object id refuses a user of another team.

The hook for live surfaces: walks ``dashboard.routing.websocket_urlpatterns`` and, for each route
with kwargs, connects as alice (team A) to team B's object, filling kwargs from the same registry
as the HTTP test (tests/fixtures/cross_team.py). A refusal is a handshake that is not accepted, or
one closed before any message is sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern

from dashboard.routing import websocket_urlpatterns
from tests.fixtures.cross_team import CrossTeam, factory_for


def _ws_routes(patterns: list[Any], prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    routes = []
    for entry in patterns:
        assert isinstance(entry, URLPattern), f"Websocket route {entry!r}: use path()/re_path()"
        route = prefix + str(entry.pattern)
        inner = getattr(entry.callback, "routes", None)
        if inner is not None:  # a nested URLRouter
            routes.extend(_ws_routes(inner, route))
            continue
        routes.append((route, tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))))
    return routes


WS_ROUTES = [route for route in _ws_routes(websocket_urlpatterns) if route[1]]


def _fill(route: str, values: dict[str, Any]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route).lstrip("/")


async def _attempt(path: str, user: Any) -> tuple[bool, list[dict[str, Any]]]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    outputs = []
    if connected:
        while not await communicator.receive_nothing(timeout=0.2):
            outputs.append(await communicator.receive_output())
        await communicator.disconnect()
    return connected, outputs


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("route", "kwargs"), WS_ROUTES, ids=[r[0] for r in WS_ROUTES])
def test_another_teams_object_is_refused_on_a_websocket(
    route: str, kwargs: tuple[str, ...], cross_team: CrossTeam
):
    path = _fill(route, {kwarg: factory_for(kwarg)(cross_team.b) for kwarg in kwargs})

    connected, outputs = async_to_sync(_attempt)(path, cross_team.a.admin)

    if connected:
        assert outputs, f"alice was accepted on {path} and the socket stayed open"
        assert outputs[0]["type"] == "websocket.close", f"alice on {path} got {outputs[0]}"
