"""A team admin adds a member."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership
from apps.audit.models import AuditEntry


@pytest.fixture
def dave(db):
    return User.objects.create_user("dave", "dave@example.org", "password")


def test_it_adds_a_member_with_a_role(client, alice, team_a, dave):
    client.force_login(alice)

    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/", {"username": "dave", "role": "operator"}
    )

    assert response.status_code == 302
    membership = Membership.objects.get(team=team_a, user=dave)
    assert membership.role == "operator"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.team_id) == ("membership.add", alice, team_a.pk)
    assert entry.after == {"user": "dave", "role": "operator"}
    assert entry.address == "127.0.0.1"


def test_it_says_when_the_user_does_not_exist_and_keeps_what_was_typed(client, alice, team_a):
    client.force_login(alice)

    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/", {"username": "nobody", "role": "admin"}
    )

    assert response.status_code == 400
    assert b"There is no active user named" in response.content
    assert b'value="nobody"' in response.content
    assert not AuditEntry.objects.exists()


def test_it_refuses_a_second_membership(client, alice, bob, team_a):
    client.force_login(alice)
    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/", {"username": "bob", "role": "admin"}
    )
    assert response.status_code == 400
    assert b"already a member" in response.content
    assert Membership.objects.get(user=bob).role == "viewer"


def test_it_refuses_an_unknown_role(client, alice, team_a, dave):
    client.force_login(alice)
    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/", {"username": "dave", "role": "owner"}
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(user=dave).exists()


def test_an_operator_gets_a_403_naming_the_admin_role(client, oscar, team_a, dave):
    client.force_login(oscar)
    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/", {"username": "dave", "role": "viewer"}
    )
    assert response.status_code == 403
    assert b"admin role" in response.content
    assert not Membership.objects.filter(user=dave).exists()


def test_with_htmx_it_answers_the_members_partial(client, alice, team_a, dave):
    client.force_login(alice)
    response = client.post(
        f"/accounts/teams/{team_a.slug}/members/",
        {"username": "dave", "role": "viewer"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "membersChanged"
    assert response.content.lstrip().startswith(b'<section id="members"')
    assert b"dave" in response.content
