"""What the console's operators scrape: one Prometheus collector, computed at scrape time.

The console is many processes (Daphne replicas serving this endpoint, Celery relay workers
storing and broadcasting events, beat), on one host or several. Rather than counting in each
process's memory (prometheus-client's multiprocess mode needs one shared directory, so one host,
and drops a dead worker's gauges), every figure is read at scrape time from what all processes
already share, so any replica answers the same and a restart loses nothing:

- from the database (one aggregate query each): relays active, relay lag, events stored (the sum
  of every run's ``last_seq``: retention prunes logs but keeps the runs, so it never goes back),
  runs by status, inbox size, decisions, deployment errors;
- from Redis: events broadcast, counted by the relays with ``INCRBY`` in the very round trip that
  publishes them (``apps.runs.events``), so counting costs the hot path nothing. It restarts at
  zero with Redis, which Prometheus's ``rate()`` treats as a counter reset.

Rates are Prometheus's job: every count here is a ``_total`` counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.inbox.models import Decision, Interrupt
from apps.inbox.models import Status as InterruptStatus
from apps.runs.events import broadcast_counter_key
from apps.runs.models import Run, Status
from apps.threads.models import PollState, SyncState

REDIS_TIMEOUT = 2.0


def _broadcast_total() -> float | None:
    """The relays' broadcast counter, or None when Redis does not answer (the metric is left
    out of the scrape rather than reported as zero, which would read as a counter reset)."""
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )
    try:
        return float(client.get(broadcast_counter_key()) or 0)
    except redis.RedisError:
        return None
    finally:
        client.close()


class ConsoleCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._relays(now)
        yield from self._events()
        yield from self._inbox(now)
        yield from self._deployments()

    def _relays(self, now: datetime) -> Iterator[Metric]:
        held = Run.objects.filter(status=Status.STREAMING, lease_expires_at__gt=now).aggregate(
            active=Count("pk"), oldest_renewal=Min("lease_expires_at")
        )
        yield GaugeMetricFamily(
            "switchboard_relays_active",
            "Runs a relay is following now (streaming, under an unexpired lease).",
            value=held["active"],
        )
        # A relay renews its lease with every batch it stores and at least every heartbeat, so
        # the time since the stalest renewal is how far the slowest relay is behind.
        lag = 0.0
        if held["oldest_renewal"] is not None:
            renewed = held["oldest_renewal"] - timedelta(seconds=settings.RUNS_LEASE_SECONDS)
            lag = max(0.0, (now - renewed).total_seconds())
        yield GaugeMetricFamily(
            "switchboard_relay_lag_seconds",
            "Seconds since the least recently active relay stored an event or renewed its "
            "lease (at most the heartbeat interval when every relay keeps up).",
            value=lag,
        )
        waiting = Run.objects.filter(status=Status.QUEUED).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "switchboard_runs_queued", "Runs waiting for a relay to claim them.", waiting["count"]
        )
        oldest = waiting["oldest"]
        yield GaugeMetricFamily(
            "switchboard_runs_queued_oldest_seconds",
            "Age of the oldest run waiting for a relay.",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        by_status = GaugeMetricFamily(
            "switchboard_runs", "Runs the console started, by status now.", labels=["status"]
        )
        counts = dict(
            Run.objects.order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

    def _events(self) -> Iterator[Metric]:
        stored = Run.objects.aggregate(total=Sum("last_seq"))["total"] or 0
        yield CounterMetricFamily(
            "switchboard_run_events_stored",
            "Run events stored in the event log by relays (kept counted after retention).",
            value=stored,
        )
        broadcast = _broadcast_total()
        if broadcast is not None:
            yield CounterMetricFamily(
                "switchboard_run_events_broadcast",
                "Run events broadcast to run pages (counted in Redis; resets with Redis).",
                value=broadcast,
            )

    def _inbox(self, now: datetime) -> Iterator[Metric]:
        pending = Interrupt.objects.filter(status=InterruptStatus.PENDING).aggregate(
            count=Count("pk"), oldest=Min("asked_at")
        )
        yield GaugeMetricFamily(
            "switchboard_inbox_pending",
            "Interrupts awaiting a human decision, on every team.",
            value=pending["count"],
        )
        yield GaugeMetricFamily(
            "switchboard_inbox_oldest_pending_seconds",
            "Age of the oldest interrupt awaiting a decision.",
            value=(now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0,
        )
        decisions = CounterMetricFamily(
            "switchboard_decisions", "Decisions made on interrupts, by action.", labels=["action"]
        )
        counts = dict(
            Decision.objects.order_by()
            .values_list("action")
            .annotate(n=Count("pk"))
            .values_list("action", "n")
        )
        for action in Decision.Action.values:
            decisions.add_metric([action], counts.get(action, 0))
        yield decisions

    def _deployments(self) -> Iterator[Metric]:
        failed = CounterMetricFamily(
            "switchboard_deployment_runs_failed",
            "Runs that failed on each deployment (the deployment's or the graph's error).",
            labels=["deployment_id", "deployment"],
        )
        for deployment_id, name, count in (
            Run.objects.filter(status=Status.FAILED)
            .order_by()
            .values_list("deployment_id", "deployment__name")
            .annotate(n=Count("pk"))
            .values_list("deployment_id", "deployment__name", "n")
        ):
            failed.add_metric([str(deployment_id), name], count)
        yield failed
        failing = GaugeMetricFamily(
            "switchboard_deployment_sync_failing",
            "1 when the last index sync of the deployment failed, else 0.",
            labels=["deployment_id", "deployment"],
        )
        for deployment_id, name, error in SyncState.objects.values_list(
            "deployment_id", "deployment__name", "last_error"
        ):
            failing.add_metric([str(deployment_id), name], 1.0 if error else 0.0)
        yield failing
        polling = GaugeMetricFamily(
            "switchboard_deployment_poll_failures",
            "Polls of the deployment's newest threads that failed in a row (0 when the last one "
            "answered).",
            labels=["deployment_id", "deployment"],
        )
        for deployment_id, name, failures in PollState.objects.values_list(
            "deployment_id", "deployment__name", "failures"
        ):
            polling.add_metric([str(deployment_id), name], float(failures))
        yield polling
