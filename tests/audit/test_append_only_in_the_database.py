"""The audit log is append-only in PostgreSQL too (issue 14, row 13): triggers refuse every UPDATE
and DELETE whatever the client, except clearing a link whose user, team or deployment is deleted,
and the retention purge, the one named path that deletes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.services import purge_entries_before, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(alice, team_a, deployment_a):
    return record(
        actor=alice,
        action="deployment.update",
        target=deployment_a,
        team_id=team_a.pk,
        deployment_id=deployment_a.pk,
        reason="rotated the key",
    )


def _refused(statement) -> None:
    with pytest.raises(DatabaseError, match="pgtrigger: Cannot"), transaction.atomic():
        statement()


def test_the_base_manager_cannot_rewrite_or_erase_an_entry(entry):
    _refused(lambda: AuditEntry._base_manager.filter(pk=entry.pk).update(reason="nothing"))
    _refused(lambda: AuditEntry._base_manager.filter(pk=entry.pk).delete())
    assert AuditEntry.objects.get(pk=entry.pk).reason == "rotated the key"


def test_raw_sql_cannot_rewrite_or_erase_an_entry(entry):
    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    _refused(lambda: execute("UPDATE audit_auditentry SET action = 'x' WHERE id = %s"))
    _refused(lambda: execute("DELETE FROM audit_auditentry WHERE id = %s"))
    assert AuditEntry.objects.filter(pk=entry.pk, action="deployment.update").exists()


def test_a_link_cannot_be_pointed_at_someone_else(entry, bob, team_b):
    _refused(lambda: AuditEntry._base_manager.filter(pk=entry.pk).update(actor_id=bob.pk))
    _refused(lambda: AuditEntry._base_manager.filter(pk=entry.pk).update(team_id=team_b.pk))
    assert AuditEntry.objects.get(pk=entry.pk).actor_label == "alice"


def test_deleting_the_actor_team_and_deployment_only_clears_the_links(
    entry, alice, team_a, deployment_a
):
    deployment_a.delete()
    alice.delete()
    team_a.delete()

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.team_id, entry.deployment_id) == (None, None, None)
    assert (entry.actor_label, entry.action) == ("alice", "deployment.update")


def test_retention_is_the_one_path_that_deletes_and_it_is_recorded(entry, team_a):
    later = timezone.now() + timedelta(seconds=1)

    assert purge_entries_before(later) == 1

    assert not AuditEntry.objects.filter(pk=entry.pk).exists()
    purge = AuditEntry.objects.get(action="audit.purge")
    assert purge.after == {"before": later.isoformat(), "deleted": 1}
    # Outside the purge the trigger is back.
    _refused(lambda: AuditEntry._base_manager.filter(pk=purge.pk).delete())


def test_the_retention_command_keeps_recent_entries(entry):
    call_command("purge_audit_entries", "--older-than-days", "30")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
