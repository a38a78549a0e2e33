"""Websocket routes, one list per app, gathered here."""

from __future__ import annotations

from typing import Any

from apps.inbox.routing import websocket_urlpatterns as inbox_websockets
from apps.runs.routing import websocket_urlpatterns as runs_websockets

websocket_urlpatterns: list[Any] = [*runs_websockets, *inbox_websockets]
