"""The team switcher: the current team lives in the session."""

from __future__ import annotations

from apps.accounts.models import Membership, Role, Team
from apps.accounts.selectors import CURRENT_TEAM_SESSION_KEY


def test_it_switches_the_current_team(client, alice):
    team_c = Team.objects.create(name="Team C", slug="team-c")
    Membership.objects.create(user=alice, team=team_c, role=Role.VIEWER)
    client.force_login(alice)

    response = client.post("/accounts/switch-team/", {"team": "team-c", "next": "/deployments/"})

    assert response.status_code == 302
    assert response["Location"] == "/deployments/"
    assert client.session[CURRENT_TEAM_SESSION_KEY] == team_c.pk
    assert b'<option value="team-c" selected>' in client.get("/accounts/teams/").content


def test_it_refuses_another_teams_slug_with_a_404(client, alice, team_b):
    client.force_login(alice)
    response = client.post("/accounts/switch-team/", {"team": team_b.slug})
    assert response.status_code == 404
    assert CURRENT_TEAM_SESSION_KEY not in client.session


def test_it_explains_a_missing_team(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/switch-team/", {})
    assert response.status_code == 400
    assert b"Choose a team" in response.content


def test_a_team_the_user_left_is_no_longer_current(client, alice, team_a):
    team_c = Team.objects.create(name="Team C", slug="team-c")
    membership = Membership.objects.create(user=alice, team=team_c, role=Role.VIEWER)
    client.force_login(alice)
    client.post("/accounts/switch-team/", {"team": "team-c"})
    membership.delete()

    response = client.get("/accounts/teams/")

    assert f'<option value="{team_a.slug}" selected>'.encode() in response.content
