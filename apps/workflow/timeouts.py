"""Timeouts: ``schedule_deadlines`` + ``apply_due_timeouts`` (beat): a conditional UPDATE claims
each due deadline; the default action is carried out as the system, through the inbox (or the
item is escalated to the team's admins and channels)."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.accounts.permissions import SYSTEM
from apps.audit.services import record
from apps.inbox.models import Interrupt, Status
from apps.inbox.services import AnswerInput, InboxRefused, StaleDecision, do_decide
from apps.workflow.actions import NotApplicable, answer_for
from apps.workflow.models import Channel, Deadline, Notification, TimeoutAction, TimeoutRule
from apps.workflow.notifications import create_notification
from apps.workflow.selectors import live_claim

log = logging.getLogger(__name__)

DEADLINE_LEASE = timedelta(seconds=120)


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
        create_notification(
            interrupt=item, team_id=item.team_id, channel=None, reason=Notification.Reason.ESCALATED
        )
        for channel in Channel.objects.filter(team_id=item.team_id, enabled=True):
            create_notification(
                interrupt=item,
                team_id=item.team_id,
                channel=channel,
                reason=Notification.Reason.ESCALATED,
            )
    return why


def _apply_default(deadline: Deadline, item: Interrupt) -> tuple[str, str]:
    """Carry out the deadline's action on ``item`` as the system; returns (applied, outcome)."""
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
