"""kombu's Redis transport, with one fix that keeps Celery workers alive when Redis goes away.

Selected by ``CELERY_BROKER_TRANSPORT`` in settings (for ``redis://`` broker URLs).

The bug (kombu 5.7 + Celery 5.7 + redis-py 8): when the broker connection drops while a worker
holds unacknowledged messages (any ``acks_late`` task running, as every relay is), Celery's
``Consumer.on_connection_error_after_connected`` cleans up in two steps:

1. ``connection.collect()`` closes the default channel, then detaches the transport from the
   connection (``transport.client = None``). The channel's ``close()`` does network work before
   it marks itself closed (it reads the pending BRPOP reply, deletes the pidbox's auto-delete
   fanout queue); with Redis gone that raises ``ConnectionError``, which is ignored, and the
   channel stays half open, its unacked messages not yet restored.
2. ``connection.close()`` closes that channel again. Now it gets as far as restoring the unacked
   messages, which needs a Redis client built from ``transport.client``: ``None``. The
   ``AttributeError`` ('NoneType' object has no attribute 'hostname') is not a connection
   error, so Celery treats it as fatal: "Unrecoverable error", and the worker exits once its
   running tasks end.

The fix: a channel whose connection let go of it (closed, or its transport detached) raises the
``ConnectionError`` it really is, instead of an ``AttributeError`` on the missing piece.
Celery ignores it during cleanup and reconnects as it does for any broker outage. The unacked
messages are not restored by this worker then (Redis is down); if Redis kept them, kombu's
visibility-timeout sweep restores them, and for relays the lease reaper re-dispatches the run
anyway.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        # A closed channel has no transport; a collected connection's transport has no client.
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection was closed; reconnecting")
        # (Private in kombu, so missing from its type stubs.)
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel
