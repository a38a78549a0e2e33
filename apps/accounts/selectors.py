"""Read-side lookups for teams and memberships, scoped to the user asking.

Views of other apps find teams through here (never through ``apps.accounts.models``).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from apps.accounts.models import Invitation, Membership, Team
from apps.accounts.permissions import Action, AnyUser, require, teams_for

# The session key holding the id of the team the user works in (see ``current_team``).
CURRENT_TEAM_SESSION_KEY = "switchboard_team_id"


def get_team_for(user: AnyUser, slug: str, action: Action = "view") -> Team:
    """One of the user's teams, or 404 (another team's slug stays secret); then 403 naming the
    role needed when the user's role there is too weak for ``action``."""
    team = teams_for(user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    require(user, action, team)
    return team


def get_team_page_for(user: AnyUser, slug: str) -> Team:
    """A team whose page ``user`` may open: one of theirs, or any team for a superuser (who
    looks after the whole console; what they may change there still follows their role)."""
    if getattr(user, "is_superuser", False):
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise Http404("No such team.")
        return team
    return get_team_for(user, slug)


def teams_outside(user: AnyUser) -> QuerySet[Team]:
    """The teams ``user`` is not a member of (a superuser's list of the others)."""
    return Team.objects.exclude(memberships__user_id=user.pk or 0).order_by("name")


def members_of(team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def current_team(request: HttpRequest) -> Team | None:
    """The team the user works in: the one picked with the team switcher, if the user is still a
    member of it, else their first team (by name). None for users without a team.

    Lists across the console filter over all the user's teams; this team is the default for
    creating things (deployments) and for the team admin pages.
    """
    teams = teams_for(request.user)
    picked = request.session.get(CURRENT_TEAM_SESSION_KEY)
    if isinstance(picked, int):
        team = teams.filter(pk=picked).first()
        if team is not None:
            return team
    return teams.order_by("name").first()


def get_membership_in(team: Team, membership_id: int) -> Membership:
    """A membership of ``team`` (already found for the user), or 404."""
    membership = (
        Membership.objects.filter(team=team, pk=membership_id)
        .select_related("user", "team")
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitations_of(team: Team) -> QuerySet[Invitation]:
    """The team's pending invitations (for its admins)."""
    return Invitation.objects.filter(team=team).select_related("invited_by")


def invitations_for(user: AnyUser) -> QuerySet[Invitation]:
    """The invitations waiting for the user to accept or decline."""
    if not user.is_authenticated:
        return Invitation.objects.none()
    return Invitation.objects.filter(username=user.get_username()).select_related(
        "team", "invited_by"
    )


def get_invitation_for(user: AnyUser, invitation_id: int) -> Invitation:
    """One of the user's own invitations, or 404."""
    invitation = invitations_for(user).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def get_invitation_in(team: Team, invitation_id: int) -> Invitation:
    """A pending invitation of ``team`` (already found for its admin), or 404."""
    invitation = invitations_of(team).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation
