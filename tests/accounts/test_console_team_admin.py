"""Teams and people managed in the console: an admin creates a team, a superuser creates an
account with a role in it, the admin changes the role and deactivates the account, each change in
the audit log; a team admin cannot learn whether a username is taken; a superuser opens any
team's page, with the Django admin a click away."""

from __future__ import annotations

from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role, Team
from apps.audit.models import AuditEntry

NEW_PASSWORD = "a long passphrase 42"


def test_an_admin_creates_a_team_a_user_changes_the_role_and_deactivates_them(client, alice):
    client.force_login(alice)
    assert "Create a team" in client.get("/accounts/teams/").content.decode()

    r = client.post("/accounts/teams/new/", {"name": "Night shift", "slug": "night-shift"})

    assert r.status_code == 302
    assert r["Location"] == "/accounts/teams/night-shift/"
    team = Team.objects.get(slug="night-shift")
    assert Membership.objects.get(team=team, user=alice).role == Role.ADMIN
    created = AuditEntry.objects.get(action="team.create")
    assert created.actor == alice
    assert created.after == {"name": "Night shift", "slug": "night-shift", "admin": "alice"}
    root = User.objects.create_superuser("root", "root@example.org", "password")
    client.force_login(root)

    r = client.post(
        "/accounts/teams/night-shift/users/",
        {"username": "nina", "email": "nina@example.org", "password": NEW_PASSWORD,
         "role": "operator"},
    )  # fmt: skip

    assert r.status_code == 302
    nina = User.objects.get(username="nina")
    membership = Membership.objects.get(team=team, user=nina)
    assert membership.role == Role.OPERATOR
    assert nina.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.get(action="user.create").after == {
        "user": "nina",
        "role": "operator",
    }
    assert AuditEntry.objects.get(action="user.create").actor == root
    assert client.login(username="nina", password=NEW_PASSWORD)
    client.force_login(alice)

    r = client.post(
        f"/accounts/teams/night-shift/members/{membership.pk}/role/", {"role": "viewer"}
    )
    assert r.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.VIEWER
    assert AuditEntry.objects.filter(action="membership.change_role", actor=alice).count() == 1

    r = client.post(f"/accounts/teams/night-shift/members/{membership.pk}/active/")

    assert r.status_code == 302
    nina.refresh_from_db()
    assert not nina.is_active
    entry = AuditEntry.objects.get(action="user.deactivate")
    assert entry.actor == alice
    assert entry.after == {"user": "nina", "active": False}
    assert not client.login(username="nina", password=NEW_PASSWORD)
    page = client.get("/accounts/teams/night-shift/").content.decode()
    assert "deactivated" in page


def test_a_taken_username_or_a_weak_password_is_refused_with_a_reason(client, bob, team_a):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "password"))

    taken = client.post(
        "/accounts/teams/team-a/users/",
        {"username": "bob", "password": NEW_PASSWORD, "role": "viewer"},
    )
    weak = client.post(
        "/accounts/teams/team-a/users/",
        {"username": "newbie", "password": "password1234", "role": "viewer"},
    )

    assert taken.status_code == 400
    assert "cannot be used" in taken.content.decode()
    assert weak.status_code == 400
    assert "too common" in weak.content.decode()
    assert not User.objects.filter(username="newbie").exists()
    assert not AuditEntry.objects.exists()


def test_an_admin_cannot_deactivate_a_member_of_a_team_they_do_not_run(
    client, alice, charlie, team_a
):
    shared = Membership.objects.create(user=charlie, team=team_a, role=Role.VIEWER)
    client.force_login(alice)

    r = client.post(f"/accounts/teams/team-a/members/{shared.pk}/active/")

    assert r.status_code == 400
    assert "team you do not administer" in r.content.decode()
    charlie.refresh_from_db()
    assert charlie.is_active


def test_a_team_admin_cannot_create_accounts_so_never_learns_whether_a_username_is_taken(
    client, alice, bob, team_a
):
    client.force_login(alice)

    answers = [
        client.post(
            "/accounts/teams/team-a/users/",
            {"username": username, "password": NEW_PASSWORD, "role": "viewer"},
        )
        for username in ("bob", "nobody-has-this-name")
    ]

    assert [r.status_code for r in answers] == [403, 403]
    for r in answers:
        assert "cannot be used" not in r.content.decode()
    assert not User.objects.filter(username="nobody-has-this-name").exists()
    page = client.get("/accounts/teams/team-a/").content.decode()
    assert "/users/" not in page
    assert "A superuser creates the account" in page


def test_an_operator_may_not_create_accounts_or_deactivate(client, oscar, bob, team_a):
    client.force_login(oscar)
    membership = Membership.objects.get(user=bob)

    assert client.post("/accounts/teams/new/", {"name": "X", "slug": "x"}).status_code == 403
    created = client.post(
        "/accounts/teams/team-a/users/",
        {"username": "nina", "password": NEW_PASSWORD, "role": "admin"},
    )
    assert created.status_code == 403
    assert client.post(f"/accounts/teams/team-a/members/{membership.pk}/active/").status_code == 403
    page = client.get("/accounts/teams/team-a/").content.decode()
    assert "Changing members and roles needs the admin role" in page
    assert "/users/" not in page
    assert not User.objects.filter(username="nina").exists()


def test_a_superuser_opens_a_team_they_are_not_in_and_finds_the_django_admin(
    client, team_b, charlie
):
    root = User.objects.create_superuser("root", "root@example.org", "password")
    client.force_login(root)

    teams = client.get("/accounts/teams/").content.decode()
    page = client.get("/accounts/teams/team-b/")

    assert '<a href="/accounts/teams/team-b/">Team B</a>' in teams
    assert page.status_code == 200
    html = page.content.decode()
    assert "charlie" in html
    assert f'href="/admin/accounts/team/{team_b.pk}/change/"' in html
    assert 'href="/admin/"' in html


def test_a_team_page_stays_hidden_from_a_non_member(client, alice, team_b):
    client.force_login(alice)
    assert client.get("/accounts/teams/team-b/").status_code == 404
