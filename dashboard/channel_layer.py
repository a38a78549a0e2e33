"""The channel layer: channels_redis's pub/sub layer, bounded like its core layer.

The core layer (``RedisChannelLayer``) receives one message at a time per process, at four Redis
round trips each (a clean-up script, a blocking pop, a backup write, a backup pop), and sends with
four more. Measured here with 50 runs at 20 events/s, Daphne's single receive loop fell behind and
events waited 400 ms (p50) between the log and the page. The pub/sub layer publishes with one
round trip and receives as a stream, but queues without bound in the receiving process. This
layer bounds each channel's queue at ``capacity`` messages and drops the newest beyond it, as
the core layer does and the channel-layer spec allows: the run consumer refills any hole from the
event log, so a full queue costs a log read, never an event.

Producers are mostly plain threads (Celery relays, views): ``send_to_groups`` publishes from the
calling thread with redis-py's thread-safe client, several messages in one round trip, where
``async_to_sync`` would build an event loop (and Redis connections) per call, and a shared loop
thread would cost two thread hand-offs per message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _consistent_hash, _wrap_close, decode_hosts

log = logging.getLogger(__name__)

# A publish that takes longer than this fails (and the caller carries on: pages read the log).
PUBLISH_TIMEOUT = 5.0
# How long a shard's reader waits for a message, and after a failure before it tries again
# (channels_redis's own values).
READ_TIMEOUT = 0.1
RETRY_SECONDS = 1.0


class _BoundedQueue(asyncio.Queue[Any]):
    """A channel's queue of received messages: full means the newest message is dropped."""

    def __init__(self, channel: str, capacity: int) -> None:
        super().__init__(maxsize=capacity)
        self.channel = channel
        self.dropping = False

    def put_nowait(self, item: Any) -> None:
        if self.full():
            if not self.dropping:  # once per overflow, not once per dropped message
                log.info("channel %s is full (%s messages): dropping", self.channel, self.maxsize)
            self.dropping = True
            return
        self.dropping = False
        super().put_nowait(item)


class _Shard(RedisSingleShardConnection):  # type: ignore[misc]
    """A shard whose reader says whether it hears its subscriptions (``up``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.up = True

    async def _do_receiving(self) -> None:
        # The parent's loop, keeping ``up``; the parent's own logs a traceback every second of
        # an outage and never says when the connection is back: this one says each, once.
        while True:
            if not (self._pubsub and self._pubsub.subscribed):
                await asyncio.sleep(READ_TIMEOUT)
                continue
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=READ_TIMEOUT
                )
            except Exception as error:  # as the parent's: the reader outlives any failure
                if self.up:
                    log.warning("channel layer: lost its Redis connection (%r)", error)
                self.up = False
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if not self.up:
                # The read went through a new connection, which subscribed again first.
                log.warning("channel layer: Redis is back")
                self.up = True
            self._receive_message(message)


class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
    def __init__(self, hosts: Any = None, *args: Any, capacity: int = 100, **kwargs: Any) -> None:
        super().__init__(hosts, *args, **kwargs)
        self.capacity = capacity
        self._shards: list[_Shard] = [_Shard(host, self) for host in decode_hosts(hosts)]

    def hears(self, group: str) -> bool:
        shard: _Shard = self._get_shard(self._get_group_channel_name(group))
        return shard.up

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = _BoundedQueue(channel, self.capacity)
        # A consumer's own channel hears its groups through the in-process fan-out; its Redis
        # subscription serves only direct sends, which the console never makes. So a socket
        # opened while Redis is away is not refused for it (the run page is served from the log).
        try:
            await self._get_shard(channel).subscribe(channel)
        except (redis.RedisError, OSError) as error:
            log.info("channel %s: not subscribed, Redis unreachable (%s)", channel, error)


class BoundedPubSubChannelLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
    """``RedisPubSubChannelLayer`` with a ``capacity`` (messages per channel, default 100)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set here: the parent looks up any missing attribute on its per-loop layer, which
        # needs a running event loop.
        self._clients: list[redis.Redis] = []
        self._clients_lock = threading.Lock()

    def _get_layer(self) -> _LoopLayer:
        # As the parent's, with the bounded loop layer: one per event loop.
        loop = asyncio.get_running_loop()
        layer: _LoopLayer | None = self._layers.get(loop)
        if layer is None:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer

    def hears(self, group: str) -> bool:
        """False while the reader of ``group``'s shard is failing (Redis away): messages sent to
        the group meanwhile are lost. Asks no one: the reader keeps it."""
        return self._get_layer().hears(group)

    def send_to_groups(
        self,
        messages: Sequence[tuple[str, Mapping[str, Any]]],
        counters: Mapping[str, int] | None = None,
    ) -> None:
        """``group_send`` of each ``(group, message)``, in order, from a thread without an event
        loop: PUBLISHes on the shards the asynchronous layer would use, under the same channel
        names, pipelined (one round trip per shard). ``counters`` (Redis key: increment) are
        added in the same round trip, on the first host (``REDIS_URL``)."""
        clients = self._blocking_clients()
        pipelines: dict[int, Any] = {}
        for key, increment in (counters or {}).items():
            pipelines.setdefault(0, clients[0].pipeline(transaction=False)).incrby(key, increment)
        for group, message in messages:
            channel = f"{self._kwargs.get('prefix', 'asgi')}__group__{group}"
            shard = _consistent_hash(channel, len(clients))
            if shard not in pipelines:
                pipelines[shard] = clients[shard].pipeline(transaction=False)
            pipelines[shard].publish(channel, self.serialize(message))
        for pipeline in pipelines.values():
            pipeline.execute()

    def _blocking_clients(self) -> list[redis.Redis]:
        # redis-py pools are thread-safe and reset themselves in a forked child.
        with self._clients_lock:
            if not self._clients:
                hosts = decode_hosts(self._kwargs.get("hosts"))
                self._clients = [_blocking_client(host) for host in hosts]
            return self._clients


def _blocking_client(host: dict[str, Any]) -> redis.Redis:
    options = {key: value for key, value in host.items() if key != "address"}
    options.update(socket_timeout=PUBLISH_TIMEOUT, socket_connect_timeout=PUBLISH_TIMEOUT)
    return redis.Redis.from_url(host["address"], **options)


def hears(layer: BaseChannelLayer, groups: Iterable[str]) -> bool:
    """Whether this process hears what is sent to every one of ``groups``, as far as the layer
    knows (only the Redis layer can lose its connection)."""
    if not isinstance(layer, BoundedPubSubChannelLayer):
        return True
    return all(layer.hears(group) for group in groups)


def send_to_groups(
    layer: BaseChannelLayer,
    messages: Sequence[tuple[str, Mapping[str, Any]]],
    counters: Mapping[str, int] | None = None,
) -> None:
    """Send to groups from synchronous code, the cheapest way the layer offers (and, on the Redis
    layer, add ``counters`` in the same round trip; other layers do not count)."""
    if isinstance(layer, BoundedPubSubChannelLayer):
        layer.send_to_groups(messages, counters)
        return
    for group, message in messages:
        async_to_sync(layer.group_send)(group, message)
