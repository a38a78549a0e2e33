"""A team admin changes a member's role; the last admin cannot be demoted."""

from __future__ import annotations

from apps.accounts.models import Membership, Team
from apps.audit.models import AuditEntry


def _url(team: Team, membership: Membership) -> str:
    return f"/accounts/teams/{team.slug}/members/{membership.pk}/role/"


def test_it_changes_a_role(client, alice, bob, team_a):
    membership = Membership.objects.get(user=bob)
    client.force_login(alice)

    response = client.post(_url(team_a, membership), {"role": "operator"})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "operator"
    entry = AuditEntry.objects.get()
    assert entry.action == "membership.change_role"
    assert entry.before == {"user": "bob", "role": "viewer"}
    assert entry.after == {"user": "bob", "role": "operator"}


def test_the_same_role_writes_nothing(client, alice, bob, team_a):
    client.force_login(alice)
    client.post(_url(team_a, Membership.objects.get(user=bob)), {"role": "viewer"})
    assert not AuditEntry.objects.exists()


def test_the_last_admin_cannot_be_demoted(client, alice, team_a):
    membership = Membership.objects.get(user=alice)
    client.force_login(alice)

    response = client.post(_url(team_a, membership), {"role": "operator"})

    assert response.status_code == 400
    assert b"last admin" in response.content
    membership.refresh_from_db()
    assert membership.role == "admin"
    assert not AuditEntry.objects.exists()


def test_an_admin_can_step_down_when_another_admin_remains(client, alice, oscar, team_a):
    Membership.objects.filter(user=oscar).update(role="admin")
    client.force_login(alice)

    response = client.post(_url(team_a, Membership.objects.get(user=alice)), {"role": "viewer"})

    assert response.status_code == 302
    assert Membership.objects.get(user=alice).role == "viewer"


def test_it_refuses_an_unknown_role(client, alice, bob, team_a):
    client.force_login(alice)
    response = client.post(_url(team_a, Membership.objects.get(user=bob)), {"role": "god"})
    assert response.status_code == 400
    assert b"Choose viewer, operator or admin" in response.content


def test_a_membership_of_another_team_is_a_404_even_under_my_team(client, alice, charlie, team_a):
    client.force_login(alice)
    response = client.post(_url(team_a, Membership.objects.get(user=charlie)), {"role": "viewer"})
    assert response.status_code == 404
    assert Membership.objects.get(user=charlie).role == "admin"


def test_a_viewer_gets_a_403(client, bob, alice, team_a):
    client.force_login(bob)
    response = client.post(_url(team_a, Membership.objects.get(user=bob)), {"role": "admin"})
    assert response.status_code == 403
    assert Membership.objects.get(user=bob).role == "viewer"
