"""What /healthz and the status page report: each dependency, healthy or not, with what is wrong
in words."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return Check("database", False, f"The database does not answer: {error}")
    return Check("database", True, f"{connection.vendor} answers")


def check_redis() -> Check:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        return Check("redis", False, f"Redis does not answer at {settings.REDIS_URL}: {error}")
    finally:
        client.close()
    return Check("redis", True, "answers")


def check_worker() -> Check:
    try:
        replies = celery_app.control.ping(timeout=1.0)
    except (redis.RedisError, OSError) as error:
        return Check("worker", False, f"Cannot reach the Celery broker: {error}")
    if not replies:
        return Check(
            "worker", False, "No Celery worker answered within 1 s: background runs will not start."
        )
    names = sorted(name for reply in replies for name in reply)
    return Check("worker", True, f"{len(names)} answering: {', '.join(names)}")


def check_deployment(deployment: Deployment) -> Check:
    name = f"deployment:{deployment.name}"
    if not deployment.enabled:
        return Check(name, True, "disabled")
    try:
        sync_client_for(deployment).with_options(max_retries=0).health(timeout=PROBE_TIMEOUT)
    except SwitchboardError as error:
        return Check(name, False, f"{deployment.url} does not answer /ok: {error}")
    return Check(name, True, f"{deployment.url} answers")


def run_checks(deployments: QuerySet[Deployment]) -> list[Check]:
    checks = [check_database(), check_redis(), check_worker()]
    # Deployments are probed in parallel so one slow deployment costs the probe timeout once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        checks.extend(pool.map(check_deployment, list(deployments)))
    return checks
