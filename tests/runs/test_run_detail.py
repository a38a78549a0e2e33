from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.runs.models import Run
from apps.runs.selectors import live_thread_keys
from tests.fixtures.runs import create_run

pytestmark = pytest.mark.django_db


def test_it_rebuilds_the_whole_run_from_the_log(client, bob, deployment_a):
    run = create_run(
        deployment_a,
        [
            ("metadata", {"run_id": "u-1"}),
            ("messages", [{"type": "AIMessageChunk", "content": "Hello", "id": "m1"}, {}]),
            ("messages", [{"type": "AIMessageChunk", "content": " world", "id": "m1"}, {}]),
            ("updates", {"chat": {"messages": ["..."]}}),
            ("custom", {"emitted": 2, "total": 2}),
            ("error", {"error": "ValueError", "message": "kaboom"}),
            ("switchboard/end", {"status": "failed", "error": "ValueError: kaboom"}),
        ],
        status="failed",
    )
    client.force_login(bob)
    body = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Hello world" in body
    assert "<strong>chat</strong>" in body
    assert "&quot;emitted&quot;: 2" in body
    assert "ValueError: kaboom" in body
    assert 'data-last-seq="7"' in body


def test_it_escapes_graph_output(client, bob, deployment_a):
    evil = "<script>alert(1)</script>"
    run = create_run(
        deployment_a,
        [
            ("messages", [{"type": "AIMessageChunk", "content": evil, "id": "m1"}, {}]),
            ("values", {"x": evil}),
        ],
    )
    client.force_login(bob)
    body = client.get(f"/runs/{run.pk}/").content.decode()
    assert evil not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_another_teams_run_is_not_found(client, alice, deployment_b):
    run = create_run(deployment_b)
    client.force_login(alice)
    assert client.get(f"/runs/{run.pk}/").status_code == 404
    assert client.post(f"/runs/{run.pk}/cancel/", {"action": "interrupt"}).status_code == 404


def test_the_list_shows_a_live_badge_for_active_runs(client, bob, deployment_a):
    create_run(deployment_a, status="streaming")
    client.force_login(bob)
    body = client.get("/runs/").content.decode()
    assert "● live" in body
    assert 'hx-trigger="every 3s"' in body


def test_live_thread_keys_names_threads_with_active_runs(deployment_a):
    create_run(deployment_a, status="streaming", thread_id="t-live")
    create_run(deployment_a, status="succeeded", thread_id="t-done")
    assert live_thread_keys([deployment_a.pk]) == {(deployment_a.pk, "t-live")}


def test_cancelling_a_queued_run_ends_it_at_once_and_audits_once(client, oscar, deployment_a):
    run = create_run(deployment_a, status="queued")
    client.force_login(oscar)
    response = client.post(f"/runs/{run.pk}/cancel/", {"action": "rollback"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("cancelled", "rollback")
    assert run.events.get(seq=1).event == "switchboard/end"
    assert AuditEntry.objects.filter(action="run.cancel").count() == 1
    # A second cancel is refused with a message, and audits nothing.
    client.post(f"/runs/{run.pk}/cancel/", {"action": "rollback"})
    assert AuditEntry.objects.filter(action="run.cancel").count() == 1


def test_viewers_cannot_cancel(client, bob, deployment_a):
    run = create_run(deployment_a, status="queued")
    client.force_login(bob)
    assert client.post(f"/runs/{run.pk}/cancel/", {"action": "interrupt"}).status_code == 403
    assert Run.objects.get(pk=run.pk).status == "queued"
