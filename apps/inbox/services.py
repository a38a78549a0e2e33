"""Keeping interrupt records current, and acting on them: ``check_*`` validate, ``do_*`` mutate.

Other apps call:

- ``sync_thread_interrupts(deployment, thread_id, *, thread=None)`` whenever they learn a
  thread's state changed (the index sync, a relay's finalisation): it reads the thread's
  current state from the deployment, opens records for new interrupts (or a breakpoint), and
  closes ("moved on") those the thread left behind;
- ``sync_threads(deployment, threads)`` with a page of thread dicts from a search: it calls the
  above only for threads that are interrupted or still have open records.

The write paths (``do_decide``, ``do_continue``, ``do_edit_state``, ``do_mark_resolved``) all
follow the same steps:

1. permission (``decide`` / ``operate``) and a writable deployment;
2. the stale-decision guard: re-read the thread's state from the deployment and refuse when it
   no longer sits on the checkpoint and interrupts the form was rendered from;
3. compose the resume with the SDK's ``ResumeComposer``: a wrong count, type or id is refused
   here, before anything is sent;
4. in one transaction: lock the records (``select_for_update``), refuse if a decision stands,
   write the decisions and their audit entries, and start the resume as a live run
   (``apps.runs.services.do_start_run``), whose relay is enqueued when the transaction commits.
   The partial unique constraint on ``Decision`` backs the lock: exactly one decision can win.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.permissions import AnyUser, require
from apps.audit.services import record
from apps.deployments.clients import read_client_for, sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch_one
from apps.deployments.selectors import check_writable
from apps.inbox.events import InboxEvents
from apps.inbox.models import Decision, InboxPolicy, Interrupt, Kind, Status
from apps.inbox.selectors import comment_required, decisions_on
from switchboard import (
    InputError,
    InterruptRecord,
    NotFoundError,
    ResumeComposer,
    SwitchboardError,
    interrupts_from_state,
)
from switchboard._hitl import jsonable_answer

log = logging.getLogger(__name__)

# Run statuses (apps.runs) after which a resume did not happen: its decision may be voided.
FAILED_RUN_STATUSES = ("failed", "cancelled")
# Thread statuses whose pending interrupts (if any) still wait for an answer: "error" keeps
# them listed after a failed resume, and a correct resume still works (contract §6.3).
WAITING_STATUSES = ("interrupted", "error")


class InboxRefused(Exception):
    """The action cannot be taken as asked; the message says why, for the operator."""


class StaleDecision(InboxRefused):
    """The thread moved on since the form was rendered: ``changes`` says how."""

    def __init__(
        self, message: str, changes: Sequence[str] = (), decisions: Sequence[Decision] = ()
    ):
        super().__init__(message)
        self.changes = list(changes)
        self.decisions = list(decisions)


class AlreadyDecided(StaleDecision):
    """Someone (maybe the same person, double-clicking) decided first."""


def decided_message(decisions: Sequence[Decision]) -> str:
    first = decisions[0]
    when = timezone.localtime(first.decided_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    what = f" ({first.summary})" if first.summary else ""
    return f"Already decided by {first.decided_by_label} at {when}{what}."


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
            # Announce at once rather than at the next notification sweep (see apps.workflow).
            from apps.workflow.hooks import item_appeared

            opened_team_id = deployment.team_id
            transaction.on_commit(lambda: item_appeared(opened_team_id))
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
    except NotFoundError:
        return apply_snapshot(deployment, thread_id, None)
    except SwitchboardError as error:
        log.warning(
            "inbox sync of thread %s on deployment %s failed: %s", thread_id, deployment.pk, error
        )
        return SyncResult()
    snap: Snapshot | None = snapshot_of(thread_id, state, status)
    if status == "error" and snap is not None and not snap.records:
        snap = None  # a failed run without a pending interrupt: nothing to decide
    return apply_snapshot(deployment, thread_id, snap, graph_id=graph_id, assistant_id=assistant_id)


def sync_threads(deployment: Deployment, threads: Iterable[Mapping[str, Any]]) -> int:
    """Sync the records of the threads in a search page that need it; returns how many."""
    from apps.inbox.selectors import pending_thread_ids

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


# --- decisions -------------------------------------------------------------------------------

_MISSING: Any = object()


@dataclass
class AnswerInput:
    """One operator answer to one interrupt record, as the form parsed it."""

    interrupt_pk: int
    value: Any  # what the ResumeComposer takes for this record's format
    summary: str
    original: Any = None
    edited: Any = None
    diff: list[dict[str, Any]] = field(default_factory=list)


def check_decision_allowed(user: AnyUser, deployment: Deployment) -> None:
    require(user, "decide", deployment)
    check_writable(deployment)


def check_comment(deployment: Deployment, comment: str) -> None:
    if comment_required(deployment) and not comment.strip():
        raise InboxRefused(f"A comment is required for decisions on {deployment.name!r}: say why.")


def _form_rows(
    deployment: Deployment, thread_id: str, checkpoint_id: str, interrupt_ids: Sequence[str]
) -> list[Interrupt]:
    rows = list(
        Interrupt.objects.filter(
            deployment=deployment,
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            interrupt_id__in=list(interrupt_ids),
        ).order_by("position", "pk")
    )
    if len(rows) != len(set(interrupt_ids)) or not rows:
        known = {r.interrupt_id for r in rows}
        unknown = [i for i in interrupt_ids if i not in known] or list(interrupt_ids)
        raise StaleDecision(
            "Nothing is waiting on this thread under those ids: reload the thread.",
            [
                f"Not pending at checkpoint {checkpoint_id or '(none)'}: {', '.join(unknown) or '(none)'}."
            ],
        )
    return rows


def _check_not_decided(rows: list[Interrupt]) -> None:
    standing = decisions_on(rows)
    if standing:
        decisions = sorted(standing.values(), key=lambda d: d.decided_at)
        raise AlreadyDecided(decided_message(decisions), decisions=decisions)
    closed = [r for r in rows if r.status != Status.PENDING]
    if closed:
        raise StaleDecision(
            "This thread moved on: the interrupt is no longer waiting.",
            [f"{r} is {r.get_status_display().lower()}." for r in closed],
        )


def check_fresh(
    snap: Snapshot, checkpoint_id: str, interrupt_ids: Sequence[str], rows: Sequence[Interrupt] = ()
) -> None:
    """The stale-decision guard: refuse unless the thread still sits on ``checkpoint_id`` with
    exactly ``interrupt_ids`` pending (``[""]`` for a breakpoint)."""
    expected = sorted(interrupt_ids)
    now = sorted([""] if snap.at_breakpoint else snap.interrupt_ids)
    changes = []
    if snap.checkpoint_id != checkpoint_id:
        changes.append(
            f"The thread was at checkpoint {checkpoint_id or '(none)'}; it is now at "
            f"{snap.checkpoint_id or '(none)'}."
        )
    if now != expected:
        gone = [i or "the breakpoint" for i in expected if i not in now]
        new = [i or "a breakpoint" for i in now if i not in expected]
        if gone:
            changes.append(f"No longer waiting: {', '.join(gone)}.")
        if new:
            changes.append(f"Now waiting: {', '.join(new)}.")
        if not now:
            changes.append("Nothing is waiting for a human on this thread any more.")
    if changes:
        standing = decisions_on(list(rows)) if rows else {}
        decisions = sorted(standing.values(), key=lambda d: d.decided_at)
        message = (
            decided_message(decisions) if decisions else "This thread moved on since you opened it."
        )
        raise StaleDecision(message, changes, decisions)


def _assistant_for(snap: Snapshot, rows: Sequence[Interrupt]) -> str:
    for value in (
        snap.metadata.get("assistant_id"),
        snap.metadata.get("graph_id"),
        *(r.assistant_id for r in rows),
        *(r.graph_id for r in rows),
    ):
        if value:
            return str(value)
    raise InboxRefused("The thread does not say which graph runs it; open it on its deployment.")


def compose_resume(
    snap: Snapshot, answers: Mapping[str, Any] | None = None, raw: Any = _MISSING
) -> tuple[Any, dict[str, Any]]:
    """The resume payload, and the value each interrupt id gets, built and checked by the SDK.

    ``answers`` maps interrupt ids to per-format answers; ``raw`` is a whole resume value typed
    by the operator (a map keyed by pending interrupt ids is sent by id). Raises
    ``InboxRefused`` with the composer's sentence for a wrong count, type or id.
    """
    composer = ResumeComposer(snap.records)
    by_key = {key_of(r, n): r for n, r in enumerate(snap.records)}
    try:
        if raw is not _MISSING:
            if isinstance(raw, Mapping) and raw and len(snap.records) > 1:
                payload = composer.compose(by_id=raw)
                return payload, {k: payload[k] for k in raw}
            if isinstance(raw, Mapping) and raw and all(k in by_key for k in raw):
                payload = composer.compose(by_id=raw)
                return payload, {k: payload[k] for k in raw}
            payload = composer.compose(raw)
            return payload, {snap.interrupt_ids[0]: payload}
        answers = dict(answers or {})
        if not answers:
            raise InputError("give an answer for each pending interrupt")
        unknown = [k for k in answers if k not in by_key]
        if unknown:
            # Same sentence as the composer's, for ids it would never see.
            composer.compose(by_id=answers)
        if len(snap.records) == 1 and list(answers) == snap.interrupt_ids:
            payload = composer.compose(answers[snap.interrupt_ids[0]])
            return payload, {snap.interrupt_ids[0]: payload}
        payload = composer.compose(by_id=answers)
        return payload, dict(payload)
    except InputError as error:
        raise InboxRefused(f"Refused before sending: {error.detail}.") from None


def _audit_decision(
    decision: Decision, row: Interrupt, user: AnyUser, request: HttpRequest | None
) -> None:
    record(
        actor=user,
        action=f"inbox.{decision.action}",
        target=decision,
        team_id=row.team_id,
        deployment_id=row.deployment_id,
        before={
            "thread_id": row.thread_id,
            "checkpoint_id": row.checkpoint_id,
            "interrupt_id": row.interrupt_id,
            "kind": row.kind,
            "actions": row.actions,
        },
        after={
            "summary": decision.summary,
            "answer": decision.answer,
            "resume_value": decision.resume_value,
            "edited": decision.edited,
            "diff": decision.diff,
            "run_id": decision.run_id,
        },
        reason=decision.comment,
        request=request,
    )


def _start_resume(**kwargs: Any) -> Any:
    from apps.runs.services import RunRefused, do_start_run

    try:
        return do_start_run(**kwargs)
    except RunRefused as error:
        raise InboxRefused(str(error)) from None


@dataclass
class Outcome:
    decisions: list[Decision]
    run: Any = None  # apps.runs Run, when a run was started
    checkpoint_id: str = ""  # a new checkpoint written (state edits)


def _write_decisions(
    *,
    user: AnyUser,
    rows: list[Interrupt],
    action: Decision.Action,
    make: Mapping[int, dict[str, Any]],
    comment: str,
    run: Any,
    request: HttpRequest | None,
    close_as: Status = Status.DECIDED,
) -> list[Decision]:
    batch = uuid.uuid4()
    label = user.get_username() if user.is_authenticated else "system"
    decisions = []
    for row in rows:
        fields = make.get(row.pk, {})
        decision = Decision.objects.create(
            interrupt=row,
            team_id=row.team_id,
            deployment_id=row.deployment_id,
            action=action,
            comment=comment,
            decided_by_id=user.pk if user.is_authenticated else None,
            decided_by_label=label,
            batch=batch,
            run=run,
            **fields,
        )
        row.status = close_as
        row.closed_at = timezone.now()
        row.save(update_fields=["status", "closed_at"])
        _audit_decision(decision, row, user, request)
        decisions.append(decision)
    team_id = rows[0].team_id
    transaction.on_commit(lambda: InboxEvents.changed([team_id]))
    return decisions


def _locked(rows: list[Interrupt]) -> list[Interrupt]:
    locked = list(
        Interrupt.objects.select_for_update()
        .filter(pk__in=[r.pk for r in rows])
        .order_by("position", "pk")
    )
    _check_not_decided(locked)
    return locked


def _winner_after_race(rows: list[Interrupt]) -> AlreadyDecided:
    standing = decisions_on(rows)
    decisions = sorted(standing.values(), key=lambda d: d.decided_at)
    if decisions:
        return AlreadyDecided(decided_message(decisions), decisions=decisions)
    return AlreadyDecided("Someone else decided at the same moment: reload the thread.")


def do_decide(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    checkpoint_id: str,
    interrupt_ids: Sequence[str],
    answers: Sequence[AnswerInput] = (),
    raw: Any = _MISSING,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Outcome:
    """Decide the interrupts pending on a thread and resume it as a live run.

    ``answers`` give one answer per interrupt record (decided together, by id when several are
    pending); or ``raw`` gives the whole resume value. Raises ``PermissionDenied``,
    ``StaleDecision`` (``AlreadyDecided``) or ``InboxRefused``; nothing reaches the deployment
    unless it returns.
    """
    check_decision_allowed(user, deployment)
    check_comment(deployment, comment)
    rows = _form_rows(deployment, thread_id, checkpoint_id, interrupt_ids)
    if any(r.kind == Kind.BREAKPOINT for r in rows):
        raise InboxRefused("A breakpoint has nothing to answer: continue the thread instead.")
    _check_not_decided(rows)
    snap = read_snapshot(deployment, thread_id)
    check_fresh(snap, checkpoint_id, interrupt_ids, rows)
    by_pk = {r.pk: r for r in rows}
    if raw is not _MISSING:
        payload, values = compose_resume(snap, raw=raw)
        make = {
            r.pk: {
                "summary": "raw resume value",
                "answer": raw,
                "resume_value": values.get(r.interrupt_id),
            }
            for r in rows
            if r.interrupt_id in values
        }
        action = Decision.Action.RAW
        decided_rows = [r for r in rows if r.pk in make]
    else:
        unknown = [a.interrupt_pk for a in answers if a.interrupt_pk not in by_pk]
        if unknown or not answers:
            raise InboxRefused("Give an answer for each interrupt shown.")
        payload, values = compose_resume(
            snap, answers={by_pk[a.interrupt_pk].interrupt_id: a.value for a in answers}
        )
        make = {
            a.interrupt_pk: {
                "summary": a.summary[:300],
                "answer": jsonable_answer(a.value),
                "resume_value": values.get(by_pk[a.interrupt_pk].interrupt_id),
                "original": a.original,
                "edited": a.edited,
                "diff": a.diff,
            }
            for a in answers
        }
        action = Decision.Action.ANSWER
        decided_rows = [by_pk[a.interrupt_pk] for a in answers]
    # Claims, approval rules and four-eyes belong to the team workflow; it imports this module,
    # hence the import here. Outside the transaction below, so a first approval it records stands.
    from apps.workflow.hooks import before_decision

    before_decision(
        user=user,
        deployment=deployment,
        rows=decided_rows,
        resume_values={pk: fields.get("resume_value") for pk, fields in make.items()},
        action=str(action),
    )
    assistant_id = _assistant_for(snap, rows)
    try:
        with transaction.atomic():
            locked = _locked(decided_rows)
            run = _start_resume(
                user=user,
                deployment=deployment,
                thread_id=thread_id,
                kind="resume",
                command={"resume": payload},
                assistant_id=assistant_id,
                request=request,
            )
            decisions = _write_decisions(
                user=user,
                rows=locked,
                action=action,
                make=make,
                comment=comment,
                run=run,
                request=request,
            )
    except IntegrityError:
        raise _winner_after_race(decided_rows) from None
    return Outcome(decisions=decisions, run=run)


def do_continue(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    checkpoint_id: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Outcome:
    """Continue a thread paused at a static breakpoint: a run with no input, as a live run."""
    check_decision_allowed(user, deployment)
    check_comment(deployment, comment)
    rows = _form_rows(deployment, thread_id, checkpoint_id, [""])
    _check_not_decided(rows)
    snap = read_snapshot(deployment, thread_id)
    check_fresh(snap, checkpoint_id, [""], rows)
    assistant_id = _assistant_for(snap, rows)
    try:
        with transaction.atomic():
            locked = _locked(rows)
            # A plain run with no input and no checkpoint continues from the thread's head.
            run = _start_resume(
                user=user,
                deployment=deployment,
                thread_id=thread_id,
                kind="rerun",
                input=None,
                assistant_id=assistant_id,
                request=request,
            )
            summary = f"continue ({', '.join(snap.next_nodes)})"
            decisions = _write_decisions(
                user=user,
                rows=locked,
                action=Decision.Action.CONTINUE,
                make={r.pk: {"summary": summary} for r in locked},
                comment=comment,
                run=run,
                request=request,
            )
    except IntegrityError:
        raise _winner_after_race(rows) from None
    return Outcome(decisions=decisions, run=run)


def _new_checkpoint(response: Mapping[str, Any]) -> str:
    checkpoint = response.get("checkpoint") or {}
    return str(checkpoint.get("checkpoint_id") or response.get("checkpoint_id") or "")


def _live_run_on(deployment: Deployment, thread_id: str) -> bool:
    from apps.runs.selectors import live_thread_keys

    return (deployment.pk, thread_id) in live_thread_keys([deployment.pk])


def _state_target(user: AnyUser, deployment: Deployment, thread_id: str) -> Any:
    """What a state edit is audited against: the thread's index row when there is one."""
    from apps.threads.selectors import threads_for

    row = threads_for(user).filter(deployment=deployment, thread_id=thread_id).first()
    return row if row is not None else deployment


def do_edit_state(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    checkpoint_id: str,
    values: Any,
    as_node: str = "",
    then_continue: bool = True,
    head_checkpoint_id: str = "",
    interrupt_ids: Sequence[str] = (),
    comment: str = "",
    request: HttpRequest | None = None,
) -> Outcome:
    """Write ``values`` at ``checkpoint_id`` as if ``as_node`` had run (a new checkpoint: a
    fork when ``checkpoint_id`` is not the head), then optionally continue from it as a live run.

    ``head_checkpoint_id`` + ``interrupt_ids`` are what the form saw at the head; when the edit
    is made at the head they are checked like a decision (stale guard, one decision per
    interrupt) and the records they name are closed by this edit.
    """
    require(user, "operate", deployment)
    check_writable(deployment)
    check_comment(deployment, comment)
    if values is not None and not isinstance(values, dict | list):
        raise InboxRefused(
            "The state update must be a JSON object (keys to write), a list, or null."
        )
    if _live_run_on(deployment, thread_id):
        raise InboxRefused(
            "A run is in progress on this thread: wait for it, or cancel it, before editing its state."
        )
    snap = read_snapshot(deployment, thread_id)
    at_head = checkpoint_id == snap.checkpoint_id
    rows: list[Interrupt] = []
    if head_checkpoint_id:
        ids = list(interrupt_ids) or ([""] if snap.at_breakpoint else [])
        if ids:
            rows = _form_rows(deployment, thread_id, head_checkpoint_id, ids)
            _check_not_decided(rows)
        check_fresh(snap, head_checkpoint_id, ids if ids else snap.interrupt_ids, rows)
    assistant_id = _assistant_for(snap, rows)
    client = sync_client_for(deployment)
    try:
        with transaction.atomic():
            locked = _locked(rows) if rows and at_head else []
            try:
                response = client.update_thread_state(
                    thread_id, values, as_node=as_node or None, checkpoint_id=checkpoint_id or None
                )
            except SwitchboardError as error:
                raise InboxRefused(f"The deployment refused the state update: {error}") from None
            new_checkpoint = _new_checkpoint(response)
            record(
                actor=user,
                action="inbox.update_state",
                target=_state_target(user, deployment, thread_id),
                team_id=deployment.team_id,
                deployment_id=deployment.pk,
                before={
                    "thread_id": thread_id,
                    "checkpoint_id": checkpoint_id,
                    "head": snap.checkpoint_id,
                },
                after={
                    "values": values,
                    "as_node": as_node or None,
                    "new_checkpoint_id": new_checkpoint,
                    "then_continue": then_continue,
                },
                reason=comment,
                request=request,
            )
            run = None
            if then_continue:
                run = _start_resume(
                    user=user,
                    deployment=deployment,
                    thread_id=thread_id,
                    kind="fork" if not at_head else "rerun",
                    input=None,
                    checkpoint_id=new_checkpoint or None,
                    assistant_id=assistant_id,
                    request=request,
                )
            decisions = []
            if locked:
                summary = f"state edited{f' as {as_node}' if as_node else ''}" + (
                    ", then continued" if then_continue else ""
                )
                decisions = _write_decisions(
                    user=user,
                    rows=locked,
                    action=Decision.Action.EDIT_STATE,
                    make={r.pk: {"summary": summary, "edited": values} for r in locked},
                    comment=comment,
                    run=run,
                    request=request,
                )
    except IntegrityError:
        raise _winner_after_race(rows) from None
    return Outcome(decisions=decisions, run=run, checkpoint_id=new_checkpoint)


def do_mark_resolved(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    checkpoint_id: str,
    interrupt_ids: Sequence[str],
    comment: str = "",
    request: HttpRequest | None = None,
) -> Outcome:
    """Close what waits on a thread without resuming it: ``update_state(None, as_node="__end__")``
    (the agent-inbox's "mark as resolved"), one decision per record, audited."""
    check_decision_allowed(user, deployment)
    check_comment(deployment, comment)
    rows = _form_rows(deployment, thread_id, checkpoint_id, interrupt_ids)
    _check_not_decided(rows)
    snap = read_snapshot(deployment, thread_id)
    check_fresh(snap, checkpoint_id, interrupt_ids, rows)
    client = sync_client_for(deployment)
    try:
        with transaction.atomic():
            locked = _locked(rows)
            try:
                response = client.update_thread_state(thread_id, None, as_node="__end__")
            except SwitchboardError as error:
                raise InboxRefused(
                    f"The deployment refused to mark the thread resolved: {error}"
                ) from None
            new_checkpoint = _new_checkpoint(response)
            decisions = _write_decisions(
                user=user,
                rows=locked,
                action=Decision.Action.RESOLVE,
                make={
                    r.pk: {
                        "summary": "marked resolved",
                        "edited": {"checkpoint_id": new_checkpoint},
                    }
                    for r in locked
                },
                comment=comment,
                run=None,
                request=request,
                close_as=Status.RESOLVED,
            )
    except IntegrityError:
        raise _winner_after_race(rows) from None
    return Outcome(decisions=decisions, checkpoint_id=new_checkpoint)


# --- settings --------------------------------------------------------------------------------


def do_set_policy(
    *,
    user: AnyUser,
    deployment: Deployment,
    comment_required: bool,
    request: HttpRequest | None = None,
) -> InboxPolicy:
    require(user, "administer", deployment)
    with transaction.atomic():
        policy, _ = InboxPolicy.objects.select_for_update().get_or_create(deployment=deployment)
        before = {"comment_required": policy.comment_required}
        policy.comment_required = comment_required
        policy.save()
        record(
            actor=user,
            action="inbox.policy",
            target=policy,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            before=before,
            after={"comment_required": comment_required},
            request=request,
        )
    return policy


__all__ = [
    "AlreadyDecided",
    "AnswerInput",
    "InboxRefused",
    "Outcome",
    "PermissionDenied",
    "StaleDecision",
    "SyncResult",
    "apply_snapshot",
    "check_fresh",
    "compose_resume",
    "do_continue",
    "do_decide",
    "do_edit_state",
    "do_mark_resolved",
    "do_set_policy",
    "read_snapshot",
    "snapshot_of",
    "sync_thread_interrupts",
    "sync_threads",
]
