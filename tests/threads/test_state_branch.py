"""GET /threads/<deployment>/<thread>/branch/?checkpoint=&key=: one top-level key of a large
state, which the thread page loads when that branch of its state tree is opened."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.threads.presenters import checkpoint_id_of
from switchboard import SyncClient
from tests.fixtures.threads import SCRIPT, DemoThreads

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def large_thread(graph_client: SyncClient) -> str:
    # flaky's "steps" list grows with every update: 2,000 strings make a state worth loading
    # a branch at a time, and the first one is hostile.
    thread_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(thread_id, assistant_id="flaky", input={})
    graph_client.update_thread_state(
        thread_id, {"steps": [SCRIPT] + [f"s{i}" for i in range(2000)]}, as_node="finish"
    )
    return thread_id


def _get(client: Client, url: str, status: int = 200, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def test_the_thread_page_sends_a_large_branch_as_a_link_that_works_without_htmx(
    logged_in: Client, deployment_a: Deployment, large_thread: str, graph_client: SyncClient
) -> None:
    page = _get(logged_in, f"/threads/{deployment_a.pk}/{large_thread}/")
    head = checkpoint_id_of(graph_client.get_thread_state(large_thread))
    href = f"/threads/{deployment_a.pk}/{large_thread}/branch/?checkpoint={head}&amp;key=steps"
    assert f'<a href="{href}">Show this branch</a>' in page
    assert f'hx-get="{href}" hx-trigger="toggle once"' in page
    assert '"s150"' not in page  # not sent until asked for

    branch = _get(logged_in, href.replace("&amp;", "&"))
    assert "<h1>State key" in branch
    assert "</html>" in branch
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in branch
    assert SCRIPT not in branch
    assert '"s150"' in branch
    assert "… 1704 more" in branch  # 3 steps run + 2,001 written; 300 shown


def test_it_answers_htmx_with_the_branch_alone(
    logged_in: Client, deployment_a: Deployment, large_thread: str, graph_client: SyncClient
) -> None:
    head = checkpoint_id_of(graph_client.get_thread_state(large_thread))
    body = _get(
        logged_in,
        f"/threads/{deployment_a.pk}/{large_thread}/branch/?checkpoint={head}&key=steps",
        HTTP_HX_REQUEST="true",
    )
    assert body.lstrip().startswith('<div class="jtree"><ul>')
    assert "<html" not in body
    assert SCRIPT not in body


def test_it_reads_the_branch_at_the_checkpoint_in_the_link(
    logged_in: Client, deployment_a: Deployment, large_thread: str, graph_client: SyncClient
) -> None:
    before = checkpoint_id_of(graph_client.get_thread_state(large_thread))
    graph_client.update_thread_state(large_thread, {"steps": ["later"]}, as_node="finish")
    body = _get(
        logged_in,
        f"/threads/{deployment_a.pk}/{large_thread}/branch/?checkpoint={before}&key=steps",
    )
    assert '"s1"' in body
    assert '"later"' not in body


def test_it_says_so_for_a_key_the_state_does_not_have(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    head = checkpoint_id_of(graph_client.get_thread_state(demo_threads.refund))
    url = f"/threads/{deployment_a.pk}/{demo_threads.refund}/branch/?checkpoint={head}"
    body = _get(logged_in, f"{url}&key=%3Cb%3Enope", status=404)
    assert "has no key “&lt;b&gt;nope”" in body
    # As an htmx swap the same sentence arrives as a 200, or htmx would not show it.
    body = _get(logged_in, f"{url}&key=nope", HTTP_HX_REQUEST="true")
    assert "has no key “nope”" in body


def test_it_needs_a_checkpoint_id(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    for query in ("key=steps", "checkpoint=../../x&key=steps"):
        body = _get(
            logged_in,
            f"/threads/{deployment_a.pk}/{demo_threads.refund}/branch/?{query}",
            status=400,
        )
        assert "does not say which checkpoint" in body


def test_it_answers_404_for_another_teams_thread(
    logged_in: Client, deployment_b: Deployment, demo_threads: DemoThreads
) -> None:
    checkpoint = "1f1e5807-3c9a-602d-8001-e64740eeeaff"
    url = f"/threads/{deployment_b.pk}/{demo_threads.refund}/branch/?checkpoint={checkpoint}&key=x"
    assert logged_in.get(url).status_code == 404
