"""The one permission layer: who may do what on which team's objects.

Every view, websocket consumer, task and export asks ``can`` (or ``require``), and finds objects
through the ``*_for(user)`` selectors, which only ever return the user's teams' objects. An object
of another team is therefore never found (404), and a role that is too weak gets a 403 naming the
role it needs.
"""

from __future__ import annotations

from typing import Literal, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from apps.accounts.models import Membership, Role, Team

Action = Literal[
    "view",  # read threads, runs, state, the inbox
    "operate",  # start and cancel runs, fork, edit state
    "decide",  # answer interrupts
    "administer",  # members, deployments, team settings, the audit log
]

# The weakest role allowed each action.
REQUIRED_ROLE: dict[Action, Role] = {
    "view": Role.VIEWER,
    "operate": Role.OPERATOR,
    "decide": Role.OPERATOR,
    "administer": Role.ADMIN,
}
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}

AnyUser = AbstractBaseUser | AnonymousUser


class TeamOwned(Protocol):
    team_id: int


def teams_for(user: AnyUser, action: Action = "view") -> QuerySet[Team]:
    """The teams on which ``user`` may perform ``action``."""
    if not user.is_authenticated:
        return Team.objects.none()
    allowed = [role for role, rank in _RANK.items() if rank >= _RANK[REQUIRED_ROLE[action]]]
    return Team.objects.filter(memberships__user_id=user.pk, memberships__role__in=allowed)


def role_in(user: AnyUser, team_id: int) -> Role | None:
    if not user.is_authenticated:
        return None
    role = (
        Membership.objects.filter(user_id=user.pk, team_id=team_id)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


class SystemActor(AnonymousUser):
    """The console acting by itself (beat: inbox timeouts). It is not authenticated, so the audit
    log records it as "system"; the permission layer lets it act on every team."""


SYSTEM = SystemActor()


def is_system(user: AnyUser) -> bool:
    return isinstance(user, SystemActor)


def user_id(user: AnyUser) -> int:
    """The id of a real user (the actor of a claim, a job, an approval)."""
    if user.pk is None:
        raise PermissionDenied("Log in first.")
    return int(user.pk)


def can(user: AnyUser, action: Action, obj: Team | TeamOwned) -> bool:
    if isinstance(user, SystemActor):
        return True
    team_id = obj.pk if isinstance(obj, Team) else obj.team_id
    role = role_in(user, team_id)
    return role is not None and _RANK[role] >= _RANK[REQUIRED_ROLE[action]]


def require(user: AnyUser, action: Action, obj: Team | TeamOwned) -> None:
    """Raise PermissionDenied naming the role needed when ``user`` may not ``action`` on ``obj``.

    Callers must already have found ``obj`` through a ``*_for(user)`` selector, so a user outside
    the team has had a 404 before getting here.
    """
    if not can(user, action, obj):
        needed = REQUIRED_ROLE[action].label.lower()
        raise PermissionDenied(f"This needs the {needed} role (or higher) on this team.")
