"""Reads of the team workflow, scoped to the user asking through the inbox's and the accounts'
selectors. Other apps (the inbox's pages) call ``item_status(ids)`` to show, per item, who
handles it until when, its deadline, and a first approval waiting for a second."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.permissions import AnyUser, require, teams_for
from apps.inbox.models import Interrupt
from apps.inbox.selectors import get_interrupt_for, interrupts_for, pending_for
from apps.workflow.actions import decision_types
from apps.workflow.metrics import DecisionFact
from apps.workflow.models import (
    Approval,
    ApprovalRule,
    BulkItem,
    BulkJob,
    Channel,
    Claim,
    Deadline,
    TimeoutRule,
)


def get_item_for(user: AnyUser, pk: int) -> Interrupt:
    """An inbox item of one of the user's teams, or 404."""
    return get_interrupt_for(user, pk)


def live_claims(item_ids: Iterable[int], now: datetime | None = None) -> dict[int, Claim]:
    now = now or timezone.now()
    rows = Claim.objects.filter(interrupt_id__in=list(item_ids), expires_at__gt=now).select_related(
        "claimed_by"
    )
    return {c.interrupt_id: c for c in rows}


def claims_held_by(user: AnyUser, now: datetime | None = None) -> QuerySet[Claim]:
    """The user's live claims on items of teams they still belong to (a claim outlives its
    holder's membership until it expires, but they no longer see the item)."""
    now = now or timezone.now()
    return Claim.objects.filter(
        claimed_by_id=user.pk, expires_at__gt=now, interrupt__in=interrupts_for(user)
    ).select_related("interrupt", "interrupt__deployment")


def live_claim(item: Interrupt) -> Claim | None:
    return live_claims([item.pk]).get(item.pk)


def waiting_approvals(item_ids: Iterable[int]) -> dict[int, Approval]:
    rows = Approval.objects.filter(
        interrupt_id__in=list(item_ids), state=Approval.State.WAITING
    ).select_related("approved_by")
    return {a.interrupt_id: a for a in rows}


@dataclass
class ItemStatus:
    claim: Claim | None
    deadline: Deadline | None
    approval: Approval | None


def item_status(item_ids: Iterable[int]) -> dict[int, ItemStatus]:
    """Claim, deadline and waiting first approval of each item (three queries)."""
    ids = list(item_ids)
    claims = live_claims(ids)
    deadlines = {d.interrupt_id: d for d in Deadline.objects.filter(interrupt_id__in=ids)}
    approvals = waiting_approvals(ids)
    return {i: ItemStatus(claims.get(i), deadlines.get(i), approvals.get(i)) for i in ids}


# --- bulk jobs --------------------------------------------------------------------------------


def jobs_for(user: AnyUser) -> QuerySet[BulkJob]:
    """The user's own bulk jobs whose every item they may still see through the team permission
    layer (a job acts with its creator's rights, so only they see it; its report lists threads of
    the items' teams, so leaving one of those teams loses the job and its report)."""
    if not user.is_authenticated:
        return BulkJob.objects.none()
    out_of_sight = BulkItem.objects.filter(job=OuterRef("pk")).exclude(
        interrupt__in=interrupts_for(user)
    )
    return BulkJob.objects.filter(created_by_id=user.pk).exclude(Exists(out_of_sight))


def get_job_for(user: AnyUser, pk: int) -> BulkJob:
    try:
        return jobs_for(user).get(pk=pk)
    except BulkJob.DoesNotExist:
        raise Http404("No such bulk job.") from None


def job_counts(job: BulkJob) -> dict[str, int]:
    counts = Counter(
        {
            row["outcome"]: row["n"]
            for row in BulkItem.objects.filter(job=job)
            .values("outcome")
            .annotate(n=Count("id"))
            .order_by()
        }
    )
    return {outcome: counts.get(outcome, 0) for outcome in BulkItem.Outcome.values}


# --- settings ---------------------------------------------------------------------------------


def channels_for(user: AnyUser) -> QuerySet[Channel]:
    return Channel.objects.filter(team__in=teams_for(user, "administer")).select_related("team")


def timeout_rules_for(user: AnyUser) -> QuerySet[TimeoutRule]:
    return TimeoutRule.objects.filter(team__in=teams_for(user, "administer")).select_related(
        "deployment"
    )


def approval_rules_for(user: AnyUser) -> QuerySet[ApprovalRule]:
    return ApprovalRule.objects.filter(team__in=teams_for(user, "administer")).select_related(
        "deployment", "team"
    )


def get_channel_for(user: AnyUser, pk: int) -> Channel:
    """A channel of one of the user's teams (404 otherwise), which only its admins may manage
    (403 naming the role for other members)."""
    try:
        channel = Channel.objects.filter(team__in=teams_for(user)).get(pk=pk)
    except Channel.DoesNotExist:
        raise Http404("No such channel.") from None
    require(user, "administer", channel)
    return channel


def get_timeout_rule_for(user: AnyUser, pk: int) -> TimeoutRule:
    try:
        rule = (
            TimeoutRule.objects.filter(team__in=teams_for(user))
            .select_related("deployment")
            .get(pk=pk)
        )
    except TimeoutRule.DoesNotExist:
        raise Http404("No such timeout.") from None
    require(user, "administer", rule)
    return rule


def get_approval_rule_for(user: AnyUser, pk: int) -> ApprovalRule:
    try:
        rule = ApprovalRule.objects.filter(team__in=teams_for(user)).get(pk=pk)
    except ApprovalRule.DoesNotExist:
        raise Http404("No such approval rule.") from None
    require(user, "administer", rule)
    return rule


def rules_matching(team_id: int, deployment_id: int) -> list[ApprovalRule]:
    return list(
        ApprovalRule.objects.filter(team_id=team_id).filter(
            Q(deployment_id=deployment_id) | Q(deployment__isnull=True)
        )
    )


# --- metrics ----------------------------------------------------------------------------------


def decision_facts(
    user: AnyUser, since: datetime, deployment_ids: list[int] | None = None
) -> list[DecisionFact]:
    """Standing (not voided) decisions on the user's teams since ``since``, as metric facts.

    Reads the inbox's decisions through its ``interrupts_for`` selector (one query).
    """
    qs = interrupts_for(user).filter(decisions__voided=False, decisions__decided_at__gte=since)
    if deployment_ids:
        qs = qs.filter(deployment_id__in=deployment_ids)
    rows = qs.values(
        "kind",
        "actions",
        "node",
        "graph_id",
        "asked_at",
        "decisions__decided_at",
        "decisions__decided_by_label",
        "decisions__resume_value",
        "decisions__action",
    ).order_by("decisions__decided_at")
    return [
        DecisionFact(
            decided_at=timezone.localtime(r["decisions__decided_at"]),
            asked_at=timezone.localtime(r["asked_at"]),
            graph=r["graph_id"],
            operator=r["decisions__decided_by_label"],
            choices=tuple(
                decision_types(
                    r["kind"],
                    r["actions"] if isinstance(r["actions"], list) else [],
                    r["decisions__resume_value"],
                    node=r["node"],
                    decision_action=r["decisions__action"],
                )
            ),
        )
        for r in rows
    ]


def pending_asked_at(user: AnyUser, deployment_ids: list[int] | None = None) -> list[datetime]:
    qs = pending_for(user)
    if deployment_ids:
        qs = qs.filter(deployment_id__in=deployment_ids)
    return list(qs.values_list("asked_at", flat=True))
