from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import selectors, services, throttle
from apps.accounts.forms import (
    ActiveForm,
    AddMemberForm,
    ChangeRoleForm,
    CreateTeamForm,
    CreateUserForm,
    SwitchTeamForm,
)
from apps.accounts.http import AuthenticatedHttpRequest
from apps.accounts.models import Membership, Role, Team
from apps.accounts.permissions import can, role_in, teams_for


def _next_url(request: HttpRequest, default: str = "/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        candidate, {request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password")
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    context = {"next": _next_url(request)}
    if request.method != "POST":
        return render(request, "accounts/login.html", {**context, "form": AuthenticationForm()})
    username = request.POST.get("username", "")[:150]
    address = throttle.client_address(request)
    if throttle.login_refused(address, username):
        # Refused before the password is checked, with the same words for every username.
        form = AuthenticationForm(initial={"username": username})
        return render(
            request,
            "accounts/login.html",
            {**context, "form": form, "refused": throttle.REFUSED_MESSAGE},
            status=429,
        )
    form = AuthenticationForm(request, data=request.POST)
    if form.is_valid():
        login(request, form.get_user())
        return HttpResponseRedirect(_next_url(request))
    throttle.note_login_failure(address, username)
    return render(request, "accounts/login.html", {**context, "form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/accounts/login/")


@require_POST
@login_required
def switch_team(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SwitchTeamForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose a team to switch to.", status=400)
    team = selectors.get_team_for(request.user, form.cleaned_data["team"])
    request.session[selectors.CURRENT_TEAM_SESSION_KEY] = team.pk
    messages.success(request, f"You are now working in {team.name}.")
    return HttpResponseRedirect(_next_url(request, default=f"/accounts/teams/{team.slug}/"))


@require_GET
@login_required
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, team__in=teams_for(request.user))
        .select_related("team")
        .order_by("team__name")
    )
    invitations = selectors.invitations_for(request.user)
    return _render_team_list(request, memberships=memberships, invitations=invitations)


def _render_team_list(
    request: AuthenticatedHttpRequest,
    *,
    memberships: Any = None,
    invitations: Any = None,
    team_form: CreateTeamForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if memberships is None:
        memberships = (
            Membership.objects.filter(user=request.user, team__in=teams_for(request.user))
            .select_related("team")
            .order_by("team__name")
        )
    context = {
        "memberships": memberships,
        "invitations": invitations
        if invitations is not None
        else selectors.invitations_for(request.user),
        "may_create_team": services.may_create_teams(request.user),
        "team_form": team_form or CreateTeamForm(),
        # A superuser looks after every team, members of them or not.
        "other_teams": selectors.teams_outside(request.user) if request.user.is_superuser else [],
        "is_superuser": request.user.is_superuser,
    }
    return render(request, "accounts/team_list.html", context, status=status)


@require_POST
@login_required
def create_team(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not services.may_create_teams(request.user):
        raise PermissionDenied("Creating a team needs the admin role on a team.")
    form = CreateTeamForm(request.POST)
    if not form.is_valid():
        return _render_team_list(request, team_form=form, status=400)
    try:
        team = services.do_create_team(
            actor=request.user,
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            request=request,
        )
    except services.MembershipError as error:
        form.add_error(None, str(error))
        return _render_team_list(request, team_form=form, status=400)
    messages.success(request, f"Team {team.name} created: you are its admin.")
    return HttpResponseRedirect(f"/accounts/teams/{team.slug}/")


def _render_team(
    request: AuthenticatedHttpRequest,
    team: Team,
    *,
    add_form: AddMemberForm | None = None,
    create_form: CreateUserForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "create_form": create_form or CreateUserForm(),
        "is_superuser": request.user.is_superuser,
        "team": team,
        "members": selectors.members_of(team),
        "invitations": selectors.invitations_of(team)
        if can(request.user, "administer", team)
        else [],
        "my_role": role_in(request.user, team.pk),
        "is_admin": can(request.user, "administer", team),
        "roles": Role.choices,
        "add_form": add_form or AddMemberForm(),
        "error": error,
    }
    template = "accounts/team_detail.html"
    if request.htmx:
        template += "#members"
        # htmx does not swap 4xx responses: the error must arrive as a 200 to be shown.
        status = 200
    return render(request, template, context, status=status)


@require_GET
@login_required
def team_detail(request: AuthenticatedHttpRequest, team_slug: str) -> HttpResponse:
    team = selectors.get_team_page_for(request.user, team_slug)
    return _render_team(request, team)


def _get_membership_for_admin(
    request: AuthenticatedHttpRequest, team_slug: str, membership_id: int
) -> Membership:
    team = selectors.get_team_for(request.user, team_slug, "administer")
    return selectors.get_membership_in(team, membership_id)


def _done(request: AuthenticatedHttpRequest, team: Team, message: str) -> HttpResponse:
    if request.htmx:
        response = _render_team(request, team)
        response["HX-Trigger"] = "membersChanged"
        return response
    messages.success(request, message)
    return HttpResponseRedirect(f"/accounts/teams/{team.slug}/")


@require_POST
@login_required
def add_member(request: AuthenticatedHttpRequest, team_slug: str) -> HttpResponse:
    team = selectors.get_team_for(request.user, team_slug, "administer")
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        return _render_team(request, team, add_form=form, status=400)
    role = Role(form.cleaned_data["role"])
    try:
        added = services.do_add_member(
            actor=request.user,
            team=team,
            username=form.cleaned_data["username"],
            role=role,
            request=request,
        )
    except services.MembershipError as error:
        form.add_error("username", str(error))
        return _render_team(request, team, add_form=form, status=400)
    if isinstance(added, Membership):
        return _done(request, team, f"Added {added.user.get_username()} to {team.name}.")
    # The same words whether or not anyone holds the username.
    return _done(
        request,
        team,
        f"Invited {added.username} to {team.name} as {role.label.lower()}: "
        "they join when they accept.",
    )


@require_POST
@login_required
def withdraw_invitation(
    request: AuthenticatedHttpRequest, team_slug: str, invitation_id: int
) -> HttpResponse:
    team = selectors.get_team_for(request.user, team_slug, "administer")
    invitation = selectors.get_invitation_in(team, invitation_id)
    services.do_decline_invitation(actor=request.user, invitation=invitation, request=request)
    return _done(request, team, f"Withdrew the invitation of {invitation.username}.")


@require_POST
@login_required
def accept_invitation(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.get_invitation_for(request.user, invitation_id)
    membership = services.do_accept_invitation(
        user=request.user, invitation=invitation, request=request
    )
    messages.success(request, f"You joined {membership.team.name}.")
    return HttpResponseRedirect("/accounts/teams/")


@require_POST
@login_required
def decline_invitation(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.get_invitation_for(request.user, invitation_id)
    services.do_decline_invitation(actor=request.user, invitation=invitation, request=request)
    messages.success(request, f"You declined to join {invitation.team.name}.")
    return HttpResponseRedirect("/accounts/teams/")


@require_POST
@login_required
def change_role(
    request: AuthenticatedHttpRequest, team_slug: str, membership_id: int
) -> HttpResponse:
    membership = _get_membership_for_admin(request, team_slug, membership_id)
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        return _render_team(
            request, membership.team, error="Choose viewer, operator or admin.", status=400
        )
    try:
        services.do_change_role(
            actor=request.user,
            membership=membership,
            role=Role(form.cleaned_data["role"]),
            request=request,
        )
    except services.MembershipError as error:
        return _render_team(request, membership.team, error=str(error), status=400)
    name = membership.user.get_username()
    return _done(request, membership.team, f"{name} is now {form.cleaned_data['role']}.")


@require_POST
@login_required
def remove_member(
    request: AuthenticatedHttpRequest, team_slug: str, membership_id: int
) -> HttpResponse:
    membership = _get_membership_for_admin(request, team_slug, membership_id)
    try:
        services.do_remove_member(actor=request.user, membership=membership, request=request)
    except services.MembershipError as error:
        return _render_team(request, membership.team, error=str(error), status=400)
    name = membership.user.get_username()
    return _done(request, membership.team, f"Removed {name} from {membership.team.name}.")


@require_POST
@login_required
@sensitive_post_parameters("password")
def create_user(request: AuthenticatedHttpRequest, team_slug: str) -> HttpResponse:
    # A superuser creates accounts in any team; anyone else who may see the team is refused.
    team = selectors.get_team_page_for(request.user, team_slug)
    services.check_may_create_accounts(request.user)
    form = CreateUserForm(request.POST)
    if not form.is_valid():
        return _render_team(request, team, create_form=form, status=400)
    role = Role(form.cleaned_data["role"])
    try:
        membership = services.do_create_user(
            actor=request.user,
            team=team,
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            role=role,
            request=request,
        )
    except services.MembershipError as error:
        form.add_error("username", str(error))
        return _render_team(request, team, create_form=form, status=400)
    name = membership.user.get_username()
    return _done(request, team, f"Created {name}, {role.label.lower()} in {team.name}.")


@require_POST
@login_required
def set_active(
    request: AuthenticatedHttpRequest, team_slug: str, membership_id: int
) -> HttpResponse:
    membership = _get_membership_for_admin(request, team_slug, membership_id)
    active = ActiveForm(request.POST)
    wanted = bool(active.is_valid() and active.cleaned_data["active"])
    try:
        services.do_set_active(
            actor=request.user, membership=membership, active=wanted, request=request
        )
    except services.MembershipError as error:
        return _render_team(request, membership.team, error=str(error), status=400)
    name = membership.user.get_username()
    return _done(
        request, membership.team, f"{name} {'can log in again' if wanted else 'is deactivated'}."
    )
