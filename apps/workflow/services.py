"""Team workflow on the inbox: ``check_*`` validate, ``do_*`` mutate (one audit entry each, side
effects on commit). Decisions are always the inbox's: bulk jobs and timeouts call
``apps.inbox.services.do_decide``, which re-checks the live thread, writes the decision and its
audit entry, and starts the resume.

- Claims: ``do_claim`` / ``do_release`` / ``do_break_claim``. A claim is live until its
  ``expires_at``; nothing needs to run for it to expire. Deciding releases it (receivers).
- Bulk: ``do_start_bulk`` snapshots the selection as ``BulkItem`` rows and enqueues
  ``tasks.run_bulk_job``, which ``bulk.process_bulk_job`` carries out.
- Settings: channels, timeout rules and approval rules, by team admins. Notifications are sent by
  ``notifications``, timeouts applied by ``timeouts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.models import Role, Team
from apps.accounts.permissions import AnyUser, require, teams_for, user_id
from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.deployments.urlcheck import UnsafeURLError, check_url
from apps.inbox.models import Interrupt, Status
from apps.inbox.selectors import pending_for
from apps.workflow.hooks import format_when
from apps.workflow.models import (
    ApprovalRule,
    BulkAction,
    BulkItem,
    BulkJob,
    Channel,
    Claim,
    Deadline,
    TimeoutAction,
    TimeoutRule,
)
from apps.workflow.tasks import run_bulk_job

CLAIM_MINUTES = (15, 30, 60, 120, 240)
MAX_BULK_ITEMS = 5000


class WorkflowRefused(Exception):
    """The action cannot be taken as asked; the message says why, for the operator."""


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


# --- notifications ----------------------------------------------------------------------------


def check_channel_target(kind: str, target: str) -> str:
    """The target normalised, or ``WorkflowRefused`` saying what is wrong with it."""
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
