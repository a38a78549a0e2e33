"""Team workflow around the inbox's interrupt records: claims, bulk decisions, notifications,
timeouts (deadlines) and approval rules (with four-eyes first approvals).

Every table points at ``apps.inbox.models.Interrupt`` (an "item") and copies its team, so
permission checks need no join. Decisions themselves stay in the inbox: this app only calls
``apps.inbox.services.do_decide`` and reads the outcome.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.accounts.models import Role, Team
from apps.deployments.crypto import EncryptedTextField
from apps.deployments.models import Deployment
from apps.inbox.models import Interrupt


class Claim(models.Model):
    """Who handles an item, until when. Live while ``expires_at`` is in the future: a claim
    expires by itself, with no task to clear it; taking an expired claim is a conditional UPDATE."""

    interrupt = models.OneToOneField(Interrupt, models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"claim of item {self.interrupt_id} by {self.claimed_by_id}"


class BulkAction(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    IGNORE = "ignore", "Ignore"


class BulkJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Finished"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    action = models.CharField(max_length=16, choices=BulkAction.choices)
    comment = models.TextField(blank=True, default="")
    # What the operator selected, in words and as the filter's fields (for the report).
    selection = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    # The lease of the worker processing the job (a conditional UPDATE claims it).
    owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk {self.action} #{self.pk} ({self.total} items)"


class BulkItem(models.Model):
    class Outcome(models.TextChoices):
        QUEUED = "queued", "Not processed yet"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        MOVED_ON = "moved_on", "Moved on"
        WAITING = "waiting", "Waiting for a second approver"

    job = models.ForeignKey(BulkJob, models.CASCADE, related_name="items")
    interrupt = models.ForeignKey(Interrupt, models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.QUEUED)
    reason = models.TextField(blank=True, default="")
    run = models.ForeignKey("runs.Run", models.SET_NULL, null=True, blank=True, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "interrupt"], name="one_bulk_item_per_interrupt")
        ]
        indexes = [models.Index(fields=["job", "outcome"], name="workflow_bulk_outcome")]

    def __str__(self) -> str:
        return f"item {self.interrupt_id} of bulk job {self.job_id}: {self.outcome}"


class Channel(models.Model):
    """Where a team hears that an item is waiting: an email list or a webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook (JSON)"
        SLACK = "slack", "Slack-compatible webhook"

    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    # Comma-separated addresses for email; the URL for webhooks (checked against SSRF). Encrypted
    # at rest like deployment keys: a Slack webhook URL is a bearer secret.
    target = EncryptedTextField()
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    @property
    def shown_target(self) -> str:
        """What a page may show of the target: the addresses of an email channel, only the
        scheme and host of a webhook URL (its path and query are the secret)."""
        target: str = self.target
        if self.kind == self.Kind.EMAIL:
            return target
        parts = urlsplit(target)
        return f"{parts.scheme}://{parts.hostname or ''}/…"


class Notification(models.Model):
    """One message about one item on one channel (``channel`` null: the team's admins, by
    email, for escalations). The unique constraints make "one notification per item" hold
    however many sweeps run at once."""

    class Reason(models.TextChoices):
        APPEARED = "appeared", "Waiting for a decision"
        ESCALATED = "escalated", "Escalated after its timeout"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    interrupt = models.ForeignKey(Interrupt, models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        Channel, models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.APPEARED)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # Set while a delivery task sends it (a conditional UPDATE claims it), cleared after.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interrupt", "channel", "reason"],
                condition=Q(channel__isnull=False),
                name="one_notification_per_item_and_channel",
            ),
            models.UniqueConstraint(
                fields=["interrupt", "reason"],
                condition=Q(channel__isnull=True),
                name="one_admin_notification_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} notification of item {self.interrupt_id} ({self.status})"


class TimeoutAction(models.TextChoices):
    REJECT = "reject", "Reject"
    IGNORE = "ignore", "Ignore"
    ESCALATE = "escalate", "Escalate to the team's admins"


class TimeoutRule(models.Model):
    """Per deployment, optionally per graph: what happens to an item left undecided."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, models.CASCADE, related_name="+")
    # Empty: every graph of the deployment (a rule naming the graph wins over it).
    graph_id = models.CharField(max_length=200, blank=True, default="")
    after_seconds = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=TimeoutAction.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment_id", "graph_id"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "graph_id"], name="one_timeout_per_graph")
        ]

    def __str__(self) -> str:
        where = self.graph_id or "every graph"
        return f"timeout on {where}: {self.action} after {self.after_seconds} s"


class Deadline(models.Model):
    """An item's timeout: when it falls due and what was done. Beat claims a due deadline with
    a conditional UPDATE (state waiting -> working, or an expired lease), so two beats (or a
    beat and a slow one) never both act on an item."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        WORKING = "working", "Being applied"
        DONE = "done", "Done"

    interrupt = models.OneToOneField(Interrupt, models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    rule = models.ForeignKey(TimeoutRule, models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=16, choices=TimeoutAction.choices)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # What was carried out ("reject", "escalate", "" when a person decided first) and how it went.
    applied = models.CharField(max_length=16, blank=True, default="")
    outcome = models.TextField(blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "due_at"], name="workflow_deadline_due")]

    def __str__(self) -> str:
        return (
            f"deadline of item {self.interrupt_id}: {self.action} at {self.due_at:%Y-%m-%d %H:%M}"
        )


class ApprovalRule(models.Model):
    """Who may take which decision on which tool, and whether it needs a second person.

    Empty ``tool`` / ``decision`` match any; ``deployment`` null matches every deployment of the
    team. Every matching rule applies: the strongest ``min_role`` wins, and one ``risky`` match
    makes the decision need two distinct people.
    """

    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    deployment = models.ForeignKey(
        Deployment, models.CASCADE, null=True, blank=True, related_name="+"
    )
    tool = models.CharField(max_length=200, blank=True, default="")
    decision = models.CharField(max_length=16, blank=True, default="")
    min_role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    risky = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tool", "decision", "id"]

    def __str__(self) -> str:
        return f"{self.decision or 'any decision'} on {self.tool or 'any tool'}: {self.min_role}{' x2' if self.risky else ''}"


class Approval(models.Model):
    """The first of two approvals of a risky decision. The second, by someone else, with the
    same ``fingerprint`` (the same resume values), lets the inbox send the resume."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for a second approver"
        COMPLETED = "completed", "Completed by a second approver"
        SUPERSEDED = "superseded", "Replaced by a different decision"

    interrupt = models.ForeignKey(Interrupt, models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    summary = models.CharField(max_length=300, blank=True, default="")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    approved_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-approved_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interrupt"],
                condition=Q(state="waiting"),
                name="one_waiting_approval_per_item",
            )
        ]

    def __str__(self) -> str:
        return f"first approval of item {self.interrupt_id} by {self.approved_by_id}"
