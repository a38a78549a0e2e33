"""A team admin adds a member: at once when the admin also administers a team the user is in,
otherwise by an invitation the user accepts (issue 14, row 12). No answer says whether a username
exists."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Invitation, Membership, Role
from apps.audit.models import AuditEntry


@pytest.fixture
def dave(db):
    return User.objects.create_user("dave", "dave@example.org", "password")


def _add(client, team, username: str, role: str = "operator", **extra):
    return client.post(
        f"/accounts/teams/{team.slug}/members/", {"username": username, "role": role}, **extra
    )


def _members_partial(response, username: str) -> str:
    text = response.content.decode().replace(username, "NAME")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r"/invitations/\d+/", "/invitations/N/", text)


def test_someone_outside_the_admins_teams_is_invited_not_added(client, alice, team_a, dave):
    client.force_login(alice)

    response = _add(client, team_a, "dave")

    assert response.status_code == 302
    assert not Membership.objects.filter(user=dave).exists()
    invitation = Invitation.objects.get(team=team_a)
    assert (invitation.username, invitation.role, invitation.invited_by) == (
        "dave",
        "operator",
        alice,
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.team_id) == ("membership.invite", alice, team_a.pk)
    assert entry.after == {"username": "dave", "role": "operator"}
    page = client.get(response["Location"]).content.decode()
    assert "Invited dave to Team A as operator: they join when they accept." in page


def test_another_teams_admin_cannot_add_a_member_of_team_a(client, charlie, team_b, bob):
    client.force_login(charlie)

    _add(client, team_b, "bob", "admin")

    assert list(Membership.objects.filter(user=bob).values_list("team__slug", flat=True)) == [
        "team-a"
    ]
    assert Invitation.objects.filter(team=team_b, username="bob").exists()


def test_the_answer_is_the_same_whether_or_not_the_username_exists(client, alice, team_a, dave):
    client.force_login(alice)
    htmx = {"HX-Request": "true"}

    existing = _add(client, team_a, "dave", headers=htmx)
    Invitation.objects.all().delete()
    missing = _add(client, team_a, "nobody-by-that-name", headers=htmx)

    assert existing.status_code == missing.status_code == 200
    assert _members_partial(existing, "dave") == _members_partial(missing, "nobody-by-that-name")
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["membership.invite"] * 2


def test_an_inactive_user_gets_the_same_invitation_as_anyone(client, alice, team_a, dave):
    dave.is_active = False
    dave.save()
    client.force_login(alice)

    assert _add(client, team_a, "dave").status_code == 302
    assert not Membership.objects.filter(user=dave).exists()


def test_an_admin_of_both_teams_adds_at_once(client, alice, team_a, team_b, charlie):
    Membership.objects.create(user=alice, team=team_b, role=Role.ADMIN)
    client.force_login(alice)

    response = _add(client, team_a, "charlie")

    assert response.status_code == 302
    assert Membership.objects.get(team=team_a, user=charlie).role == "operator"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.after) == (
        "membership.add",
        {"user": "charlie", "role": "operator"},
    )


def test_a_viewer_in_the_other_team_is_not_enough_to_add_at_once(
    client, alice, team_a, team_b, charlie
):
    Membership.objects.create(user=alice, team=team_b, role=Role.VIEWER)
    client.force_login(alice)

    _add(client, team_a, "charlie")

    assert not Membership.objects.filter(team=team_a, user=charlie).exists()
    assert Invitation.objects.filter(team=team_a, username="charlie").exists()


def test_it_refuses_a_second_membership(client, alice, bob, team_a):
    client.force_login(alice)
    response = _add(client, team_a, "bob", "admin")
    assert response.status_code == 400
    assert b"already a member" in response.content
    assert b'value="bob"' in response.content
    assert Membership.objects.get(user=bob).role == "viewer"
    assert not Invitation.objects.exists()


def test_it_refuses_an_unknown_role(client, alice, team_a, dave):
    client.force_login(alice)
    response = _add(client, team_a, "dave", "owner")
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_an_operator_gets_a_403_naming_the_admin_role(client, oscar, team_a, dave):
    client.force_login(oscar)
    response = _add(client, team_a, "dave", "viewer")
    assert response.status_code == 403
    assert b"admin role" in response.content
    assert not Invitation.objects.exists()


def test_with_htmx_it_answers_the_members_partial_listing_the_invitation(
    client, alice, team_a, dave
):
    client.force_login(alice)
    response = _add(client, team_a, "dave", "viewer", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "membersChanged"
    assert response.content.lstrip().startswith(b'<section id="members"')
    assert b"Invitations waiting for an answer" in response.content
    assert b"dave" in response.content
