"""The inbox keeps its records current from what the thread index and the relays read from
deployments (``apps.threads.signals``); connected in ``InboxConfig.ready()``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.deployments.models import Deployment
from apps.inbox.records import sync_threads


def threads_seen(
    sender: Any, deployment: Deployment, threads: Sequence[dict[str, Any]], **kwargs: Any
) -> None:
    sync_threads(deployment, threads)
