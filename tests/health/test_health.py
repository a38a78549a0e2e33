"""Health for machines and for people, split (issue 14, row 1): ``/livez`` and ``/readyz`` need
no login and say nothing about deployments; a down deployment never makes the console unready;
the status page shows a member their own teams' deployments only; no answer echoes a URL's
password."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client

from apps.deployments.models import Deployment
from apps.health.checks import recent_worker_check
from dashboard.celery import app as celery_app
from dashboard.embedded import free_port, start_redis, stop

pytestmark = pytest.mark.django_db

REDIS_PASSWORD = "s3cret-redis-password"


def _checks(response) -> dict[str, dict[str, object]]:
    return {check["name"]: check for check in response.json()["checks"]}


@pytest.fixture(autouse=True)
def fresh_worker_check() -> Iterator[None]:
    # Each test asks its own workers: no answer is carried over from the test before.
    recent_worker_check.forget()
    yield
    recent_worker_check.forget()


@pytest.fixture
def pings(monkeypatch) -> list[float]:
    """The timeouts of every worker ping this process sends (each still goes to the broker)."""
    sent: list[float] = []
    ping = celery_app.control.ping

    def counted(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs.get("timeout", 0.0))
        return ping(*args, **kwargs)

    monkeypatch.setattr(celery_app.control, "ping", counted)
    return sent


def test_livez_answers_without_login_and_checks_nothing_else(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # Redis down: still alive
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.django_db(transaction=True)
def test_a_down_deployment_never_makes_the_console_unready(client, team_a, default_worker):
    down = Deployment.objects.create(
        team=team_a, name="Billing agents", url=f"http://user:key@127.0.0.1:{free_port()}"
    )

    response = client.get("/readyz")

    assert response.status_code == 200
    assert set(_checks(response)) == {"database", "redis", "worker"}
    body = response.content.decode()
    for secret in (down.name, down.url, "127.0.0.1", "deployment"):
        assert secret not in body


def test_readyz_is_503_when_redis_is_down_and_never_shows_its_password(client, settings, tmp_path):
    port = free_port()
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    settings.REDIS_URL = url

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["ok"] is False
    assert _checks(response)["redis"]["ok"] is False
    assert "Redis does not answer" in str(_checks(response)["redis"]["detail"])
    body = response.content.decode()
    assert REDIS_PASSWORD not in body
    assert str(port) not in body


def test_readyz_reports_a_stopped_redis_and_its_return(client, settings, tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    redis_server = start_redis(url, tmp_path, tmp_path / "redis.log")
    settings.REDIS_URL = url
    assert _checks(client.get("/readyz"))["redis"]["ok"] is True

    stop(redis_server)

    assert _checks(client.get("/readyz"))["redis"]["ok"] is False


def test_readyz_says_when_no_worker_answers(client):
    # No Celery worker consumes this test run's queues unless a test starts one.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "No Celery worker answered" in str(_checks(response)["worker"]["detail"])


def test_readyz_hits_within_the_cache_window_share_one_worker_ping(client, settings, pings):
    settings.HEALTH_READY_CACHE_SECONDS = 3600

    first = client.get("/readyz")
    second = client.get("/readyz")

    assert len(pings) == 1
    assert _checks(second)["worker"] == _checks(first)["worker"]
    settings.HEALTH_READY_CACHE_SECONDS = 0
    client.get("/readyz")
    assert len(pings) == 2


def test_a_flood_of_simultaneous_readyz_hits_sends_one_worker_ping(settings, pings):
    settings.HEALTH_READY_CACHE_SECONDS = 3600

    def hit(_: int) -> int:
        try:
            return Client().get("/readyz").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(hit, range(8)))

    assert statuses == [503] * 8  # no worker answers in this test
    assert len(pings) == 1


def test_the_old_healthz_that_listed_every_deployment_is_gone(client, deployment_a):
    assert client.get("/healthz").status_code == 404


def test_the_status_page_needs_a_login(client):
    response = client.get("/status/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_status_page_shows_a_member_only_their_teams_deployments(
    client, alice, deployment_a, deployment_b
):
    client.force_login(alice)
    page = client.get("/status/").content.decode()
    for component in ("database", "redis", "worker", "deployment:A demo"):
        assert component in page
    assert "deployment:B demo" not in page


def test_the_status_page_names_a_broken_deployment_without_its_credentials(client, alice, team_a):
    Deployment.objects.create(
        team=team_a, name="Billing agents", url=f"http://user:hunter2@127.0.0.1:{free_port()}"
    )
    client.force_login(alice)
    page = client.get("/status/").content.decode()
    assert "does not answer its health check" in page
    assert "hunter2" not in page


def test_disabled_deployments_are_not_probed(client, alice, team_a):
    Deployment.objects.create(team=team_a, name="Parked", url="http://127.0.0.1:9", enabled=False)
    client.force_login(alice)
    assert "disabled" in client.get("/status/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_in_production_the_probes_answer_plain_http_without_a_redirect(start_daphne):
    from cryptography.fernet import Fernet

    _, url = start_daphne(
        {
            "SECRET_KEY": "k" * 30 + "-production-secret-key-0123456789",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    with httpx.Client(base_url=url, timeout=30) as probe:
        live = probe.get("/livez")
        ready = probe.get("/readyz")
        page = probe.get("/accounts/login/")

    assert live.status_code == 200
    assert ready.status_code in (200, 503)
    assert set(ready.json()) == {"ok", "checks"}
    # Everything else still goes to https.
    assert page.status_code == 301
