"""The run page's websocket, in-process (WebsocketCommunicator) on the real Redis channel layer."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db.models import F

from apps.accounts.models import Membership
from apps.runs.events import RunEvents, event_payload, run_group
from apps.runs.models import Run, RunEvent
from dashboard.asgi import application
from tests.fixtures.frames import parse_frame, paused_note, pre_texts
from tests.fixtures.runs import create_run
from tests.fixtures.workers import IN_PROCESS_HOST

pytestmark = pytest.mark.django_db(transaction=True)


def _events(count: int) -> list[tuple[str, object]]:
    return [("custom", {"n": n}) for n in range(1, count + 1)]


@pytest.fixture
def run(deployment_a) -> Run:
    return create_run(deployment_a, _events(5))


@sync_to_async
def store(run: Run, data: object, event: str = "custom") -> int:
    Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
    seq = Run.objects.get(pk=run.pk).last_seq
    RunEvent.objects.create(run=run, seq=seq, event=event, data=data)
    return seq


async def broadcast(run: Run, seq: int, data: object, event: str = "custom") -> None:
    await get_channel_layer().group_send(run_group(run.pk), event_payload(run.pk, seq, event, data))


async def open_socket(
    headers: dict[str, str], run: Run, query: str = ""
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A run page's socket, and the first frame it got."""
    socket = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/{query}",
        headers=[(k.lower().encode(), v.encode()) for k, v in [IN_PROCESS_HOST, *headers.items()]],
    )
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket, await receive(socket)


async def connect(headers: dict[str, str], run: Run, query: str = "") -> WebsocketCommunicator:
    socket, hello = await open_socket(headers, run, query)
    assert hello["type"] == "hello"
    return socket


async def receive(socket: WebsocketCommunicator) -> dict[str, Any]:
    return parse_frame(await socket.receive_from(timeout=5))


async def seqs(socket: WebsocketCommunicator, count: int, ack: bool = True) -> list[int]:
    got = []
    for _ in range(count):
        frame = await receive(socket)
        assert frame["type"] == "event", frame
        got.append(frame["seq"])
        if ack:
            await socket.send_json_to({"type": "ack", "seq": frame["seq"]})
    return got


async def test_it_replays_the_log_after_the_seq_the_page_has(run, alice, ws_login):
    socket = await connect(await sync_to_async(ws_login)(alice), run, "?after=2")
    assert await seqs(socket, 3) == [3, 4, 5]
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_it_forwards_live_events_after_the_replay_and_drops_duplicates(run, bob, ws_login):
    socket = await connect(await sync_to_async(ws_login)(bob), run)
    assert await seqs(socket, 5) == [1, 2, 3, 4, 5]
    seq = await store(run, {"n": 6})
    await broadcast(run, seq, {"n": 6})
    await broadcast(run, seq, {"n": 6})
    await broadcast(run, 3, {"n": 3})
    frame = await receive(socket)
    assert (frame["seq"], pre_texts(frame)) == (6, ['{\n  "n": 6\n}'])
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_it_forwards_a_batch_of_live_events_once_each_and_in_order(run, alice, ws_login):
    socket = await connect(await sync_to_async(ws_login)(alice), run, "?after=3")
    assert await seqs(socket, 2) == [4, 5]
    stored = [await store(run, {"n": n}) for n in (6, 7, 8)]
    # One group message for what a relay stored together; it repeats two events the page has.
    batch = [event_payload(run.pk, seq, "custom", {"n": seq}) for seq in [4, 5, *stored]]
    await sync_to_async(RunEvents.broadcast_runs)([batch])
    assert await seqs(socket, 3) == [6, 7, 8]
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_it_reads_a_gap_the_channel_layer_left_from_the_log(run, alice, ws_login):
    socket = await connect(await sync_to_async(ws_login)(alice), run, "?after=5")
    await store(run, {"n": 6})  # stored, but its broadcast was dropped
    seq = await store(run, {"n": 7})
    await broadcast(run, seq, {"n": 7})
    assert await seqs(socket, 2) == [6, 7]
    await socket.disconnect()


async def test_it_finds_events_lost_at_the_end_of_a_burst(run, alice, ws_login, settings):
    settings.RUNS_WS_SYNC_SECONDS = 0.05
    socket = await connect(await sync_to_async(ws_login)(alice), run, "?after=5")
    await store(run, {"n": 6})  # never broadcast, and nothing follows it
    assert await seqs(socket, 1) == [6]
    await socket.disconnect()


async def test_without_the_channel_layer_the_page_says_live_updates_are_paused_until_it_rejoins(
    run, alice, ws_login, settings, monkeypatch
):
    settings.RUNS_WS_SYNC_SECONDS = 0.05
    headers = await sync_to_async(ws_login)(alice)

    async def unreachable(*args: object) -> None:
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(get_channel_layer(), "group_add", unreachable)
    socket, hello = await open_socket(headers, run, "?after=5")
    assert (hello["type"], hello["live"]) == ("hello", False)
    assert paused_note(hello) == (
        "Live updates paused: showing the saved log, read again every 0.05 s."
    )

    monkeypatch.undo()  # the layer is back: the next tick joins the groups
    live = await receive(socket)
    assert (live["type"], live["live"], paused_note(live)) == ("live", True, "")
    await socket.disconnect()

    # A page that connects while the layer answers is told it is live: a note from an earlier
    # socket of the page is emptied.
    socket, hello = await open_socket(headers, run, "?after=5")
    assert (hello["type"], hello["live"], paused_note(hello)) == ("hello", True, "")
    await socket.disconnect()


@pytest.mark.parametrize("after", ["abc", "-3", "99"])
async def test_it_replays_everything_with_a_note_for_a_bad_after(run, alice, ws_login, after):
    socket = await connect(await sync_to_async(ws_login)(alice), run, f"?after={after}")
    note = await receive(socket)
    assert note["type"] == "error"
    assert "replaying the whole run" in note["message"]
    assert await seqs(socket, 5) == [1, 2, 3, 4, 5]
    await socket.disconnect()


async def test_it_answers_a_bad_message_with_an_error_frame_and_stays_open(run, alice, ws_login):
    socket = await connect(await sync_to_async(ws_login)(alice), run, "?after=5")
    await socket.send_to(text_data="not json")
    assert (await receive(socket))["type"] == "error"
    await socket.send_json_to({"type": "backfill", "after": "three"})
    assert (await receive(socket))["type"] == "error"
    await socket.send_json_to({"type": "backfill", "after": 3})
    assert await seqs(socket, 2) == [4, 5]
    await socket.disconnect()


async def test_it_refuses_anonymous_sockets_and_other_teams(run, charlie, ws_login):
    for headers in ({"Origin": "http://127.0.0.1"}, await sync_to_async(ws_login)(charlie)):
        socket = WebsocketCommunicator(
            application,
            f"/ws/runs/{run.pk}/",
            headers=[
                (k.lower().encode(), v.encode()) for k, v in [IN_PROCESS_HOST, *headers.items()]
            ],
        )
        connected, _ = await socket.connect(timeout=5)
        assert not connected


async def test_it_refuses_a_foreign_origin(run, alice, ws_login):
    headers = await sync_to_async(ws_login)(alice, origin="http://evil.example")
    socket = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(k.lower().encode(), v.encode()) for k, v in [IN_PROCESS_HOST, *headers.items()]],
    )
    connected, _ = await socket.connect(timeout=5)
    assert not connected


async def test_it_closes_when_the_viewer_loses_access(run, bob, ws_login, settings):
    settings.RUNS_WS_SYNC_SECONDS = 0.05
    socket = await connect(await sync_to_async(ws_login)(bob), run, "?after=5")
    await sync_to_async(Membership.objects.filter(user=bob).delete)()
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"


async def test_it_closes_on_logout(run, alice):
    from django.test import Client

    client = Client()
    await sync_to_async(client.force_login)(alice)
    headers = {
        "Cookie": f"sessionid={client.cookies['sessionid'].value}",
        "Origin": "http://127.0.0.1",
    }
    socket = await connect(headers, run, "?after=5")
    await sync_to_async(client.logout)()
    output = await socket.receive_output(timeout=5)
    assert (output["type"], output.get("code")) == ("websocket.close", 4403)


async def test_it_closes_when_the_session_expires(run, alice, ws_login, settings):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    settings.RUNS_WS_SYNC_SECONDS = 0.05
    headers = await sync_to_async(ws_login)(alice)
    socket = await connect(headers, run, "?after=5")
    key = headers["Cookie"].split("sessionid=")[1]
    # Expired, not deleted: the row stays until clearsessions runs.
    await sync_to_async(Session.objects.filter(session_key=key).update)(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    output = await socket.receive_output(timeout=5)
    assert (output["type"], output.get("code")) == ("websocket.close", 4403)


async def test_it_holds_back_events_a_slow_page_has_not_acknowledged(
    deployment_a, alice, ws_login, settings
):
    settings.RUNS_WS_WINDOW = 10
    run = await sync_to_async(create_run)(deployment_a, _events(30))
    socket = await connect(await sync_to_async(ws_login)(alice), run)
    assert await seqs(socket, 10, ack=False) == list(range(1, 11))
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "ack", "seq": 10})
    assert await seqs(socket, 20) == list(range(11, 31))
    await socket.disconnect()
