"""A run started by assistant id (a resume, a decision) is labelled with its thread's graph."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.runs.models import Run
from tests.fixtures.threads import index_row


def test_a_resumed_run_shows_the_graph_name_not_the_assistant_uuid(
    client: Client, bob: User, deployment_a: Deployment, make_run: Callable[..., Run]
) -> None:
    assistant = str(uuid.uuid4())
    thread = index_row(deployment_a, graph_id="refund_approval")
    run = make_run(deployment_a, thread_id=thread.thread_id, assistant_id=assistant, kind="resume")
    client.force_login(bob)

    listed = client.get("/runs/").content.decode()
    detail = client.get(f"/runs/{run.pk}/").content.decode()

    for page in (listed, detail):
        assert "refund_approval" in page
        assert assistant not in page


def test_a_viewer_sees_start_a_run_disabled_with_the_reason(client: Client, bob: User) -> None:
    client.force_login(bob)

    page = client.get("/runs/").content.decode()

    assert 'disabled aria-describedby="start-why"' in page
    assert "needs the operator role" in page
