from __future__ import annotations

from typing import Any, NoReturn

import pgtrigger
from django.conf import settings
from django.db import models

# The links an entry keeps to its actor, team and deployment are ON DELETE SET NULL: deleting a
# user, team or deployment may set them to NULL (the entry keeps the name in its own columns),
# and nothing else may change an entry.
NULLABLE_LINKS = ["actor", "team", "deployment"]
# The one trigger a named path may pass: ``services.purge_entries_before`` (retention).
NO_DELETE_TRIGGER = "audit.AuditEntry:audit_no_delete"


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One write action: who did what to which object, with its before and after.

    Append-only: the model and its queryset refuse updates and deletes; entries are written by
    ``apps.audit.services.record`` in the same transaction as the action they describe. On
    PostgreSQL, triggers refuse the same in the database, whatever the client (``_base_manager``,
    raw SQL, another program): an UPDATE may only set a link in ``NULLABLE_LINKS`` to NULL, and a
    DELETE passes only inside ``services.purge_entries_before``. SQLite (the embedded default,
    one user's console) has no such triggers: the model's guards are all that hold there.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Null for actions the system takes by itself (timeouts, reapers); actor_label says which.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    team = models.ForeignKey("accounts.Team", models.SET_NULL, null=True, blank=True)
    deployment = models.ForeignKey("deployments.Deployment", models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=128)
    target_label = models.CharField(max_length=255, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        triggers = [
            pgtrigger.Protect(
                name="audit_no_rewrite",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(exclude=NULLABLE_LINKS),
            ),
            pgtrigger.Protect(
                name="audit_links_only_cleared",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(
                    new__actor__isnull=False, new__actor__df=pgtrigger.F("old__actor")
                )
                | pgtrigger.Q(new__team__isnull=False, new__team__df=pgtrigger.F("old__team"))
                | pgtrigger.Q(
                    new__deployment__isnull=False,
                    new__deployment__df=pgtrigger.F("old__deployment"),
                ),
            ),
            pgtrigger.Protect(name="audit_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")
