"""The broker transport the console's Celery processes use (dashboard/broker.py), on real Redis.

The whole story (a relay worker living through a Redis outage) is
``tests/faults/test_f3_redis_outage.py::test_a_relay_worker_survives_a_redis_outage``; here is the
one step that used to kill the worker, made on purpose.
"""

from __future__ import annotations

import pytest

from dashboard.celery import app


def test_the_console_uses_the_fixed_transport():
    with app.connection_for_write() as connection:
        assert connection.transport_cls == "dashboard.broker:Transport"


def test_a_channel_its_connection_let_go_of_raises_a_connection_error_when_used():
    # After losing the broker Celery collects the connection (which detaches the transport), then
    # closes its channels again; restoring their unacked messages needs a Redis client. Celery
    # recovers from connection errors only: an AttributeError here stopped the worker.
    with app.connection_for_write() as connection:
        channel = connection.channel()
        connection.collect()

        with pytest.raises(connection.connection_errors):
            channel.qos.restore_unacked()  # type: ignore[attr-defined]
