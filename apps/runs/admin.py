from __future__ import annotations

from django.contrib import admin

from apps.runs.models import Run, RunEvent
from dashboard.admin_views import ViewOnlyAdmin


@admin.register(Run)
class RunAdmin(ViewOnlyAdmin):
    list_display = [
        "pk",
        "created_at",
        "team",
        "deployment",
        "thread_id",
        "assistant_id",
        "kind",
        "status",
    ]
    list_filter = ["status", "kind", "team"]
    search_fields = ["thread_id", "upstream_run_id", "assistant_id"]
    date_hierarchy = "created_at"


@admin.register(RunEvent)
class RunEventAdmin(ViewOnlyAdmin):
    """A log: the events a relay stored, in order."""

    list_display = ["run", "seq", "event", "created_at"]
    list_select_related = ["run"]
    search_fields = ["=run__id"]
    ordering = ["-run_id", "seq"]
