"""The home page answers "what needs me now", for a team with deployments and one without."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from apps.accounts.models import Membership, Role, Team
from apps.deployments.models import Deployment
from apps.inbox.models import Interrupt
from apps.runs.models import Run
from apps.threads.models import SyncState
from apps.workflow.models import Claim, Deadline, TimeoutAction
from tests.fixtures.threads import index_row, minutes_ago

PASSWORD = "password"


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _claim(item: Interrupt, user: User) -> None:
    now = timezone.now()
    Claim.objects.create(
        interrupt=item,
        team_id=item.team_id,
        claimed_by=user,
        claimed_at=now,
        expires_at=now + timedelta(minutes=10),
    )


def _overdue(item: Interrupt) -> None:
    Deadline.objects.create(
        interrupt=item,
        team_id=item.team_id,
        action=TimeoutAction.ESCALATE,
        due_at=timezone.now() - timedelta(minutes=1),
    )


def test_an_admin_of_a_team_without_deployments_is_told_how_to_add_one(team_a: Team) -> None:
    admin = User.objects.create_user("ada", "ada@example.org", PASSWORD)
    Membership.objects.create(user=admin, team=team_a, role=Role.ADMIN)

    response = _logged_in(admin).get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "No deployment yet" in page
    assert 'href="/deployments/new/"' in page


def test_a_viewer_of_a_team_without_deployments_is_told_who_can_add_one(
    alice: User, bob: User
) -> None:
    response = _logged_in(bob).get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "needs the admin role" in page
    assert "Ask alice." in page
    assert 'href="/deployments/new/"' not in page


def test_the_home_page_lists_my_claim_an_unclaimed_overdue_item_and_a_live_run(
    oscar: User,
    alice: User,
    deployment_a: Deployment,
    item_factory: Callable[..., Interrupt],
    make_run: Callable[..., Run],
    deployment_b: Deployment,
) -> None:
    mine = item_factory(deployment_a, graph_id="refund_approval")
    _claim(mine, oscar)
    held_by_alice = item_factory(deployment_a, graph_id="held_elsewhere")
    _claim(held_by_alice, alice)
    late = item_factory(deployment_a, graph_id="late_graph")
    _overdue(late)
    live = make_run(deployment_a, status="streaming", thread_id="live-thread")
    make_run(deployment_a, status="succeeded", thread_id="done-thread")
    other_team = item_factory(deployment_b, graph_id="other_team_graph")

    page = _logged_in(oscar).get("/").content.decode()

    mine_section = page.split('id="mine"')[1].split("</section>")[0]
    assert f'href="/inbox/{deployment_a.pk}/{mine.thread_id}/"' in mine_section
    overdue = page.split('id="overdue"')[1].split("</section>")[0]
    assert f'href="/inbox/{deployment_a.pk}/{late.thread_id}/"' in overdue
    unclaimed = page.split('id="unclaimed"')[1].split("</section>")[0]
    assert f'href="/inbox/{deployment_a.pk}/{late.thread_id}/"' in unclaimed
    assert held_by_alice.thread_id not in unclaimed
    assert mine.thread_id not in unclaimed
    runs = page.split('id="live-runs"')[1].split("</section>")[0]
    assert f'href="/runs/{live.pk}/"' in runs
    assert "Run #" + str(live.pk + 1) not in runs
    assert other_team.thread_id not in page


def _count_queries(client: Client, assert_max: Any) -> int:
    with assert_max(30) as captured:
        assert client.get("/").status_code == 200
    return len(captured.captured_queries)


def test_the_home_page_costs_the_same_queries_with_ten_times_more_work(
    oscar: User,
    deployment_a: Deployment,
    item_factory: Callable[..., Interrupt],
    make_run: Callable[..., Run],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client = _logged_in(oscar)

    def add(n: int) -> None:
        for i in range(n):
            item = item_factory(deployment_a)
            if i % 2:
                _claim(item, oscar)
            else:
                _overdue(item)
            make_run(deployment_a, status="streaming", thread_id=f"t-{item.pk}")
            index_row(deployment_a, status="busy")

    add(3)
    few = _count_queries(client, django_assert_max_num_queries)
    add(30)
    many = _count_queries(client, django_assert_max_num_queries)

    assert many == few


def test_a_deployment_whose_last_sync_failed_is_shown_in_trouble(
    oscar: User, deployment_a: Deployment
) -> None:
    SyncState.objects.create(deployment=deployment_a, last_error="Connection refused.")

    page = _logged_in(oscar).get("/").content.decode()

    trouble = page.split('id="trouble"')[1].split("</section>")[0]
    assert f'href="/deployments/{deployment_a.pk}/"' in trouble
    assert "Connection refused." in trouble


def test_the_navigation_links_workflow_metrics_and_audit_and_the_admin_for_superusers(
    alice: User,
) -> None:
    page = _logged_in(alice).get("/").content.decode()
    nav = page.split('class="mainnav"')[1].split("</nav>")[0]
    for href in ('href="/workflow/"', 'href="/workflow/metrics/"', 'href="/audit/"'):
        assert href in nav
    assert 'href="/admin/"' not in nav

    alice.is_superuser = True
    alice.save()
    nav = _logged_in(alice).get("/").content.decode().split('class="mainnav"')[1]
    assert 'href="/admin/"' in nav.split("</nav>")[0]


def test_a_viewer_is_not_offered_to_start_a_run(bob: User, deployment_a: Deployment) -> None:
    page = _logged_in(bob).get("/").content.decode()

    assert "No run is live." in page
    assert 'href="/runs/new/"' not in page


def _unwatched(page: str) -> str:
    return page.split('id="unwatched"')[1].split("</section>")[0]


def test_a_thread_busy_on_its_deployment_that_nobody_watches_is_offered_to_watch_live(
    oscar: User, deployment_a: Deployment, make_run: Callable[..., Run]
) -> None:
    busy = index_row(deployment_a, status="busy", updated_at=minutes_ago(5))
    followed = index_row(deployment_a, status="busy")
    make_run(deployment_a, status="streaming", thread_id=followed.thread_id)
    ended = index_row(deployment_a, status="busy")
    make_run(deployment_a, status="succeeded", thread_id=ended.thread_id)
    idle = index_row(deployment_a, status="idle")

    section = _unwatched(_logged_in(oscar).get("/").content.decode())

    assert f'href="/threads/{deployment_a.pk}/{busy.thread_id}/"' in section
    assert f'action="/runs/watch/{deployment_a.pk}/{busy.thread_id}/"' in section
    assert "for 5\xa0minutes" in section
    assert ended.thread_id in section
    assert followed.thread_id not in section
    assert idle.thread_id not in section


def test_a_viewer_sees_a_busy_thread_but_is_not_offered_to_watch_it(
    bob: User, deployment_a: Deployment
) -> None:
    busy = index_row(deployment_a, status="busy")

    section = _unwatched(_logged_in(bob).get("/").content.decode())

    assert f'href="/threads/{deployment_a.pk}/{busy.thread_id}/"' in section
    assert "/runs/watch/" not in section


def test_a_busy_thread_of_a_switched_off_deployment_is_not_offered_to_watch(
    oscar: User, deployment_a: Deployment
) -> None:
    busy = index_row(deployment_a, status="busy")
    deployment_a.enabled = False
    deployment_a.save()

    section = _unwatched(_logged_in(oscar).get("/").content.decode())

    assert busy.thread_id in section
    assert "/runs/watch/" not in section


def test_another_teams_busy_threads_are_never_shown(
    alice: User, charlie: User, deployment_a: Deployment, deployment_b: Deployment
) -> None:
    ours = index_row(deployment_a, status="busy")
    theirs = index_row(deployment_b, status="busy")

    alices = _logged_in(alice).get("/").content.decode()
    charlies = _logged_in(charlie).get("/").content.decode()

    assert ours.thread_id in _unwatched(alices)
    assert theirs.thread_id not in alices
    assert theirs.thread_id in _unwatched(charlies)
    assert ours.thread_id not in charlies


def test_the_busy_threads_shown_are_bounded_and_link_to_every_busy_thread(
    oscar: User, deployment_a: Deployment
) -> None:
    newest = [index_row(deployment_a, status="busy", updated_at=minutes_ago(n)) for n in range(10)]
    oldest = index_row(deployment_a, status="busy", updated_at=minutes_ago(60))

    section = _unwatched(_logged_in(oscar).get("/").content.decode())

    assert all(row.thread_id in section for row in newest)
    assert oldest.thread_id not in section
    assert 'href="/threads/?status=busy"' in section
