"""A deployment whose server lacks the Store, crons or assistant versions (405, as Aegra
answers for what it does not serve): each page says so in a sentence instead of failing.

The server is replaced at the one transport seam (httpx MockTransport inside the SDK client
the console builds for the deployment): a real server cannot be made to lack these.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.audit.models import AuditEntry
from apps.deployments import clients
from apps.deployments.models import Deployment
from switchboard import SyncClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def lacking(deployment_a: Deployment) -> Iterator[list[str]]:
    """Team A's deployment on a server that answers 405 to everything; yields the paths asked."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    client = SyncClient(deployment_a.url, transport=httpx.MockTransport(handler), max_retries=0)
    key = clients._cache_key(deployment_a)
    clients._sync_clients[key] = client
    yield asked
    clients._sync_clients.pop(key, None)
    client.close()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("page", "feature"),
    [
        ("store/?ns=users.alice", "the Store"),
        ("store/item/?ns=users.alice&key=k", "the Store"),
        ("crons/", "crons"),
        ("assistants/", "assistant search"),
        ("assistants/refund_approval/", "assistant versions"),
    ],
)
def test_a_page_says_in_a_sentence_what_the_server_lacks(
    page, feature, alice, deployment_a, lacking
):
    response = _client(alice).get(f"/deployments/{deployment_a.pk}/{page}")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"does not offer {feature}: its server lacks it" in html
    assert lacking  # the server was asked


def test_an_edit_on_a_server_without_a_store_says_so_and_audits_the_failure(
    alice, deployment_a, lacking
):
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/store/put/",
        {"ns": "users.alice", "key": "k", "value": "{}"},
    )
    assert response.status_code == 502
    assert "The deployment refused it" in response.content.decode()
    assert lacking == ["PUT /store/items"]
    outcome = AuditEntry.objects.get(action="gate.outcome")
    assert (outcome.after or {})["ok"] is False
