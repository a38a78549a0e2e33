"""The thread page on a server that lacks the graph drawing: the rest of the page comes from
the real `langgraph dev`, and the graph panel says in a sentence what is missing.

Only the transport is replaced (httpx MockTransport in the deployment's SDK client): it
forwards every request to the real server except the drawing, answered 405 as a server
without the endpoint answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments import clients
from apps.deployments.models import Deployment
from switchboard import SyncClient
from tests.fixtures.threads import DemoThreads, index_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_drawing(deployment_a: Deployment) -> Iterator[list[str]]:
    refused: list[str] = []
    upstream = httpx.Client(base_url=deployment_a.url, timeout=30.0)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graph"):
            refused.append(request.url.path)
            return httpx.Response(405, json={"detail": "Method Not Allowed"})
        answer = upstream.request(
            request.method,
            request.url.path,
            params=request.url.params,
            content=request.read(),
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    client = SyncClient(deployment_a.url, transport=httpx.MockTransport(handler), max_retries=0)
    key = clients._cache_key(deployment_a)
    clients._sync_clients[key] = client
    yield refused
    clients._sync_clients.pop(key, None)
    client.close()
    upstream.close()


def test_the_graph_panel_says_the_server_lacks_the_drawing(
    alice: User, deployment_a: Deployment, demo_threads: DemoThreads, no_drawing: list[str]
) -> None:
    index_row(deployment_a, thread_id=demo_threads.refund, graph_id="refund_approval")
    client = Client()
    client.force_login(alice)
    page = client.get(f"/threads/{deployment_a.pk}/{demo_threads.refund}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cannot draw the graph: The deployment does not offer this" in html
    assert "its server lacks it" in html
    assert no_drawing
