"""The lease and the event log: the database operations that make relaying safe to run twice.

Every write a relay makes is fenced by its owner token: it claims the run with a conditional
UPDATE, and each event it stores bumps ``last_seq`` with ``WHERE lease_owner = <me>`` in the same
transaction as the event row. A relay that lost its lease (it was paused past the expiry and
another took over) therefore cannot store one more event: it sees 0 rows and stops. With the
unique (run, seq) constraint this gives one gap-free log per run, whoever relays it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.runs.events import END_EVENT
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
    """Store ``(event, data, upstream_id)`` items as the run's next events.

    Returns what was stored with its sequence numbers, or None when ``owner`` no longer holds the
    lease (nothing is stored then). Call it before broadcasting: the log is the truth.
    """
    return append_many([Append(run_id, owner, items, upstream_run_id)])[0]


def append_many(appends: list[Append]) -> list[list[Stored] | None]:
    """``append`` for several runs at once, atomically: one fenced UPDATE for all their runs and
    one INSERT for all their events. Each result is what ``append`` would have returned."""
    wanted = [request for request in appends if request.items]
    last_seqs = {}
    if wanted:
        write = _append_postgresql if connection.vendor == "postgresql" else _append_portable
        # Keyed by owner too: an old and a new relay of one run may both be in the batch.
        last_seqs = write(wanted, timezone.now())
    results: list[list[Stored] | None] = []
    for request in appends:
        last = last_seqs.get((request.run_id, request.owner))
        if not request.items or last is None:
            results.append([] if not request.items else None)
            continue
        first = last - len(request.items) + 1
        results.append(
            [Stored(first + k, event, data) for k, (event, data, _) in enumerate(request.items)]
        )
    return results


def _last_event_id(request: Append) -> str:
    return next((item[2] for item in reversed(request.items) if item[2]), "")


# One statement, so one round trip, atomic by itself: the fenced UPDATE of every run in the batch
# and the INSERT of the events of those it matched, numbered from what the UPDATE returned.
#
# It also tells PostgreSQL not to wait for the WAL flush when it commits (3-12 ms here, and the
# relay's main cost). A crash of the database can then lose the last events, but only together
# with the last_event_id that covers them (one statement): the relay that takes over asks the
# deployment for them again and stores them under the same numbers. The setting is local to the
# transaction, and still in force when the statement's own transaction commits.
_APPEND_SQL = """
WITH no_flush_wait AS (
    SELECT set_config('synchronous_commit', 'off', true)
), batch AS (
    SELECT * FROM jsonb_to_recordset(%(batch)s::jsonb)
        AS batch (id bigint, owner text, n integer, event_id text, upstream text)
), bumped AS (
    UPDATE {runs} AS run SET
        last_seq = run.last_seq + batch.n,
        first_event_at = COALESCE(run.first_event_at, %(now)s),
        last_event_id = CASE WHEN batch.event_id = '' THEN run.last_event_id
                             ELSE batch.event_id END,
        upstream_run_id = CASE WHEN batch.upstream = '' THEN run.upstream_run_id
                               ELSE batch.upstream END
    FROM batch
    WHERE run.id = batch.id AND run.lease_owner = batch.owner AND run.status = %(streaming)s
    RETURNING run.id, run.lease_owner, run.last_seq, batch.n
), stored AS (
    INSERT INTO {events} (run_id, seq, event, data, upstream_id, created_at)
    SELECT item.run_id, bumped.last_seq - bumped.n + item.k, item.event, item.data,
           item.upstream_id, %(now)s
    FROM jsonb_to_recordset(%(items)s::jsonb)
        AS item (run_id bigint, owner text, k integer, event text, data jsonb, upstream_id text)
    JOIN bumped ON bumped.id = item.run_id AND bumped.lease_owner = item.owner
)
SELECT id, lease_owner, last_seq FROM bumped, no_flush_wait
"""


def _append_postgresql(wanted: list[Append], now: Any) -> dict[tuple[int, str], int]:
    # The batch and its events travel as two JSON documents, encoded in one C call each, where
    # arrays of parameters cost psycopg a Python step per element (and each event's data a JSON
    # encoding of its own). A JSON null becomes SQL NULL, as ``data=None`` did.
    batch = [
        {
            "id": request.run_id,
            "owner": request.owner,
            "n": len(request.items),
            "event_id": _last_event_id(request),
            "upstream": request.upstream_run_id or "",
        }
        for request in wanted
    ]
    items = [
        {
            "run_id": request.run_id,
            "owner": request.owner,
            "k": k,
            "event": event,
            "data": data,
            "upstream_id": uid,
        }
        for request in wanted
        for k, (event, data, uid) in enumerate(request.items, start=1)
    ]
    params = {
        "batch": json.dumps(batch),
        "items": json.dumps(items),
        "now": now,
        "streaming": Status.STREAMING.value,
    }
    sql = _APPEND_SQL.format(runs=Run._meta.db_table, events=RunEvent._meta.db_table)
    connection.ensure_connection()
    # psycopg's own cursor: parameters bound by the server instead of quoted into the SQL in
    # Python, and one round trip where Django's atomic block and ORM take five.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return {(int(pk), owner): int(last) for pk, owner, last in cursor.fetchall()}


def _append_portable(wanted: list[Append], now: Any) -> dict[tuple[int, str], int]:
    """The same writes for databases without data-modifying CTEs (SQLite): an UPDATE ...
    RETURNING, then a bulk INSERT, in one transaction."""
    rows = ", ".join(
        "(CAST(%s AS bigint), CAST(%s AS text), CAST(%s AS integer), CAST(%s AS text),"
        " CAST(%s AS text))"
        for _ in wanted
    )
    values: list[Any] = []
    for request in wanted:
        values += [
            request.run_id,
            request.owner,
            len(request.items),
            _last_event_id(request),
            request.upstream_run_id or "",
        ]
    table = Run._meta.db_table
    sql = (
        f"WITH batch (id, owner, n, event_id, upstream) AS (VALUES {rows}) "
        f"UPDATE {table} SET last_seq = {table}.last_seq + batch.n, "
        f"first_event_at = COALESCE({table}.first_event_at, %s), "
        f"last_event_id = CASE WHEN batch.event_id = '' THEN {table}.last_event_id "
        "ELSE batch.event_id END, "
        f"upstream_run_id = CASE WHEN batch.upstream = '' THEN {table}.upstream_run_id "
        "ELSE batch.upstream END "
        f"FROM batch WHERE {table}.id = batch.id AND {table}.lease_owner = batch.owner "
        f"AND {table}.status = %s RETURNING {table}.id, {table}.lease_owner, {table}.last_seq"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, now, Status.STREAMING.value])
            last_seqs = {(int(pk), owner): int(last) for pk, owner, last in cursor.fetchall()}
        RunEvent.objects.bulk_create(
            RunEvent(
                run_id=request.run_id,
                seq=last_seqs[(request.run_id, request.owner)] - len(request.items) + k,
                event=event,
                data=data,
                upstream_id=upstream_id,
            )
            for request in wanted
            if (request.run_id, request.owner) in last_seqs
            for k, (event, data, upstream_id) in enumerate(request.items, start=1)
        )
    return last_seqs


class GroupCommit:
    """Appends from every relay of a process, committed together (group commit).

    The relays are coroutines on the process's relay loop (``apps.runs.relay_loop``), and the
    database is not asyncio (the ORM and its connection pool are per thread), so one writer
    thread does every write. An append that finds the writer idle sends it what is queued; the
    appends queued meanwhile go together in its next statement. One transaction then carries as
    many relays' events as arrived during the previous one, and the loop hands work to another
    thread once per transaction, not once per event.
    """

    def __init__(
        self, after: Callable[[list[tuple[Append, list[Stored]]]], None] | None = None
    ) -> None:
        # ``after`` runs on the writer once a batch is committed, before the relays of the batch
        # resume, with what each stored: what every relay would do next, done once.
        self._after = after
        self._queue: list[tuple[Append, asyncio.Future[list[Stored] | None]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pid = 0

    async def append(
        self,
        run_id: int,
        owner: str,
        items: list[tuple[str, Any, str]],
        *,
        upstream_run_id: str | None = None,
    ) -> list[Stored] | None:
        """``append``, sharing its transaction with the other relays writing at the moment."""
        loop = asyncio.get_running_loop()
        mine: asyncio.Future[list[Stored] | None] = loop.create_future()
        self._queue.append((Append(run_id, owner, items, upstream_run_id), mine))
        if self._writing is None:
            self._writing = loop.create_task(self._write_queued())
        return await mine

    async def _write_queued(self) -> None:
        loop = asyncio.get_running_loop()
        writer = self._executor()
        try:
            while self._queue:
                while self._queue:
                    batch, self._queue = self._queue, []
                    await self._write(loop, writer, batch)
                # Idle: the writer must not sit on a pooled connection until the next event.
                await loop.run_in_executor(writer, release_connection)
        finally:
            self._writing = None

    async def _write(
        self,
        loop: asyncio.AbstractEventLoop,
        writer: ThreadPoolExecutor,
        batch: list[tuple[Append, asyncio.Future[list[Stored] | None]]],
    ) -> None:
        try:
            results = await loop.run_in_executor(
                writer, self._store, [request for request, _ in batch]
            )
        except Exception as error:  # every relay of the batch sees its write fail
            for _, waiting in batch:
                if not waiting.done():
                    waiting.set_exception(error)
        else:
            for (_, waiting), result in zip(batch, results, strict=True):
                if not waiting.done():
                    waiting.set_result(result)

    def _store(self, appends: list[Append]) -> list[list[Stored] | None]:
        try:
            results = append_many(appends)
        except (OperationalError, InterfaceError):
            # The database went away: drop the dead connection so that the next write, once
            # the relays have rejoined, opens a new one.
            connection.close()
            raise
        if self._after is not None:
            stored = zip(appends, results, strict=True)
            self._after([(request, result) for request, result in stored if result])
        return results

    def _executor(self) -> ThreadPoolExecutor:
        if self._writer is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-writer")
        return self._writer


def release_connection() -> None:
    """Give this thread's database connection back to the pool: relays spend almost all their
    time waiting on the deployment, and must not hold a connection meanwhile."""
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

    Storing events does not renew a lease: it leaves every indexed column of the run row as it
    was (``lease_expires_at`` is in the reaper's index), so PostgreSQL updates the row in place
    (a HOT update) instead of adding an entry to each of its indexes 20 times a second. This
    thread renews every lease of the process, busy or quiet, at one UPDATE per heartbeat. The
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
