"""What the home page shows, in a fixed number of queries whatever the number of items, runs
and indexed threads: each list is a bounded slice, and nothing here asks a deployment anything (a
deployment "in trouble" is one whose last sync the console saw fail, or one switched off; a
thread busy on its deployment is one the thread index last saw busy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.accounts.permissions import teams_for
from apps.deployments.models import Deployment
from apps.deployments.selectors import deployments_for, watchable_for
from apps.inbox.models import Interrupt
from apps.inbox.selectors import pending_for
from apps.runs.models import ACTIVE_STATUSES, Run
from apps.runs.selectors import runs_for
from apps.threads.models import SyncState, ThreadIndex, ThreadStatus
from apps.threads.selectors import threads_for
from apps.workflow.models import Claim, Deadline

SHOWN = 10


@dataclass(frozen=True)
class Trouble:
    deployment: Deployment
    reason: str


@dataclass
class Home:
    deployments: list[Deployment]
    waiting_count: int = 0
    mine: list[Interrupt] = field(default_factory=list)
    unclaimed: list[Interrupt] = field(default_factory=list)
    overdue: list[Interrupt] = field(default_factory=list)
    live_runs: list[Run] = field(default_factory=list)
    trouble: list[Trouble] = field(default_factory=list)
    unwatched: list[ThreadIndex] = field(default_factory=list)
    # The deployments of ``unwatched`` on which "Watch live" is offered.
    watchable: set[int] = field(default_factory=set)
    can_add_deployment: bool = False
    can_start_runs: bool = False
    admins: list[str] = field(default_factory=list)


def _live_claim(now: datetime) -> QuerySet[Claim]:
    return Claim.objects.filter(interrupt=OuterRef("pk"), expires_at__gt=now)


def _deadline() -> QuerySet[Deadline]:
    return Deadline.objects.filter(interrupt=OuterRef("pk"), state=Deadline.State.WAITING)


def _waiting(user: User, now: datetime) -> QuerySet[Interrupt]:
    """Pending items of the user's teams, each with its live claim's holder and its deadline."""
    return (
        pending_for(user)
        .select_related("deployment")
        .annotate(
            claimed_by_name=Subquery(_live_claim(now).values("claimed_by__username")[:1]),
            due_at=Subquery(_deadline().values("due_at")[:1]),
        )
    )


def _trouble(deployments: list[Deployment]) -> list[Trouble]:
    syncs = {
        s.deployment_id: s
        for s in SyncState.objects.filter(deployment_id__in=[d.pk for d in deployments])
        .exclude(last_error="")
        .only("deployment_id", "last_error")
    }
    found = []
    for d in deployments:
        if not d.enabled:
            found.append(Trouble(d, "Switched off: no syncs, runs or decisions."))
        elif d.pk in syncs:
            found.append(Trouble(d, f"Last sync failed: {syncs[d.pk].last_error}"))
    return found


def _unwatched(user: User) -> QuerySet[ThreadIndex]:
    """Threads busy on their deployment that no run of the console follows: runs the team's own
    applications started, which nobody watches yet."""
    followed = Run.objects.filter(
        deployment_id=OuterRef("deployment_id"),
        thread_id=OuterRef("thread_id"),
        status__in=ACTIVE_STATUSES,
    )
    return threads_for(user).filter(status=ThreadStatus.BUSY).filter(~Exists(followed))


def home_for(user: User) -> Home:
    now = timezone.now()
    deployments = list(deployments_for(user).select_related("team").order_by("name"))
    home = Home(deployments=deployments)
    if not deployments:
        home.can_add_deployment = teams_for(user, "administer").exists()
        if not home.can_add_deployment:
            home.admins = sorted(
                set(
                    Membership.objects.filter(team__in=teams_for(user), role=Role.ADMIN)
                    .values_list("user__username", flat=True)
                    .distinct()
                )
            )
        return home
    waiting = _waiting(user, now)
    home.waiting_count = waiting.count()
    mine = Exists(_live_claim(now).filter(claimed_by_id=user.pk))
    overdue = Exists(_deadline().filter(due_at__lte=now))
    home.mine = list(waiting.filter(mine).order_by("asked_at", "id")[:SHOWN])
    home.unclaimed = list(
        waiting.filter(~Exists(_live_claim(now))).order_by("asked_at", "id")[:SHOWN]
    )
    home.overdue = list(waiting.filter(overdue).order_by("due_at", "id")[:SHOWN])
    home.live_runs = list(
        runs_for(user)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("deployment", "started_by")
        .order_by("-created_at", "-id")[:SHOWN]
    )
    home.trouble = _trouble(deployments)
    home.unwatched = list(
        _unwatched(user).select_related("deployment").order_by("-updated_at", "-id")[:SHOWN]
    )
    if home.unwatched:
        home.watchable = set(watchable_for(user).values_list("pk", flat=True))
    home.can_start_runs = teams_for(user, "operate").exists()
    return home
