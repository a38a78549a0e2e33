"""The channel layer on the real Redis: pub/sub, bounded per channel, sendable from any thread."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, cast

from django.conf import settings

from dashboard.channel_layer import BoundedPubSubChannelLayer


def _layer(capacity: int) -> BoundedPubSubChannelLayer:
    config = cast("dict[str, Any]", settings.CHANNEL_LAYERS["default"]["CONFIG"])
    prefix = f"{config['prefix']}{uuid.uuid4().hex[:8]}:"
    return BoundedPubSubChannelLayer(hosts=config["hosts"], prefix=prefix, capacity=capacity)


async def _subscribed(layer: BoundedPubSubChannelLayer, group: str) -> str:
    channel: str = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def test_a_channel_holds_at_most_its_capacity_and_drops_the_newest_beyond_it() -> None:
    layer = _layer(capacity=5)
    channel = await _subscribed(layer, "run-1")
    for n in range(1, 21):
        await layer.group_send("run-1", {"type": "run.event", "n": n})
    await asyncio.sleep(0.3)  # all 20 have reached the process by now; 15 found it full
    kept = [(await asyncio.wait_for(layer.receive(channel), 2))["n"] for _ in range(5)]
    assert kept == [1, 2, 3, 4, 5]
    await layer.group_send("run-1", {"type": "run.event", "n": 21})
    assert (await asyncio.wait_for(layer.receive(channel), 2))["n"] == 21
    await layer.flush()


async def test_a_thread_without_an_event_loop_sends_to_a_group_in_order_alone_or_many_at_once() -> (
    None
):
    layer = _layer(capacity=100)
    channel = await _subscribed(layer, "run-2")

    def relay() -> None:  # what a Celery relay thread does
        for n in range(1, 41):
            layer.send_to_groups([("run-2", {"type": "run.event", "n": n})])
        layer.send_to_groups([("run-2", {"type": "run.event", "n": n}) for n in range(41, 51)])

    sender = threading.Thread(target=relay)
    sender.start()
    got = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(50)]
    sender.join()
    assert got == list(range(1, 51))
    await layer.flush()


async def test_layers_with_different_prefixes_do_not_hear_each_other() -> None:
    # Pub/sub ignores Redis database numbers: the prefix is what keeps two consoles (or two test
    # runs) on one Redis apart.
    mine, theirs = _layer(capacity=10), _layer(capacity=10)
    channel = await _subscribed(mine, "run-3")
    await theirs.group_send("run-3", {"type": "run.event", "n": 1})
    await mine.group_send("run-3", {"type": "run.event", "n": 2})
    assert (await asyncio.wait_for(mine.receive(channel), 2))["n"] == 2
    await mine.flush()
    await theirs.flush()
