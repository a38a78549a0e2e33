"""Read-side lookups for the audit log, scoped to the teams the user administers."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict, cast

from django.db.models import Model, QuerySet
from django.utils import timezone

from apps.accounts.models import Team
from apps.accounts.permissions import AnyUser, teams_for
from apps.audit.models import AuditEntry


class AuditFilters(TypedDict, total=False):
    actor: str
    action: str
    team: Team | None
    deployment: Model | None  # a deployments.Deployment
    date_from: dt.date | None
    date_to: dt.date | None


def audit_entries_for(user: AnyUser) -> QuerySet[AuditEntry]:
    """Entries of the teams ``user`` administers (reading the audit log is an admin's right)."""
    return AuditEntry.objects.filter(team__in=teams_for(user, "administer"))


def deployments_administered(user: AnyUser) -> QuerySet[Any]:
    """The deployments of the teams ``user`` administers, for the filter. The audit log sits
    below the deployments app (which records into it): it reaches their rows through its own
    foreign key rather than importing that app."""
    deployment_model = cast("type[Model]", AuditEntry._meta.get_field("deployment").related_model)
    return deployment_model._default_manager.filter(team__in=teams_for(user, "administer"))


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_entries(entries: QuerySet[AuditEntry], filters: AuditFilters) -> QuerySet[AuditEntry]:
    if actor := filters.get("actor"):
        entries = entries.filter(actor_label__iexact=actor)
    if action := filters.get("action"):
        # "deployment." finds every deployment action; "deployment.update" just that one.
        entries = entries.filter(action__startswith=action)
    if team := filters.get("team"):
        entries = entries.filter(team=team)
    if deployment := filters.get("deployment"):
        entries = entries.filter(deployment_id=deployment.pk)
    if date_from := filters.get("date_from"):
        entries = entries.filter(created_at__gte=_start_of(date_from))
    if date_to := filters.get("date_to"):
        # Inclusive: everything before the start of the next day.
        entries = entries.filter(created_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    return entries.select_related("team", "deployment").order_by("-created_at", "-id")
