"""The assistants page against the real `langgraph dev`: assistants with their versions and
config, and what changed between two versions (the threads' differ)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def versioned(graph_client):
    made = graph_client.assistants.create(
        "refund_approval", config={"configurable": {"limit": 100}}, name="refunds-v"
    )
    graph_client.assistants.update(
        made["assistant_id"], config={"configurable": {"limit": 250, "region": "<eu>"}}
    )
    yield made
    graph_client.assistants.delete(made["assistant_id"])


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_assistants_are_listed_with_their_graph_version_and_config(bob, deployment_a, versioned):
    page = _client(bob).get(f"/deployments/{deployment_a.pk}/assistants/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "refunds-v" in html
    assert "refund_approval" in html
    assert f"/assistants/{versioned['assistant_id']}/" in html
    assert "&lt;eu&gt;" in html
    assert "<eu>" not in html


def test_two_versions_are_diffed(bob, deployment_a, versioned):
    page = _client(bob).get(
        f"/deployments/{deployment_a.pk}/assistants/{versioned['assistant_id']}/",
        {"from": "1", "to": "2"},
    )
    assert page.status_code == 200
    html = page.content.decode()
    # The server mirrors ``configurable`` into ``context``: both are reported.
    assert "From version 1 to version 2: 4 changes" in html
    assert "config.configurable.limit" in html
    assert "config.configurable.region" in html
    assert "Version 1" in html
    assert "Version 2" in html


def test_the_newest_two_versions_are_compared_by_default(bob, deployment_a, versioned):
    page = _client(bob).get(
        f"/deployments/{deployment_a.pk}/assistants/{versioned['assistant_id']}/"
    )
    assert "From version 1 to version 2" in page.content.decode()


def test_a_version_the_assistant_lacks_gets_a_sentence(bob, deployment_a, versioned):
    page = _client(bob).get(
        f"/deployments/{deployment_a.pk}/assistants/{versioned['assistant_id']}/",
        {"from": "7"},
    )
    assert page.status_code == 400
    assert "has no version" in page.content.decode()
