from __future__ import annotations

import pytest

from apps.deployments.models import Deployment
from dashboard.embedded import free_port, start_redis, stop

pytestmark = pytest.mark.django_db


def _failing(response) -> dict[str, str]:
    return {
        check["name"]: check["detail"] for check in response.json()["checks"] if not check["ok"]
    }


def test_it_reports_a_stopped_redis_as_unhealthy_and_says_so(client, settings, tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    redis_server = start_redis(url, tmp_path, tmp_path / "redis.log")
    settings.REDIS_URL = url
    assert "redis" not in _failing(client.get("/healthz"))

    stop(redis_server)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["ok"] is False
    assert f"Redis does not answer at {url}" in _failing(response)["redis"]


def test_it_reports_an_unreachable_deployment_by_name(client, team_a):
    Deployment.objects.create(
        team=team_a, name="Billing agents", url=f"http://127.0.0.1:{free_port()}"
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "does not answer /ok" in _failing(response)["deployment:Billing agents"]


def test_it_reports_a_reachable_deployment_as_healthy(client, deployment_a):
    checks = {check["name"]: check for check in client.get("/healthz").json()["checks"]}
    assert checks["deployment:A demo"]["ok"] is True
    assert checks["database"]["ok"] is True


def test_it_says_when_no_worker_answers(client):
    # No Celery worker consumes this test run's queues unless a test starts one.
    assert "No Celery worker answered" in _failing(client.get("/healthz"))["worker"]


def test_the_status_page_needs_a_login(client):
    response = client.get("/status/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_status_page_shows_each_component_in_words(client, alice, deployment_a):
    client.force_login(alice)
    page = client.get("/status/").content.decode()
    for component in ("database", "redis", "worker", "deployment:A demo"):
        assert component in page


def test_disabled_deployments_are_not_probed(client, team_a):
    Deployment.objects.create(team=team_a, name="Parked", url="http://127.0.0.1:9", enabled=False)
    assert "deployment:Parked" not in _failing(client.get("/healthz"))
