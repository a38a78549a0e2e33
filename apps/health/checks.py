"""What ``/readyz`` and the status page report: each dependency, healthy or not, in words.

``/readyz`` is for machines (a load balancer, an orchestrator) and anyone who can reach the
console: it checks only what this console itself needs (its database, Redis, a worker), names no
deployment and no address, and says what is wrong in words without the error's text (which may
hold a host, a port or a URL with its password). A deployment that is down is its team's problem,
shown on the status page to its members, and never takes the console out of a load balancer.

Asking the workers takes up to a second (Celery waits that long for replies). Each process reuses
its last answer for ``HEALTH_READY_CACHE_SECONDS``, so a flood of anonymous ``/readyz`` hits costs
one ping a window; the database and Redis checks are cheap and always fresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet

from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from dashboard.celery import app as celery_app
from switchboard import SwitchboardError

PROBE_TIMEOUT = 2.0
# user:password@ in any URL an error message quotes.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def without_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it removed."""
    return _USERINFO.sub(r"\g<scheme>", text)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return Check("database", False, f"The database does not answer ({type(error).__name__}).")
    return Check("database", True, f"{connection.vendor} answers")


def check_redis() -> Check:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        return Check("redis", False, f"Redis does not answer ({type(error).__name__}).")
    finally:
        client.close()
    return Check("redis", True, "answers")


def check_worker() -> Check:
    try:
        replies = celery_app.control.ping(timeout=1.0)
    except (redis.RedisError, OSError) as error:
        return Check("worker", False, f"Cannot reach the Celery broker ({type(error).__name__}).")
    if not replies:
        return Check(
            "worker", False, "No Celery worker answered within 1 s: background runs will not start."
        )
    return Check("worker", True, f"{sum(len(reply) for reply in replies)} answering")


class RecentCheck:
    """A check's last result, reused for ``HEALTH_READY_CACHE_SECONDS`` in this process."""

    def __init__(self, check: Callable[[], Check]) -> None:
        self.check = check
        self.last: tuple[float, Check] | None = None
        # Held while checking: requests that arrive meanwhile wait for that answer instead of
        # asking again.
        self.lock = threading.Lock()

    def __call__(self) -> Check:
        with self.lock:
            if (
                self.last is None
                or time.monotonic() - self.last[0] >= settings.HEALTH_READY_CACHE_SECONDS
            ):
                # The window counts from the answer: a ping that waited its whole second for
                # replies is still reused for the full window.
                answer = self.check()
                self.last = (time.monotonic(), answer)
            return self.last[1]

    def forget(self) -> None:
        with self.lock:
            self.last = None


recent_worker_check = RecentCheck(check_worker)


def readiness_checks() -> list[Check]:
    """The console's own dependencies: what decides whether it can serve."""
    return [check_database(), check_redis(), recent_worker_check()]


def check_deployment(deployment: Deployment) -> Check:
    name = f"deployment:{deployment.name}"
    url = without_credentials(deployment.url)
    if not deployment.enabled:
        return Check(name, True, "disabled")
    try:
        sync_client_for(deployment).with_options(max_retries=0).health(timeout=PROBE_TIMEOUT)
    except SwitchboardError as error:
        return Check(
            name, False, without_credentials(f"{url} does not answer its health check: {error}")
        )
    return Check(name, True, f"{url} answers")


def deployment_checks(deployments: QuerySet[Deployment]) -> list[Check]:
    # Deployments are probed in parallel so one slow deployment costs the probe timeout once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(check_deployment, list(deployments)))
