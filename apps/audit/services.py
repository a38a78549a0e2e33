from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from apps.audit.models import AuditEntry

SYSTEM = "system"


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model,
    team_id: int | None = None,
    deployment_id: int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction that makes the change, so the change
    and its entry are committed (or rolled back) together. ``actor=None`` means the system."""
    user = actor if actor is not None and actor.is_authenticated else None
    label = actor_label or (user.get_username() if user is not None else SYSTEM)
    return AuditEntry.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_label=label,
        team_id=team_id,
        deployment_id=deployment_id,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=str(target)[:255],
        before=before,
        after=after,
        reason=reason,
        address=_client_address(request),
    )
