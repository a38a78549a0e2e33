"""The invited user decides: they accept (and join with the role offered) or decline; nobody
else can answer for them, and an admin may withdraw the invitation (issue 14, row 12)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Invitation, Membership
from apps.audit.models import AuditEntry


@pytest.fixture
def dave(db):
    return User.objects.create_user("dave", "dave@example.org", "password")


@pytest.fixture
def invitation(client, alice, team_a, dave):
    client.force_login(alice)
    client.post(f"/accounts/teams/{team_a.slug}/members/", {"username": "dave", "role": "operator"})
    client.logout()
    return Invitation.objects.get(team=team_a, username="dave")


def test_the_invited_user_sees_the_invitation_and_joins_by_accepting(
    client, dave, team_a, invitation
):
    client.force_login(dave)
    page = client.get("/accounts/teams/").content.decode()
    assert "Team A" in page
    assert f"/accounts/invitations/{invitation.pk}/accept/" in page

    response = client.post(f"/accounts/invitations/{invitation.pk}/accept/")

    assert response.status_code == 302
    assert Membership.objects.get(team=team_a, user=dave).role == "operator"
    assert not Invitation.objects.exists()
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.after) == (
        "membership.accept",
        dave,
        {"user": "dave", "role": "operator"},
    )
    assert client.get(f"/accounts/teams/{team_a.slug}/").status_code == 200


def test_declining_leaves_the_team_unchanged(client, dave, team_a, invitation):
    client.force_login(dave)

    client.post(f"/accounts/invitations/{invitation.pk}/decline/")

    assert not Membership.objects.filter(user=dave).exists()
    assert not Invitation.objects.exists()
    assert AuditEntry.objects.latest("id").action == "membership.decline_invitation"


def test_nobody_else_can_accept_it(client, bob, charlie, invitation):
    for someone in (bob, charlie):
        client.force_login(someone)
        assert client.post(f"/accounts/invitations/{invitation.pk}/accept/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert not Membership.objects.filter(user__username="dave").exists()


def test_an_admin_withdraws_it(client, alice, team_a, dave, invitation):
    client.force_login(alice)

    response = client.post(f"/accounts/teams/{team_a.slug}/invitations/{invitation.pk}/withdraw/")

    assert response.status_code == 302
    assert not Invitation.objects.exists()
    client.force_login(dave)
    assert client.post(f"/accounts/invitations/{invitation.pk}/accept/").status_code == 404
