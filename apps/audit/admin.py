from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from apps.audit.models import AuditEntry

if TYPE_CHECKING:
    # ModelAdmin is generic only in the type stubs.
    AdminBase = admin.ModelAdmin[AuditEntry]
else:
    AdminBase = admin.ModelAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(AdminBase):
    """Read-only: superusers may look, nobody may add, change or delete (append-only log)."""

    list_display = ["created_at", "actor_label", "team", "action", "target_type", "target_id"]
    list_filter = ["action", "team"]
    search_fields = ["actor_label", "action", "target_id", "target_label"]
    date_hierarchy = "created_at"
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
