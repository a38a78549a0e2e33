"""Writes to the thread index: from a thread dict, from a relay's quick status, from a sync.

The index mirrors deployments; none of these writes is an operator action on a deployment, so
none is audited (a manual refresh only re-reads). Other apps call:

- ``upsert_thread(deployment, thread)`` with a thread dict exactly as the server returns it
  (``GET /threads/{id}``, search, create, copy): fields the dict lacks are left as they are;
- ``mark_thread(deployment, thread_id, status=...)`` when a relay knows the status first;
- ``sync_deployment(deployment_id)`` to mirror one deployment now (beat, refresh button).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch_one
from apps.threads.models import SyncState, ThreadIndex, ThreadStatus
from apps.threads.signals import threads_seen
from switchboard import SyncClient

log = logging.getLogger(__name__)

# Fields the sync asks for: never `values`, which may be megabytes per thread.
# ``values`` for the conversation the list shows and search finds (first/last message).
SYNC_SELECT = [
    "thread_id",
    "created_at",
    "updated_at",
    "status",
    "metadata",
    "interrupts",
    "values",
]
SYNC_PAGE_SIZE: int = getattr(settings, "THREADS_SYNC_PAGE_SIZE", 100)
SYNC_MAX_PAGES: int = getattr(settings, "THREADS_SYNC_MAX_PAGES", 20)
SYNC_LEASE = timedelta(minutes=5)
# A beat sync gives up (and carries on next time) after this long.
SYNC_DEADLINE = 120.0
# Pages resumed after a bounded pass step back this many rows: threads deleted meanwhile shift
# the rest up, and re-reading a few rows is free (upserts are idempotent).
RESUME_OVERLAP = 5
SEARCH_TEXT_LIMIT = 4000
MESSAGE_SHOWN = 200  # the model's max_length of first_message / last_message
MESSAGES_TEXT_LIMIT = 20_000
_STATUSES = frozenset(ThreadStatus.values)


def _when(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return default


def _interrupt_count(interrupts: Any) -> int:
    if isinstance(interrupts, Mapping):
        return sum(len(v) for v in interrupts.values() if isinstance(v, list))
    if isinstance(interrupts, list):  # a ThreadState's flat list
        return len(interrupts)
    return 0


def search_text(thread_id: str, metadata: Mapping[str, Any]) -> str:
    text = f"{thread_id} {json.dumps(metadata, ensure_ascii=False, default=str)}"
    return text.lower()[:SEARCH_TEXT_LIMIT]


def _message_text(message: Any) -> tuple[str, str]:
    """(who, text) of a message as a state holds it: a LangChain message dict (``type``) or an
    input dict (``role``), whose content is a string or a list of content blocks."""
    if not isinstance(message, Mapping):
        return "", ""
    who = str(message.get("type") or message.get("role") or "")
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(
            str(block.get("text", "")) if isinstance(block, Mapping) else str(block)
            for block in content
        )
    return who, " ".join(str(content or "").split())


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_SHOWN else text[: MESSAGE_SHOWN - 1] + "…"


def message_fields(values: Any) -> dict[str, str]:
    """first_message, last_message and messages_text from a thread's values."""
    messages = values.get("messages") if isinstance(values, Mapping) else None
    if not isinstance(messages, list):
        return {"first_message": "", "last_message": "", "messages_text": ""}
    said = [_message_text(m) for m in messages]
    said = [(who, text) for who, text in said if text]
    first = next((text for who, text in said if who in ("human", "user")), "")
    last = f"{said[-1][0]}: {said[-1][1]}" if said else ""
    return {
        "first_message": _cut(first),
        "last_message": _cut(last),
        "messages_text": " ".join(text for _, text in said).lower()[:MESSAGES_TEXT_LIMIT],
    }


def thread_fields(thread: Mapping[str, Any]) -> dict[str, Any]:
    """Index fields from a thread dict. Keys the dict lacks are left out, so an upsert from a
    partial dict (create/copy responses have no ``interrupts``/``error``) keeps what is stored."""
    now = timezone.now()
    thread_id = str(thread["thread_id"])
    metadata = thread.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    status = str(thread.get("status") or ThreadStatus.IDLE)
    fields: dict[str, Any] = {
        "thread_id": thread_id,
        "status": status if status in _STATUSES else ThreadStatus.IDLE,
        "metadata": metadata,
        "graph_id": str(metadata.get("graph_id") or "")[:200],
        "assistant_id": str(metadata.get("assistant_id") or "")[:64],
        "created_at": _when(thread.get("created_at"), now),
        "updated_at": _when(thread.get("updated_at"), now),
        "search_text": search_text(thread_id, metadata),
    }
    if "values" in thread:
        fields.update(message_fields(thread.get("values")))
    if "interrupts" in thread:
        fields["interrupt_count"] = _interrupt_count(thread.get("interrupts"))
    if "error" in thread:
        error = thread.get("error")
        if isinstance(error, Mapping):
            fields["error_type"] = str(error.get("error") or "")[:200]
            fields["error_message"] = str(error.get("message") or "")
        elif error:
            fields["error_type"], fields["error_message"] = "", str(error)
        else:
            fields["error_type"], fields["error_message"] = "", ""
    return fields


def upsert_thread(deployment: Deployment, thread: Mapping[str, Any]) -> ThreadIndex:
    """Index ``thread`` (a dict as the server returns it) and return its row.

    A snapshot older than the row (by the deployment's ``updated_at``) does not overwrite it, so
    a slow sync can never undo what a relay wrote after it. Two queries in the common case.
    """
    fields = thread_fields(thread)
    thread_id = fields.pop("thread_id")
    rows = ThreadIndex.objects.filter(
        deployment=deployment, thread_id=thread_id, updated_at__lte=fields["updated_at"]
    )
    if rows.update(**fields, indexed_at=timezone.now()):
        return ThreadIndex.objects.get(deployment=deployment, thread_id=thread_id)
    try:
        with transaction.atomic():
            return ThreadIndex.objects.create(deployment=deployment, thread_id=thread_id, **fields)
    except IntegrityError:
        # It exists and is newer than this snapshot (or a concurrent writer just made it).
        return ThreadIndex.objects.get(deployment=deployment, thread_id=thread_id)


def refresh_thread(
    deployment: Deployment, thread: Mapping[str, Any], row: ThreadIndex | None
) -> ThreadIndex:
    """``upsert_thread`` for a page that already holds the row: no write (and no query) when
    the deployment says nothing new, which is what most page views find."""
    if row is not None:
        fields = thread_fields(thread)
        if all(getattr(row, name) == value for name, value in fields.items()):
            return row
    return upsert_thread(deployment, thread)


def mark_thread(deployment: Deployment, thread_id: str, *, status: str) -> bool:
    """Set an indexed thread's status now (relays know before the next sync). False when the
    thread is not indexed yet; the relay's ``upsert_thread`` after the run will add it."""
    if status not in _STATUSES:
        raise ValueError(f"Unknown thread status {status!r}; expected one of {sorted(_STATUSES)}.")
    updated = ThreadIndex.objects.filter(deployment=deployment, thread_id=thread_id).update(
        status=status, indexed_at=timezone.now()
    )
    return bool(updated)


def forget_thread(deployment: Deployment, thread_id: str) -> bool:
    """Drop a thread the deployment no longer has (deleted there, or its server was reset)."""
    deleted, _ = ThreadIndex.objects.filter(deployment=deployment, thread_id=thread_id).delete()
    return bool(deleted)


_BULK_FIELDS = [
    "status",
    "metadata",
    "graph_id",
    "assistant_id",
    "created_at",
    "updated_at",
    "search_text",
    "indexed_at",
]


def upsert_page(deployment: Deployment, threads: Sequence[Mapping[str, Any]]) -> int:
    """Index a page of threads in a few queries; returns how many rows were written."""
    if not threads:
        return 0
    parsed = [thread_fields(t) for t in threads]
    existing = dict(
        ThreadIndex.objects.filter(
            deployment=deployment, thread_id__in=[f["thread_id"] for f in parsed]
        ).values_list("thread_id", "updated_at")
    )
    now = timezone.now()
    groups: dict[tuple[str, ...], list[ThreadIndex]] = {}
    for fields in parsed:
        stored = existing.get(fields["thread_id"])
        if stored is not None and stored > fields["updated_at"]:
            continue
        extra = tuple(
            k
            for k in (
                "interrupt_count",
                "error_type",
                "error_message",
                "first_message",
                "last_message",
                "messages_text",
            )
            if k in fields
        )
        groups.setdefault(extra, []).append(
            ThreadIndex(deployment=deployment, indexed_at=now, **fields)
        )
    written = 0
    for extra, rows in groups.items():
        ThreadIndex.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["deployment", "thread_id"],
            update_fields=[*_BULK_FIELDS, *extra],
        )
        written += len(rows)
    return written


@dataclass
class SyncReport:
    deployment_id: int
    ok: bool = True
    skipped: bool = False  # another sync holds the lease, or the deployment is disabled/gone
    complete: bool = False  # the index has joined up with what it had before
    pages: int = 0
    seen: int = 0
    written: int = 0
    error: str = ""
    graph_ids: set[str] = field(default_factory=set)

    def summary(self) -> str:
        if self.skipped:
            return self.error or "A sync of this deployment is already running."
        if not self.ok:
            return f"Sync failed: {self.error}"
        more = "" if self.complete else " (more to come: the next sync carries on)"
        return f"Synced: {self.seen} threads read, {self.written} updated{more}."


@dataclass
class _Pass:
    pages: int = 0
    seen: int = 0
    written: int = 0
    newest: datetime | None = None
    reached: bool = False  # hit the stop mark or the end of the list
    offset: int = 0
    graph_ids: set[str] = field(default_factory=set)


class _Remote:
    """Every call the sync makes to the deployment, bounded by one overall deadline: a sync
    started by a request must give the page its answer in time, whatever the SDK retries."""

    def __init__(self, client: SyncClient, seconds: float) -> None:
        self.client = client
        self.end = time.monotonic() + seconds

    def search(self, **kwargs: Any) -> list[dict[str, Any]]:
        left = self.end - time.monotonic()
        if left <= 0:
            raise SyncAborted("The deployment did not answer in time; the next sync carries on.")
        outcome = fetch_one(lambda: self.client.search_threads(**kwargs), timeout=left)
        if outcome.problem is not None:
            raise SyncAborted(outcome.problem.message)
        return list(outcome.value or [])


class SyncAborted(Exception):
    pass


def _read(
    client: _Remote,
    deployment: Deployment,
    *,
    offset: int,
    stop_at: datetime | None,
    page_size: int,
    max_pages: int,
) -> _Pass:
    """Read newest first from ``offset`` until a thread older than ``stop_at`` (or the end)."""
    result = _Pass(offset=offset)
    while result.pages < max_pages:
        threads = client.search(
            limit=page_size,
            offset=result.offset,
            sort_by="updated_at",
            sort_order="desc",
            select=SYNC_SELECT,
        )
        result.pages += 1
        if not threads:
            result.reached = True
            break
        now = timezone.now()
        keep = [t for t in threads if stop_at is None or _when(t.get("updated_at"), now) >= stop_at]
        errored = [str(t["thread_id"]) for t in keep if t.get("status") == ThreadStatus.ERROR]
        if errored:
            # `error` cannot be selected in a search: fetch the failed ones whole, in one call.
            full = {str(t["thread_id"]): t for t in client.search(ids=errored, limit=len(errored))}
            keep = [full.get(str(t["thread_id"]), t) for t in keep]
        result.written += upsert_page(deployment, keep)
        threads_seen.send(sender=ThreadIndex, deployment=deployment, threads=keep)
        result.seen += len(threads)
        result.graph_ids.update(
            str(t["metadata"]["graph_id"])
            for t in keep
            if isinstance(t.get("metadata"), Mapping) and t["metadata"].get("graph_id")
        )
        first = _when(threads[0].get("updated_at"), now)
        result.newest = first if result.newest is None else max(result.newest, first)
        if len(keep) < len(threads) or len(threads) < page_size:
            result.reached = True
            break
        result.offset += page_size
    return result


def _claim(deployment: Deployment) -> str | None:
    SyncState.objects.get_or_create(deployment=deployment)
    owner = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        SyncState.objects.filter(deployment=deployment)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_owner=owner, lease_expires_at=now + SYNC_LEASE, last_started_at=now)
    )
    return owner if claimed else None


def sync_deployment(
    deployment_id: int,
    *,
    page_size: int | None = None,
    max_pages: int | None = None,
    deadline: float | None = None,
) -> SyncReport:
    """Mirror one deployment's threads into the index, incrementally. Never raises for the
    deployment's sake: a failure is in the report and in ``SyncState.last_error``.

    1. Claim the deployment's sync lease (conditional UPDATE); if someone holds it, skip.
    2. Head pass: newest first from the top, down to the high-water mark (or, while a backfill
       is under way, down to where the backfill started).
    3. With the pages left, continue the backfill from ``resume_offset`` down to the mark.
    4. Move the mark only when the passes joined up; otherwise remember where to resume.
    """
    report = SyncReport(deployment_id)
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None or not deployment.enabled:
        report.skipped = True
        report.error = "The deployment is gone or disabled."
        return report
    size = page_size or SYNC_PAGE_SIZE
    budget = max_pages or SYNC_MAX_PAGES
    owner = _claim(deployment)
    if owner is None:
        report.skipped = True
        return report
    state = SyncState.objects.get(deployment=deployment)
    try:
        client = _Remote(sync_client_for(deployment), deadline or SYNC_DEADLINE)
        resuming = state.resume_offset > 0
        head_stop = state.pending_high_water if resuming else state.high_water
        head = _read(
            client, deployment, offset=0, stop_at=head_stop, page_size=size, max_pages=budget
        )
        passes = [head]
        if not head.reached:
            # The head alone outran the budget: it becomes the backfill, from where it stopped
            # down to the last complete mark.
            state.resume_offset = head.offset
            state.pending_high_water = _max(head.newest, state.pending_high_water)
        elif resuming:
            # The backfill always gets a page, and steps back less than a page, so every
            # pass moves it forward.
            back = _read(
                client,
                deployment,
                offset=max(0, state.resume_offset - min(RESUME_OVERLAP, size // 2)),
                stop_at=state.high_water,
                page_size=size,
                max_pages=max(1, budget - head.pages),
            )
            passes.append(back)
            if back.reached:
                state.high_water = _max(
                    _max(head.newest, state.pending_high_water), state.high_water
                )
                state.resume_offset, state.pending_high_water = 0, None
                report.complete = True
            else:
                state.resume_offset = back.offset
        else:
            state.high_water = _max(head.newest, state.high_water)
            report.complete = True
        for p in passes:
            report.pages += p.pages
            report.seen += p.seen
            report.written += p.written
            report.graph_ids |= p.graph_ids
        state.last_ok_at = timezone.now()
        state.last_error = ""
    except SyncAborted as error:
        report.ok = False
        report.error = str(error)
        state.last_error = report.error
        log.warning("thread sync of deployment %s failed: %s", deployment_id, error)
    finally:
        state.graph_ids = sorted(set(state.graph_ids or []) | report.graph_ids)
        state.last_finished_at = timezone.now()
        state.lease_owner, state.lease_expires_at = "", None
        # Only the lease holder writes its results back.
        SyncState.objects.filter(deployment=deployment, lease_owner=owner).update(
            high_water=state.high_water,
            pending_high_water=state.pending_high_water,
            resume_offset=state.resume_offset,
            last_ok_at=state.last_ok_at,
            last_error=state.last_error,
            graph_ids=state.graph_ids,
            last_finished_at=state.last_finished_at,
            lease_owner="",
            lease_expires_at=None,
        )
    return report


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def enabled_deployment_ids() -> list[int]:
    return list(Deployment.objects.filter(enabled=True).values_list("pk", flat=True))


def sync_all(ids: Iterable[int] | None = None, **options: Any) -> list[SyncReport]:
    """Sync each deployment in turn, in this process (the beat task fans out instead)."""
    return [
        sync_deployment(pk, **options)
        for pk in (ids if ids is not None else enabled_deployment_ids())
    ]
