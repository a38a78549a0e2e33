"""The crons page against the real `langgraph dev`: crons listed with their schedule, next
run, graph and thread; paused, resumed and deleted through the gate."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.audit.models import AuditEntry
from switchboard import SyncClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def cron(graph_client):
    marker = uuid.uuid4().hex
    made = graph_client.crons.create("flaky", "0 0 1 1 *", input={}, metadata={"m": marker})
    yield made
    if graph_client.crons.search(metadata={"m": marker}):
        graph_client.crons.delete(made["cron_id"])


@pytest.fixture
def thread_cron(graph_client):
    thread = graph_client.create_thread()
    made = graph_client.crons.create_for_thread(
        thread["thread_id"], "flaky", "30 6 * * 1", input={}, enabled=False
    )
    yield made
    graph_client.crons.delete(made["cron_id"])


def _after(action: str) -> dict[str, Any]:
    """What the one audit entry ``action`` recorded."""
    return dict(AuditEntry.objects.get(action=action).after or {})


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_crons_are_listed_with_schedule_next_run_graph_and_thread(
    bob, deployment_a, cron, thread_cron
):
    page = _client(bob).get(f"/deployments/{deployment_a.pk}/crons/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "0 0 1 1 *" in html
    assert cron["next_run_date"] in html
    assert "30 6 * * 1" in html
    assert "flaky" in html
    assert f"/threads/{deployment_a.pk}/{thread_cron['thread_id']}/" in html
    assert "paused" in html  # the thread's cron was made disabled
    assert "a new thread each run" in html
    # A viewer sees no buttons.
    assert "/pause/" not in html
    assert "/delete/" not in html


def _find(graph_client: SyncClient, cron: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in graph_client.crons.search(limit=100) if c["cron_id"] == cron["cron_id"]]


def test_an_admin_deletes_a_cron_through_the_gate(alice, deployment_a, cron, graph_client):
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/crons/{cron['cron_id']}/delete/"
    )
    assert response.status_code == 302
    assert _find(graph_client, cron) == []
    assert _after("gate.intent")["action"] == "cron.delete"
    assert _after("gate.intent")["cron_id"] == cron["cron_id"]
    assert _after("gate.outcome")["ok"] is True


def test_an_admin_pauses_and_resumes_a_cron(alice, deployment_a, cron, graph_client):
    client = _client(alice)
    url = f"/deployments/{deployment_a.pk}/crons/{cron['cron_id']}/pause/"
    assert client.post(url, {"enabled": "0"}).status_code == 302
    assert _find(graph_client, cron)[0]["enabled"] is False
    assert "Resume" in client.get(f"/deployments/{deployment_a.pk}/crons/").content.decode()
    assert client.post(url, {"enabled": "1"}).status_code == 302
    assert _find(graph_client, cron)[0]["enabled"] is True
    actions = list(
        AuditEntry.objects.filter(action="gate.intent")
        .order_by("pk")
        .values_list("after__action", flat=True)
    )
    assert actions == ["cron.pause", "cron.resume"]


@pytest.mark.parametrize("who", ["oscar", "bob"])
def test_an_operator_or_a_viewer_cannot_pause_or_delete_a_cron(
    who, request, deployment_a, cron, graph_client
):
    client = _client(request.getfixturevalue(who))
    base = f"/deployments/{deployment_a.pk}/crons/{cron['cron_id']}"
    assert client.post(f"{base}/pause/", {"enabled": "0"}).status_code == 403
    assert client.post(f"{base}/delete/").status_code == 403
    assert _find(graph_client, cron)[0]["enabled"] is True
    assert not AuditEntry.objects.filter(action__startswith="gate.").exists()


def test_deleting_a_cron_the_server_no_longer_has_says_so(alice, deployment_a):
    client = _client(alice)
    response = client.post(
        f"/deployments/{deployment_a.pk}/crons/{uuid.uuid4()}/delete/", follow=True
    )
    assert response.status_code == 200
    assert "The deployment refused it" in response.content.decode()
    assert _after("gate.outcome")["ok"] is False


@pytest.fixture
def fired(graph_client: SyncClient) -> Iterator[tuple[dict[str, Any], str]]:
    """A cron that fires every minute, paused once it made its first thread (kept)."""
    marker = uuid.uuid4().hex
    made = graph_client.crons.create(
        "flaky",
        "* * * * *",
        input={"message": "tick"},
        metadata={"m": marker},
        on_run_completed="keep",
    )
    try:
        # The next minute boundary, and the scheduler's own poll after it.
        deadline = time.monotonic() + 150
        threads: list[Any] = []
        while not threads and time.monotonic() < deadline:
            time.sleep(2)
            threads = graph_client.threads.search(metadata={"m": marker}, limit=5)
        assert threads, "the cron made no thread within 150 s"
        graph_client.crons.update(made["cron_id"], enabled=False)
        yield made, str(threads[0]["thread_id"])
    finally:
        graph_client.crons.delete(made["cron_id"])


def test_the_threads_a_cron_made_are_listed_with_links(bob, deployment_a, fired, graph_client):
    cron, thread_id = fired
    # A thread with the same metadata that the cron did not make is not listed.
    other = graph_client.create_thread(
        metadata={**cron["metadata"], "assistant_id": cron["assistant_id"]}
    )
    client = _client(bob)
    listing = client.get(f"/deployments/{deployment_a.pk}/crons/").content.decode()
    url = f"/deployments/{deployment_a.pk}/crons/{cron['cron_id']}/threads/"
    assert url in listing
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/threads/{deployment_a.pk}/{thread_id}/" in html
    assert other["thread_id"] not in html


def test_a_cron_the_server_does_not_have_is_a_404_with_a_sentence(bob, deployment_a):
    page = _client(bob).get(f"/deployments/{deployment_a.pk}/crons/{uuid.uuid4()}/threads/")
    assert page.status_code == 404
    assert "has no cron" in page.content.decode()
