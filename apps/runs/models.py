"""Runs the console started or follows, and their event logs.

A ``Run`` is one run the console asked a deployment to execute (origin "start"), or one it only
watches (origin "follow": a run someone else started, joined by its relay), with the lease that
says which relay follows it. ``RunEvent`` is the durable, sequence-numbered log of what the deployment
streamed: the websocket is only a cache of it, so a page that reconnects, a relay that takes over
and a channel layer that drops messages all end with every event exactly once, in order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.accounts.models import Team
from apps.deployments.models import Deployment


class Kind(models.TextChoices):
    INPUT = "input", "New input"
    RESUME = "resume", "Resume"
    FORK = "fork", "Fork"
    RERUN = "rerun", "Re-run"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    STREAMING = "streaming", "Streaming"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # Stopped at a human-in-the-loop interrupt or a breakpoint (the deployment says "success").
    INTERRUPTED = "interrupted", "Interrupted"


class Origin(models.TextChoices):
    START = "start", "Started by the console"
    FOLLOW = "follow", "Followed"


class FollowFrom(models.TextChoices):
    # What a followed run's log holds: every event (the run is resumable) or those after joining.
    START = "start", "Following from its start"
    NOW = "now", "Following from now: earlier events are not shown"


ACTIVE_STATUSES = (Status.QUEUED, Status.STREAMING)
FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)


class Run(models.Model):
    # The team is the deployment's, copied so permission checks need no join.
    team = models.ForeignKey(Team, models.CASCADE, related_name="runs")
    deployment = models.ForeignKey(Deployment, models.CASCADE, related_name="runs")
    thread_id = models.CharField(max_length=64)
    assistant_id = models.CharField(max_length=200)
    upstream_run_id = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INPUT)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.START)
    follow_from = models.CharField(max_length=8, choices=FollowFrom.choices, blank=True, default="")
    input = models.JSONField(null=True, blank=True)
    command = models.JSONField(null=True, blank=True)
    stream_mode = models.JSONField(default=list)
    multitask_strategy = models.CharField(max_length=16, default="reject")
    checkpoint_id = models.CharField(max_length=64, blank=True, default="")
    interrupt_before = models.JSONField(null=True, blank=True)
    interrupt_after = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error = models.TextField(blank=True, default="")
    # Set by a cancel that arrived before the relay knew the upstream run: "interrupt"/"rollback".
    cancel_requested = models.CharField(max_length=16, blank=True, default="")

    # The lease: the relay whose owner token is here follows the run until lease_expires_at.
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveIntegerField(default=0, help_text="Relays that have claimed it.")
    # Last time a relay task was enqueued for it (by the start, or by the reaper).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_event_id = models.CharField(max_length=64, blank=True, default="")
    last_seq = models.PositiveIntegerField(default=0)

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_event_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["deployment", "thread_id"], name="run_thread"),
            models.Index(fields=["status", "lease_expires_at"], name="run_lease"),
        ]
        constraints = [
            # Many viewers of one upstream run share one follow record, and so one relay.
            models.UniqueConstraint(
                fields=["deployment", "upstream_run_id"],
                condition=models.Q(origin="follow", status__in=["queued", "streaming"]),
                name="one_live_follow_per_upstream_run",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk} on thread {self.thread_id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_follow(self) -> bool:
        return self.origin == Origin.FOLLOW


class RunEvent(models.Model):
    """One event of a run, numbered 1, 2, 3... without gaps in the order the relay stored it.

    ``event`` is the upstream SSE event name (``values``, ``messages``, ``updates``, ``custom``,
    ``error``, ...) or one of the console's own (``switchboard/end``: the run's final status).
    """

    # No index of its own: the unique (run, seq) index serves every lookup by run, and one
    # index fewer is one less entry written per stored event.
    run = models.ForeignKey(Run, models.CASCADE, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    event = models.CharField(max_length=200)
    data = models.JSONField(null=True)
    upstream_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_event_per_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.event}"
