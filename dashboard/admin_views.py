"""The Django admin's view-only pages, shared by the apps' admin modules.

Superusers may look at every model in the admin, but they change things on the console's own
pages: those are the one path that validates input (URLs against SSRF, JSON strictly), checks the
gate of each action and writes the audit log. Logs (audit entries, run events, decisions) are
append-only anyway. So these pages add, change and delete nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

if TYPE_CHECKING:
    # ModelAdmin is generic only in the type stubs.
    AdminBase = admin.ModelAdmin[Any]
else:
    AdminBase = admin.ModelAdmin


class ViewOnlyAdmin(AdminBase):
    actions = None
    # Counting a large table (the run event log, the thread index) on every page is a full scan.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
