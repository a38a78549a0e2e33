"""No code path edits or deletes an audit entry, the admin site included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.audit.models import AppendOnlyError, AuditEntry
from apps.audit.services import record


@pytest.fixture
def entry(alice, team_a):
    return record(actor=alice, action="team.update", target=team_a, team_id=team_a.pk)


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.org", "password")


def test_an_entry_cannot_be_saved_again(entry):
    entry.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_the_queryset_refuses_updates_and_deletes(entry):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "team.update"


def test_deleting_the_actor_keeps_the_entry_and_the_name(entry, alice):
    alice.delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor is None
    assert entry.actor_label == "alice"


def test_the_admin_site_shows_entries_read_only(client, root, entry):
    client.force_login(root)

    listing = client.get("/admin/audit/auditentry/")
    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")

    assert listing.status_code == 200
    assert b"team.update" in listing.content
    assert page.status_code == 200
    assert b'type="submit"' not in page.content.split(b'id="content-main"')[1]


def test_the_admin_site_cannot_add_change_or_delete(client, root, entry):
    client.force_login(root)

    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "x"})
    assert (
        client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = client.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.action == "team.update"
