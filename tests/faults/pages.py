"""A run page that survives faults: it reconnects like static/js/runs.js does, with the last
sequence number it applied, drops duplicates, and records everything it saw, so tests can prove
"replay + live = the complete sequence" across a restarted Daphne or Redis.

Unlike ``tests.fixtures.workers.PageReader`` (which it uses for each connection) it never gives up
on a closed socket: a fault is the point of these tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from tests.fixtures.workers import PageReader

END = "switchboard/end"


class ResyncingPage:
    def __init__(self, base_url: str, run_id: int, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.run_id = run_id
        self.headers = headers
        self.applied: list[int] = []  # seqs in the order the page applied them
        self.duplicates = 0
        self.out_of_order: list[tuple[int, int]] = []  # (had, got) where got > had + 1
        self.connections = 0
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._reader: PageReader | None = None
        self._thread = threading.Thread(target=self._follow, daemon=True)

    @property
    def last(self) -> int:
        return self.applied[-1] if self.applied else 0

    def start(self) -> ResyncingPage:
        self._thread.start()
        return self

    def wait_until_ended(self, timeout: float) -> bool:
        ended = self.ended.wait(timeout)
        self.close()
        return ended

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.close()
        self._thread.join(10)

    def _follow(self) -> None:
        while not self._stop.is_set() and not self.ended.is_set():
            try:
                self._reader = PageReader(self.base_url, self.run_id, self.headers, after=self.last)
                self.connections += 1
                while not self._stop.is_set():
                    frame = self._reader.read(timeout=30)
                    if frame["type"] == "event" and self._apply(frame):
                        return
            except Exception:  # the socket died with the fault: reconnect, as the page does
                if self._reader is not None:
                    self._reader.close()
                self._reader = None
                with contextlib.suppress(Exception):
                    time.sleep(0.3)

    def _apply(self, frame: dict[str, Any]) -> bool:
        seq = int(frame["seq"])
        if seq <= self.last:
            self.duplicates += 1
            return False
        if seq > self.last + 1:
            # The consumer promises never to skip; record it, and ask for a backfill as the page does.
            self.out_of_order.append((self.last, seq))
            if self._reader is not None:
                self._reader.socket.send(json.dumps({"type": "backfill", "after": self.last}))
            return False
        self.applied.append(seq)
        if frame["event"] == END:
            self.ended.set()
            return True
        return False
