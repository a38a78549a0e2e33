"""services.upsert_thread / mark_thread: what relays, the inbox and the sync call."""

from __future__ import annotations

from typing import Any

import pytest

from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from apps.threads.services import mark_thread, upsert_thread

pytestmark = pytest.mark.django_db

TID = "01a1fd17-55f2-752f-bc2b-d3b12d9977e2"


def _thread(**over: Any) -> dict[str, Any]:
    thread: dict[str, Any] = {
        "thread_id": TID,
        "created_at": "2026-11-21T07:52:07.411178+00:00",
        "updated_at": "2026-11-21T07:52:08.638829+00:00",
        "metadata": {"owner": "alice", "graph_id": "support_agent", "assistant_id": "00cc8c2c"},
        "status": "interrupted",
        "values": {"messages": []},
        "error": None,
        "interrupts": {"task": [{"id": "i1", "value": {}}, {"id": "i2", "value": {}}]},
    }
    thread.update(over)
    return thread


def test_it_indexes_a_thread_as_the_server_returns_it(deployment_a: Deployment) -> None:
    row = upsert_thread(deployment_a, _thread())
    assert (row.status, row.graph_id, row.assistant_id, row.interrupt_count) == (
        "interrupted",
        "support_agent",
        "00cc8c2c",
        2,
    )
    assert row.updated_at.isoformat() == "2026-11-21T07:52:08.638829+00:00"
    assert "alice" in row.search_text


def test_it_updates_the_row_from_a_newer_snapshot(deployment_a: Deployment) -> None:
    upsert_thread(deployment_a, _thread())
    row = upsert_thread(
        deployment_a,
        _thread(
            updated_at="2026-11-21T08:00:00+00:00",
            status="error",
            interrupts={},
            error={"error": "ValueError", "message": "boom"},
        ),
    )
    assert (row.status, row.interrupt_count, row.error_type, row.error_message) == (
        "error",
        0,
        "ValueError",
        "boom",
    )
    assert ThreadIndex.objects.count() == 1


def test_it_never_lets_an_older_snapshot_overwrite_a_newer_row(deployment_a: Deployment) -> None:
    upsert_thread(deployment_a, _thread(updated_at="2026-11-21T09:00:00+00:00", status="idle"))
    row = upsert_thread(deployment_a, _thread(status="busy"))
    assert row.status == "idle"
    row.refresh_from_db()
    assert row.status == "idle"


def test_it_keeps_what_a_partial_thread_dict_does_not_say(deployment_a: Deployment) -> None:
    upsert_thread(deployment_a, _thread(error={"error": "E", "message": "m"}))
    # POST /threads and copy answers have no interrupts and no error.
    partial = {
        k: v
        for k, v in _thread(updated_at="2026-11-21T10:00:00+00:00").items()
        if k not in ("interrupts", "error")
    }
    row = upsert_thread(deployment_a, partial)
    assert (row.interrupt_count, row.error_type) == (2, "E")


def test_it_keeps_threads_of_two_deployments_apart(
    deployment_a: Deployment, deployment_b: Deployment
) -> None:
    upsert_thread(deployment_a, _thread())
    upsert_thread(deployment_b, _thread(status="idle"))
    assert ThreadIndex.objects.get(deployment=deployment_a).status == "interrupted"
    assert ThreadIndex.objects.get(deployment=deployment_b).status == "idle"


def test_it_marks_a_status_quickly_for_relays(deployment_a: Deployment) -> None:
    row = upsert_thread(deployment_a, _thread())
    assert mark_thread(deployment_a, TID, status="busy")
    row.refresh_from_db()
    assert row.status == "busy"
    assert not mark_thread(deployment_a, "00000000-0000-4000-8000-000000000000", status="busy")
    with pytest.raises(ValueError, match="Unknown thread status"):
        mark_thread(deployment_a, TID, status="running")


def test_it_skips_the_write_when_a_page_finds_nothing_new(
    deployment_a: Deployment, django_assert_num_queries: Any
) -> None:
    from apps.threads.services import refresh_thread

    row = upsert_thread(deployment_a, _thread())
    row.refresh_from_db()
    with django_assert_num_queries(0):
        assert refresh_thread(deployment_a, _thread(), row) is row
    with django_assert_num_queries(2):
        assert (
            refresh_thread(
                deployment_a, _thread(status="idle", updated_at="2026-11-21T09:00:00+00:00"), row
            ).status
            == "idle"
        )
