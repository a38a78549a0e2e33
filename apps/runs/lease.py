"""The lease and the event log: the database operations that make relaying safe to run twice.

Every write a relay makes is fenced by its owner token: it claims the run with a conditional
UPDATE, and each event it stores bumps ``last_seq`` with ``WHERE lease_owner = <me>`` in the same
transaction as the event row. A relay that lost its lease (it was paused past the expiry and
another took over) therefore cannot store one more event: it sees 0 rows and stops. With the
unique (run, seq) constraint this gives one gap-free log per run, whoever relays it.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.runs.models import ACTIVE_STATUSES, Run, RunEvent, Status


@dataclass(frozen=True)
class Stored:
    seq: int
    event: str
    data: Any


def new_owner() -> str:
    """A token naming this relay attempt: host, pid, thread and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def _expiry() -> Any:
    return timezone.now() + timedelta(seconds=settings.RUNS_LEASE_SECONDS)


def claim(run_id: int, owner: str) -> bool:
    """Take the lease of a queued or streaming run whose lease is free or expired."""
    now = timezone.now()
    claimed = (
        Run.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES)
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .update(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.RUNS_LEASE_SECONDS),
            status=Status.STREAMING,
            claims=F("claims") + 1,
            started_at=Coalesce(F("started_at"), now),
        )
    )
    return claimed == 1


def renew(leases: dict[int, str]) -> set[int]:
    """Extend the leases ``{run_id: owner}`` still held; return the run ids whose lease was lost."""
    if not leases:
        return set()
    held = Q()
    for run_id, owner in leases.items():
        held |= Q(pk=run_id, lease_owner=owner)
    Run.objects.filter(held, status=Status.STREAMING).update(lease_expires_at=_expiry())
    kept = set(Run.objects.filter(held, status=Status.STREAMING).values_list("pk", flat=True))
    return set(leases) - kept


def holds(run_id: int, owner: str) -> bool:
    return Run.objects.filter(pk=run_id, lease_owner=owner, status=Status.STREAMING).exists()


def _bump(run_id: int, owner: str | None, count: int, sets: str, params: list[Any]) -> int | None:
    """Add ``count`` to last_seq where the lease is ``owner``'s (or, with ``owner=None``, where
    the run is still queued and unclaimed); return the new last_seq, or None on 0 rows."""
    table = Run._meta.db_table
    if owner is None:
        where = "id = %s AND status = %s AND lease_owner = ''"
        where_params: list[Any] = [run_id, Status.QUEUED.value]
    else:
        where = "id = %s AND lease_owner = %s AND status = %s"
        where_params = [run_id, owner, Status.STREAMING.value]
    sql = f"UPDATE {table} SET last_seq = last_seq + %s{sets} WHERE {where} RETURNING last_seq"
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, *params, *where_params])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class Append:
    """One relay's next events: ``(event, data, upstream_id)`` items for the run it leases."""

    run_id: int
    owner: str
    items: list[tuple[str, Any, str]]
    upstream_run_id: str | None = None


def append(
    run_id: int,
    owner: str,
    items: list[tuple[str, Any, str]],
    *,
    upstream_run_id: str | None = None,
) -> list[Stored] | None:
    """Store ``(event, data, upstream_id)`` items as the run's next events, renewing the lease.

    Returns what was stored with its sequence numbers, or None when ``owner`` no longer holds the
    lease (nothing is stored then). Call it before broadcasting: the log is the truth.
    """
    return append_many([Append(run_id, owner, items, upstream_run_id)])[0]


def append_many(appends: list[Append]) -> list[list[Stored] | None]:
    """``append`` for several runs in one transaction: one fenced UPDATE for all their runs and
    one INSERT for all their events. Each result is what ``append`` would have returned."""
    wanted = [request for request in appends if request.items]
    if not wanted:
        return [[] for _ in appends]
    now = timezone.now()
    rows = ", ".join(
        "(CAST(%s AS bigint), CAST(%s AS text), CAST(%s AS integer), CAST(%s AS text),"
        " CAST(%s AS text))"
        for _ in wanted
    )
    values: list[Any] = []
    for request in wanted:
        last_id = next((item[2] for item in reversed(request.items) if item[2]), "")
        values += [
            request.run_id,
            request.owner,
            len(request.items),
            last_id,
            request.upstream_run_id or "",
        ]
    table = Run._meta.db_table
    sql = (
        f"WITH batch (id, owner, n, event_id, upstream) AS (VALUES {rows}) "
        f"UPDATE {table} SET last_seq = {table}.last_seq + batch.n, lease_expires_at = %s, "
        f"first_event_at = COALESCE({table}.first_event_at, %s), "
        f"last_event_id = CASE WHEN batch.event_id = '' THEN {table}.last_event_id "
        "ELSE batch.event_id END, "
        f"upstream_run_id = CASE WHEN batch.upstream = '' THEN {table}.upstream_run_id "
        "ELSE batch.upstream END "
        f"FROM batch WHERE {table}.id = batch.id AND {table}.lease_owner = batch.owner "
        f"AND {table}.status = %s RETURNING {table}.id, {table}.lease_owner, {table}.last_seq"
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Don't wait for the WAL flush (3-12 ms here, and the relay's main cost). A crash of
            # the database can then lose the last events, but only together with the
            # last_event_id that covers them (one transaction): the relay that takes over asks
            # the deployment for them again and stores them under the same numbers.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, _expiry(), now, Status.STREAMING.value])
            # Keyed by owner too: an old and a new relay of one run may both be in the batch.
            last_seqs = {(int(pk), owner): int(last) for pk, owner, last in cursor.fetchall()}
        stored: dict[tuple[int, str], list[Stored]] = {}
        rows_to_insert = []
        for request in wanted:
            key = (request.run_id, request.owner)
            last = last_seqs.get(key)
            if last is None:
                continue
            first = last - len(request.items) + 1
            stored[key] = []
            for offset, (event, data, upstream_id) in enumerate(request.items):
                item = Stored(first + offset, event, data)
                stored[key].append(item)
                rows_to_insert.append(
                    RunEvent(
                        run_id=request.run_id,
                        seq=item.seq,
                        event=event,
                        data=data,
                        upstream_id=upstream_id,
                    )
                )
        RunEvent.objects.bulk_create(rows_to_insert)
    return [
        stored.get((request.run_id, request.owner)) if request.items else [] for request in appends
    ]


class GroupCommit:
    """Appends from every relay thread of a process, committed together (group commit).

    A relay that finds no write in progress leads: it takes every append queued so far, stores
    them all with ``append_many`` on its own connection, hands each relay its result, and passes
    the lead to the first append queued meanwhile. One transaction then carries as many relays'
    events as arrived during the previous one, so the database's cost per event falls as the
    load rises, instead of one transaction per event and relay.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False

    def append(
        self,
        run_id: int,
        owner: str,
        items: list[tuple[str, Any, str]],
        *,
        upstream_run_id: str | None = None,
    ) -> list[Stored] | None:
        """``append``, sharing its transaction with the other relays writing at the moment."""
        mine = _Pending(Append(run_id, owner, items, upstream_run_id))
        # Only the leader writes: a relay waiting for its turn must not sit on a pooled
        # connection the leader may need.
        release_connection()
        with self._lock:
            self._queue.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine.ready.wait()
        if not mine.done:
            self._lead()
        return mine.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            results = append_many([pending.request for pending in batch])
            release_connection()
        except BaseException as error:  # every relay of the batch sees its write fail
            for pending in batch:
                pending.error = error
        else:
            for pending, result in zip(batch, results, strict=True):
                pending.result = result
        finally:
            with self._lock:
                for pending in batch:
                    pending.done = True
                    pending.ready.set()
                if self._queue:
                    self._queue[0].ready.set()  # not done: it leads next
                else:
                    self._leading = False


class _Pending:
    __slots__ = ("done", "error", "ready", "request", "result")

    def __init__(self, request: Append) -> None:
        self.request = request
        self.ready = threading.Event()
        self.done = False
        self.result: list[Stored] | None = None
        self.error: BaseException | None = None

    def outcome(self) -> list[Stored] | None:
        if self.error is not None:
            raise self.error
        return self.result


group_commit = GroupCommit()


def release_connection() -> None:
    """Give this thread's database connection back to the pool between batches: a relay spends
    almost all its time waiting on the deployment, and must not hold a connection meanwhile."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


def set_upstream(run_id: int, owner: str, upstream_run_id: str) -> bool:
    return (
        Run.objects.filter(pk=run_id, lease_owner=owner, status=Status.STREAMING).update(
            upstream_run_id=upstream_run_id
        )
        == 1
    )


def finish(
    run_id: int, owner: str | None, status: Status, error: str = "", end_data: Any = None
) -> Stored | None:
    """Finalise the run exactly once: set its final status, drop the lease, and store the
    ``switchboard/end`` event. ``owner=None`` finishes a run still queued and unclaimed.

    Returns the end event, or None when someone else holds (or already finished) the run.
    """
    from apps.runs.events import END_EVENT

    now = timezone.now()
    data = {"status": status.value, "error": error, **(end_data or {})}
    sets = ", status = %s, error = %s, finished_at = %s, lease_owner = '', lease_expires_at = NULL"
    with transaction.atomic():
        seq = _bump(run_id, owner, 1, sets, [status.value, error, now])
        if seq is None:
            return None
        RunEvent.objects.create(run_id=run_id, seq=seq, event=END_EVENT, data=data)
    return Stored(seq, END_EVENT, data)


def release(run_id: int, owner: str) -> None:
    """Give the lease back without finishing (the relay stops; another may take over at once)."""
    Run.objects.filter(pk=run_id, lease_owner=owner).update(lease_expires_at=timezone.now())


def request_cancel(run_id: int, action: str) -> None:
    Run.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(cancel_requested=action)


class LeaseKeeper:
    """One daemon thread per process that renews the leases of every relay running in it.

    Relays renew with each event they store; this keeps a lease alive while the deployment is
    quiet (a long tool call), at one UPDATE per heartbeat for all the process's relays. The
    thread ends (closing its database connection) once the process holds no lease.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[int, str] = {}
        self._lost: set[tuple[int, str]] = set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, run_id: int, owner: str) -> None:
        with self._lock:
            self._leases[run_id] = owner
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._beat, name="lease-keeper", daemon=True)
                self._thread.start()

    def drop(self, run_id: int, owner: str) -> None:
        with self._lock:
            if self._leases.get(run_id) == owner:
                del self._leases[run_id]
            self._lost.discard((run_id, owner))

    def lost(self, run_id: int, owner: str) -> bool:
        with self._lock:
            return (run_id, owner) in self._lost

    def _beat(self) -> None:
        from django.db import close_old_connections

        stop = threading.Event()
        try:
            while not stop.wait(settings.RUNS_HEARTBEAT_SECONDS):
                with self._lock:
                    leases = dict(self._leases)
                    if not leases:
                        # Nothing left to renew: end (``hold`` starts a new thread) and give the
                        # database connection back instead of keeping it open for nothing.
                        self._thread = None
                        return
                try:
                    lost = renew(leases)
                except Exception:  # the database is away: try again next beat
                    close_old_connections()
                    continue
                with self._lock:
                    for run_id in lost:
                        owner = leases[run_id]
                        if self._leases.get(run_id) == owner:
                            del self._leases[run_id]
                            self._lost.add((run_id, owner))
        finally:
            connection.close()


keeper = LeaseKeeper()
