"""Keeping interrupt records current with the deployments.

Other apps reach this through ``apps.threads.signals.threads_seen`` (see ``receivers``), and the
inbox's own pages call it directly:

- ``sync_thread_interrupts(deployment, thread_id, *, thread=None)`` whenever a thread's state
  may have changed: it reads the thread's current state from the deployment, opens records for
  new interrupts (or a breakpoint), and closes ("moved on") those the thread left behind;
- ``sync_threads(deployment, threads)`` with a page of thread dicts from a search: it calls the
  above only for threads that are interrupted or still have open records.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.deployments.clients import read_client_for, sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch_one
from apps.inbox import hooks
from apps.inbox.errors import InboxRefused
from apps.inbox.events import InboxEvents
from apps.inbox.models import Decision, Interrupt, Kind, Status
from apps.inbox.selectors import decisions_on, pending_thread_ids
from switchboard import (
    InterruptRecord,
    NotFoundError,
    SwitchboardError,
    SyncClient,
    interrupts_from_state,
)

log = logging.getLogger(__name__)

# Run statuses (apps.runs) after which a resume did not happen: its decision may be voided.
FAILED_RUN_STATUSES = ("failed", "cancelled")
# Thread statuses whose pending interrupts (if any) still wait for an answer: "error" keeps
# them listed after a failed resume, and a correct resume still works (contract §6.3).
WAITING_STATUSES = ("interrupted", "error")
# Statuses of a thread's last run that mean it was stopped, not paused: a cancelled run leaves
# its thread "interrupted" with the node it was running still in ``next``, the same shape as a
# static breakpoint, but nobody set a breakpoint (a breakpoint's run ends "success", §4).
STOPPED_RUN_STATUSES = ("interrupted", "error", "timeout")


# --- reading a thread's state ------------------------------------------------------------------


@dataclass
class Snapshot:
    """What the deployment says about a thread right now."""

    checkpoint_id: str
    records: list[InterruptRecord]
    next_nodes: list[str]
    asked_at: datetime
    values: Any
    metadata: dict[str, Any]
    status: str = ""

    @property
    def interrupt_ids(self) -> list[str]:
        return [key_of(r, n) for n, r in enumerate(self.records)]

    @property
    def at_breakpoint(self) -> bool:
        return not self.records and bool(self.next_nodes)


def key_of(record: InterruptRecord, position: int) -> str:
    # Servers before langgraph 0.6 may send interrupts without ids: key them by position.
    return record.interrupt_id or f"position-{position}"


def _when(value: Any) -> datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return timezone.now()


def snapshot_of(thread_id: str, state: Mapping[str, Any], status: str = "") -> Snapshot:
    checkpoint = state.get("checkpoint") or {}
    metadata = state.get("metadata")
    return Snapshot(
        checkpoint_id=str(checkpoint.get("checkpoint_id") or state.get("checkpoint_id") or ""),
        records=interrupts_from_state(state, thread_id=thread_id),
        next_nodes=[str(n) for n in state.get("next") or []],
        asked_at=_when(state.get("created_at")),
        values=state.get("values"),
        metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        status=status,
    )


def read_snapshot(deployment: Deployment, thread_id: str) -> Snapshot:
    """The thread's current state, read from the deployment (raises ``InboxRefused``)."""
    client = read_client_for(deployment)
    # Bounded by DEPLOYMENT_TIMEOUT whatever the SDK's retries would do: a hanging deployment
    # must not hold the operator's request.
    outcome = fetch_one(lambda: client.get_thread_state(thread_id))
    if outcome.problem is not None:
        if outcome.problem.kind == "missing":
            raise InboxRefused("The deployment no longer has this thread.")
        raise InboxRefused(f"Could not read the thread from the deployment: {outcome.problem}")
    return snapshot_of(thread_id, outcome.value)


# --- keeping records current ------------------------------------------------------------------


@dataclass
class SyncResult:
    opened: int = 0
    closed: int = 0
    reopened: int = 0
    pending: list[Interrupt] = field(default_factory=list)
    snapshot: Snapshot | None = None

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.closed or self.reopened)


def _action_dicts(record: InterruptRecord) -> list[dict[str, Any]]:
    return list(record.as_dict()["actions"])


def _rows_for(
    deployment: Deployment, thread_id: str, snap: Snapshot, graph_id: str, assistant_id: str
) -> list[Interrupt]:
    common = {
        "team_id": deployment.team_id,
        "deployment": deployment,
        "thread_id": thread_id,
        "checkpoint_id": snap.checkpoint_id,
        "graph_id": graph_id[:200],
        "assistant_id": assistant_id[:64],
        "asked_at": snap.asked_at,
    }
    if snap.at_breakpoint:
        return [
            Interrupt(
                **common,
                interrupt_id="",
                kind=Kind.BREAKPOINT,
                next_nodes=snap.next_nodes,
                node=", ".join(snap.next_nodes)[:200],
            )
        ]
    rows = []
    for position, rec in enumerate(snap.records):
        actions = _action_dicts(rec)
        names = " ".join(str(a["name"]).lower() for a in actions)
        rows.append(
            Interrupt(
                **common,
                interrupt_id=key_of(rec, position),
                kind=rec.format,
                node=(rec.node or "")[:200],
                task_id=(rec.task_id or "")[:64],
                namespace=list(rec.namespace),
                next_nodes=snap.next_nodes,
                actions=actions,
                action_names=f" {names} "[:1000] if names else "",
                raw_value=rec.raw_value,
                response_schema=rec.response_schema,
                per_call=rec.per_call,
                position=position,
            )
        )
    return rows


def _close(rows: Iterable[Interrupt], status: Status = Status.MOVED_ON) -> int:
    ids = [r.pk for r in rows if r.status == Status.PENDING]
    if not ids:
        return 0
    return Interrupt.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=status, closed_at=timezone.now()
    )


def apply_snapshot(
    deployment: Deployment,
    thread_id: str,
    snap: Snapshot | None,
    *,
    graph_id: str = "",
    assistant_id: str = "",
) -> SyncResult:
    """Make the records of ``thread_id`` match ``snap`` (None: nothing waits on the thread)."""
    result = SyncResult(snapshot=snap)
    wanted = []
    if snap is not None and (snap.records or snap.at_breakpoint):
        graph_id = graph_id or str(snap.metadata.get("graph_id") or "")
        assistant_id = assistant_id or str(snap.metadata.get("assistant_id") or "")
        wanted = _rows_for(deployment, thread_id, snap, graph_id, assistant_id)
    keys = {(r.checkpoint_id, r.interrupt_id) for r in wanted}
    checkpoint_id = snap.checkpoint_id if snap is not None else None
    with transaction.atomic():
        if wanted:
            known = set(
                Interrupt.objects.filter(
                    deployment=deployment, thread_id=thread_id, checkpoint_id=checkpoint_id
                ).values_list("checkpoint_id", "interrupt_id")
            )
            # Ids are not returned with ignore_conflicts (a concurrent sync may have inserted
            # the same rows): the rows are read back, locked, below.
            Interrupt.objects.bulk_create(wanted, ignore_conflicts=True)
            result.opened = len(keys - known)
        mine = Q(status=Status.PENDING)
        if checkpoint_id is not None:
            mine |= Q(checkpoint_id=checkpoint_id)
        rows = list(
            Interrupt.objects.select_for_update()
            .filter(deployment=deployment, thread_id=thread_id)
            .filter(mine)
            .order_by("position", "pk")
        )
        current = [r for r in rows if (r.checkpoint_id, r.interrupt_id) in keys]
        gone = [r for r in rows if (r.checkpoint_id, r.interrupt_id) not in keys]
        result.closed = _close(gone)
        result.reopened = _reopen(current)
        result.pending = list(
            Interrupt.objects.filter(pk__in=[r.pk for r in current]).order_by("position", "pk")
        )
        if result.changed:
            team_id = deployment.team_id
            transaction.on_commit(lambda: InboxEvents.changed([team_id]))
        if result.opened:
            # Announce at once rather than at the next notification sweep (see ``hooks``).
            opened_team_id = deployment.team_id
            transaction.on_commit(lambda: hooks.item_appeared(opened_team_id))
    return result


def _reopen(rows: list[Interrupt]) -> int:
    """Rows the deployment still shows as waiting, though the inbox closed them: moved-on rows
    that came back, and decided rows whose resume run failed or was cancelled."""
    reopened = 0
    standing = decisions_on(rows)
    for row in rows:
        decision = standing.get(row.pk)
        if row.status == Status.MOVED_ON and decision is None:
            reopened += Interrupt.objects.filter(pk=row.pk).update(
                status=Status.PENDING, closed_at=None
            )
        elif (
            row.status == Status.DECIDED
            and decision is not None
            and decision.run is not None
            and decision.run.status in FAILED_RUN_STATUSES
        ):
            reason = f"The resume (run {decision.run.pk}) {decision.run.status}; the interrupt is still waiting."
            Decision.objects.filter(pk=decision.pk).update(voided=True, voided_reason=reason[:300])
            reopened += Interrupt.objects.filter(pk=row.pk).update(
                status=Status.PENDING, closed_at=None
            )
    return reopened


def sync_thread_interrupts(
    deployment: Deployment,
    thread_id: str,
    *,
    thread: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> SyncResult:
    """Bring the records of one thread up to date with the deployment.

    ``thread`` is the thread dict if the caller has it (``GET /threads/{id}`` or a search
    row with ``status``, ``metadata`` and ``interrupts``): it saves a request when the thread
    is not interrupted; ``state`` likewise saves reading the thread's state. Busy threads are
    left alone (the run's end syncs them again). Never raises for the deployment's sake: a
    failed read changes nothing.
    """
    client = sync_client_for(deployment)
    try:
        if thread is None or "status" not in thread:
            thread = client.get_thread(thread_id)
        status = str(thread.get("status") or "")
        metadata = thread.get("metadata") if isinstance(thread.get("metadata"), Mapping) else {}
        graph_id = str((metadata or {}).get("graph_id") or "")
        assistant_id = str((metadata or {}).get("assistant_id") or "")
        if status == "busy":
            return SyncResult()
        if status not in WAITING_STATUSES:
            return apply_snapshot(deployment, thread_id, None)
        if state is None:
            state = client.get_thread_state(thread_id)
        read = snapshot_of(thread_id, state, status)
        # A cancelled or failed run, not a breakpoint: nothing to decide.
        stopped = read.at_breakpoint and _last_run_was_stopped(client, thread_id)
        snap: Snapshot | None = None if stopped else read
    except NotFoundError:
        return apply_snapshot(deployment, thread_id, None)
    except SwitchboardError as error:
        log.warning(
            "inbox sync of thread %s on deployment %s failed: %s", thread_id, deployment.pk, error
        )
        return SyncResult()
    if status == "error" and snap is not None and not snap.records:
        snap = None  # a failed run without a pending interrupt: nothing to decide
    return apply_snapshot(deployment, thread_id, snap, graph_id=graph_id, assistant_id=assistant_id)


def _last_run_was_stopped(client: SyncClient, thread_id: str) -> bool:
    runs = client.list_runs(thread_id, limit=1)
    return bool(runs) and str(runs[0].get("status") or "") in STOPPED_RUN_STATUSES


def sync_threads(deployment: Deployment, threads: Iterable[Mapping[str, Any]]) -> int:
    """Sync the records of the threads in a search page that need it; returns how many."""
    open_ids = pending_thread_ids(deployment)
    synced = 0
    for thread in threads:
        thread_id = str(thread.get("thread_id") or "")
        if not thread_id:
            continue
        interrupted = thread.get("status") in WAITING_STATUSES
        if interrupted or thread_id in open_ids:
            sync_thread_interrupts(deployment, thread_id, thread=thread)
            synced += 1
    return synced
