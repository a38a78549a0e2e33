"""GET /threads/<deployment>/<thread>/diff/?from=&to=: what changed between two checkpoints of a
real thread (messages appended, paths added/changed), including across a fork."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.threads.presenters import checkpoint_id_of
from switchboard import SyncClient
from tests.fixtures.threads import DemoThreads

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def _diff(
    client: Client,
    deployment: Deployment,
    thread_id: str,
    params: dict[str, str] | None = None,
    status: int = 200,
) -> str:
    response = client.get(f"/threads/{deployment.pk}/{thread_id}/diff/", params)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def _ids(client: SyncClient, thread_id: str) -> list[str]:
    return [checkpoint_id_of(s) for s in client.get_state_history(thread_id, limit=100)]


def test_it_shows_messages_appended_by_the_model(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    ids = _ids(graph_client, demo_threads.support)  # newest first: after_model, model, start, input
    body = _diff(logged_in, deployment_a, demo_threads.support, {"from": ids[-2], "to": ids[0]})
    assert "1 message appended" in body
    assert '<strong class="mono">issue_refund</strong>' in body
    assert "messages</span>: 1 message appended" in body
    assert "(step 0," in body, "the first step after the input is step 0, not an unknown one"


def test_it_defaults_to_the_current_checkpoint_against_its_parent(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    body = _diff(logged_in, deployment_a, demo_threads.refund)
    text = body.replace("&quot;", '"')
    assert '<td class="mono">outcome</td>' in text
    assert "1 added" in body or "changed" in body


def test_it_lists_added_and_changed_paths(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    ids = _ids(graph_client, demo_threads.refund)
    body = _diff(logged_in, deployment_a, demo_threads.refund, {"from": ids[-1], "to": ids[0]})
    for path in ("draft", "refund", "outcome", "feedback"):
        assert f'<td class="mono">{path}</td>' in body
    assert "removed" not in body.split("<table", 1)[0] or "0 removed" in body


def test_it_compares_across_the_branches_of_a_fork(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    history = graph_client.get_state_history(demo_threads.forked, limit=100)
    by_outcome = {(s["values"] or {}).get("outcome"): checkpoint_id_of(s) for s in history}
    body = _diff(
        logged_in,
        deployment_a,
        demo_threads.forked,
        {"from": by_outcome["refunded"], "to": by_outcome["ignored"]},
    )
    text = body.replace("&quot;", '"')
    assert '<td class="mono">outcome</td>' in text
    assert '"refunded"' in text
    assert '"ignored"' in text


def test_it_says_when_nothing_changed(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    cid = _ids(graph_client, demo_threads.refund)[0]
    assert "no change" in _diff(
        logged_in, deployment_a, demo_threads.refund, {"from": cid, "to": cid}
    )


def test_it_rejects_ids_that_are_not_checkpoints_and_keeps_them(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    body = _diff(
        logged_in,
        deployment_a,
        demo_threads.refund,
        {"from": "<b>nope</b>", "to": ""},
        status=400,
    )
    assert "is not a checkpoint id" in body
    assert 'value="&lt;b&gt;nope&lt;/b&gt;"' in body
    assert "<b>nope</b>" not in body


def test_it_says_so_when_a_checkpoint_is_not_on_the_thread(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    body = _diff(
        logged_in, deployment_a, demo_threads.refund, {"to": "1f1e5807-3c9a-602d-8001-e64740eeeaff"}
    )
    assert "This thread has no checkpoint 1f1e5807-3c9a-602d-8001-e64740eeeaff." in body


def test_it_says_so_when_the_deployment_is_down(
    logged_in: Client, down_deployment: Deployment, settings: Any
) -> None:
    body = _diff(logged_in, down_deployment, "01a1fd17-55f2-752f-bc2b-d3b12d9977e2")
    assert "Could not reach the deployment" in body
