from __future__ import annotations

from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch-team/", views.switch_team, name="switch_team"),
    path("teams/", views.team_list, name="teams"),
    path("teams/new/", views.create_team, name="create_team"),
    path("teams/<slug:team_slug>/", views.team_detail, name="team"),
    path("teams/<slug:team_slug>/members/", views.add_member, name="add_member"),
    path("teams/<slug:team_slug>/users/", views.create_user, name="create_user"),
    path(
        "teams/<slug:team_slug>/invitations/<int:invitation_id>/withdraw/",
        views.withdraw_invitation,
        name="withdraw_invitation",
    ),
    path(
        "invitations/<int:invitation_id>/accept/", views.accept_invitation, name="accept_invitation"
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        views.decline_invitation,
        name="decline_invitation",
    ),
    path(
        "teams/<slug:team_slug>/members/<int:membership_id>/role/",
        views.change_role,
        name="change_role",
    ),
    path(
        "teams/<slug:team_slug>/members/<int:membership_id>/active/",
        views.set_active,
        name="set_active",
    ),
    path(
        "teams/<slug:team_slug>/members/<int:membership_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
]
