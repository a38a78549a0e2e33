from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest

from apps.accounts.models import Membership, Role, Team
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


def check_add_member(team: Team, username: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username.strip()}).first()
    if user is None or not user.is_active:
        raise MembershipError(f"There is no active user named {username.strip()!r}.")
    if Membership.objects.filter(team=team, user=user).exists():
        raise MembershipError(f"{user.get_username()} is already a member of {team.name}.")
    return user


def do_add_member(
    *,
    actor: AbstractBaseUser,
    team: Team,
    username: str,
    role: Role,
    request: HttpRequest | None = None,
) -> Membership:
    with transaction.atomic():
        team = _lock_team(team)
        user = check_add_member(team, username)
        membership = Membership.objects.create(user_id=user.pk, team=team, role=role)
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
