"""POST /threads/sync/<deployment>/: the refresh button syncs one deployment now."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.audit.models import AuditEntry
from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from tests.fixtures.threads import DemoThreads

pytestmark = pytest.mark.django_db


def test_it_syncs_the_deployment_and_goes_back(
    client: Client, bob: User, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    client.force_login(bob)
    response = client.post(f"/threads/sync/{deployment_a.pk}/", {"next": "/threads/?status=error"})
    assert response.status_code == 302
    assert response["Location"] == "/threads/?status=error"
    assert ThreadIndex.objects.filter(
        deployment=deployment_a, thread_id=demo_threads.support
    ).exists()
    # A refresh only re-reads the deployment: nothing to audit.
    assert not AuditEntry.objects.exists()
    page = client.get("/threads/").content.decode()
    assert "A demo: Synced:" in page


def test_it_answers_htmx_with_the_result_and_an_event(
    client: Client, alice: User, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    client.force_login(alice)
    response = client.post(f"/threads/sync/{deployment_a.pk}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "threads-synced"
    assert "Synced:" in response.content.decode()


def test_it_says_why_a_sync_failed(
    client: Client, alice: User, down_deployment: Deployment
) -> None:
    client.force_login(alice)
    response = client.post(
        f"/threads/sync/{down_deployment.pk}/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/threads/"
    assert "Could not reach the deployment" in client.get("/threads/").content.decode()


def test_it_refuses_another_teams_deployment(
    client: Client, alice: User, deployment_b: Deployment
) -> None:
    client.force_login(alice)
    assert client.post(f"/threads/sync/{deployment_b.pk}/").status_code == 404


def test_it_only_accepts_post(client: Client, alice: User, deployment_a: Deployment) -> None:
    client.force_login(alice)
    assert client.get(f"/threads/sync/{deployment_a.pk}/").status_code == 405
