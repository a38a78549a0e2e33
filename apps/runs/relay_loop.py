"""The relay loop: one event loop per process, on which every relay of the process follows its run.

A relay task (a Celery pool thread, ``apps.runs.tasks.relay_run``) claims its run, hands the
following to this loop and waits for the outcome. On the loop, each relay is a coroutine reading
its stream with the SDK's async client; what it reads is stored by the group commit's writer
thread (``apps.runs.lease.GroupCommit``). So an event costs no thread hand-off of its own: the
loop crosses to the writer once per transaction, however many relays' events it carries, where a
thread per relay cost two wake-ups per network read (the SDK's loop to the relay, the relay to
the group's leader).

The pool thread still carries the task for the run's whole life, so Celery's late
acknowledgement (a task lost with its worker is delivered again) works as before.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from apps.deployments.clients import async_client_for
from apps.deployments.models import Deployment
from switchboard import Client

T = TypeVar("T")


class RelayLoop:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._clients: dict[tuple[int, str], Client] = {}

    def run(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Run ``function(*args)`` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(function(*args), self._running()).result()

    def client(self, deployment: Deployment) -> Client:
        """The loop's async client for ``deployment`` (an async client belongs to the loop it
        was first used on), rebuilt when the deployment row changes. Call it on the loop."""
        key = (deployment.pk, deployment.updated_at.isoformat())
        client = self._clients.get(key)
        if client is None:
            # A client of the row's previous version is forgotten, not closed: relays that
            # started before the change still read their streams through it.
            for old in [known for known in self._clients if known[0] == deployment.pk]:
                del self._clients[old]
            client = self._clients[key] = async_client_for(deployment)
        return client

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # A loop inherited across a fork has no thread here: start one of our own.
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="relay-loop", daemon=True)
                thread.start()
                self._loop, self._pid, self._clients = loop, os.getpid(), {}
            return self._loop


relay_loop = RelayLoop()
