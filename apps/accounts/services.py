from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest

from apps.accounts.models import Invitation, Membership, Role, Team
from apps.audit.services import record

DEMO_ADMIN = "admin"
DEMO_TEAM = "Demo"


def demo_team() -> Team:
    team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": DEMO_TEAM})
    return team


@transaction.atomic
def ensure_demo_admin() -> tuple[str, str, bool]:
    """Create the embedded default's admin once; return its login and whether it was made now.

    The password is made once and kept under var/ (mode 600) so `make run` can print it each time.
    """
    password_file = Path(settings.VAR_DIR) / "demo-admin-password"
    user_model = get_user_model()
    created = False
    if not user_model.objects.filter(username=DEMO_ADMIN).exists():
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(DEMO_ADMIN, "admin@localhost", password)
        password_file.write_text(password)
        password_file.chmod(0o600)
        created = True
    user = user_model.objects.get(username=DEMO_ADMIN)
    Membership.objects.get_or_create(user=user, team=demo_team(), defaults={"role": Role.ADMIN})
    password = (
        password_file.read_text().strip() if password_file.exists() else "(set before; unchanged)"
    )
    return DEMO_ADMIN, password, created


# Team membership: the team admin pages' writes. Each ``do_*`` locks the team row, so two admins
# changing the same team at once are serialised and the "last admin" rule cannot be raced past.
# Each writes exactly one audit entry in its transaction and announces the change on commit.

membership_changed = Signal()
"""Sent on commit after a membership is added, changed or removed, with ``user_id`` and
``team_id``: websocket consumers and caches listen to drop access the user no longer has."""


class MembershipError(Exception):
    """A membership change that is not allowed; the message says why, in words."""


def _announce(user_id: int, team_id: int) -> None:
    transaction.on_commit(
        lambda: membership_changed.send(sender=Membership, user_id=user_id, team_id=team_id)
    )


def _lock_team(team: Team) -> Team:
    return Team.objects.select_for_update().get(pk=team.pk)


def _username(username: str) -> str:
    return username.strip()


def _added_directly(actor: AbstractBaseUser, username: str) -> AbstractBaseUser | None:
    """The active user named ``username`` if ``actor`` administers a team that user is in (an
    admin of both teams may move people between them); None otherwise, including when no such
    user exists, so that the caller invites instead and answers the same either way."""
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None or not user.is_active:
        return None
    shares_a_team = Membership.objects.filter(
        user_id=user.pk,
        team__memberships__user_id=actor.pk,
        team__memberships__role=Role.ADMIN,
    ).exists()
    return user if shares_a_team else None


def do_add_member(
    *,
    actor: AbstractBaseUser,
    team: Team,
    username: str,
    role: Role,
    request: HttpRequest | None = None,
) -> Membership | Invitation:
    """Add ``username`` to ``team`` (``actor`` administers it): at once when ``actor`` also
    administers a team the user is in, otherwise by an invitation the user must accept. The
    result does not depend on whether the username exists."""
    username = _username(username)
    with transaction.atomic():
        team = _lock_team(team)
        user_model = get_user_model()
        if Membership.objects.filter(
            team=team, **{f"user__{user_model.USERNAME_FIELD}": username}
        ).exists():
            # Only a member of the admin's own team, whom the member list already shows.
            raise MembershipError(f"{username} is already a member of {team.name}.")
        user = _added_directly(actor, username)
        if user is None:
            return _invite(actor=actor, team=team, username=username, role=role, request=request)
        membership = Membership.objects.create(user_id=user.pk, team=team, role=role)
        Invitation.objects.filter(team=team, username=username).delete()
        record(
            actor=actor,
            action="membership.add",
            target=membership,
            team_id=team.pk,
            after={"user": user.get_username(), "role": str(role)},
            request=request,
        )
        _announce(user.pk, team.pk)
    return membership


def _invite(
    *, actor: AbstractBaseUser, team: Team, username: str, role: Role, request: HttpRequest | None
) -> Invitation:
    invitation, _ = Invitation.objects.update_or_create(
        team=team, username=username, defaults={"role": role, "invited_by_id": actor.pk}
    )
    record(
        actor=actor,
        action="membership.invite",
        target=invitation,
        team_id=team.pk,
        after={"username": username, "role": str(role)},
        request=request,
    )
    return invitation


def do_accept_invitation(
    *, user: AbstractBaseUser, invitation: Invitation, request: HttpRequest | None = None
) -> Membership:
    """``user`` (the invitation's username) joins the team with the role they were offered."""
    with transaction.atomic():
        _lock_team(invitation.team)
        invitation = Invitation.objects.select_related("team").get(pk=invitation.pk)
        membership, created = Membership.objects.get_or_create(
            user_id=user.pk, team=invitation.team, defaults={"role": invitation.role}
        )
        if created:
            record(
                actor=user,
                action="membership.accept",
                target=membership,
                team_id=invitation.team_id,
                after={"user": user.get_username(), "role": invitation.role},
                request=request,
            )
            _announce(user.pk, invitation.team_id)
        invitation.delete()
    return membership


def do_decline_invitation(
    *, actor: AbstractBaseUser, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    """The invited user declines, or an admin of the team withdraws the invitation."""
    with transaction.atomic():
        record(
            actor=actor,
            action="membership.decline_invitation",
            target=invitation,
            team_id=invitation.team_id,
            before={"username": invitation.username, "role": invitation.role},
            request=request,
        )
        invitation.delete()


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(team_id=membership.team_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def check_change_role(membership: Membership, role: Role) -> None:
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _other_admins(membership):
        raise MembershipError(
            f"{membership.user.get_username()} is the last admin of {membership.team.name}: "
            "make someone else admin first."
        )


def do_change_role(
    *,
    actor: AbstractBaseUser,
    membership: Membership,
    role: Role,
    request: HttpRequest | None = None,
) -> Membership:
    with transaction.atomic():
        _lock_team(membership.team)
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        check_change_role(membership, role)
        before = membership.role
        if before == role:
            return membership
        membership.role = role
        membership.save(update_fields=["role"])
        record(
            actor=actor,
            action="membership.change_role",
            target=membership,
            team_id=membership.team_id,
            before={"user": membership.user.get_username(), "role": before},
            after={"user": membership.user.get_username(), "role": str(role)},
            request=request,
        )
        _announce(membership.user_id, membership.team_id)
    return membership


def check_remove_member(membership: Membership) -> None:
    if membership.role == Role.ADMIN and not _other_admins(membership):
        raise MembershipError(
            f"{membership.user.get_username()} is the last admin of {membership.team.name}: "
            "make someone else admin before removing them."
        )


def do_remove_member(
    *,
    actor: AbstractBaseUser,
    membership: Membership,
    request: HttpRequest | None = None,
) -> None:
    with transaction.atomic():
        _lock_team(membership.team)
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        check_remove_member(membership)
        record(
            actor=actor,
            action="membership.remove",
            target=membership,
            team_id=membership.team_id,
            before={"user": membership.user.get_username(), "role": membership.role},
            request=request,
        )
        membership.delete()
        _announce(membership.user_id, membership.team_id)


# --- teams and people, managed in the console ---------------------------------------------------


def may_create_teams(user: AbstractBaseUser) -> bool:
    """Superusers, and admins of a team (who then administer the new team too)."""
    return (
        bool(getattr(user, "is_superuser", False))
        or Membership.objects.filter(user_id=user.pk, role=Role.ADMIN).exists()
    )


def do_create_team(
    *, actor: AbstractBaseUser, name: str, slug: str, request: HttpRequest | None = None
) -> Team:
    """A new team, with ``actor`` as its first admin."""
    if not may_create_teams(actor):
        raise MembershipError("Creating a team needs the admin role on a team.")
    name, slug = name.strip(), slug.strip()
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name).exists():
            raise MembershipError(f"A team named {name} exists already.")
        if Team.objects.filter(slug=slug).exists():
            raise MembershipError(f"The address /accounts/teams/{slug}/ is taken: choose another.")
        team = Team.objects.create(name=name, slug=slug)
        Membership.objects.create(user_id=actor.pk, team=team, role=Role.ADMIN)
        record(
            actor=actor,
            action="team.create",
            target=team,
            team_id=team.pk,
            after={"name": name, "slug": slug, "admin": actor.get_username()},
            request=request,
        )
        _announce(actor.pk, team.pk)
    return team


def check_may_create_accounts(actor: AbstractBaseUser) -> None:
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only a superuser creates accounts.")


def do_create_user(
    *,
    actor: AbstractBaseUser,
    team: Team,
    username: str,
    email: str,
    password: str,
    role: Role,
    request: HttpRequest | None = None,
) -> Membership:
    """A new account, member of ``team`` with ``role``. Only a superuser creates accounts: the
    answer to a taken username tells whether anyone holds it, which is not a team admin's to
    learn (a team admin invites instead, and the invitee picks the account).

    A taken username is refused (the superuser then invites that person instead)."""
    check_may_create_accounts(actor)
    username = _username(username)
    user_model = get_user_model()
    with transaction.atomic():
        team = _lock_team(team)
        if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
            raise MembershipError(
                f"The username {username} cannot be used: choose another, or invite its holder."
            )
        user = user_model.objects.create_user(username=username, email=email, password=password)
        membership = Membership.objects.create(user_id=user.pk, team=team, role=role)
        record(
            actor=actor,
            action="user.create",
            target=membership,
            team_id=team.pk,
            after={"user": username, "role": str(role)},
            request=request,
        )
        _announce(user.pk, team.pk)
    return membership


def check_deactivate(actor: AbstractBaseUser, user: AbstractBaseUser) -> None:
    """Who may switch an account off: a superuser, or an admin of every team the user is in
    (so no admin locks out a member of a team they do not run). Never oneself."""
    if user.pk == actor.pk:
        raise MembershipError("You cannot deactivate your own account.")
    if getattr(actor, "is_superuser", False):
        return
    if getattr(user, "is_superuser", False):
        raise MembershipError("Only a superuser can deactivate a superuser.")
    outside = Membership.objects.filter(user_id=user.pk).exclude(
        team__memberships__user_id=actor.pk, team__memberships__role=Role.ADMIN
    )
    if outside.exists():
        raise MembershipError(
            f"{user.get_username()} is also in a team you do not administer: "
            "remove them from this team instead, or ask a superuser."
        )


def do_set_active(
    *,
    actor: AbstractBaseUser,
    membership: Membership,
    active: bool,
    request: HttpRequest | None = None,
) -> AbstractBaseUser:
    """Deactivate (or reactivate) the account of a member of a team ``actor`` administers. An
    inactive account cannot log in, and its open sessions and sockets stop at their next check."""
    with transaction.atomic():
        user_model = get_user_model()
        user = user_model.objects.select_for_update().get(pk=membership.user_id)
        check_deactivate(actor, user)
        if user.is_active == active:
            return user
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            actor=actor,
            action="user.activate" if active else "user.deactivate",
            target=membership,
            team_id=membership.team_id,
            before={"user": user.get_username(), "active": not active},
            after={"user": user.get_username(), "active": active},
            request=request,
        )
        _announce(user.pk, membership.team_id)
    return user
