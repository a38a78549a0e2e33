"""The gate records the intent, committed, before it calls the deployment: a deployment that
changed is in the audit log even when the database fails right after the write. The failures
are real PostgreSQL errors, raised by a trigger the test installs (and removes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils.dateparse import parse_datetime

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Status
from apps.inbox.services import do_mark_resolved
from tests.fixtures.gate import head_checkpoint
from tests.fixtures.inbox import REFUND


@pytest.fixture
def failing_insert() -> Iterator[object]:
    """``arm(table, condition)``: every INSERT into ``table`` whose row meets ``condition``
    fails, as a full disk or a dropped connection would make it."""
    armed: list[str] = []

    def arm(table: str, condition: str = "TRUE") -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION gate_test_fail() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'the database failed (test)'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER gate_test_fail BEFORE INSERT ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION gate_test_fail()"
            )
        armed.append(table)

    yield arm
    with connection.cursor() as cursor:
        for table in armed:
            cursor.execute(f"DROP TRIGGER IF EXISTS gate_test_fail ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS gate_test_fail()")


@pytest.mark.django_db(transaction=True)
def test_the_intent_stays_when_the_outcome_cannot_be_written(
    oscar, paused, graph_client, failing_insert
):
    p = paused("refund_approval", REFUND)
    failing_insert(AuditEntry._meta.db_table, "NEW.action = 'gate.outcome'")

    with pytest.raises(DatabaseError):
        do_mark_resolved(
            user=oscar,
            deployment=p.deployment,
            thread_id=p.thread_id,
            checkpoint_id=p.checkpoint_id,
            interrupt_ids=[p.row.interrupt_id],
            comment="closing it",
        )

    # The deployment changed...
    state: Any = graph_client.get_thread_state(p.thread_id)
    assert state["checkpoint"]["checkpoint_id"] != p.checkpoint_id
    # ...and the audit log says who meant to do what, on which thread, before it was done (the
    # server and the test database share this machine's clock).
    intent = AuditEntry.objects.get(action="gate.intent")
    written_at = parse_datetime(state["created_at"])
    assert written_at is not None
    assert intent.created_at <= written_at
    assert intent.actor == oscar
    assert intent.deployment_id == p.deployment.pk
    assert isinstance(intent.after, dict)
    assert intent.after["action"] == "inbox.resolve"
    assert intent.after["thread_id"] == p.thread_id
    assert intent.after["items"] == [p.row.pk]
    assert intent.reason == "closing it"


@pytest.mark.django_db(transaction=True)
def test_a_decision_that_cannot_be_stored_after_the_write_leaves_intent_and_error(
    oscar, paused, graph_client, failing_insert
):
    p = paused("refund_approval", REFUND)
    failing_insert(Decision._meta.db_table)

    with pytest.raises(DatabaseError):
        do_mark_resolved(
            user=oscar,
            deployment=p.deployment,
            thread_id=p.thread_id,
            checkpoint_id=p.checkpoint_id,
            interrupt_ids=[p.row.interrupt_id],
        )

    assert head_checkpoint(graph_client, p.thread_id) != p.checkpoint_id
    intent = AuditEntry.objects.get(action="gate.intent")
    outcome = AuditEntry.objects.get(action="gate.outcome")
    assert isinstance(outcome.after, dict)
    assert outcome.after["intent"] == intent.pk
    assert outcome.after["ok"] is False
    assert "the database failed (test)" in outcome.after["error"]
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING  # the decision's transaction rolled back


@pytest.mark.django_db(transaction=True)
def test_a_change_that_goes_through_is_audited_before_and_after(oscar, paused, graph_client):
    p = paused("refund_approval", REFUND)

    outcome = do_mark_resolved(
        user=oscar,
        deployment=p.deployment,
        thread_id=p.thread_id,
        checkpoint_id=p.checkpoint_id,
        interrupt_ids=[p.row.interrupt_id],
    )

    intent = AuditEntry.objects.get(action="gate.intent")
    done = AuditEntry.objects.get(action="gate.outcome")
    assert intent.pk < done.pk
    assert done.after == {
        "intent": intent.pk,
        "ok": True,
        "run_id": None,
        "decisions": [d.pk for d in outcome.decisions],
        "checkpoint_id": outcome.checkpoint_id,
    }
    assert head_checkpoint(graph_client, p.thread_id) == outcome.checkpoint_id
