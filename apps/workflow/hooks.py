"""The team workflow's rules, registered on the gate (``apps.gate.gate``) in
``WorkflowConfig.ready()``, so the inbox and the runs app never import the workflow.

- ``gate_rule(intent)``: for every change a person makes to a deployment, after the role and the
  writable deployment, before the stale-decision guard and before anything is written or sent.
  Refuses, with a sentence: an item someone else has claimed
  (``ClaimedByOther``); a decision the team's approval rules reserve to a stronger role
  (``PermissionDenied`` naming it); and, for a decision a rule marks risky, records the first
  approval and stops there (``AwaitingSecondApproval``), or refuses the same person approving
  twice (``SameApproverTwice``). The second distinct approver of the same values passes, and the
  inbox sends the resume. A change that does not answer (continue, mark resolved, a state edit,
  a run or a cancel on a waiting thread) meets every rule on the items' tools, and is refused
  where a rule marks them risky.

Deciding releases the claim, completes the approval and settles the deadline through a
``post_save`` receiver on the inbox's ``Decision`` (``receivers.py``), so the inbox need not
call anything for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import AnyUser, is_system, role_in, user_id
from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.gate.gate import Intent
from apps.inbox.errors import InboxRefused
from apps.inbox.models import Interrupt
from apps.workflow.actions import decision_types, fingerprint
from apps.workflow.models import Approval, ApprovalRule
from apps.workflow.selectors import live_claims, rules_matching, waiting_approvals

_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
OVERRIDES = ("continue", "resolve", "edit_state", "run", "cancel")


def format_when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


class ClaimedByOther(InboxRefused):
    """Someone else's claim is live on an item of the decision."""


class AwaitingSecondApproval(InboxRefused):
    """Recorded as the first approval of a risky decision: nothing was sent."""


class SameApproverTwice(AwaitingSecondApproval):
    """The person who gave the first approval tried to give the second."""


def check_claims(user: AnyUser, rows: Sequence[Interrupt]) -> None:
    for claim in live_claims(r.pk for r in rows).values():
        if claim.claimed_by_id != user.pk:
            raise ClaimedByOther(
                f"{claim.claimed_by.get_username()} has claimed this item until "
                f"{format_when(claim.expires_at)}: ask them, or a team admin can break the claim."
            )


def _matching(rules: list[ApprovalRule], tool: str, kind: str) -> list[ApprovalRule]:
    # A change that does not answer (continue, resolve, a state edit, a run, a cancel) can do
    # what any answer does: every rule on the tool applies to it.
    return [
        r for r in rules if r.tool in ("", tool) and (kind in OVERRIDES or r.decision in ("", kind))
    ]


def check_rules(
    user: AnyUser, deployment: Deployment, choices: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Raise ``PermissionDenied`` when a rule reserves one of ``choices`` to a stronger role;
    return the choices a rule marks risky."""
    rules = rules_matching(deployment.team_id, deployment.pk)
    if not rules:
        return []
    role = role_in(user, deployment.team_id)
    rank = _RANK[role] if role is not None else -1
    risky = []
    for tool, kind in choices:
        matching = _matching(rules, tool, kind)
        for rule in matching:
            if rank < _RANK[Role(rule.min_role)]:
                raise PermissionDenied(
                    f"The team's approval rules reserve {kind} on {tool} to the {rule.min_role} role."
                )
        if any(r.risky for r in matching):
            risky.append((tool, kind))
    return risky


def _first_approval(
    user: AnyUser,
    rows: Sequence[Interrupt],
    digest: str,
    summary: str,
    waiting: Mapping[int, Approval],
) -> None:
    with transaction.atomic():
        stale = [a.pk for a in waiting.values()]
        Approval.objects.filter(pk__in=stale, state=Approval.State.WAITING).update(
            state=Approval.State.SUPERSEDED
        )
        approvals = [
            Approval.objects.create(
                interrupt=row,
                team_id=row.team_id,
                fingerprint=digest,
                summary=summary[:300],
                approved_by_id=user_id(user),
            )
            for row in rows
        ]
        first = rows[0]
        record(
            actor=user,
            action="workflow.first_approval",
            target=approvals[0],
            team_id=first.team_id,
            deployment_id=first.deployment_id,
            before={"superseded": stale} if stale else None,
            after={"items": [r.pk for r in rows], "summary": summary, "fingerprint": digest},
        )


def check_four_eyes(
    user: AnyUser, rows: Sequence[Interrupt], resume_values: Mapping[int, Any], summary: str
) -> None:
    """Pass only when someone else already approved exactly these values."""
    digest = fingerprint(resume_values)
    for attempt in range(2):
        waiting = waiting_approvals(r.pk for r in rows)
        same = [a for a in waiting.values() if a.fingerprint == digest]
        if len(same) == len(rows):
            mine = [a for a in same if a.approved_by_id == user.pk]
            if not mine:
                return
            raise SameApproverTwice(
                f"You gave the first approval at {format_when(mine[0].approved_at)}: this risky decision "
                "needs a second, different operator."
            )
        try:
            _first_approval(user, rows, digest, summary, waiting)
        except IntegrityError:
            if attempt:
                raise
            continue  # someone recorded a first approval at the same moment: look again
        raise AwaitingSecondApproval(
            f"Your approval of “{summary}” is recorded. This decision is marked risky: it is sent "
            "when a second operator approves the same decision."
        )


def gate_rule(intent: Intent) -> None:
    """The workflow's rules on every intent the gate checks (see the module docstring).

    ``intent.items`` are the items the change decides or would settle (a state edit, a run on
    a waiting thread) and ``intent.values`` what each gets, as composed by the SDK;
    ``intent.decision`` is the inbox's ``Decision.Action`` (``answer``, ``raw``, ``continue``,
    ``resolve``, ``edit_state``) or ``run`` / ``cancel``. The system (timeouts) carries out what
    an admin configured: claims and rules do not apply to it.
    """
    user, rows = intent.actor, list(intent.items)
    if is_system(user) or not rows:
        return
    check_claims(user, rows)
    choices: list[tuple[str, str]] = []
    for row in rows:
        choices += decision_types(
            row.kind,
            row.actions if isinstance(row.actions, list) else [],
            intent.values.get(row.pk),
            node=row.node,
            decision_action=intent.decision,
        )
    risky = check_rules(user, intent.deployment, choices)
    if not risky:
        return
    if any(kind in OVERRIDES for _, kind in risky):
        raise PermissionDenied(
            "The team's approval rules mark this item risky: decide it from its thread page, "
            "where a second operator confirms the decision."
        )
    if all(r.pk in intent.values for r in rows):
        summary = ", ".join(f"{kind} {tool}" for tool, kind in choices)
        check_four_eyes(user, rows, {r.pk: intent.values.get(r.pk) for r in rows}, summary)
