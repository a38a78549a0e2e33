"""Loaded with ``-p tests.isolation`` before pytest-django reads the settings (conftest files are
too late): concurrent runs of the suite on one machine must not share Redis keys, Celery queues or
test databases."""

from __future__ import annotations

import os

os.environ.setdefault("SWITCHBOARD_REDIS_PREFIX", f"sbtest-{os.getpid()}")
os.environ.setdefault("SWITCHBOARD_TEST_RUN", str(os.getpid()))
