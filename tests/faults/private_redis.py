"""A Redis of the test's own, for tests that stop and restart it (F3).

Never the machine's shared Redis: other runs of the suite use it at the same time. The server
listens on a free port; ``kill()`` stops it (its data goes with it), ``restart()`` starts it again
on the same port. The ``private_redis`` fixture (tests/faults/conftest.py) stops it after the test.
Processes that should use it get ``REDIS_URL=private_redis.url`` in their environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard.embedded import free_port, redis_answers, start_redis, stop


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = f"redis://127.0.0.1:{free_port()}/0"
        self.proc = self._start()

    def _start(self) -> Any:
        return start_redis(self.url, self.directory, self.directory / "redis.log")

    def kill(self) -> None:
        stop(self.proc, timeout=2)
        assert not redis_answers(self.url)

    def restart(self) -> None:
        self.proc = self._start()

    def stop(self) -> None:
        stop(self.proc)


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    """Poll ``check`` every 0.1 s until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
