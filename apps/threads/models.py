"""The thread index: Switchboard's mirror of every deployment's threads.

Deployments own threads and checkpoints; the index keeps just enough of each thread (status,
graph, metadata, times, interrupt count, last error) that lists, filters, counts and the inbox are
fast across deployments. It is written by the sync (beat and the refresh button), by relays after
each run, and by the thread page when it reads a thread live. It is never the source of truth.
"""

from __future__ import annotations

from django.db import models

from apps.deployments.models import Deployment


class ThreadStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    BUSY = "busy", "Busy"
    INTERRUPTED = "interrupted", "Interrupted"
    ERROR = "error", "Error"


class ThreadIndex(models.Model):
    deployment = models.ForeignKey(Deployment, models.CASCADE, related_name="indexed_threads")
    thread_id = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=ThreadStatus.choices, default=ThreadStatus.IDLE
    )
    graph_id = models.CharField(max_length=200, blank=True, default="")
    assistant_id = models.CharField(max_length=64, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # The deployment's own times (not ours): updated_at drives the incremental sync and the
    # default order of the list.
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    interrupt_count = models.PositiveIntegerField(default=0)
    error_type = models.CharField(max_length=200, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # Lower-cased thread id + metadata, what free-text search looks in.
    search_text = models.TextField(blank=True, default="")
    # What a person recognises a thread by: the first human message and the last message (with
    # who wrote it), cut short; and the conversation's text, lower-cased and bounded, which
    # search looks in too (full-text on PostgreSQL, migration 0003; LIKE elsewhere).
    first_message = models.CharField(max_length=200, blank=True, default="")
    last_message = models.CharField(max_length=200, blank=True, default="")
    messages_text = models.TextField(blank=True, default="")
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "thread_id"], name="one_index_row_per_thread"
            )
        ]
        indexes = [
            # Keyset pages: (sort key, id) in both sort orders, with and without a status.
            models.Index(fields=["updated_at", "id"], name="threads_updated_keyset"),
            models.Index(fields=["created_at", "id"], name="threads_created_keyset"),
            models.Index(fields=["status", "updated_at", "id"], name="threads_status_updated"),
            models.Index(fields=["deployment", "updated_at", "id"], name="threads_dep_updated"),
            models.Index(fields=["deployment", "status"], name="threads_dep_status"),
            models.Index(
                fields=["deployment", "graph_id", "status"], name="threads_dep_graph_status"
            ),
            models.Index(fields=["thread_id"], name="threads_thread_id"),
        ]

    def __str__(self) -> str:
        return self.thread_id

    @property
    def needs_human(self) -> bool:
        return self.status == ThreadStatus.INTERRUPTED and self.interrupt_count > 0


class SyncState(models.Model):
    """Where the incremental sync of one deployment stands, and its lease.

    ``high_water`` is the newest ``updated_at`` up to which the index is known complete. A pass
    reads the deployment newest first and stops when it reaches it. A pass that hits its page
    bound first keeps ``resume_offset`` and the ``pending_high_water`` it started from, and the
    next pass carries on from there; ``high_water`` only moves once a pass has joined up.
    """

    deployment = models.OneToOneField(
        Deployment, models.CASCADE, primary_key=True, related_name="thread_sync"
    )
    high_water = models.DateTimeField(null=True, blank=True)
    pending_high_water = models.DateTimeField(null=True, blank=True)
    resume_offset = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # Graph ids seen on this deployment: the suggestions of the list's graph filter, kept here
    # so the list page never has to scan the index for DISTINCT graph ids.
    graph_ids = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"sync of deployment {self.deployment_id}"


class PollState(models.Model):
    """Where the fast poller of one deployment stands, when it polls next, and who holds it.

    ``cursor`` is the newest ``updated_at`` the poller has indexed; ``cursor_ids`` are the
    threads it indexed at exactly that time, so a thread updated in the same microsecond as
    another is not missed, and the ones already seen are not indexed again every cycle. The
    lease (owner and expiry) makes one poller per deployment across every worker; it lapses by
    itself when a worker dies mid-poll.
    """

    deployment = models.OneToOneField(
        Deployment, models.CASCADE, primary_key=True, related_name="thread_poll"
    )
    cursor = models.DateTimeField(null=True, blank=True)
    cursor_ids = models.JSONField(default=list, blank=True)
    interval = models.FloatField(default=1.0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_change_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["next_poll_at"], name="threads_poll_due")]

    def __str__(self) -> str:
        return f"poller of deployment {self.deployment_id}"
