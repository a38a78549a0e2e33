from __future__ import annotations

from django.contrib import admin

from apps.threads.models import PollState, SyncState, ThreadIndex
from dashboard.admin_views import ViewOnlyAdmin


@admin.register(ThreadIndex)
class ThreadIndexAdmin(ViewOnlyAdmin):
    """The index mirrors the deployments: the next sync would undo an edit."""

    list_display = [
        "thread_id",
        "deployment",
        "status",
        "graph_id",
        "interrupt_count",
        "updated_at",
    ]
    list_filter = ["status", "deployment"]
    search_fields = ["=thread_id", "graph_id"]


@admin.register(SyncState)
class SyncStateAdmin(ViewOnlyAdmin):
    list_display = ["deployment", "high_water", "last_ok_at", "last_finished_at", "last_error"]


@admin.register(PollState)
class PollStateAdmin(ViewOnlyAdmin):
    """Written by the poller alone: an edit would fight its lease and cursor."""

    list_display = ["deployment", "cursor", "next_poll_at", "interval", "failures", "last_error"]
