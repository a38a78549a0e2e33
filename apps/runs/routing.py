from __future__ import annotations

from typing import Any

from django.urls import path

from apps.runs.consumers import RunConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/runs/<int:run_id>/", RunConsumer.as_asgi()),
]
