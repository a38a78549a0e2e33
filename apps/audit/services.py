from __future__ import annotations

from datetime import datetime
from typing import Any

import pgtrigger
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.http import HttpRequest

from apps.audit.models import NO_DELETE_TRIGGER, AuditEntry

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


def purge_entries_before(cutoff: datetime) -> int:
    """Retention: delete the entries written before ``cutoff``, and record that it was done.

    The one path that deletes audit entries: the database's trigger refuses every other DELETE.
    Returns how many entries were deleted.
    """
    with transaction.atomic():
        with pgtrigger.ignore(NO_DELETE_TRIGGER):
            deleted, _ = AuditEntry._base_manager.filter(created_at__lt=cutoff).delete()
        AuditEntry.objects.create(
            actor_label=SYSTEM,
            action="audit.purge",
            target_type=AuditEntry._meta.label_lower,
            target_id="",
            target_label=f"entries before {cutoff.isoformat()}",
            after={"before": cutoff.isoformat(), "deleted": deleted},
        )
    return deleted
