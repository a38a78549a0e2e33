"""The team list and team page (reading)."""

from __future__ import annotations


def test_the_team_list_shows_my_teams_and_roles(client, alice, team_b):
    client.force_login(alice)
    response = client.get("/accounts/teams/")
    assert response.status_code == 200
    assert b"Team A" in response.content
    assert b"Team B" not in response.content


def test_the_team_page_lists_members(client, alice, bob, oscar, team_a):
    client.force_login(bob)
    response = client.get(f"/accounts/teams/{team_a.slug}/")
    assert response.status_code == 200
    for name in (b"alice", b"bob", b"oscar"):
        assert name in response.content
    # A viewer sees no forms that change the team.
    assert b"/members/" not in response.content


def test_an_admin_sees_the_member_forms(client, alice, team_a):
    client.force_login(alice)
    response = client.get(f"/accounts/teams/{team_a.slug}/")
    assert b"Add a member" in response.content
    assert b"/remove/" in response.content


def test_another_teams_page_is_a_404(client, alice, team_b):
    client.force_login(alice)
    assert client.get(f"/accounts/teams/{team_b.slug}/").status_code == 404


def test_the_nav_has_a_team_switcher(client, alice, team_a):
    client.force_login(alice)
    response = client.get("/accounts/teams/")
    assert b'action="/accounts/switch-team/"' in response.content
    assert f'<option value="{team_a.slug}" selected>'.encode() in response.content
