"""The Django admin for superusers: teams and memberships, audited, with the last-admin rule."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Team
from apps.audit.models import AuditEntry


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.org", "password")


def test_a_superuser_creates_a_team_with_one_audit_entry(client, root):
    client.force_login(root)

    response = client.post("/admin/accounts/team/add/", {"name": "Team C", "slug": "team-c"})

    assert response.status_code == 302
    team = Team.objects.get(slug="team-c")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.team_id, entry.actor) == ("team.create", team.pk, root)


def test_a_superuser_changes_a_role_with_one_audit_entry(client, root, alice, bob, team_a):
    membership = Membership.objects.get(user=bob)
    client.force_login(root)

    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": bob.pk, "team": team_a.pk, "role": "operator"},
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "operator"
    entry = AuditEntry.objects.get()
    assert entry.action == "membership.change_role"
    assert (entry.before or {})["role"] == "viewer"


def test_the_admin_cannot_demote_the_last_admin(client, root, alice, team_a):
    membership = Membership.objects.get(user=alice)
    client.force_login(root)

    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": alice.pk, "team": team_a.pk, "role": "viewer"},
    )

    assert response.status_code == 200
    assert b"last admin" in response.content
    membership.refresh_from_db()
    assert membership.role == "admin"


def test_the_admin_cannot_delete_the_last_admin(client, root, alice):
    membership = Membership.objects.get(user=alice)
    client.force_login(root)

    response = client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_admin_deletes_a_member_with_one_audit_entry(client, root, alice, bob):
    membership = Membership.objects.get(user=bob)
    client.force_login(root)

    response = client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEntry.objects.get().action == "membership.remove"


def test_a_team_admin_who_is_not_staff_cannot_use_the_admin(client, alice):
    client.force_login(alice)
    response = client.get("/admin/accounts/membership/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
