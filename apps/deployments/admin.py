from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from apps.deployments.models import Deployment

if TYPE_CHECKING:
    # ModelAdmin is generic only in the type stubs.
    AdminBase = admin.ModelAdmin[Deployment]
else:
    AdminBase = admin.ModelAdmin


@admin.register(Deployment)
class DeploymentAdmin(AdminBase):
    """View only. Deployments are added and edited on the console's deployment pages, the one
    path that validates URLs against SSRF, encrypts secrets and writes the audit log."""

    list_display = ["name", "team", "url", "read_only", "enabled", "is_demo"]
    list_filter = ["team", "read_only", "enabled"]
    search_fields = ["name", "url"]
    # Secrets are not shown even encrypted.
    exclude = ["api_key_encrypted", "headers_encrypted"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
