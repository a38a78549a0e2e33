"""Deciding what waits on a thread: ``check_*`` validate, ``do_*`` mutate.

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

Keeping the records current with the deployments is ``records``' job.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.permissions import Action, AnyUser, require
from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.deployments.selectors import check_writable
from apps.gate.gate import Intent, pass_through, update_thread_state
from apps.inbox.errors import AlreadyDecided, InboxRefused, StaleDecision, decided_message
from apps.inbox.events import InboxEvents
from apps.inbox.models import Decision, InboxPolicy, Interrupt, Kind, Status
from apps.inbox.records import (
    Snapshot,
    key_of,
    read_snapshot,
)
from apps.inbox.selectors import comment_required, decisions_on
from apps.runs.selectors import live_thread_keys
from apps.runs.services import RunRefused, create_run
from apps.threads.selectors import threads_for
from switchboard import InputError, ResumeComposer, SwitchboardError
from switchboard._hitl import jsonable_answer

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
    try:
        return create_run(**kwargs)
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


@dataclass
class _Reading:
    """What a decision is about, read before the gate's rules: the records the form named, the
    thread as the deployment has it now, and whether it moved on (the stale-decision guard)."""

    rows: list[Interrupt]
    snap: Snapshot
    stale: StaleDecision | None = None

    def guard(self) -> None:
        if self.stale is not None:
            raise self.stale


def _read(
    deployment: Deployment,
    thread_id: str,
    checkpoint_id: str,
    interrupt_ids: Sequence[str],
    rows: list[Interrupt] | None = None,
    snap: Snapshot | None = None,
) -> _Reading:
    rows = _form_rows(deployment, thread_id, checkpoint_id, interrupt_ids) if rows is None else rows
    snap = read_snapshot(deployment, thread_id) if snap is None else snap
    try:
        _check_not_decided(rows)
        check_fresh(snap, checkpoint_id, interrupt_ids, rows)
    except StaleDecision as stale:
        return _Reading(rows, snap, stale)
    return _Reading(rows, snap)


def _intent(
    *,
    user: AnyUser,
    deployment: Deployment,
    action: str,
    decision: str,
    thread_id: str,
    comment: str,
    request: HttpRequest | None,
    permission: Action = "decide",
) -> Intent:
    return Intent(
        actor=user,
        deployment=deployment,
        action=action,
        permission=permission,
        refusal=InboxRefused,
        decision=decision,
        thread_id=thread_id,
        comment=comment,
        request=request,
    )


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
    """Decide the interrupts pending on a thread and resume it as a live run, through the gate.

    ``answers`` give one answer per interrupt record (decided together, by id when several are
    pending); or ``raw`` gives the whole resume value. Raises ``PermissionDenied``,
    ``StaleDecision`` (``AlreadyDecided``) or ``InboxRefused``; nothing reaches the deployment
    unless it returns.
    """
    intent = _intent(
        user=user,
        deployment=deployment,
        action="inbox.decide",
        decision=str(Decision.Action.RAW if raw is not _MISSING else Decision.Action.ANSWER),
        thread_id=thread_id,
        comment=comment,
        request=request,
    )
    plan: dict[str, Any] = {}

    def prepare(intent: Intent) -> None:
        reading = _read(deployment, thread_id, checkpoint_id, interrupt_ids)
        rows, snap = reading.rows, reading.snap
        if any(r.kind == Kind.BREAKPOINT for r in rows):
            raise InboxRefused("A breakpoint has nothing to answer: continue the thread instead.")
        intent.guard = reading.guard
        intent.items = rows
        if reading.stale is not None:
            return  # nothing to compose against: the guard refuses after the rules
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
            decided = [r for r in rows if r.pk in make]
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
            decided = [by_pk[a.interrupt_pk] for a in answers]
        intent.items = decided
        intent.values = {pk: fields.get("resume_value") for pk, fields in make.items()}
        intent.payloads = [payload]
        intent.detail = {"checkpoint_id": checkpoint_id, "resume": payload}
        plan.update(payload=payload, make=make, rows=decided, snap=snap, all_rows=rows)

    def send() -> Outcome:
        decided: list[Interrupt] = plan["rows"]
        try:
            with transaction.atomic():
                locked = _locked(decided)
                run = _start_resume(
                    user=user,
                    deployment=deployment,
                    thread_id=thread_id,
                    kind="resume",
                    command={"resume": plan["payload"]},
                    assistant_id=_assistant_for(plan["snap"], plan["all_rows"]),
                    request=request,
                )
                decisions = _write_decisions(
                    user=user,
                    rows=locked,
                    action=Decision.Action(intent.decision),
                    make=plan["make"],
                    comment=comment,
                    run=run,
                    request=request,
                )
        except IntegrityError:
            raise _winner_after_race(decided) from None
        return Outcome(decisions=decisions, run=run)

    intent.prepare = prepare
    return pass_through(intent, send, _described)


def _described(outcome: Outcome) -> dict[str, Any]:
    return {
        "run_id": outcome.run.pk if outcome.run is not None else None,
        "decisions": [d.pk for d in outcome.decisions],
        "checkpoint_id": outcome.checkpoint_id or None,
    }


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
    intent = _intent(
        user=user,
        deployment=deployment,
        action="inbox.continue",
        decision=str(Decision.Action.CONTINUE),
        thread_id=thread_id,
        comment=comment,
        request=request,
    )
    plan: dict[str, Any] = {}

    def prepare(intent: Intent) -> None:
        reading = _read(deployment, thread_id, checkpoint_id, [""])
        intent.items, intent.guard = reading.rows, reading.guard
        intent.detail = {"checkpoint_id": checkpoint_id}
        plan.update(reading=reading)

    def send() -> Outcome:
        reading: _Reading = plan["reading"]
        try:
            with transaction.atomic():
                locked = _locked(reading.rows)
                # A plain run with no input and no checkpoint continues from the thread's head.
                run = _start_resume(
                    user=user,
                    deployment=deployment,
                    thread_id=thread_id,
                    kind="rerun",
                    input=None,
                    assistant_id=_assistant_for(reading.snap, reading.rows),
                    request=request,
                )
                summary = f"continue ({', '.join(reading.snap.next_nodes)})"
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
            raise _winner_after_race(reading.rows) from None
        return Outcome(decisions=decisions, run=run)

    intent.prepare = prepare
    return pass_through(intent, send, _described)


def _new_checkpoint(response: Mapping[str, Any]) -> str:
    checkpoint = response.get("checkpoint") or {}
    return str(checkpoint.get("checkpoint_id") or response.get("checkpoint_id") or "")


def _live_run_on(deployment: Deployment, thread_id: str) -> bool:
    return (deployment.pk, thread_id) in live_thread_keys([deployment.pk])


def _state_target(user: AnyUser, deployment: Deployment, thread_id: str) -> Any:
    """What a state edit is audited against: the thread's index row when there is one."""
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
    interrupt) and the records they name are closed by this edit. Whatever it names, the items
    waiting on the thread meet the workflow's rules: an edit can do what a decision does.
    """
    intent = _intent(
        user=user,
        deployment=deployment,
        action="inbox.edit_state",
        decision=str(Decision.Action.EDIT_STATE),
        thread_id=thread_id,
        comment=comment,
        request=request,
        permission="operate",
    )
    plan: dict[str, Any] = {}

    def prepare(intent: Intent) -> None:
        if values is not None and not isinstance(values, dict | list):
            raise InboxRefused(
                "The state update must be a JSON object (keys to write), a list, or null."
            )
        if _live_run_on(deployment, thread_id):
            raise InboxRefused(
                "A run is in progress on this thread: wait for it, or cancel it, before editing its state."
            )
        snap = read_snapshot(deployment, thread_id)
        rows: list[Interrupt] = []
        if head_checkpoint_id:
            ids = list(interrupt_ids) or ([""] if snap.at_breakpoint else [])
            if ids:
                rows = _form_rows(deployment, thread_id, head_checkpoint_id, ids)
            reading = _read(
                deployment, thread_id, head_checkpoint_id, ids or snap.interrupt_ids, rows, snap
            )
            intent.guard = reading.guard
        intent.items = rows
        intent.values = {r.pk: values for r in rows}
        intent.payloads = [values]
        intent.detail = {
            "checkpoint_id": checkpoint_id,
            "head": snap.checkpoint_id,
            "values": values,
            "as_node": as_node or None,
            "then_continue": then_continue,
        }
        plan.update(snap=snap, rows=rows)

    def send() -> Outcome:
        snap: Snapshot = plan["snap"]
        rows: list[Interrupt] = plan["rows"]
        at_head = checkpoint_id == snap.checkpoint_id
        try:
            with transaction.atomic():
                locked = _locked(rows) if rows and at_head else []
                try:
                    response = update_thread_state(
                        thread_id,
                        values,
                        as_node=as_node or None,
                        checkpoint_id=checkpoint_id or None,
                    )
                except SwitchboardError as error:
                    raise InboxRefused(
                        f"The deployment refused the state update: {error}"
                    ) from None
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
                        assistant_id=_assistant_for(snap, rows),
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

    intent.prepare = prepare
    return pass_through(intent, send, _described)


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
    intent = _intent(
        user=user,
        deployment=deployment,
        action="inbox.resolve",
        decision=str(Decision.Action.RESOLVE),
        thread_id=thread_id,
        comment=comment,
        request=request,
    )
    plan: dict[str, Any] = {}

    def prepare(intent: Intent) -> None:
        reading = _read(deployment, thread_id, checkpoint_id, interrupt_ids)
        intent.items, intent.guard = reading.rows, reading.guard
        intent.payloads = [None]
        intent.detail = {"checkpoint_id": checkpoint_id, "as_node": "__end__"}
        plan.update(rows=reading.rows)

    def send() -> Outcome:
        rows: list[Interrupt] = plan["rows"]
        try:
            with transaction.atomic():
                locked = _locked(rows)
                try:
                    response = update_thread_state(thread_id, None, as_node="__end__")
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

    intent.prepare = prepare
    return pass_through(intent, send, _described)


# --- the inbox's rules on the gate (registered in InboxConfig.ready()) ------------------------


def comment_rule(intent: Intent) -> None:
    """Decisions on a deployment whose policy asks for a comment carry one."""
    if intent.action.startswith("inbox."):
        check_comment(intent.deployment, intent.comment)


def pending_items(intent: Intent) -> list[Interrupt]:
    """The items waiting on the thread an intent writes to (a run, a state edit elsewhere than
    at the head): the change can settle them, so it meets their rules."""
    return list(
        Interrupt.objects.filter(
            deployment=intent.deployment, thread_id=intent.thread_id, status=Status.PENDING
        ).order_by("position", "pk")
    )


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
    "check_fresh",
    "compose_resume",
    "do_continue",
    "do_decide",
    "do_edit_state",
    "do_mark_resolved",
    "do_set_policy",
]
