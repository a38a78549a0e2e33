"""Team workflow on the inbox: ``check_*`` validate, ``do_*`` mutate (one audit entry each, side
effects on commit). Decisions are always the inbox's: bulk jobs and timeouts call
``apps.inbox.services.do_decide``, which re-checks the live thread, writes the decision and its
audit entry, and starts the resume.

- Claims: ``do_claim`` / ``do_release`` / ``do_break_claim``. A claim is live until its
  ``expires_at``; nothing needs to run for it to expire. Deciding releases it (receivers).
- Bulk: ``do_start_bulk`` snapshots the selection as ``BulkItem`` rows and enqueues
  ``tasks.run_bulk_job``; ``process_bulk_job`` decides each item on its own and records one
  outcome per item (done, refused and why, moved on, waiting for a second approver).
- Notifications: ``queue_notifications`` (beat + the inbox's "item appeared" hook) makes one
  ``Notification`` per item and channel (unique constraint) and enqueues its delivery;
  ``deliver_notification`` claims it with a conditional UPDATE and sends it.
- Timeouts: ``schedule_deadlines`` + ``apply_due_timeouts`` (beat): a conditional UPDATE claims
  each due deadline; the default action is carried out as the system.
- Settings: channels, timeout rules and approval rules, by team admins.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.models import Membership, Role, Team
from apps.accounts.permissions import SYSTEM, AnyUser, SystemActor, require, teams_for
from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.deployments.urlcheck import UnsafeURLError, check_url
from apps.inbox.models import Interrupt, Status
from apps.workflow import notify
from apps.workflow.actions import NotApplicable, answer_for, record_of
from apps.workflow.models import (
    ApprovalRule,
    BulkAction,
    BulkItem,
    BulkJob,
    Channel,
    Claim,
    Deadline,
    Notification,
    TimeoutAction,
    TimeoutRule,
)
from apps.workflow.selectors import live_claim
from switchboard import InputError, ResumeComposer

log = logging.getLogger(__name__)

CLAIM_MINUTES = (15, 30, 60, 120, 240)
MAX_BULK_ITEMS = 5000
BULK_LEASE = timedelta(seconds=60)
NOTIFY_LEASE = timedelta(seconds=60)
DEADLINE_LEASE = timedelta(seconds=120)
# Items first seen longer ago than this are not announced (a new channel does not flood).
NOTIFY_HORIZON = timedelta(days=1)


class WorkflowRefused(Exception):
    """The action cannot be taken as asked; the message says why, for the operator."""


def user_id(user: AnyUser) -> int:
    """The id of a real user (the actor of a claim, a job, an approval)."""
    if user.pk is None:
        raise PermissionDenied("Log in first.")
    return int(user.pk)


def is_system(user: AnyUser) -> bool:
    return isinstance(user, SystemActor)


def format_when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


# --- claims -----------------------------------------------------------------------------------


def check_claimable(user: AnyUser, item: Interrupt) -> None:
    require(user, "decide", item)
    if item.status != Status.PENDING:
        raise WorkflowRefused(
            f"This item is {item.get_status_display().lower()}: there is nothing left to claim."
        )


def do_claim(
    *, user: AnyUser, item: Interrupt, minutes: int, request: HttpRequest | None = None
) -> Claim:
    """Claim ``item`` for ``minutes`` (or extend one's own claim). Refused while someone
    else's claim is live."""
    check_claimable(user, item)
    if minutes not in CLAIM_MINUTES:
        raise WorkflowRefused(f"Claim for one of {', '.join(map(str, CLAIM_MINUTES))} minutes.")
    now = timezone.now()
    expires = now + timedelta(minutes=minutes)
    with transaction.atomic():
        # Take the row if it is free (expired) or already ours; else create it; a live claim of
        # someone else leaves both at 0 rows / a conflict.
        taken = (
            Claim.objects.filter(interrupt=item)
            .filter(Q(expires_at__lte=now) | Q(claimed_by_id=user.pk))
            .update(claimed_by_id=user_id(user), claimed_at=now, expires_at=expires)
        )
        if not taken:
            try:
                with transaction.atomic():
                    Claim.objects.create(
                        interrupt=item,
                        team_id=item.team_id,
                        claimed_by_id=user_id(user),
                        claimed_at=now,
                        expires_at=expires,
                    )
            except IntegrityError:
                other = Claim.objects.select_related("claimed_by").get(interrupt=item)
                raise WorkflowRefused(
                    f"{other.claimed_by.get_username()} handles this item until {format_when(other.expires_at)}."
                ) from None
        claim = Claim.objects.select_related("claimed_by").get(interrupt=item)
        record(
            actor=user,
            action="workflow.claim",
            target=claim,
            team_id=item.team_id,
            deployment_id=item.deployment_id,
            after={"item": item.pk, "expires_at": claim.expires_at.isoformat(), "minutes": minutes},
            request=request,
        )
    return claim


def do_release(*, user: AnyUser, item: Interrupt, request: HttpRequest | None = None) -> None:
    require(user, "decide", item)
    with transaction.atomic():
        claim = (
            Claim.objects.select_for_update()
            .filter(interrupt=item, expires_at__gt=timezone.now())
            .first()
        )
        if claim is None or claim.claimed_by_id != user.pk:
            raise WorkflowRefused("You do not hold a claim on this item.")
        record(
            actor=user,
            action="workflow.release",
            target=claim,
            team_id=item.team_id,
            deployment_id=item.deployment_id,
            before={"item": item.pk, "expires_at": claim.expires_at.isoformat()},
            request=request,
        )
        claim.delete()


def do_break_claim(
    *, user: AnyUser, item: Interrupt, reason: str = "", request: HttpRequest | None = None
) -> None:
    """A team admin ends someone's live claim."""
    require(user, "administer", item)
    with transaction.atomic():
        claim = (
            Claim.objects.select_for_update()
            .select_related("claimed_by")
            .filter(interrupt=item, expires_at__gt=timezone.now())
            .first()
        )
        if claim is None:
            raise WorkflowRefused("Nobody holds a claim on this item.")
        record(
            actor=user,
            action="workflow.break_claim",
            target=claim,
            team_id=item.team_id,
            deployment_id=item.deployment_id,
            before={
                "item": item.pk,
                "claimed_by": claim.claimed_by.get_username(),
                "expires_at": claim.expires_at.isoformat(),
            },
            reason=reason,
            request=request,
        )
        claim.delete()


# --- bulk decisions ---------------------------------------------------------------------------


def decidable_for(user: AnyUser) -> Any:
    """Pending items on the teams where ``user`` may decide: what a bulk selection draws from."""
    from apps.inbox.selectors import pending_for

    return pending_for(user).filter(team__in=teams_for(user, "decide"))


def do_start_bulk(
    *,
    user: AnyUser,
    action: str,
    items: Sequence[Interrupt],
    comment: str = "",
    selection: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> BulkJob:
    """Snapshot the selection (one ``BulkItem`` per item, in order) and enqueue the job."""
    from apps.workflow.tasks import run_bulk_job

    if action not in BulkAction.values:
        raise WorkflowRefused("Choose approve, reject or ignore.")
    if not items:
        raise WorkflowRefused(
            "Nothing is selected: the filter matches no pending item you may decide."
        )
    if len(items) > MAX_BULK_ITEMS:
        raise WorkflowRefused(
            f"{len(items)} items are selected; narrow the filter to {MAX_BULK_ITEMS} or fewer."
        )
    teams = {i.team_id for i in items}
    allowed = set(teams_for(user, "decide").filter(pk__in=teams).values_list("pk", flat=True))
    if teams - allowed:
        raise PermissionDenied("Some selected items are on a team where you may not decide.")
    with transaction.atomic():
        job = BulkJob.objects.create(
            created_by_id=user_id(user),
            action=action,
            comment=comment,
            selection=selection or {},
            total=len(items),
        )
        BulkItem.objects.bulk_create(
            BulkItem(job=job, interrupt_id=item.pk, position=n) for n, item in enumerate(items, 1)
        )
        record(
            actor=user,
            action="workflow.bulk",
            target=job,
            team_id=teams.pop() if len(teams) == 1 else None,
            after={
                "action": action,
                "total": len(items),
                "selection": selection or {},
                "items": [i.pk for i in items],
            },
            reason=comment,
            request=request,
        )
        run_bulk_job.delay_on_commit(job.pk)  # type: ignore[attr-defined]
    return job


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
    from apps.inbox.selectors import decisions_on

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
    from apps.inbox.services import AnswerInput, InboxRefused, StaleDecision, do_decide
    from apps.workflow.hooks import AwaitingSecondApproval

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


# --- notifications ----------------------------------------------------------------------------


def check_channel_target(kind: str, target: str) -> str:
    """The target normalised, or ``WorkflowRefused`` saying what is wrong with it."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    target = target.strip()
    if kind == Channel.Kind.EMAIL:
        addresses = [a.strip() for a in target.split(",") if a.strip()]
        if not addresses:
            raise WorkflowRefused("Give at least one email address.")
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise WorkflowRefused(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)
    try:
        return check_url(target)
    except UnsafeURLError as error:
        raise WorkflowRefused(str(error)) from None


def do_create_channel(
    *,
    user: AnyUser,
    team: Team,
    kind: str,
    name: str,
    target: str,
    request: HttpRequest | None = None,
) -> Channel:
    require(user, "administer", team)
    if kind not in Channel.Kind.values:
        raise WorkflowRefused("Choose email, webhook or Slack.")
    target = check_channel_target(kind, target)
    with transaction.atomic():
        channel = Channel.objects.create(
            team=team, kind=kind, name=name.strip() or kind, target=target
        )
        record(
            actor=user,
            action="workflow.channel_create",
            target=channel,
            team_id=team.pk,
            after={"kind": kind, "name": channel.name, "target": channel.shown_target},
            request=request,
        )
    return channel


def do_delete_channel(
    *, user: AnyUser, channel: Channel, request: HttpRequest | None = None
) -> None:
    require(user, "administer", channel)
    with transaction.atomic():
        record(
            actor=user,
            action="workflow.channel_delete",
            target=channel,
            team_id=channel.team_id,
            before={"kind": channel.kind, "name": channel.name, "target": channel.shown_target},
            request=request,
        )
        channel.delete()


def _create_notification(**fields: Any) -> Notification | None:
    """One notification row and its delivery, or None when it exists already (the constraint)."""
    from apps.workflow.tasks import deliver_notification

    try:
        with transaction.atomic():
            notification = Notification.objects.create(**fields)
            deliver_notification.delay_on_commit(notification.pk)  # type: ignore[attr-defined]
    except IntegrityError:
        return None
    return notification


def queue_notifications(team_ids: Sequence[int] | None = None) -> int:
    """Announce pending items that appeared since each enabled channel was made (and within
    the horizon), once per item and channel. Returns how many were queued."""
    now = timezone.now()
    channels = Channel.objects.filter(enabled=True)
    if team_ids is not None:
        channels = channels.filter(team_id__in=list(team_ids))
    queued = 0
    for channel in channels:
        since = max(channel.created_at, now - NOTIFY_HORIZON)
        already = Notification.objects.filter(
            interrupt=OuterRef("pk"), channel=channel, reason=Notification.Reason.APPEARED
        )
        items = (
            Interrupt.objects.filter(
                team_id=channel.team_id, status=Status.PENDING, first_seen_at__gte=since
            )
            .filter(~Exists(already))
            .values_list("pk", flat=True)
        )
        for item_id in items:
            created = _create_notification(
                interrupt_id=item_id,
                team_id=channel.team_id,
                channel=channel,
                reason=Notification.Reason.APPEARED,
            )
            queued += created is not None
    return queued


def _item_view(item: Interrupt) -> notify.ItemView:
    return notify.ItemView(
        item_id=item.pk,
        team=item.team.name,
        deployment=item.deployment.name,
        deployment_id=item.deployment_id,
        graph=item.graph_id,
        thread_id=item.thread_id,
        kind=item.kind,
        actions=tuple(str(a.get("name", "")) for a in item.actions if isinstance(a, dict)),
        node=item.node,
        asked_at=timezone.localtime(item.asked_at).isoformat(),
    )


def _admin_emails(team_id: int) -> list[str]:
    return sorted(
        {
            email
            for email in Membership.objects.filter(team_id=team_id, role=Role.ADMIN).values_list(
                "user__email", flat=True
            )
            if email
        }
    )


def _send(notification: Notification) -> None:
    item = _item_view(notification.interrupt)
    reason = notification.reason
    channel = notification.channel
    if channel is None:
        subject, body = notify.email_message(item, reason)
        notify.send_email(_admin_emails(notification.team_id), subject, body)
    elif channel.kind == Channel.Kind.EMAIL:
        subject, body = notify.email_message(item, reason)
        notify.send_email(
            [a.strip() for a in channel.target.split(",") if a.strip()], subject, body
        )
    elif channel.kind == Channel.Kind.SLACK:
        notify.post_json(channel.target, notify.slack_body(item, reason), notification.pk)
    else:
        notify.post_json(
            channel.target, notify.webhook_body(item, reason, notification.pk), notification.pk
        )


def deliver_notification(notification_id: int, *, last_try: bool = False) -> str:
    """Send one notification. Claims it first (conditional UPDATE: queued, lease free), so a
    redelivered task never sends what another is sending or has sent. Raises
    ``TransientDeliveryError`` for the task to retry, unless ``last_try``, when it is marked
    failed instead."""
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + NOTIFY_LEASE)
    )
    if not claimed:
        return "taken"
    notification = Notification.objects.select_related(
        "channel", "interrupt", "interrupt__team", "interrupt__deployment"
    ).get(pk=notification_id)
    Notification.objects.filter(pk=notification_id).update(attempts=F("attempts") + 1)
    try:
        _send(notification)
    except notify.DeliveryError as error:
        final = error.permanent or last_try
        Notification.objects.filter(pk=notification_id).update(
            last_error=str(error)[:2000],
            claimed_until=None,
            status=Notification.Status.FAILED if final else Notification.Status.QUEUED,
        )
        if final:
            log.warning("notification %s failed for good: %s", notification_id, error)
            return "failed"
        raise
    Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return "sent"


# --- timeouts ---------------------------------------------------------------------------------


def check_timeout_rule(after_minutes: int, action: str) -> None:
    if after_minutes < 1:
        raise WorkflowRefused("A timeout is at least one minute.")
    if action not in TimeoutAction.values:
        raise WorkflowRefused("Choose reject, ignore or escalate.")


def do_set_timeout_rule(
    *,
    user: AnyUser,
    deployment: Deployment,
    graph_id: str,
    after_minutes: int,
    action: str,
    request: HttpRequest | None = None,
) -> TimeoutRule:
    """Create or replace the timeout of a deployment (or of one of its graphs). Deadlines not
    yet applied are recomputed by the next beat."""
    require(user, "administer", deployment)
    check_timeout_rule(after_minutes, action)
    graph_id = graph_id.strip()
    with transaction.atomic():
        rule = (
            TimeoutRule.objects.select_for_update()
            .filter(deployment=deployment, graph_id=graph_id)
            .first()
        )
        before = {"after_seconds": rule.after_seconds, "action": rule.action} if rule else None
        if rule is None:
            rule = TimeoutRule(team_id=deployment.team_id, deployment=deployment, graph_id=graph_id)
        rule.after_seconds = after_minutes * 60
        rule.action = action
        rule.save()
        _forget_waiting_deadlines(deployment)
        record(
            actor=user,
            action="workflow.timeout_rule",
            target=rule,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            before=before,
            after={"graph_id": graph_id, "after_seconds": rule.after_seconds, "action": action},
            request=request,
        )
    return rule


def do_delete_timeout_rule(
    *, user: AnyUser, rule: TimeoutRule, request: HttpRequest | None = None
) -> None:
    require(user, "administer", rule)
    with transaction.atomic():
        record(
            actor=user,
            action="workflow.timeout_rule_delete",
            target=rule,
            team_id=rule.team_id,
            deployment_id=rule.deployment_id,
            before={
                "graph_id": rule.graph_id,
                "after_seconds": rule.after_seconds,
                "action": rule.action,
            },
            request=request,
        )
        _forget_waiting_deadlines(rule.deployment)
        rule.delete()


def _forget_waiting_deadlines(deployment: Deployment) -> None:
    Deadline.objects.filter(interrupt__deployment=deployment, state=Deadline.State.WAITING).delete()


def schedule_deadlines() -> int:
    """Give each pending item under a timeout rule its deadline (graph rules win over the
    deployment's rule). Idempotent: one deadline per item by constraint."""
    created = 0
    rules = sorted(TimeoutRule.objects.all(), key=lambda r: (r.graph_id == "", r.pk))
    specific = defaultdict(set)
    for rule in rules:
        if rule.graph_id:
            specific[rule.deployment_id].add(rule.graph_id)
    for rule in rules:
        items = Interrupt.objects.filter(
            deployment_id=rule.deployment_id, status=Status.PENDING
        ).filter(~Exists(Deadline.objects.filter(interrupt=OuterRef("pk"))))
        if rule.graph_id:
            items = items.filter(graph_id=rule.graph_id)
        elif specific[rule.deployment_id]:
            items = items.exclude(graph_id__in=specific[rule.deployment_id])
        rows = [
            Deadline(
                interrupt_id=pk,
                team_id=rule.team_id,
                rule=rule,
                action=rule.action,
                due_at=asked_at + timedelta(seconds=rule.after_seconds),
            )
            for pk, asked_at in items.values_list("pk", "asked_at")
        ]
        created += len(Deadline.objects.bulk_create(rows, ignore_conflicts=True))
    return created


def _claim_deadline(deadline_id: int, owner: str, now: datetime) -> bool:
    return bool(
        Deadline.objects.filter(pk=deadline_id, due_at__lte=now)
        .filter(
            Q(state=Deadline.State.WAITING)
            | Q(state=Deadline.State.WORKING, lease_expires_at__lt=now)
        )
        .update(state=Deadline.State.WORKING, owner=owner, lease_expires_at=now + DEADLINE_LEASE)
    )


def _settle(deadline_id: int, owner: str, applied: str, outcome: str) -> None:
    Deadline.objects.filter(pk=deadline_id, owner=owner).update(
        state=Deadline.State.DONE,
        applied=applied,
        outcome=outcome[:2000],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )


def _escalate(deadline: Deadline, item: Interrupt, why: str) -> str:
    """Tell the team's admins (by email) and the team's channels; audited as the system."""
    with transaction.atomic():
        record(
            actor=None,
            action="workflow.timeout",
            target=deadline,
            team_id=item.team_id,
            deployment_id=item.deployment_id,
            before={
                "item": item.pk,
                "thread_id": item.thread_id,
                "interrupt_id": item.interrupt_id,
            },
            after={
                "action": "escalate",
                "default": deadline.action,
                "due_at": deadline.due_at.isoformat(),
            },
            reason=why,
        )
        _create_notification(
            interrupt=item, team_id=item.team_id, channel=None, reason=Notification.Reason.ESCALATED
        )
        for channel in Channel.objects.filter(team_id=item.team_id, enabled=True):
            _create_notification(
                interrupt=item,
                team_id=item.team_id,
                channel=channel,
                reason=Notification.Reason.ESCALATED,
            )
    return why


def _apply_default(deadline: Deadline, item: Interrupt) -> tuple[str, str]:
    """Carry out the deadline's action on ``item`` as the system; returns (applied, outcome)."""
    from apps.inbox.services import AnswerInput, InboxRefused, StaleDecision, do_decide

    minutes = round((deadline.due_at - item.asked_at).total_seconds() / 60)
    why = f"No decision within {minutes} min: the timeout's default is {deadline.get_action_display().lower()}."
    if deadline.action == TimeoutAction.ESCALATE:
        return "escalate", _escalate(deadline, item, why)
    siblings = Interrupt.objects.filter(
        deployment_id=item.deployment_id,
        thread_id=item.thread_id,
        checkpoint_id=item.checkpoint_id,
        status=Status.PENDING,
    ).exclude(pk=item.pk)
    try:
        if siblings.exists():
            raise NotApplicable(
                "Other interrupts wait on the same thread: a person must answer them together."
            )
        value, summary = answer_for(item.kind, item.actions, deadline.action, why)
        do_decide(
            user=SYSTEM,
            deployment=item.deployment,
            thread_id=item.thread_id,
            checkpoint_id=item.checkpoint_id,
            interrupt_ids=[item.interrupt_id],
            answers=[
                AnswerInput(interrupt_pk=item.pk, value=value, summary=f"{summary} (timeout)")
            ],
            comment=why,
        )
    except StaleDecision as error:
        return "", f"Not applied: {error}"
    except (NotApplicable, InboxRefused, PermissionDenied) as error:
        return "escalate", _escalate(
            deadline, item, f"{why} It could not be applied ({error}), so it was escalated."
        )
    return str(deadline.action), why


def apply_due_timeouts(limit: int = 200) -> list[int]:
    """Apply the default action of each due deadline this beat wins (conditional UPDATE). A
    live claim postpones a deadline to the claim's end: someone is handling the item."""
    now = timezone.now()
    schedule_deadlines()
    owner = f"timeouts-{uuid.uuid4().hex[:12]}"
    due = list(
        Deadline.objects.filter(due_at__lte=now)
        .filter(
            Q(state=Deadline.State.WAITING)
            | Q(state=Deadline.State.WORKING, lease_expires_at__lt=now)
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    applied = []
    for deadline_id in due:
        if not _claim_deadline(deadline_id, owner, now):
            continue
        deadline = Deadline.objects.select_related("interrupt", "interrupt__deployment").get(
            pk=deadline_id
        )
        item = deadline.interrupt
        if item.status != Status.PENDING:
            _settle(deadline_id, owner, "", "Decided or moved on before its timeout.")
            continue
        claim = live_claim(item)
        if claim is not None:
            Deadline.objects.filter(pk=deadline_id, owner=owner).update(
                state=Deadline.State.WAITING,
                due_at=claim.expires_at,
                owner="",
                lease_expires_at=None,
            )
            continue
        try:
            action, outcome = _apply_default(deadline, item)
        except Exception:
            # Leave it WORKING: the lease runs out and the next beat tries again.
            log.exception("timeout of item %s failed", item.pk)
            continue
        _settle(deadline_id, owner, action, outcome)
        applied.append(deadline_id)
    return applied


# --- approval rules ---------------------------------------------------------------------------

DECISION_TYPES = ("approve", "edit", "reject", "respond", "accept", "response", "ignore", "answer")


def do_add_approval_rule(
    *,
    user: AnyUser,
    team: Team,
    deployment: Deployment | None,
    tool: str,
    decision: str,
    min_role: str,
    risky: bool,
    request: HttpRequest | None = None,
) -> ApprovalRule:
    require(user, "administer", team)
    if deployment is not None and deployment.team_id != team.pk:
        raise WorkflowRefused("That deployment belongs to another team.")
    if decision and decision not in DECISION_TYPES:
        raise WorkflowRefused(
            f"Unknown decision {decision!r}: use one of {', '.join(DECISION_TYPES)}."
        )
    if min_role not in (Role.OPERATOR, Role.ADMIN):
        raise WorkflowRefused(
            "Deciding needs at least the operator role: choose operator or admin."
        )
    with transaction.atomic():
        rule = ApprovalRule.objects.create(
            team=team,
            deployment=deployment,
            tool=tool.strip(),
            decision=decision,
            min_role=min_role,
            risky=risky,
        )
        record(
            actor=user,
            action="workflow.approval_rule",
            target=rule,
            team_id=team.pk,
            deployment_id=deployment.pk if deployment else None,
            after={"tool": rule.tool, "decision": decision, "min_role": min_role, "risky": risky},
            request=request,
        )
    return rule


def do_delete_approval_rule(
    *, user: AnyUser, rule: ApprovalRule, request: HttpRequest | None = None
) -> None:
    require(user, "administer", rule)
    with transaction.atomic():
        record(
            actor=user,
            action="workflow.approval_rule_delete",
            target=rule,
            team_id=rule.team_id,
            deployment_id=rule.deployment_id,
            before={
                "tool": rule.tool,
                "decision": rule.decision,
                "min_role": rule.min_role,
                "risky": rule.risky,
            },
            request=request,
        )
        rule.delete()
