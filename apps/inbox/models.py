"""Interrupts awaiting a human, the decisions taken on them, and each deployment's inbox policy.

``Interrupt`` mirrors one pending question on a deployment: one row per (deployment, thread,
checkpoint, interrupt id). Interrupt ids change whenever a node runs again (fork, replay, new
input), so the checkpoint is part of the key (contract gotcha 17). A thread paused at a static
breakpoint has one row with an empty interrupt id and kind ``breakpoint``.

``Decision`` is what a person did about one interrupt. At most one decision that is not voided
exists per interrupt (a partial unique constraint): two operators deciding at once, or one
double-clicking, end with exactly one decision and so exactly one resume. A decision whose
resume run failed while the thread still waits on the same interrupt is voided by the sync, so
the interrupt can be decided again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.accounts.models import Team
from apps.deployments.models import Deployment


class Kind(models.TextChoices):
    LEGACY = "legacy", "Agent-inbox request"
    MIDDLEWARE = "middleware", "Tool calls to review"
    GENERIC = "generic", "Question"
    BREAKPOINT = "breakpoint", "Breakpoint"


class Status(models.TextChoices):
    PENDING = "pending", "Awaiting a decision"
    DECIDED = "decided", "Decided"
    # The thread left this checkpoint or interrupt without a decision from this console
    # (answered elsewhere, new input, a fork, the thread deleted).
    MOVED_ON = "moved_on", "Moved on"
    RESOLVED = "resolved", "Marked resolved"


OPEN_STATUSES = (Status.PENDING,)


class Interrupt(models.Model):
    # Copied from the deployment so permission checks and the inbox count need no join.
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, models.CASCADE, related_name="+")
    thread_id = models.CharField(max_length=64)
    checkpoint_id = models.CharField(max_length=64)
    # Empty for a breakpoint (nothing to answer, only to continue).
    interrupt_id = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    graph_id = models.CharField(max_length=200, blank=True, default="")
    assistant_id = models.CharField(max_length=64, blank=True, default="")
    node = models.CharField(max_length=200, blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    namespace = models.JSONField(default=list, blank=True)
    # Breakpoints: the nodes that run when the thread continues.
    next_nodes = models.JSONField(default=list, blank=True)
    # [{"name", "args", "description", "allowed_decisions", "args_schema"}], as the SDK
    # normalised them; empty for generic payloads and breakpoints.
    actions = models.JSONField(default=list, blank=True)
    # " name1 name2 " lower-cased, what the inbox's action filter looks in.
    action_names = models.CharField(max_length=1000, blank=True, default="")
    raw_value = models.JSONField(null=True, blank=True)
    response_schema = models.JSONField(null=True, blank=True)
    per_call = models.BooleanField(default=False)
    # Order of the interrupts pending on one checkpoint.
    position = models.PositiveSmallIntegerField(default=0)
    # When the thread reached the checkpoint (the deployment's time), else when first seen.
    asked_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "thread_id", "checkpoint_id", "interrupt_id"],
                name="one_interrupt_row_per_checkpoint",
            )
        ]
        indexes = [
            models.Index(fields=["status", "asked_at", "id"], name="inbox_status_asked"),
            models.Index(fields=["team", "status"], name="inbox_team_status"),
            models.Index(fields=["deployment", "thread_id", "status"], name="inbox_thread_status"),
        ]

    def __str__(self) -> str:
        what = self.interrupt_id[:8] if self.interrupt_id else "breakpoint"
        return f"{self.get_kind_display()} {what} on thread {self.thread_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Decision(models.Model):
    """One person's decision on one interrupt (several, decided together, share ``batch``)."""

    class Action(models.TextChoices):
        ANSWER = "answer", "Answered"
        RAW = "raw", "Raw resume value"
        CONTINUE = "continue", "Continued"
        EDIT_STATE = "edit_state", "State edited, then continued"
        RESOLVE = "resolve", "Marked resolved"

    interrupt = models.ForeignKey(Interrupt, models.CASCADE, related_name="decisions")
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, models.CASCADE, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    # "accept", "approve, edit", ...: what the inbox and the metrics show.
    summary = models.CharField(max_length=300, blank=True, default="")
    # What the operator gave, per action, before composition; and the value this interrupt got.
    answer = models.JSONField(null=True, blank=True)
    resume_value = models.JSONField(null=True, blank=True)
    # Per action: the original args, the edited args, and [{"action", "key", "before", "after"}].
    original = models.JSONField(null=True, blank=True)
    edited = models.JSONField(null=True, blank=True)
    diff = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150)
    decided_at = models.DateTimeField(auto_now_add=True)
    batch = models.UUIDField()
    # The console run that carried the resume (a live run), when there is one.
    run = models.ForeignKey("runs.Run", models.SET_NULL, null=True, blank=True, related_name="+")
    # Voided when the resume failed and the thread still waits on the same interrupt.
    voided = models.BooleanField(default=False)
    voided_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interrupt"],
                condition=Q(voided=False),
                name="one_decision_per_interrupt",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decided_by_label}: {self.summary or self.get_action_display()}"


class InboxPolicy(models.Model):
    """Inbox settings of one deployment, edited by its team's admins."""

    deployment = models.OneToOneField(
        Deployment, models.CASCADE, primary_key=True, related_name="inbox_policy"
    )
    comment_required = models.BooleanField(
        default=False, help_text="Every decision on this deployment needs a comment."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inbox policies"

    def __str__(self) -> str:
        return f"inbox policy of deployment {self.deployment_id}"
