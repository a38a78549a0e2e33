"""The operator's day, in Chromium at 1280 px and at 390 px (a phone).

alice logs in and lands on the home page (what needs her now); she opens the inbox, claims a
refund from the list, opens it and accepts it, and watches the run finish; the metrics count her
decision; she ticks three of five waiting refunds (one more arrives live meanwhile, and her ticks
stay) and bulk-decides them, and exactly those three resume on the graph server; she decides the
last waiting refund by keyboard (j / k, then ``a``); she starts a run from the form on each demo
graph, choosing the deployment and the graph from the selects (no URL parameters), and sees it
succeed or stop at its interrupt; she decides the interrupted refund from its run page's Decide
button; she opens a run's thread and its run page. At every step the page must be no wider than
the screen (``document.documentElement.scrollWidth <= innerWidth``) and have no serious or
critical axe-core violation; every step leaves a screenshot under
``test-output/screenshots/<test>/``.

Each step is one function taking the ``Journey``: a new step is one more function, called from
the test where it belongs in the day. The paused threads are made on the graph server by the
``paused`` fixture, not through the UI, to keep the journey short.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.deployments.models import Deployment
from apps.workflow.models import BulkItem, BulkJob
from switchboard import SyncClient
from tests.fixtures.browser import DESKTOP, PHONE, Shots, layout_problems
from tests.fixtures.inbox import REFUND, SUPPORT, Paused

# A whole working day against the real graph server: its own bound, as the longest journeys.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(900),
]

RUN_TIMEOUT_MS = 60_000
# What each demo graph is started with from the form, and how its run ends.
DEMO_RUNS: dict[str, tuple[dict[str, Any], str]] = {
    "refund_approval": (REFUND, "Interrupted"),
    "support_agent": (SUPPORT, "Interrupted"),
    "parallel_review": ({}, "Interrupted"),
    "chatty": ({"chunks": 5, "rate": 0}, "Succeeded"),
    "flaky": ({}, "Succeeded"),
}


@dataclass
class Journey:
    """One operator's browser at one screen width, and the checks every step ends with."""

    shots: Shots
    page: Any
    width: int
    user: User
    deployment: Deployment

    def check(self, step: str) -> None:
        """The page as the step left it: a screenshot, then its width and its accessibility."""
        shot = self.shots.step(self.page, f"{self.width}px {step}")
        problems = layout_problems(self.page)
        assert not problems, (
            f"{step} at {self.width} px ({self.page.url}):\n"
            + "\n".join(problems)
            + f"\nscreenshot: {shot}"
        )

    def wait_for_run_status(self, *labels: str) -> str:
        self.page.wait_for_function(
            "labels => labels.includes(document.getElementById('run-status')?.textContent.trim())",
            arg=list(labels),
            timeout=RUN_TIMEOUT_MS,
        )
        return str(self.page.inner_text("#run-status")).strip()


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280px", "390px"])
def journey(
    request: pytest.FixtureRequest, shots: Shots, alice: User, deployment_a: Deployment
) -> Journey:
    shots.can_log_in(alice)
    viewport: dict[str, int] = request.param
    return Journey(shots, shots.open(viewport=viewport), viewport["width"], alice, deployment_a)


# -- the steps -------------------------------------------------------------------------------


def log_in(j: Journey, waiting: Paused) -> None:
    """The login form leads to the home page, which lists what waits for a person."""
    j.page.goto("/")
    j.page.wait_for_url(re.compile(r"/accounts/login/"))
    j.check("login form")
    j.page.fill("#id_username", j.user.get_username())
    j.page.fill("#id_password", "password")
    j.page.click("form[action='/accounts/login/'] button[type=submit]")
    j.page.wait_for_selector(".usermenu .who")
    assert re.search(r"://[^/]+/$", j.page.url), j.page.url
    assert j.page.inner_text("main h1").strip() == "What needs you now"
    assert j.page.locator(f"#unclaimed a[href^='{waiting.url}']").count() >= 1
    j.check("home page")


def open_inbox(j: Journey) -> None:
    j.page.click("nav.mainnav a[href='/inbox/']")
    j.page.wait_for_url(re.compile(r"/inbox/$"))
    j.check("inbox")


def claim_from_list(j: Journey, item: Paused) -> None:
    """The Claim button in the item's "Held by" cell claims it in place."""
    cell = f"#claim-cell-{item.row.pk}"
    j.page.click(f"{cell} button[type=submit]")
    # Waited for, not read once: the list refetches itself on the socket's messages meanwhile.
    j.page.wait_for_selector(f"{cell}:has-text('Release'):has-text('You')")
    j.check("claimed from the inbox list")


def open_item(j: Journey, item: Paused) -> None:
    row = j.page.locator(f"#interrupt-{item.row.pk}")
    row.locator("a", has_text="Decide").click()
    j.page.wait_for_url(re.compile(re.escape(item.url)))
    j.check(f"decision page of {item.row.graph_id}")


def accept_refund(j: Journey, *, ticked: bool = False) -> None:
    """On the refund's decision page: accept as is (already ticked when opened by keyboard), and
    watch the run resume to its end."""
    accept = j.page.locator(".action-card input[type=radio][value=accept]")
    if ticked:
        assert accept.is_checked()
    else:
        accept.check()
    j.page.click("#decision-form button[name=step][value=review]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$|#edit-preview|/inbox/"))
    if j.page.locator("#edit-preview").count():
        j.page.click("#edit-preview button[name=step][value=confirm]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$"))
    assert j.wait_for_run_status("Succeeded") == "Succeeded"
    j.check("the accepted refund's run, finished")


def open_metrics(j: Journey) -> None:
    """The inbox metrics, with the decision just made in its charts."""
    j.page.goto("/workflow/metrics/")
    j.page.locator("#m-decisions b", has_text="1").wait_for()
    j.check("inbox metrics")


def decide_by_keyboard(j: Journey, item: Paused, waiting: list[Paused]) -> None:
    """On the inbox list: j / k to the item, ``a`` opens it with accept ticked, then submit.
    ``waiting`` are the items still waiting: the keys count rows, so they are pressed once the
    list shows exactly those (a bulk decision just made leaves the list by a live update)."""
    j.page.goto("/inbox/")
    expected = sorted(f"interrupt-{w.row.pk}" for w in waiting)
    j.page.wait_for_function(
        """expected => {
          const ids = [...document.querySelectorAll('#inbox-results tr[data-row]')].map(r => r.id);
          return JSON.stringify(ids.sort()) === JSON.stringify(expected);
        }""",
        arg=expected,
    )
    rows = j.page.eval_on_selector_all("#inbox-results tr[data-row]", "rs => rs.map(r => r.id)")
    at = rows.index(f"interrupt-{item.row.pk}")
    assert at > 0, "the item should not be the first row, so that j and k both move"

    def focused() -> str:
        return str(j.page.evaluate("document.activeElement && document.activeElement.id"))

    for _ in range(at + 1):
        j.page.keyboard.press("j")
    assert focused() == rows[at]
    j.page.keyboard.press("k")
    assert focused() == rows[at - 1]
    j.page.keyboard.press("j")
    assert focused() == rows[at]
    j.check("inbox, an item focused by keyboard")
    j.page.keyboard.press("a")
    j.page.wait_for_url(re.compile(re.escape(item.url) + r"\?choose=accept"))
    j.page.wait_for_function(
        "document.querySelector('.action-card input[type=radio][value=accept]')?.checked"
    )
    j.check("decision page opened with accept chosen")
    accept_refund(j, ticked=True)


def _waiting(graph_client: SyncClient, thread_id: str) -> bool:
    thread = graph_client.get_thread(thread_id)
    return thread["status"] == "interrupted" and any((thread.get("interrupts") or {}).values())


def bulk_decide_three_of_five(
    j: Journey, five: list[Paused], graph_client: SyncClient, arrives: Callable[[], Paused]
) -> Paused:
    """Tick three of five refunds in the inbox list (a new item arriving live meanwhile keeps the
    ticks), bulk-approve them, and only those three resume on the graph server; returns the item
    that arrived late (still waiting)."""
    ticked = [five[0], five[2], five[4]]
    j.page.goto("/inbox/")
    for item in five:
        j.page.wait_for_selector(f"#interrupt-{item.row.pk}")
    # The socket is open once the badge shows the count it sends on connect.
    j.page.wait_for_function("document.getElementById('inbox-count').textContent.trim() === '5'")
    for item in ticked:
        j.page.check(f"#interrupt-{item.row.pk} input[type=checkbox][name=item]")
    late = arrives()
    j.page.wait_for_selector(f"#interrupt-{late.row.pk}")
    for item in [*five, late]:
        box = j.page.locator(f"#interrupt-{item.row.pk} input[type=checkbox][name=item]")
        assert box.is_checked() == (item in ticked), item.row.pk
    j.check("inbox, three of five ticked")
    j.page.click("#inbox-selection button[data-selection-submit]")
    j.page.wait_for_url(re.compile(r"/workflow/bulk/\?"))
    for item in [*five, late]:  # all listed, only the three ticked in the inbox still ticked
        box = j.page.locator(f"#bulk-item-{item.row.pk} input[type=checkbox][name=item]")
        assert box.is_checked() == (item in ticked), item.row.pk
    j.check("bulk page, three picked")
    j.page.check("#bulk-decide input[type=radio][name=decision][value=approve]")
    j.page.click("#bulk-decide button[type=submit]")
    j.page.wait_for_url(re.compile(r"/workflow/bulk/\d+/$"))
    job = BulkJob.objects.get()
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while BulkJob.objects.get(pk=job.pk).status != BulkJob.Status.DONE:
        assert time.monotonic() < deadline, "the bulk job did not finish"
        time.sleep(0.3)
    outcomes = {b.interrupt_id: b.outcome for b in BulkItem.objects.filter(job=job)}
    assert outcomes == {item.row.pk: BulkItem.Outcome.DONE for item in ticked}
    while any(_waiting(graph_client, item.thread_id) for item in ticked):
        assert time.monotonic() < deadline, "the ticked threads were not resumed"
        time.sleep(0.3)
    for item in (five[1], five[3], late):
        assert _waiting(graph_client, item.thread_id), item.thread_id
    j.page.reload()
    j.check("bulk job, done")
    return late


def _choose(j: Journey, select: str, value: str) -> None:
    """Pick ``value`` in ``select`` and wait for htmx to swap in the choices it leads to."""
    j.page.evaluate("document.getElementById('run-choices').dataset.stale = 'yes'")
    j.page.select_option(select, value)
    j.page.wait_for_selector("#run-choices:not([data-stale])")


def start_run(j: Journey, graph: str) -> None:
    """Start ``graph`` from the form on a new thread, choosing the deployment and the graph from
    the form's selects, and see it end as the demo graph does."""
    payload, ending = DEMO_RUNS[graph]
    j.page.goto("/runs/new/")
    assert j.page.url.endswith("/runs/new/")
    _choose(j, "#id_deployment", str(j.deployment.pk))
    j.page.wait_for_selector(f"#id_assistant_id option[value={graph}]", state="attached")
    _choose(j, "#id_assistant_id", graph)
    j.check(f"start-run form for {graph}")
    j.page.fill("#id_input", json.dumps(payload))
    j.page.click("#start-run-form button[type=submit]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$"))
    assert j.wait_for_run_status("Succeeded", "Interrupted", "Failed") == ending
    j.check(f"run of {graph}, {ending.lower()}")


def decide_from_run_page(j: Journey) -> None:
    """An interrupted run's page offers Decide, which leads to its item: accept it there."""
    j.page.locator("#decide a.button", has_text="Decide").click()
    j.page.wait_for_url(re.compile(r"/inbox/\d+/[^/]+/"))
    j.check("decision page from the run's Decide button")
    accept_refund(j)


def open_thread_of_run(j: Journey) -> None:
    """From a run's page to its thread, and back to the run."""
    run_url = j.page.url
    j.page.locator("main a[href^='/threads/']").first.click()
    j.page.wait_for_url(re.compile(r"/threads/\d+/[^/]+/$"))
    j.check("thread of the run")
    j.page.goto(run_url)
    j.page.wait_for_selector("#run-status")
    j.check("run page")


# -- the day ---------------------------------------------------------------------------------


def test_an_operators_day_fits_the_screen_and_passes_axe(
    journey: Journey,
    paused: Callable[..., Paused],
    graph_client: SyncClient,
    default_worker: Any,
):
    refund = paused("refund_approval", REFUND)
    log_in(journey, refund)
    open_inbox(journey)
    claim_from_list(journey, refund)
    open_item(journey, refund)
    accept_refund(journey)
    open_metrics(journey)
    five = [paused("refund_approval", {**REFUND, "customer": f"Shop {n}"}) for n in range(5)]
    late = bulk_decide_three_of_five(
        journey,
        five,
        graph_client,
        lambda: paused("refund_approval", {**REFUND, "customer": "Late"}),
    )
    decide_by_keyboard(journey, late, [five[1], five[3], late])  # the last of the three waiting
    for graph in DEMO_RUNS:
        start_run(journey, graph)
        if graph == "refund_approval":
            decide_from_run_page(journey)
    open_thread_of_run(journey)
