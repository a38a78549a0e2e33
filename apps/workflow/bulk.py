"""Bulk decisions, carried out: ``process_bulk_job`` (the ``run_bulk_job`` task) claims a job
started by ``services.do_start_bulk`` and decides each item through the inbox, recording one
outcome per item (done, refused and why, moved on, waiting for a second approver)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.permissions import AnyUser
from apps.inbox.models import Interrupt, Status
from apps.inbox.selectors import decisions_on
from apps.inbox.services import AnswerInput, InboxRefused, StaleDecision, do_decide
from apps.workflow.actions import NotApplicable, answer_for, record_of
from apps.workflow.hooks import AwaitingSecondApproval
from apps.workflow.models import BulkItem, BulkJob
from switchboard import InputError, ResumeComposer

log = logging.getLogger(__name__)

BULK_LEASE = timedelta(seconds=60)


def _claim_job(job_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        BulkJob.objects.filter(pk=job_id)
        .filter(
            Q(status=BulkJob.Status.QUEUED)
            | Q(status=BulkJob.Status.RUNNING, lease_expires_at__lt=now)
        )
        .update(
            status=BulkJob.Status.RUNNING,
            owner=owner,
            lease_expires_at=now + BULK_LEASE,
            started_at=Coalesce("started_at", now),
        )
    )


def _renew_job(job_id: int, owner: str) -> bool:
    return bool(
        BulkJob.objects.filter(pk=job_id, owner=owner, status=BulkJob.Status.RUNNING).update(
            lease_expires_at=timezone.now() + BULK_LEASE
        )
    )


@dataclass
class ItemResult:
    outcome: str
    reason: str
    run_id: int | None = None


def _moved_on_reason(item: Interrupt) -> str:
    decision = decisions_on([item]).get(item.pk)
    if decision is not None:
        return f"Already decided by {decision.decided_by_label} ({decision.summary or decision.get_action_display()})."
    return f"The thread moved on: the item is {item.get_status_display().lower()}."


def _decide_group(
    job: BulkJob, user: AnyUser, group: list[BulkItem], pending_on_thread: set[int]
) -> dict[int, ItemResult]:
    """Decide the items of one thread checkpoint together (the inbox resumes a thread once for
    all the interrupts pending on it). Local checks first, no network: the record's status (kept
    current by the sync: the cheap "moved on"), the action's meaning for the format, and the
    SDK composer; then ``do_decide``, whose stale guard reads the thread once."""
    results: dict[int, ItemResult] = {}
    answers: list[tuple[BulkItem, AnswerInput]] = []
    for bulk_item in group:
        item = bulk_item.interrupt
        if item.status != Status.PENDING:
            results[bulk_item.pk] = ItemResult(BulkItem.Outcome.MOVED_ON, _moved_on_reason(item))
            continue
        try:
            value, summary = answer_for(item.kind, item.actions, job.action, job.comment)
            ResumeComposer([]).value_for(
                record_of(
                    interrupt_id=item.interrupt_id,
                    kind=item.kind,
                    actions=item.actions,
                    raw_value=item.raw_value,
                    node=item.node,
                    per_call=item.per_call,
                ),
                value,
            )
        except NotApplicable as error:
            results[bulk_item.pk] = ItemResult(BulkItem.Outcome.REFUSED, str(error))
            continue
        except InputError as error:
            results[bulk_item.pk] = ItemResult(
                BulkItem.Outcome.REFUSED, f"Refused before sending: {error.detail}."
            )
            continue
        answers.append((bulk_item, AnswerInput(interrupt_pk=item.pk, value=value, summary=summary)))
    if not answers:
        return results
    others = pending_on_thread - {b.interrupt_id for b, _ in answers}
    if others:
        reason = (
            f"{len(others)} other interrupt(s) wait on this thread and are not answered by this job; "
            "the thread is resumed once for all of them: decide it on its thread page."
        )
        results.update({b.pk: ItemResult(BulkItem.Outcome.REFUSED, reason) for b, _ in answers})
        return results
    first = answers[0][0].interrupt
    try:
        outcome = do_decide(
            user=user,
            deployment=first.deployment,
            thread_id=first.thread_id,
            checkpoint_id=first.checkpoint_id,
            interrupt_ids=[b.interrupt.interrupt_id for b, _ in answers],
            answers=[a for _, a in answers],
            comment=job.comment,
        )
    except AwaitingSecondApproval as error:
        result = ItemResult(BulkItem.Outcome.WAITING, str(error))
    except StaleDecision as error:
        result = ItemResult(BulkItem.Outcome.MOVED_ON, " ".join([str(error), *error.changes]))
    except (InboxRefused, PermissionDenied) as error:
        result = ItemResult(BulkItem.Outcome.REFUSED, str(error) or "Not allowed.")
    else:
        run_id = outcome.run.pk if outcome.run is not None else None
        result = ItemResult(BulkItem.Outcome.DONE, f"Decided: resumed in run {run_id}.", run_id)
    results.update({b.pk: result for b, _ in answers})
    return results


def _store_results(results: dict[int, ItemResult]) -> None:
    now = timezone.now()
    for pk, result in results.items():
        # Conditional: an item already settled (by a previous owner of the job) stays as it was.
        BulkItem.objects.filter(pk=pk, outcome=BulkItem.Outcome.QUEUED).update(
            outcome=result.outcome,
            reason=result.reason[:2000],
            run_id=result.run_id,
            finished_at=now,
        )


def process_bulk_job(job_id: int) -> str:
    """Claim the job (conditional UPDATE on its lease) and decide every item still queued.

    Safe to run twice: a second worker finds the lease taken and returns; a worker that took
    over an expired lease continues with the items not settled yet. Never stops on one item:
    an unexpected error is that item's "refused" with the error, and the job goes on.
    """
    owner = f"bulk-{uuid.uuid4().hex[:12]}"
    if not _claim_job(job_id, owner):
        return "taken"
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    queued = list(
        job.items.filter(outcome=BulkItem.Outcome.QUEUED)
        .select_related("interrupt", "interrupt__deployment")
        .order_by("position")
    )
    groups: dict[tuple[int, str, str], list[BulkItem]] = defaultdict(list)
    for bulk_item in queued:
        i = bulk_item.interrupt
        groups[(i.deployment_id, i.thread_id, i.checkpoint_id)].append(bulk_item)
    # What else waits on those checkpoints (one query), for "decided together".
    pending: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    threads = {(d, t) for d, t, _ in groups}
    if threads:
        condition = Q()
        for deployment_id, thread_id in threads:
            condition |= Q(deployment_id=deployment_id, thread_id=thread_id)
        for pk, d, t, c in Interrupt.objects.filter(condition, status=Status.PENDING).values_list(
            "pk", "deployment_id", "thread_id", "checkpoint_id"
        ):
            pending[(d, t, c)].add(pk)
    for key, group in groups.items():
        if not _renew_job(job_id, owner):
            return "lost the lease"
        try:
            results = _decide_group(job, job.created_by, group, pending.get(key, set()))
        except Exception as error:  # one item's surprise must not hide the other items' outcomes
            log.exception("bulk job %s: items %s failed", job_id, [b.pk for b in group])
            results = {
                b.pk: ItemResult(BulkItem.Outcome.REFUSED, f"Internal error: {error}")
                for b in group
            }
        _store_results(results)
    BulkJob.objects.filter(pk=job_id, owner=owner).update(
        status=BulkJob.Status.DONE, finished_at=timezone.now(), lease_expires_at=None
    )
    return "done"
