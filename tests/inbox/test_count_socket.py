"""The navigation count over the websocket: sent on connect, pushed when the team's inbox changes."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.inbox.events import InboxEvents
from dashboard.asgi import application
from tests.fixtures.inbox import open_interrupt
from tests.fixtures.workers import IN_PROCESS_HOST

pytestmark = pytest.mark.django_db(transaction=True)


def _badge(n: object) -> str:
    return f'<span id="inbox-count" class="count" hx-swap-oob="true">{n}</span>'


@sync_to_async
def _open_interrupt(deployment, thread_id):
    open_interrupt(deployment, thread_id)
    InboxEvents.changed([deployment.team_id])


async def _connect(headers: dict[str, str]) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application,
        "/ws/inbox/",
        headers=[(k.lower().encode(), v.encode()) for k, v in [IN_PROCESS_HOST, *headers.items()]],
    )
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def test_the_count_is_pushed_when_an_interrupt_opens(
    ws_login, bob, deployment_a, deployment_b
):
    headers = await sync_to_async(ws_login)(bob)
    socket = await _connect(headers)
    assert (await socket.receive_from(timeout=5)).strip() == _badge("")
    await _open_interrupt(deployment_a, "00000000-0000-4000-8000-000000000001")
    assert (await socket.receive_from(timeout=5)).strip() == _badge(1)
    # Another team's interrupt is not counted, and not even announced to bob.
    await _open_interrupt(deployment_b, "00000000-0000-4000-8000-000000000002")
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_an_anonymous_socket_is_refused():
    socket = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await socket.connect(timeout=5)
    assert not connected
