"""Every page of the console, in Chromium at 1280 px and at 390 px (a phone), with hostile content.

The pages are the URLconf's routes (as the cross-team security suite walks them), filled in with
real objects of the demo deployment: a thread of each demo graph, a run, an inbox item of each
kind (the legacy refund_approval, the middleware support_agent, parallel_review with two
interrupts), a bulk job, workflow rules, a team with an invitation. The content is hostile: a
200 KB interrupt value, a 2,000-character unbroken word, JSON nested forty deep, HTML, markdown
and quotes in names. Each page must be no wider than its viewport
(``document.documentElement.scrollWidth <= innerWidth``) and have no serious or critical axe-core
violation. Each page with a problem leaves a screenshot under the test's screenshot folder,
named in the failure message (a page that passes is not captured: a full-page capture of the
hostile pages costs more than checking them).

Routes that answer GET with something other than an HTML page (POST-only routes, CSV and JSON
exports, probes) are not pages and are left out by what they answer, so a new page is walked
without being registered; a new URL kwarg must be given a value in ``_values``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Invitation, Membership, Team
from apps.deployments.models import Deployment
from apps.runs.models import Run
from apps.threads.services import upsert_thread
from apps.workflow.models import ApprovalRule, BulkJob, Channel, TimeoutRule
from switchboard import SyncClient
from tests.fixtures.browser import DESKTOP, PHONE, Shots, layout_problems
from tests.fixtures.cross_team import Route, iter_routes
from tests.fixtures.inbox import SUPPORT, Paused
from tests.fixtures.runs import create_run
from tests.fixtures.threads import DemoThreads, index_row

# Every page at two widths with axe: minutes on a loaded 2-core machine, so its own bound.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]

NAME = '<b>"Ops" & O\'Brien</b> **bold** `code` <script>alert(1)</script>'
UNBROKEN = "W" * 2000
MAX_SHOT_HEIGHT = 8000
BIG = ("refund policy clause " * 10_000)[:200_000]


def nested(depth: int) -> Any:
    value: Any = {"leaf": NAME, "word": UNBROKEN[:300]}
    for level in range(depth):
        value = {f"level {level}": [value, level]}
    return value


@dataclass
class Console:
    """The objects the pages are walked with, and the URLs that result."""

    deployment: Deployment
    threads: list[str]  # every thread id on the deployment, demo graphs and hostile ones
    inbox_threads: list[str]  # the threads with a pending inbox item
    values: dict[str, list[Any]] = field(default_factory=dict)
    # The query a route's page needs, by route name and thread (a state branch: which checkpoint
    # and key to read).
    queries: dict[str, dict[str, str]] = field(default_factory=dict)

    def urls(self, route: Route) -> list[str]:
        from django.urls import reverse

        if route.name is None or route.name.startswith("admin:"):
            return []
        names = [name for name in route.kwargs if name != "thread_id"]
        for name in names:
            assert name in self.values, (
                f"The route {route.name} takes {name!r}: give it a value in "
                "tests/e2e/test_page_widths.py's _values, so its page is walked."
            )
        threads: list[str | None] = [None]
        if "thread_id" in route.kwargs:
            threads = list(self.inbox_threads if route.name.startswith("inbox:") else self.threads)
        urls = []
        for combo in product(*(self.values[name] for name in names)):
            for thread in threads:
                kwargs = dict(zip(names, combo, strict=True))
                if thread is not None:
                    kwargs["thread_id"] = thread
                query = self.queries.get(route.name, {}).get(thread or "", "")
                urls.append(reverse(route.name, kwargs=kwargs) + query)
        return urls


def _values(
    alice: User,
    team: Team,
    deployment: Deployment,
    run: Run,
    items: list[int],
    client: SyncClient,
) -> dict[str, list[Any]]:
    # A cron that never fires (once a year), named like everything else here.
    cron = client.crons.create("flaky", "0 0 1 1 *", input={}, metadata={"name": NAME})
    return {
        "deployment_id": [deployment.pk],
        "cron_id": [cron["cron_id"]],
        "assistant_id": [client.list_assistants(graph_id="refund_approval")[0]["assistant_id"]],
        "run_id": [run.pk],
        "item_id": items,
        "team_slug": [team.slug],
        "membership_id": [Membership.objects.get(team=team, user=alice).pk],
        "invitation_id": [
            Invitation.objects.create(team=team, username="alice", invited_by=alice).pk
        ],
        "job_id": [
            BulkJob.objects.create(
                created_by=alice, action="approve", comment=NAME + UNBROKEN, total=3
            ).pk
        ],
        "channel_id": [
            Channel.objects.create(team=team, kind="email", name=NAME, target="ops@example.org").pk
        ],
        "timeout_id": [
            TimeoutRule.objects.create(
                team=team, deployment=deployment, after_seconds=60, action="escalate"
            ).pk
        ],
        "rule_id": [ApprovalRule.objects.create(team=team, tool=NAME, risky=True).pk],
    }


@pytest.fixture
def console(
    alice: User,
    team_a: Team,
    deployment_a: Deployment,
    graph_client: SyncClient,
    demo_threads: DemoThreads,
    paused: Callable[..., Paused],
) -> Console:
    team_a.name = NAME
    team_a.save(update_fields=["name"])
    deployment_a.name = NAME
    deployment_a.save(update_fields=["name"])
    client = graph_client
    hostile = str(
        client.create_thread(metadata={"customer": NAME, "note": UNBROKEN, "nested": nested(40)})[
            "thread_id"
        ]
    )
    client.wait_run(hostile, assistant_id="flaky", input={"message": BIG + " " + UNBROKEN})
    refund = paused(
        "refund_approval", {"customer": NAME, "amount": 120.0, "reason": UNBROKEN + " " + BIG}
    )
    support = paused("support_agent", SUPPORT)
    review = paused("parallel_review", {"document": BIG + " " + UNBROKEN})
    assert len(review.rows) == 2, "parallel_review should stop at two interrupts at once"
    ids = [
        demo_threads.support,
        demo_threads.refund,
        demo_threads.failed,
        demo_threads.forked,
        hostile,
        refund.thread_id,
        support.thread_id,
        review.thread_id,
    ]
    branches = {}
    for thread_id in ids:
        upsert_thread(deployment_a, client.get_thread(thread_id))
        state = client.get_thread_state(thread_id)
        checkpoint = state["checkpoint"]["checkpoint_id"]  # type: ignore[index]
        key = next(iter(state["values"]))
        branches[thread_id] = "?" + urlencode({"checkpoint": checkpoint, "key": key})
    run = create_run(
        deployment_a,
        [("values", {"document": BIG + " " + UNBROKEN, "nested": nested(40)})],
        status="interrupted",
        thread_id=review.thread_id,
        assistant_id="parallel_review",
        input={"document": BIG + " " + UNBROKEN, "nested": nested(40)},
    )
    items = [row.pk for paused_ in (refund, support, review) for row in paused_.rows]
    return Console(
        deployment_a,
        ids,
        [refund.thread_id, support.thread_id, review.thread_id],
        _values(alice, team_a, deployment_a, run, items, client),
        {"threads:branch": branches},
    )


def _slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", url).strip("-")[:90] or "home"


def _screenshot(page: Any, path: Path) -> None:
    # A whole page, unless it is taller than Chromium can capture at once: then its first screens.
    tall = page.evaluate("document.documentElement.scrollHeight") > MAX_SHOT_HEIGHT
    page.screenshot(path=str(path), full_page=not tall)


def _walk(shots: Shots, alice: User, console: Console, viewport: dict[str, int]) -> Iterator[str]:
    """Visit every page at ``viewport``; yield one line per problem found."""
    page = shots.open(alice, viewport=viewport)
    folder = Path(shots.directory) / f"{viewport['width']}px"
    folder.mkdir(parents=True, exist_ok=True)
    visited = 0
    for route in iter_routes():
        for url in console.urls(route):
            answer = page.context.request.get(url, max_redirects=0)
            kind = answer.headers.get("content-type", "")
            if answer.status in (301, 302, 405) or not kind.startswith("text/html"):
                continue  # POST-only, an export, a probe or a redirect: not a page of its own
            if answer.status == 200 and "<html" not in answer.text()[:500]:
                continue  # a fragment htmx swaps into a page (the inbox count)
            if answer.status != 200:
                yield f"{url} at {viewport['width']} px: GET answered {answer.status}"
                continue
            page.goto(url)
            page.wait_for_load_state("networkidle")
            visited += 1
            problems = layout_problems(page)
            if not problems:
                continue
            shot = folder / f"{visited:02d}-{_slug(url)}.png"
            _screenshot(page, shot)
            for problem in problems:
                yield f"{url} at {viewport['width']} px: {problem} (screenshot {shot})"
    assert visited >= 30, f"only {visited} pages walked at {viewport['width']} px"


def test_every_page_fits_a_desktop_and_a_phone_and_passes_axe(
    shots: Shots, alice: User, console: Console
):
    problems = [
        problem
        for viewport in (DESKTOP, PHONE)
        for problem in _walk(shots, alice, console, viewport)
    ]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_walk_fails_on_a_page_wider_than_the_screen(shots: Shots, alice: User):
    page = shots.open(alice, viewport=PHONE)
    page.goto("/status/")
    page.evaluate(
        """() => {
      const wide = document.createElement("div");
      wide.id = "wide";
      wide.style.width = "2000px";
      wide.textContent = "a block wider than any screen";
      document.querySelector("main").append(wide);
    }"""
    )
    problems = layout_problems(page)
    assert problems, "a 2,000 px wide block went unnoticed"
    assert problems[0].startswith("too wide:"), problems
    assert "div#wide" in problems[0]


def test_the_home_page_fits_a_phone_with_long_busy_threads_nobody_watches(
    shots: Shots, oscar: User, deployment_a: Deployment
):
    max_length = Deployment._meta.get_field("name").max_length
    deployment_a.name = (NAME + UNBROKEN)[:max_length]  # as long as the form lets a name be
    deployment_a.save(update_fields=["name"])
    for n in range(3):
        index_row(deployment_a, status="busy", thread_id=f"{n}" + "W" * 63)
    page = shots.open(oscar, viewport=PHONE)
    page.goto("/")

    assert page.locator("#unwatched li").count() == 3
    assert page.locator("#unwatched button", has_text="Watch live").count() == 3
    problems = layout_problems(page)
    assert not problems, "\n".join(problems) + f"\nscreenshot: {shots.step(page, 'home')}"
