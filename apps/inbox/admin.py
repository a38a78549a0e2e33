from __future__ import annotations

from django.contrib import admin

from apps.inbox.models import Decision, InboxPolicy, Interrupt
from dashboard.admin_views import ViewOnlyAdmin


@admin.register(Interrupt)
class InterruptAdmin(ViewOnlyAdmin):
    list_display = ["asked_at", "team", "deployment", "thread_id", "kind", "status", "action_names"]
    list_filter = ["status", "kind", "team"]
    search_fields = ["thread_id", "interrupt_id", "graph_id", "action_names"]
    date_hierarchy = "asked_at"


@admin.register(Decision)
class DecisionAdmin(ViewOnlyAdmin):
    """A log: who decided what, with the values sent."""

    list_display = ["decided_at", "decided_by_label", "team", "action", "summary"]
    list_filter = ["action", "team"]
    search_fields = ["decided_by_label", "summary", "interrupt__thread_id"]
    date_hierarchy = "decided_at"


@admin.register(InboxPolicy)
class InboxPolicyAdmin(ViewOnlyAdmin):
    list_display = ["deployment", "comment_required", "updated_at"]
