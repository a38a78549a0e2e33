from __future__ import annotations

from django.contrib import admin

from apps.workflow.models import (
    Approval,
    ApprovalRule,
    BulkItem,
    BulkJob,
    Channel,
    Claim,
    Deadline,
    Notification,
    TimeoutRule,
)
from dashboard.admin_views import ViewOnlyAdmin


@admin.register(Claim)
class ClaimAdmin(ViewOnlyAdmin):
    list_display = ["interrupt", "team", "claimed_by", "claimed_at", "expires_at"]


@admin.register(BulkJob)
class BulkJobAdmin(ViewOnlyAdmin):
    list_display = ["pk", "created_at", "created_by", "action", "status", "total"]
    list_filter = ["status", "action"]


@admin.register(BulkItem)
class BulkItemAdmin(ViewOnlyAdmin):
    list_display = ["job", "position", "interrupt", "outcome", "finished_at"]
    list_filter = ["outcome"]


@admin.register(Channel)
class ChannelAdmin(ViewOnlyAdmin):
    list_display = ["name", "team", "kind", "enabled", "created_at"]
    list_filter = ["kind", "enabled", "team"]
    # A webhook's URL is its secret.
    exclude = ["target"]


@admin.register(Notification)
class NotificationAdmin(ViewOnlyAdmin):
    """A log of what was announced where."""

    list_display = ["created_at", "team", "channel", "reason", "status", "attempts", "sent_at"]
    list_filter = ["status", "reason", "team"]


@admin.register(TimeoutRule)
class TimeoutRuleAdmin(ViewOnlyAdmin):
    list_display = ["team", "deployment", "graph_id", "after_seconds", "action"]


@admin.register(Deadline)
class DeadlineAdmin(ViewOnlyAdmin):
    list_display = ["interrupt", "team", "action", "due_at", "state", "applied"]
    list_filter = ["state", "action"]


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(ViewOnlyAdmin):
    list_display = ["team", "deployment", "tool", "decision", "min_role", "risky"]


@admin.register(Approval)
class ApprovalAdmin(ViewOnlyAdmin):
    """A log: the first of two approvals of a risky decision."""

    list_display = ["approved_at", "team", "interrupt", "approved_by", "state", "summary"]
    list_filter = ["state"]
