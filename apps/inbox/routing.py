from __future__ import annotations

from typing import Any

from django.urls import path

from apps.inbox.consumers import InboxCountConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/inbox/", InboxCountConsumer.as_asgi()),
]
