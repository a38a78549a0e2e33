"""GET /threads/<deployment>/<thread>/export.json: the thread, its whole history and its runs."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.threads.presenters import checkpoint_id_of
from switchboard import SyncClient
from tests.fixtures.threads import DemoThreads

pytestmark = pytest.mark.django_db


def test_it_exports_the_thread_with_its_whole_history(
    client: Client,
    bob: User,
    deployment_a: Deployment,
    demo_threads: DemoThreads,
    graph_client: SyncClient,
) -> None:
    client.force_login(bob)
    response = client.get(f"/threads/{deployment_a.pk}/{demo_threads.forked}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert f'filename="thread-{demo_threads.forked}.json"' in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["thread"]["thread_id"] == demo_threads.forked
    expected = graph_client.get_state_history(demo_threads.forked, limit=1000)
    assert [checkpoint_id_of(s) for s in document["history"]] == [
        checkpoint_id_of(s) for s in expected
    ]
    assert len(document["runs"]) == 4
    assert document["deployment"] == {"id": deployment_a.pk, "name": deployment_a.name}


def test_it_explains_when_it_cannot_export(
    client: Client, alice: User, down_deployment: Deployment
) -> None:
    client.force_login(alice)
    response = client.get(
        f"/threads/{down_deployment.pk}/01a1fd17-55f2-752f-bc2b-d3b12d9977e2/export.json"
    )
    assert response.status_code == 503
    assert "Cannot export this thread" in response.content.decode()
