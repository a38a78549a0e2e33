"""The console's own probes of a deployment, on `langgraph dev` and on Aegra 0.11: the
"Test connection" button and the status page's deployment check both go through the SDK's
``health()``, which falls back to Aegra's ``/health`` (Aegra has no ``/ok``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient

from apps.accounts.models import Team
from apps.deployments.models import Deployment
from apps.health.checks import check_deployment
from tests.contract.conftest import Server

pytestmark = pytest.mark.timeout(900)  # the first Aegra test of a machine builds its venv


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Any) -> None:
    # Both servers run on 127.0.0.1, started by the test.
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = True


@pytest.fixture
def deployment(server: Server, team_a: Team) -> Deployment:
    return Deployment.objects.create(team=team_a, name=server.name, url=server.url)


def test_test_connection_says_the_deployment_answers(alice: User, deployment: Deployment) -> None:
    # Django's test client (this directory's ``client`` fixture is the SDK's).
    browser = DjangoClient()
    browser.force_login(alice)
    response = browser.post(f"/deployments/{deployment.pk}/test/")
    assert response.status_code == 200
    assert f"{deployment.url} answers.".encode() in response.content


def test_the_status_check_finds_the_deployment_up(deployment: Deployment) -> None:
    check = check_deployment(deployment)
    assert check.ok, check.detail
