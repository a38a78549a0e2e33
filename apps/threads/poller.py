"""The fast poller: each deployment's changed threads in the index within seconds.

The full sync (``services.sync_deployment``) reads a deployment every few minutes; this reads
only the head of its thread list, newest ``updated_at`` first, down to the cursor where the
last poll stopped, and sends what changed through the sync's own path (``upsert_page``, then
``threads_seen``, which keeps the inbox records current and announces ``inbox.changed``).

- When: ``next_interval`` is fast while the deployment has busy threads or changed recently,
  and doubles towards slow while nothing happens; a deployment answering errors backs off the
  same way and keeps its error on its ``PollState``.
- Who: beat calls ``claim_due`` every tick; a poll's lease (owner and expiry on ``PollState``,
  taken by a conditional UPDATE) makes one poller per deployment across every worker. A
  deployment's ``PollState`` is made when it is saved enabled, not by the tick.
- How much: every request comes out of the deployment's token bucket (``pacing``).

A poll that finds more changes than its pages hold moves its cursor anyway and asks for a full
sync (``PollReport.overflowed``), which reads down to where the index was last complete.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch_one
from apps.threads.models import PollState, SyncState, ThreadIndex, ThreadStatus
from apps.threads.pacing import Bucket, deployment_bucket
from apps.threads.services import SYNC_SELECT, upsert_page
from apps.threads.signals import threads_seen

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 4
# Pages overlap by this many rows: threads with equal ``updated_at`` may come in any order
# from one request to the next, and re-reading a row is free (it is skipped as seen).
OVERLAP = 5
# Thread statuses after which the inbox reads the thread's state: one more request each.
_READ_BY_INBOX = (ThreadStatus.INTERRUPTED, ThreadStatus.ERROR)


@dataclass(frozen=True)
class Pace:
    fast: float
    slow: float
    window: float  # stay fast this long after a change

    @classmethod
    def from_settings(cls) -> Pace:
        return cls(
            fast=settings.THREADS_POLL_FAST_MS / 1000,
            slow=float(
                max(settings.THREADS_POLL_SLOW_SECONDS, settings.THREADS_POLL_FAST_MS / 1000)
            ),
            window=float(settings.THREADS_POLL_FAST_WINDOW),
        )


def next_interval(
    pace: Pace,
    *,
    previous: float,
    changed: bool,
    busy: bool,
    since_change: float | None,
    failures: int = 0,
) -> float:
    """Seconds until the next poll of a deployment."""
    if failures:
        return min(pace.slow, pace.fast * 2.0**failures)
    if changed or busy or (since_change is not None and since_change < pace.window):
        return pace.fast
    return min(pace.slow, max(pace.fast, previous * 2.0))


@dataclass
class PollReport:
    deployment_id: int
    ok: bool = True
    skipped: str = ""  # why nothing was asked: lease lost, deployment gone, budget spent
    pages: int = 0
    changed: int = 0
    overflowed: bool = False
    interval: float = 0.0
    error: str = ""


class PollFailed(Exception):
    pass


@dataclass
class _Found:
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    newest: datetime | None = None
    newest_ids: set[str] = field(default_factory=set)
    pages: int = 0
    reached: bool = False


def _when(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is not None and not timezone.is_aware(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


class _Remote:
    """The deployment's thread search, paid for from its bucket, within one deadline."""

    def __init__(self, deployment: Deployment, bucket: Bucket, seconds: float) -> None:
        # Every request is budgeted, so the SDK's retries would be requests nobody paid for.
        self.client = sync_client_for(deployment).with_options(max_retries=0)
        self.bucket = bucket
        self.end = time.monotonic() + seconds

    def search(self, **kwargs: Any) -> list[dict[str, Any]]:
        left = self.end - time.monotonic()
        if left <= 0:
            raise PollFailed("The deployment did not answer in time.")
        outcome = fetch_one(
            lambda: self.client.search_threads(**kwargs),
            timeout=min(left, float(settings.DEPLOYMENT_TIMEOUT)),
        )
        if outcome.problem is not None:
            raise PollFailed(outcome.problem.message)
        return [dict(t) for t in outcome.value or []]


def _read(remote: _Remote, cursor: datetime | None, seen: set[str]) -> _Found:
    """Newest first, down to the cursor: every thread updated after it, or at it but unseen."""
    found = _Found()
    offset = 0
    while found.pages < MAX_PAGES:
        if found.pages and not remote.bucket.take():
            break
        page = remote.search(
            limit=PAGE_SIZE,
            offset=offset,
            sort_by="updated_at",
            sort_order="desc",
            select=SYNC_SELECT,
        )
        found.pages += 1
        for thread in page:
            when = _when(thread.get("updated_at"))
            thread_id = str(thread.get("thread_id") or "")
            if when is None or not thread_id:
                continue
            if cursor is not None and when < cursor:
                found.reached = True
                break
            if found.newest is None or when > found.newest:
                found.newest, found.newest_ids = when, {thread_id}
            elif when == found.newest:
                found.newest_ids.add(thread_id)
            if when == cursor and thread_id in seen:
                continue
            found.threads[thread_id] = thread
        if found.reached or len(page) < PAGE_SIZE:
            found.reached = True
            break
        offset += PAGE_SIZE - OVERLAP
    return found


def _with_errors(remote: _Remote, threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A search cannot select `error`: the failed threads are fetched whole, in one request.
    errored = [str(t["thread_id"]) for t in threads if t.get("status") == ThreadStatus.ERROR]
    if not errored:
        return threads
    remote.bucket.charge(1)
    full = {str(t["thread_id"]): t for t in remote.search(ids=errored, limit=len(errored))}
    return [full.get(str(t["thread_id"]), t) for t in threads]


def ensure_poll_states() -> None:
    """A poll state for every enabled deployment that lacks one, due at once.

    Saving an enabled deployment creates its state (``receivers.deployment_saved``); this is the
    safety net for deployments enabled behind the ORM's back (a queryset update, a fixture), run
    with each full sync and not on beat's tick.
    """
    missing = Deployment.objects.filter(enabled=True, thread_poll__isnull=True)
    PollState.objects.bulk_create(
        [PollState(deployment_id=pk) for pk in missing.values_list("pk", flat=True)],
        ignore_conflicts=True,
    )


def claim(deployment_id: int, *, now: datetime | None = None) -> str | None:
    """Take the poll lease of one deployment if it is free (or lapsed); returns the owner."""
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    claimed = (
        PollState.objects.filter(pk=deployment_id)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.THREADS_POLL_LEASE_SECONDS),
        )
    )
    return owner if claimed else None


def claim_due(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """Lease every enabled deployment whose poll is due: (deployment id, lease owner).

    One conditional ``UPDATE ... RETURNING`` (PostgreSQL, and SQLite from 3.35) on beat's every
    tick. The lease conditions are on the updated rows themselves, so PostgreSQL re-checks them on
    a row another tick leased meanwhile, and two ticks never lease one deployment. The leases of
    one tick share an owner: a poll is still fenced by its deployment and that owner together.
    """
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    state, deployment = PollState._meta, Deployment._meta
    sql = (
        f"UPDATE {quote(state.db_table)} SET lease_owner = %s, lease_expires_at = %s "
        "WHERE (next_poll_at IS NULL OR next_poll_at <= %s) "
        "AND (lease_expires_at IS NULL OR lease_expires_at < %s) "
        f"AND deployment_id IN (SELECT id FROM {quote(deployment.db_table)} WHERE enabled = %s) "
        "RETURNING deployment_id"
    )
    expires = now + timedelta(seconds=settings.THREADS_POLL_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner, adapt(expires), adapt(now), adapt(now), True])
        return [(int(pk), owner) for (pk,) in cursor.fetchall()]


def _release(deployment_id: int, owner: str, **fields: Any) -> None:
    # Only the lease holder writes its results back.
    PollState.objects.filter(pk=deployment_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None, **fields
    )


def poll_deployment(deployment_id: int, owner: str, *, pace: Pace | None = None) -> PollReport:
    """One poll of one deployment by the holder of its lease. Never raises for the
    deployment's sake: a failure is in the report and on ``PollState``, and the poll backs off."""
    pace = pace or Pace.from_settings()
    report = PollReport(deployment_id)
    state = (
        PollState.objects.select_related("deployment")
        .filter(pk=deployment_id, lease_owner=owner)
        .first()
    )
    if state is None:
        report.skipped = "Another poller holds this deployment."
        return report
    deployment = state.deployment
    # The schedule counts from the start of this poll, so a slow answer does not stretch it.
    started = now = timezone.now()
    if not deployment.enabled:
        report.skipped = "The deployment is disabled."
        _release(deployment_id, owner, next_poll_at=now + timedelta(seconds=pace.slow))
        return report
    bucket = deployment_bucket(deployment_id)
    if not bucket.take():
        report.skipped = "The deployment's request budget is spent for now."
        _release(deployment_id, owner, next_poll_at=now + timedelta(seconds=pace.fast))
        return report
    cursor = state.cursor
    if cursor is None:
        cursor = (
            SyncState.objects.filter(deployment=deployment)
            .values_list("high_water", flat=True)
            .first()
        )
    try:
        remote = _Remote(deployment, bucket, settings.THREADS_POLL_LEASE_SECONDS / 2)
        found = _read(remote, cursor, set(state.cursor_ids or []))
        changed = _with_errors(remote, list(found.threads.values()))
        if changed:
            upsert_page(deployment, changed)
            bucket.charge(sum(1 for t in changed if t.get("status") in _READ_BY_INBOX))
            threads_seen.send(sender=ThreadIndex, deployment=deployment, threads=changed)
    except Exception as error:  # a poll must never take the beat's work down with it
        report.ok = False
        report.error = str(error) if isinstance(error, PollFailed) else repr(error)
        failures = state.failures + 1
        report.interval = next_interval(
            pace,
            previous=state.interval,
            changed=False,
            busy=False,
            since_change=None,
            failures=failures,
        )
        log.warning("thread poll of deployment %s failed: %s", deployment_id, report.error)
        _release(
            deployment_id,
            owner,
            failures=failures,
            last_error=report.error,
            last_polled_at=started,
            interval=report.interval,
            next_poll_at=started + timedelta(seconds=report.interval),
        )
        return report
    now = timezone.now()
    report.pages, report.changed = found.pages, len(changed)
    report.overflowed = not found.reached
    last_change = now if changed else state.last_change_at
    new_cursor = cursor
    new_ids = set(state.cursor_ids or []) if cursor == state.cursor else set()
    if found.newest is not None and (cursor is None or found.newest > cursor):
        new_cursor, new_ids = found.newest, found.newest_ids
    elif found.newest is not None and found.newest == cursor:
        new_ids |= found.newest_ids
    busy = ThreadIndex.objects.filter(deployment=deployment, status=ThreadStatus.BUSY).exists()
    report.interval = next_interval(
        pace,
        previous=state.interval,
        changed=bool(changed),
        busy=busy,
        since_change=(now - last_change).total_seconds() if last_change else None,
    )
    _release(
        deployment_id,
        owner,
        cursor=new_cursor,
        cursor_ids=sorted(new_ids),
        interval=report.interval,
        next_poll_at=started + timedelta(seconds=report.interval),
        last_change_at=last_change,
        last_polled_at=started,
        last_ok_at=now,
        failures=0,
        last_error="",
    )
    return report


def poll_now(deployment_id: int, *, pace: Pace | None = None) -> PollReport:
    """Claim and poll one deployment in this process, due or not (tests, the bench, a shell)."""
    PollState.objects.get_or_create(deployment_id=deployment_id)
    owner = claim(deployment_id)
    if owner is None:
        return PollReport(deployment_id, skipped="Another poller holds this deployment.")
    return poll_deployment(deployment_id, owner, pace=pace)
