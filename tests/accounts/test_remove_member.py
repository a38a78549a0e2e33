"""A team admin removes a member; the last admin cannot be removed."""

from __future__ import annotations

from apps.accounts.models import Membership, Team
from apps.accounts.services import membership_changed
from apps.audit.models import AuditEntry


def _url(team: Team, membership: Membership) -> str:
    return f"/accounts/teams/{team.slug}/members/{membership.pk}/remove/"


def test_it_removes_a_member_and_announces_it_on_commit(
    client, alice, bob, team_a, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, user_id, team_id, **kwargs):
        heard.append((user_id, team_id))

    membership_changed.connect(listener)
    client.force_login(alice)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(_url(team_a, Membership.objects.get(user=bob)))
    finally:
        membership_changed.disconnect(listener)

    assert response.status_code == 302
    assert not Membership.objects.filter(user=bob).exists()
    entry = AuditEntry.objects.get()
    assert entry.action == "membership.remove"
    assert entry.before == {"user": "bob", "role": "viewer"}
    assert heard == [(bob.pk, team_a.pk)]
    # bob has lost access at once.
    client.force_login(bob)
    assert client.get(f"/accounts/teams/{team_a.slug}/").status_code == 404


def test_the_last_admin_cannot_be_removed(client, alice, team_a):
    client.force_login(alice)

    response = client.post(_url(team_a, Membership.objects.get(user=alice)))

    assert response.status_code == 400
    assert b"last admin" in response.content
    assert Membership.objects.filter(user=alice).exists()
    assert not AuditEntry.objects.exists()


def test_an_operator_gets_a_403(client, oscar, bob, team_a):
    client.force_login(oscar)
    response = client.post(_url(team_a, Membership.objects.get(user=bob)))
    assert response.status_code == 403
    assert Membership.objects.filter(user=bob).exists()
