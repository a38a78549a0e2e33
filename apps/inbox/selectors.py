"""Reads of the inbox, always scoped to the user's teams through ``deployments_for``.

Other apps call ``inbox_count(user)``, ``pending_thread_ids(deployment)`` and
``interrupts_for(user)``. The list's filters and keyset pages are here too: one query per page
whatever the number of pending interrupts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.permissions import AnyUser, teams_for
from apps.deployments.models import Deployment
from apps.inbox.models import Decision, InboxPolicy, Interrupt, Status
from dashboard.keyset import decode_cursor, encode_cursor


def interrupts_for(user: AnyUser) -> QuerySet[Interrupt]:
    """Every interrupt record of every deployment the user may view."""
    return Interrupt.objects.filter(team__in=teams_for(user))


def pending_for(user: AnyUser) -> QuerySet[Interrupt]:
    return interrupts_for(user).filter(status=Status.PENDING)


def inbox_count(user: AnyUser) -> int:
    """What the navigation badge shows: interrupts awaiting a decision on the user's teams."""
    if not user.is_authenticated:
        return 0
    return pending_for(user).count()


def thread_interrupts_for(user: AnyUser, deployment_id: int, thread_id: str) -> QuerySet[Interrupt]:
    return interrupts_for(user).filter(deployment_id=deployment_id, thread_id=thread_id)


def get_interrupt_for(user: AnyUser, pk: int) -> Interrupt:
    try:
        return interrupts_for(user).select_related("deployment").get(pk=pk)
    except Interrupt.DoesNotExist:
        raise Http404("No such interrupt.") from None


def pending_thread_ids(deployment: Deployment) -> set[str]:
    """Threads of ``deployment`` with an interrupt still pending in the inbox (for syncs that
    must close them when a thread is no longer interrupted)."""
    return set(
        Interrupt.objects.filter(deployment=deployment, status=Status.PENDING)
        .values_list("thread_id", flat=True)
        .distinct()
    )


def decisions_on(interrupts: list[Interrupt]) -> dict[int, Decision]:
    """The standing (not voided) decision of each interrupt that has one."""
    rows = Decision.objects.filter(interrupt__in=interrupts, voided=False).select_related(
        "decided_by", "run"
    )
    return {d.interrupt_id: d for d in rows}


def recent_decisions(deployment_id: int, thread_id: str, limit: int = 20) -> list[Decision]:
    return list(
        Decision.objects.filter(deployment_id=deployment_id, interrupt__thread_id=thread_id)
        .select_related("interrupt", "run")
        .order_by("-decided_at", "-id")[:limit]
    )


def comment_required(deployment: Deployment) -> bool:
    return InboxPolicy.objects.filter(deployment=deployment, comment_required=True).exists()


def policies_for(deployment_ids: list[int]) -> dict[int, InboxPolicy]:
    return {
        p.deployment_id: p for p in InboxPolicy.objects.filter(deployment_id__in=deployment_ids)
    }


# --- the list -------------------------------------------------------------------------------

AGES: dict[str, tuple[str, timedelta]] = {
    # value -> (label, waiting at least this long)
    "5m": ("waiting 5 minutes or more", timedelta(minutes=5)),
    "1h": ("waiting an hour or more", timedelta(hours=1)),
    "1d": ("waiting a day or more", timedelta(days=1)),
    "7d": ("waiting a week or more", timedelta(days=7)),
}


@dataclass
class InboxFilter:
    deployment_ids: list[int] = field(default_factory=list)
    graph: str = ""
    action: str = ""
    kind: str = ""
    age: str = ""
    newest_first: bool = False


def filter_inbox(qs: QuerySet[Interrupt], f: InboxFilter) -> QuerySet[Interrupt]:
    if f.deployment_ids:
        qs = qs.filter(deployment_id__in=f.deployment_ids)
    if f.graph:
        qs = qs.filter(graph_id=f.graph)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.action:
        # Also the node, so "review" finds generic questions asked by the review node.
        needle = f.action.strip().lower()
        qs = qs.filter(Q(action_names__contains=needle) | Q(node__iexact=needle))
    if f.age in AGES:
        qs = qs.filter(asked_at__lte=timezone.now() - AGES[f.age][1])
    return qs


@dataclass
class Page:
    rows: list[Interrupt]
    next_cursor: str = ""


def keyset_page(
    qs: QuerySet[Interrupt], *, newest_first: bool, after: str = "", size: int = 50
) -> Page:
    """One page ordered by (asked_at, id), strictly after the ``after`` cursor. One query."""
    if after:
        when, pk = decode_cursor(after)
        if newest_first:
            qs = qs.filter(Q(asked_at__lt=when) | Q(asked_at=when, id__lt=pk))
        else:
            qs = qs.filter(Q(asked_at__gt=when) | Q(asked_at=when, id__gt=pk))
    order = ["-asked_at", "-id"] if newest_first else ["asked_at", "id"]
    rows = list(qs.select_related("deployment").order_by(*order)[: size + 1])
    page = Page(rows[:size])
    if len(rows) > size:
        last = page.rows[-1]
        page.next_cursor = encode_cursor(last.asked_at, last.pk)
    return page


def graph_choices(qs: QuerySet[Interrupt]) -> list[str]:
    return sorted(g for g in qs.order_by().values_list("graph_id", flat=True).distinct() if g)


ROW_ARGS = 4  # arguments shown per action in a list row
ROW_ARG_TEXT = 60  # characters of each shown value
# Argument names that usually say what an action does to whom: shown first. (PostgreSQL keeps
# JSON keys in its own order, not the graph's, so the order must come from here.)
KEY_ARG_WORDS = (
    "amount", "total", "price", "currency", "customer", "name", "to", "recipient", "email",
    "account", "user", "order", "subject", "query", "path", "url",
)  # fmt: skip


@dataclass
class RowAction:
    name: str
    args: list[tuple[str, str]]
    more_args: int
    description: str


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= ROW_ARG_TEXT else text[: ROW_ARG_TEXT - 1] + "…"


def _arg_rank(pair: tuple[str, Any]) -> int:
    key, value = str(pair[0]).lower(), pair[1]
    if any(word in key.split("_") or key == word for word in KEY_ARG_WORDS):
        return 0
    return 1 if isinstance(value, (int, float, str, bool)) or value is None else 2


def summary_of(interrupt: Interrupt) -> list[RowAction]:
    """What a list row shows about what is asked: each action's name, its first arguments
    (amounts, names, recipients: as the graph wrote them, cut short) and its description.
    Plain strings; the template escapes them and renders the description's markdown safely."""
    out = []
    for action in interrupt.actions:
        if not isinstance(action, dict):
            continue
        args = action.get("args")
        pairs = sorted(args.items(), key=_arg_rank) if isinstance(args, dict) else []
        out.append(
            RowAction(
                name=str(action.get("name", "")),
                args=[(str(k), _short(v)) for k, v in pairs[:ROW_ARGS]],
                more_args=max(0, len(pairs) - ROW_ARGS),
                description=str(action.get("description") or ""),
            )
        )
    return out
