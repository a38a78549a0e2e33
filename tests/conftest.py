"""Suite-wide set-up. Fixture modules live in tests/fixtures/ and are all loaded here, so each
capability can add its own fixtures without editing this file."""

from __future__ import annotations

import os
from pathlib import Path

# Concurrent runs of the suite on one machine (developers, CI) must not share Redis keys, Celery
# queues or test databases. Set before Django reads its settings.
os.environ.setdefault("SWITCHBOARD_REDIS_PREFIX", f"sbtest-{os.getpid()}")
os.environ.setdefault("SWITCHBOARD_TEST_RUN", str(os.getpid()))

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
