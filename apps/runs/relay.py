"""The relay: follow one run on its deployment and store + broadcast every event.

Celery only rings the doorbell (``apps.runs.tasks``); the lease decides who relays. A relay
carries out an intent the gate (``apps.gate.gate``) already let through and audited: the Run row
exists only because ``apps.runs.services.create_run`` ran inside a gate pass, and the cancel it
sends upstream is the one ``do_cancel_run`` flagged, through the gate too. The steps:

1. Claim the run with a conditional UPDATE; 0 rows means another relay has it: return.
2. If the upstream run does not exist yet, create it through the SDK core with
   ``stream_resumable=True`` and ``on_disconnect="continue"`` (the run keeps going on the
   deployment whatever happens to us); otherwise (a takeover, or a run the console only
   follows: ``apps.runs.watching``) rejoin it with ``join_stream`` from the last upstream event
   id stored.
3. Per batch of events (what one network read brought): store them with the next sequence
   numbers, fenced by the lease, then broadcast them as one group message. The relays of a
   process follow their runs as coroutines on one event loop (``apps.runs.relay_loop``) and
   share both (``lease.GroupCommit``): its writer stores every relay's batch in one statement,
   then broadcasts them all in one Redis round trip. A relay that lost its lease stores nothing
   and stops; one that cannot broadcast (Redis away) goes on storing.
4. At the end, finalise exactly once (a conditional UPDATE again) with the ``switchboard/end``
   event, and update the thread index.

Upstream event ids may repeat (the in-memory server stamps every event of one millisecond with
the same ``<ms>-0`` id), and a rejoin replays only events *after* the id given. So a takeover
rejoins after the last id *before* the final group of equal ids it stored, and skips the events
of that group it already has.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone
from redis.exceptions import RedisError

from apps.deployments.clients import sync_client_for
from apps.runs import lease, watching
from apps.runs.events import GAP_EVENT, RunEventPayload, RunEvents, event_payload
from apps.runs.models import ACTIVE_STATUSES, Run, RunEvent, Status
from apps.runs.relay_loop import relay_loop
from apps.threads.models import ThreadIndex
from apps.threads.services import mark_thread, upsert_thread
from apps.threads.signals import threads_seen
from switchboard import Client, RunStream
from switchboard.errors import (
    APIConnectionError,
    APITimeoutError,
    NotFoundError,
    RunFailedError,
    ServerError,
    SwitchboardError,
)
from switchboard.types import MultitaskStrategy, RunCreated, StreamPart

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT = (APIConnectionError, APITimeoutError, ServerError)
BROADCAST_ERRORS = (RedisError, OSError, TimeoutError)
# The console's run id travels in the upstream run's metadata, so a relay that took over before
# the upstream run id was stored can still find the run instead of starting a second one.
METADATA_KEY = "switchboard_run_id"


GAP_MESSAGE = (
    "Events the deployment sent while no relay was following this run are not kept here: the "
    "run is followed from now, and the deployment keeps none of its events to replay."
)


class _LeaseLost(Exception):
    pass


class _Broadcaster:
    """Sends stored events to the pages; a failure is logged, never fatal. The log is the truth:
    pages read what they missed from it, so Redis being away must not stop a relay from storing
    (which needs only the deployment and the database)."""

    def __init__(self) -> None:
        self.failing = False

    def send(self, runs: list[list[RunEventPayload]]) -> None:
        try:
            RunEvents.broadcast_runs(runs)
        except BROADCAST_ERRORS as error:
            if not self.failing:  # once per outage, not once per batch
                log.warning("cannot broadcast (%s); relays go on storing", error)
            self.failing = True
        else:
            if self.failing:
                log.warning("broadcasting again")
            self.failing = False


broadcaster = _Broadcaster()


def _broadcast_stored(batch: list[tuple[lease.Append, list[lease.Stored]]]) -> None:
    """What a group commit stored, sent by its leader in one Redis round trip: the relays of the
    batch wake to find their events already on their way to the pages."""
    broadcaster.send(
        [
            [event_payload(append.run_id, item.seq, item.event, item.data) for item in stored]
            for append, stored in batch
        ]
    )


group_commit = lease.GroupCommit(after=_broadcast_stored)


class _Follow:
    """The state of one relay attempt on one run."""

    def __init__(self, run: Run, owner: str) -> None:
        self.run = run
        self.owner = owner
        self.upstream_run_id = run.upstream_run_id
        self.upstream_saved = bool(run.upstream_run_id)
        self.failed: RunFailedError | None = None
        self.cancel_sent = False
        self.joined = False

    # -- storing and broadcasting ------------------------------------------------------------

    async def store(self, parts: list[StreamPart]) -> None:
        if lease.keeper.lost(self.run.pk, self.owner):
            raise _LeaseLost
        items = [(part.event, part.data, part.id or "") for part in parts]
        announce = self.upstream_run_id if not self.upstream_saved else None
        # Stored and broadcast by the group commit's writer (see _broadcast_stored).
        stored = await group_commit.append(self.run.pk, self.owner, items, upstream_run_id=announce)
        if stored is None:
            raise _LeaseLost
        if announce:
            self.upstream_saved = True
            await _off_loop(self.check_cancel)

    def on_run_created(self, created: RunCreated) -> None:
        # Only note the id: the relay stores it with the first events.
        self.upstream_run_id = created["run_id"]

    def check_cancel(self) -> None:
        # The upstream id was written first and the flag is read second (the cancel service
        # does the reverse): a cancel that raced with the run's creation is seen by one of us.
        action = Run.objects.filter(pk=self.run.pk).values_list("cancel_requested", flat=True)
        if action.first() and not self.cancel_sent:
            self.cancel_sent = True
            cancel_upstream(self.run.pk)

    # -- following -------------------------------------------------------------------------

    def resume_point(self) -> tuple[str, str, int]:
        """(Last-Event-ID to rejoin with, the last stored upstream id, how many stored events
        carry it: the replay starts with those, and they are skipped)."""
        events = RunEvent.objects.filter(run_id=self.run.pk).exclude(upstream_id="")
        last_id = events.order_by("-seq").values_list("upstream_id", flat=True).first()
        if not last_id:
            return "0-0", "", 0
        tail = events.filter(upstream_id=last_id).count()
        before = (
            events.exclude(upstream_id=last_id)
            .order_by("-seq")
            .values_list("upstream_id", flat=True)
            .first()
        )
        return before or "0-0", last_id, tail

    async def find_upstream(self, client: Client) -> str:
        """The upstream run carrying our id in its metadata, if an earlier relay created one."""
        try:
            runs = await client.list_runs(self.run.thread_id, limit=20)
        except NotFoundError:
            return ""
        for upstream in runs:
            if (upstream.get("metadata") or {}).get(METADATA_KEY) == self.run.pk:
                return str(upstream["run_id"])
        return ""

    async def open(self, client: Client) -> tuple[RunStream, str, int]:
        """The stream to follow, and the (upstream id, count) of replayed events to skip."""
        run = self.run
        if not self.upstream_run_id and run.claims > 1:
            self.upstream_run_id = await self.find_upstream(client)
            if self.upstream_run_id:
                if not await _off_loop(
                    lease.set_upstream, run.pk, self.owner, self.upstream_run_id
                ):
                    raise _LeaseLost
                self.upstream_saved = True
        if self.upstream_run_id:
            resume_from, skip_id, skip = await _off_loop(self.resume_point)
            # A followed run joins from where its log stops, or from now when not resumable.
            last_event_id = watching.join_from(run, resume_from)
            if last_event_id is None and (self.joined or run.claims > 1):
                await self.store([StreamPart(GAP_EVENT, {"message": GAP_MESSAGE}, None)])
            self.joined = True
            stream = client.join_stream(
                run.thread_id, self.upstream_run_id, last_event_id=last_event_id
            )
            return stream, skip_id, skip
        # The run's creation on the deployment: the gated intent of this Run row, carried out.
        stream = client.stream_run(
            run.thread_id,
            assistant_id=run.assistant_id,
            input=run.input,
            command=run.command,
            stream_mode=run.stream_mode,
            multitask_strategy=MultitaskStrategy(run.multitask_strategy),
            checkpoint_id=run.checkpoint_id or None,
            interrupt_before=run.interrupt_before,
            interrupt_after=run.interrupt_after,
            stream_resumable=True,
            on_disconnect="continue",
            if_not_exists="create",
            metadata={METADATA_KEY: run.pk},
            on_run_created=self.on_run_created,
        )
        return stream, "", 0

    async def follow_once(self, client: Client) -> None:
        stream, skip_id, skip = await self.open(client)
        overlap = _Overlap()
        try:
            while batch := await stream.next_batch():
                if skip:
                    kept = []
                    for part in batch:
                        if skip and part.id == skip_id:
                            skip -= 1
                            continue
                        skip = 0
                        kept.append(part)
                    batch = kept
                batch = [part for part in batch if not overlap.repeated(part)]
                if batch:
                    await self.store(batch)
        except RunFailedError as failure:
            self.failed = failure
            body = failure.body if isinstance(failure.body, dict) else None
            data = body or {"error": failure.error_type or "Error", "message": failure.detail}
            await self.store([StreamPart("error", data, failure.event_id)])
        finally:
            try:
                await stream.aclose()
            except SwitchboardError:
                log.debug("closing a stream failed", exc_info=True)

    async def outcome(self, client: Client) -> tuple[Status, str] | None:
        """The final status, or None when the upstream run is still going (rejoin)."""
        if self.failed is not None:
            kind = f"{self.failed.error_type}: " if self.failed.error_type else ""
            return Status.FAILED, f"{kind}{self.failed.detail}"
        if not self.upstream_run_id:
            return Status.FAILED, "The deployment did not start the run."
        try:
            upstream = await client.get_run(self.run.thread_id, self.upstream_run_id)
        except NotFoundError:
            return Status.CANCELLED, "The run was rolled back on the deployment."
        status = upstream.get("status")
        if status in ("pending", "running"):
            return None
        if status == "interrupted":
            return Status.CANCELLED, ""
        if status in ("error", "timeout"):
            return Status.FAILED, f"The deployment reports the run as {status}."
        thread = await client.get_thread(self.run.thread_id)
        if thread.get("status") == "interrupted":
            return Status.INTERRUPTED, ""
        return Status.SUCCEEDED, ""


class _Overlap:
    """Drops what a joined stream sends twice: the server replays the events after the
    Last-Event-ID, then tails a queue it subscribed to before replaying, so the last events of
    the replay come again (same id, same event, same data)."""

    def __init__(self) -> None:
        self.high: tuple[int, ...] = ()
        self.group: list[StreamPart] = []

    def repeated(self, part: StreamPart) -> bool:
        try:
            key = tuple(int(piece) for piece in (part.id or "").split("-"))
        except ValueError:
            return False  # no id, or not one of this server's "<ms>-<seq>": nothing to compare
        if key < self.high:
            return True
        if key > self.high:
            self.high, self.group = key, []
        elif any(seen.event == part.event and seen.data == part.data for seen in self.group):
            return True
        self.group.append(part)
        return False


async def _off_loop(function: Callable[..., T], *args: Any) -> T:
    """Run a relay's occasional ORM work (rejoining, a cancel racing the run's creation) on a
    thread of its own, and give that thread's database connection back after: the loop must not
    wait on the database, and the ORM's connections are per thread."""

    def call() -> T:
        try:
            return function(*args)
        finally:
            connection.close()

    return await asyncio.to_thread(call)


def _backoff(attempt: int) -> float:
    return float(min(5.0, 0.5 * 2**attempt) * (1 + random.random() / 4))


def relay(run_id: int) -> str:
    """Relay one run if its lease is free. Returns what happened, for logs and tests."""
    owner = lease.new_owner()
    try:
        if not lease.claim(run_id, owner):
            return "not claimed"
        lease.keeper.hold(run_id, owner)
        try:
            return _relay(run_id, owner)
        except _LeaseLost:
            log.warning("run %s: lease lost to another relay; stopping", run_id)
            return "lease lost"
        finally:
            lease.keeper.drop(run_id, owner)
    finally:
        # A relay has a thread to itself for a run's whole life (a Celery pool thread, or any
        # thread that calls this): give its database connection back when done. Not inside a
        # transaction, where closing would break the caller's work.
        if not connection.in_atomic_block:
            connection.close()


def _relay(run_id: int, owner: str) -> str:
    run = Run.objects.select_related("deployment").get(pk=run_id)
    _index_busy(run)
    # Following is on the process's relay loop; this thread waits for the outcome, and must not
    # hold a pooled connection meanwhile (hundreds of relays share a pool of a few).
    lease.release_connection()
    status, message = relay_loop.run(_follow, run, owner)
    end = _finish(run_id, owner, status, message)
    if end is None:
        raise _LeaseLost
    broadcaster.send([[event_payload(run_id, end.seq, end.event, end.data)]])
    _index_finished(run, sync_client_for(run.deployment), status)
    return status.value


def _finish(run_id: int, owner: str, status: Status, message: str) -> lease.Stored | None:
    """``lease.finish``, riding out a database that went away while the run was followed: the
    first statement after a restart finds the pool's old connection dead."""
    attempt = 0
    while True:
        try:
            return lease.finish(run_id, owner, status, message)
        except (OperationalError, InterfaceError) as lost:
            connection.close()
            attempt += 1
            if attempt > settings.RUNS_MAX_RECONNECTS:
                raise  # the lease lapses and the reaper hands the run on
            log.warning("run %s: database error: %s; finishing again", run_id, lost)
            time.sleep(_backoff(attempt))


async def _follow(run: Run, owner: str) -> tuple[Status, str]:
    """Follow the run until it ends upstream, rejoining after transient failures."""
    follow = _Follow(run, owner)
    client = relay_loop.client(run.deployment)
    attempt = 0
    result: tuple[Status, str] | None = None
    while result is None:
        try:
            await follow.follow_once(client)
            result = await follow.outcome(client)
            if result is None:
                attempt += 1
        except TRANSIENT as lost:
            attempt += 1
            if attempt > settings.RUNS_MAX_RECONNECTS:
                return Status.FAILED, f"Lost the deployment: {lost}"
            log.info("run %s: %s; rejoining (attempt %s)", run.pk, lost, attempt)
        except (OperationalError, InterfaceError) as lost:
            # The database went away (restart, failover): what it committed is the truth. Rejoin
            # from the last stored event once it is back (the threads that met the error dropped
            # their connections); a relay whose lease was taken meanwhile finds out at its next
            # (fenced) write.
            attempt += 1
            if attempt > settings.RUNS_MAX_RECONNECTS:
                raise  # the lease lapses and the reaper hands the run on
            log.warning("run %s: database error: %s; rejoining (attempt %s)", run.pk, lost, attempt)
        except SwitchboardError as error:
            # Refused outright (busy thread, bad input, unknown assistant, ...): nothing to follow.
            return Status.FAILED, str(error)
        if result is None:
            if attempt > settings.RUNS_MAX_RECONNECTS:
                return Status.FAILED, "The deployment stopped sending events."
            await asyncio.sleep(_backoff(attempt))
            if lease.keeper.lost(run.pk, owner):
                raise _LeaseLost
    return result


def cancel_upstream(run_id: int) -> str:
    """Ask the deployment to cancel the run's upstream run, if it is known yet (the relay asks
    again as soon as it learns the id). Returns a message for the operator.

    Carries out a cancel the gate let through (``services.do_cancel_run`` set
    ``cancel_requested``); never called on its own for a person."""
    run = Run.objects.select_related("deployment").get(pk=run_id)
    if not run.upstream_run_id:
        return "Cancel requested: the run is being started and will be cancelled at once."
    try:
        sync_client_for(run.deployment).cancel_run(
            run.thread_id,
            run.upstream_run_id,
            wait=False,
            action="rollback" if run.cancel_requested == "rollback" else "interrupt",
        )
    except NotFoundError:
        return "The deployment no longer has this run."
    except SwitchboardError as error:
        log.warning("run %s: cancel failed: %s", run_id, error)
        return f"Cancel requested, but the deployment answered: {error}"
    return "Cancel sent to the deployment."


# -- the thread index and the inbox --------------------------------------------------------
# Both are caches of the deployment: a failure to refresh them is logged and never stops a relay;
# the next index sync catches up.


def _index_busy(run: Run) -> None:
    try:
        mark_thread(run.deployment, run.thread_id, status="busy")
    except DatabaseError:
        log.exception("run %s: could not mark thread %s busy", run.pk, run.thread_id)


def _index_finished(run: Run, client: Any, status: Status) -> None:
    try:
        thread = client.get_thread(run.thread_id)
        upsert_thread(run.deployment, thread)
        threads_seen.send(sender=ThreadIndex, deployment=run.deployment, threads=[thread])
    except (SwitchboardError, DatabaseError):
        log.exception("run %s: could not refresh thread %s in the index", run.pk, run.thread_id)


# -- the reaper --------------------------------------------------------------------------


def reap(enqueue: Callable[[int], object]) -> list[int]:
    """Re-enqueue runs whose relay vanished: leases expired, or queued and never claimed.

    A run is dispatched again at most once per lease period, claimed by a conditional UPDATE on
    ``dispatched_at`` so that two reapers never both send it.
    """
    now = timezone.now()
    lease_period = timedelta(seconds=settings.RUNS_LEASE_SECONDS)
    expired = Run.objects.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=now).exclude(
        lease_owner=""
    )
    lost = Run.objects.filter(
        status=Status.QUEUED,
        lease_owner="",
        created_at__lt=now - timedelta(seconds=settings.RUNS_REDISPATCH_SECONDS),
    )
    sent = []
    for pk, dispatched_at in (expired | lost).values_list("pk", "dispatched_at"):
        if dispatched_at is not None and dispatched_at > now - lease_period:
            continue
        if Run.objects.filter(pk=pk, dispatched_at=dispatched_at).update(dispatched_at=now):
            enqueue(pk)
            sent.append(pk)
    return sent
