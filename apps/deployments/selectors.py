"""Read-side lookups for deployments, scoped to the user asking.

Every other app finds deployments through here:

- ``deployments_for(user, action)``: the deployments of the teams on which ``user`` may ``action``.
- ``get_deployment_for(user, pk, action=...)``: one of them, 404 for another team's id, then 403
  naming the role needed when the user's role is too weak for ``action``.
- ``watchable_for(user)``: the deployments on which ``user`` may watch runs live ("Watch live").
- ``check_writable(deployment)`` / ``get_rw_deployment_for(user, pk)``: for write paths (start or
  cancel a run, decide, edit state): 403 with words when the deployment is read-only or disabled.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.permissions import Action, AnyUser, require, teams_for
from apps.deployments.models import Deployment


def deployments_for(user: AnyUser, action: Action = "view") -> QuerySet[Deployment]:
    """The deployments of the teams on which ``user`` may ``action``."""
    return Deployment.objects.filter(team__in=teams_for(user, action))


def get_deployment_for(user: AnyUser, pk: int, action: Action = "view") -> Deployment:
    """A deployment of one of the user's teams, or 404 (never 403: another team's ids stay secret).

    With an ``action`` stronger than "view", a member whose role is too weak gets a 403 that names
    the role needed.
    """
    try:
        deployment = deployments_for(user).select_related("team").get(pk=pk)
    except Deployment.DoesNotExist:
        raise Http404("No such deployment.") from None
    require(user, action, deployment)
    return deployment


def watchable_for(user: AnyUser) -> QuerySet[Deployment]:
    """The deployments on which ``user`` may watch runs live: the operator role on an enabled
    deployment, as the gate asks of ``run.watch`` (read-only ones too: watching writes nothing
    upstream). Pages offer "Watch live" only there."""
    return deployments_for(user, "operate").filter(enabled=True)


def is_writable(deployment: Deployment) -> bool:
    return deployment.enabled and not deployment.read_only


def check_writable(deployment: Deployment) -> None:
    """Raise PermissionDenied (403) saying why nothing may be written through ``deployment``.

    Every write path of the console (runs, decisions, state edits, forks, cancels) calls this after
    its permission check; reads stay allowed on read-only deployments.
    """
    if not deployment.enabled:
        raise PermissionDenied(
            f"The deployment {deployment.name!r} is disabled: a team admin can enable it."
        )
    if deployment.read_only:
        raise PermissionDenied(
            f"The deployment {deployment.name!r} is read-only: the console does not start runs, "
            "decide interrupts or change state on it."
        )


def get_rw_deployment_for(user: AnyUser, pk: int, action: Action = "operate") -> Deployment:
    """``get_deployment_for`` for a write path: 404, then 403 for the role, then 403 when the
    deployment is read-only or disabled."""
    deployment = get_deployment_for(user, pk, action)
    check_writable(deployment)
    return deployment
